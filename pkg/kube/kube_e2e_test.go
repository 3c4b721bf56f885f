package kube_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/kube"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// selfContained returns the cluster's kubeconfig with its certificates inline,
// as a user stores one in a secret.
func selfContained(t *testing.T, c *kubetest.Env) []byte {
	t.Helper()
	raw, err := clientcmd.LoadFromFile(c.Kubeconfig)
	require.NoError(t, err)
	require.NoError(t, clientcmdapi.FlattenConfig(raw))
	data, err := clientcmd.Write(*raw)
	require.NoError(t, err)
	return data
}

func TestConnectToTheTestCluster(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	data := selfContained(t, c)
	for _, tc := range []struct {
		name   string
		access kube.Access
	}{
		{"file", kube.Access{Kubeconfig: c.Kubeconfig}},
		{"content", kube.Access{KubeconfigData: string(data)}},
		{"content as base64", kube.Access{KubeconfigData: base64.StdEncoding.EncodeToString(data)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clients, err := kube.Connect(t.Context(), tc.access, env(nil))
			require.NoError(t, err)
			assert.Regexp(t, `^v1\.\d+\.\d+`, clients.Version.GitVersion)
			assert.Equal(t, "default", clients.Namespace)
			_, err = clients.Typed.CoreV1().Namespaces().Get(t.Context(), "kube-system", metav1.GetOptions{})
			require.NoError(t, err)
			m, err := clients.Mapper.RESTMapping(schema.GroupKind{Group: "apps", Kind: "Deployment"})
			require.NoError(t, err)
			assert.Equal(t, "deployments", m.Resource.Resource)
		})
	}
}

func TestInClusterServiceAccount(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := t.Context()

	// A deployer service account that may read ConfigMaps in its namespace
	// and nothing else, with a short-lived token as the kubelet projects it.
	_, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-config"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read-config"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: ns}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	tok, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "deployer", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(600))},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	dir := t.TempDir()
	ca := c.Config.CAData
	if len(ca) == 0 {
		ca, err = os.ReadFile(c.Config.CAFile)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(tok.Status.Token), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "namespace"), []byte(ns), 0o644))
	u, err := url.Parse(c.Config.Host)
	require.NoError(t, err)
	pod := map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port()}

	clients, err := kube.Connect(ctx, kube.Access{InCluster: true}, env(pod), kube.WithServiceAccountDir(dir))
	require.NoError(t, err)
	assert.Equal(t, ns, clients.Namespace, "the pod's namespace")
	review, err := clients.Typed.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "system:serviceaccount:"+ns+":deployer", review.Status.UserInfo.Username)
	_, err = clients.Typed.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	_, err = clients.Typed.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "the token carries the service account's rights, no more: %v", err)
}

func TestRejectedCredentials(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	raw, err := clientcmd.Load(selfContained(t, c))
	require.NoError(t, err)
	for _, u := range raw.AuthInfos {
		*u = clientcmdapi.AuthInfo{Token: secretToken}
	}
	data, err := clientcmd.Write(*raw)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = kube.Connect(ctx, kube.Access{KubeconfigData: string(data)}, env(nil))
	require.ErrorIs(t, err, kube.ErrUnauthorized)
	t.Log(err)
	assert.Contains(t, err.Error(), "the Kubernetes API server at "+c.Config.Host+" rejected the credentials (401 Unauthorized)")
	assert.NotContains(t, err.Error(), secretToken)
}
