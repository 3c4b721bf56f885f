package apply_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/apply"
)

func deployment(replicas string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  ` + replicas + `
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: example.com/web:1}]
`
}

const configMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {A: "1"}
`

func TestUnknownKindsFailBeforeAnythingIsApplied(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name, manifest string
		want           string
	}{
		{"no such kind", "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n",
			`applying Gadget g (release.yaml#2): the cluster serves no kind "Gadget" in apiVersion "example.com/v1"; fix apiVersion and kind, or install the CustomResourceDefinition that defines the kind first (or add it to the manifests) (nothing was applied)`},
		{"old version", strings.Replace(deployment("replicas: 1"), "apps/v1", "apps/v1beta1", 1),
			`applying Deployment web (release.yaml#2): the cluster serves no kind "Deployment" in apiVersion "apps/v1beta1"; it serves Deployment as apiVersion apps/v1: use that (nothing was applied)`},
		{"old group", "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web}\n",
			`the cluster serves no kind "Ingress" in apiVersion "extensions/v1beta1"; it serves Ingress as apiVersion networking.k8s.io/v1: use that`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := applier(t, c.Config, ns).Apply(ctx, objects(t, "release.yaml", configMap+"---\n"+tc.manifest))
			require.ErrorIs(t, err, apply.ErrUnknownKind)
			t.Log(err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, res.Objects)
		})
	}
	_, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the ConfigMap before the unknown kind was not applied: %v", err)
}

func TestServerSideValidation(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name, manifest string
		want           string
	}{
		{"unknown field", deployment("replica: 2"), `rejected it: .spec.replica: field not declared in schema; fix the manifest`},
		{"invalid value", deployment("replicas: -1"), `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0; fix the manifest`},
		{"wrong type", deployment(`replicas: "two"`), `rejected it: .spec.replicas: expected numeric (int or float), got string; fix the manifest`},
	} {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, dry run %v", tc.name, dry), func(t *testing.T) {
				t.Parallel()
				res, err := applier(t, c.Config, ns, apply.WithDryRun(dry)).Apply(ctx, objects(t, "k8s/web.yaml", configMap+"---\n"+tc.manifest))
				require.ErrorIs(t, err, apply.ErrRejected)
				t.Log(err)
				assert.Contains(t, err.Error(), "applying Deployment "+ns+"/web (k8s/web.yaml#2): the API server rejected it: ")
				assert.Contains(t, err.Error(), tc.want)
				if dry {
					assert.Contains(t, err.Error(), "(dry run, nothing was changed; 1 checked before it: ConfigMap "+ns+"/web (")
				} else {
					assert.Contains(t, err.Error(), "(1 applied before it, and left as applied: ConfigMap "+ns+"/web (")
				}
				require.Len(t, res.Objects, 1, "the result lists what was applied")
			})
		}
	}
}

func TestFieldManagerConflict(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	// Another tool owns the replica count, as an autoscaler or kubectl scale
	// does.
	other := objects(t, "other.yaml", deployment("replicas: 3"))[0]
	data, err := other.MarshalJSON()
	require.NoError(t, err)
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	_, err = kubeDynamic(t, c.Config).Resource(gvr).Namespace(ns).Patch(ctx, "web", types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "other-tool"})
	require.NoError(t, err)

	objs := objects(t, "k8s/web.yaml", deployment("replicas: 2"))
	res, err := applier(t, c.Config, ns, apply.WithFieldNames(inputNames)).Apply(ctx, objs)
	require.ErrorIs(t, err, apply.ErrConflict)
	t.Log(err)
	var e *apply.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, []apply.Conflict{{Field: ".spec.replicas", Manager: "other-tool"}}, e.Conflicts)
	assert.Contains(t, err.Error(), `applying Deployment `+ns+`/web (k8s/web.yaml#1): another field manager owns fields this apply would change: .spec.replicas (owned by "other-tool"); `)
	assert.Contains(t, err.Error(), `set input "force-conflicts" to true`)
	assert.Empty(t, res.Objects)

	res, err = applier(t, c.Config, ns, apply.WithForceConflicts(true)).Apply(ctx, objs)
	require.NoError(t, err)
	assert.Equal(t, apply.Configured, res.Objects[0].Action)
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), *d.Spec.Replicas)
}

func TestForbiddenByRBAC(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	// alice may write ConfigMaps and only read Deployments; Secrets not at all.
	_, err := c.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "patch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "patch"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "deployer"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	alice := rest.CopyConfig(c.Config)
	alice.Impersonate = rest.ImpersonationConfig{UserName: "alice"}

	for _, tc := range []struct {
		name, manifest string
		applied        []string
		want           apply.Forbidden
		message        string
	}{
		{"no patch", configMap + "---\n" + deployment("replicas: 1"), []string{"ConfigMap " + ns + "/web created"},
			apply.Forbidden{User: "alice", Verb: "patch", Resource: "deployments.apps", Namespace: ns},
			`applying Deployment ` + ns + `/web (release.yaml#2): forbidden: deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "` + ns + `"; grant "alice" the verb "patch" on deployments.apps in namespace "` + ns + `" with a Role and RoleBinding there (rule: apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch", "create", "patch"]) (1 applied before it, and left as applied: ConfigMap ` + ns + `/web (created))`},
		{"no get", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n", nil,
			apply.Forbidden{User: "alice", Verb: "get", Resource: "secrets", Namespace: ns},
			`User "alice" cannot get resource "secrets" in API group "" in the namespace "` + ns + `"; grant "alice" the verb "get" on secrets in namespace "` + ns + `"`},
		{"patch without create", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n", nil,
			apply.Forbidden{User: "alice", Verb: "create", Resource: "services", Namespace: ns},
			`User "alice" cannot create resource "services" in API group "" in the namespace "` + ns + `"; grant "alice" the verb "create" on services`},
		{"cluster-scoped", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " + ns + "-reader}\n", nil,
			apply.Forbidden{User: "alice", Verb: "get", Resource: "clusterroles.rbac.authorization.k8s.io"},
			`with a ClusterRole and ClusterRoleBinding`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := applier(t, alice, ns).Apply(ctx, objects(t, "release.yaml", tc.manifest))
			require.ErrorIs(t, err, apply.ErrForbidden)
			t.Log(err)
			var e *apply.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, &tc.want, e.Forbidden)
			assert.Contains(t, err.Error(), tc.message)
			assert.Equal(t, tc.applied, actions(res))
		})
	}
}

func TestJobs(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := ctxT(t)
	job := func(name, image string) string {
		return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: %s}]
`, name, image)
	}

	t.Run("a running Job is not replaced", func(t *testing.T) {
		t.Parallel()
		_, err := applier(t, c.Config, ns).Apply(ctx, objects(t, "job.yaml", job("slow", kubetest.Image(kubetest.Unready, "1"))))
		require.NoError(t, err)
		_, err = applier(t, c.Config, ns).Apply(ctx, objects(t, "job.yaml", job("slow", kubetest.Image(kubetest.Unready, "2"))))
		require.ErrorIs(t, err, apply.ErrJobRunning)
		t.Log(err)
		assert.Contains(t, err.Error(), fmt.Sprintf("applying Job %[1]s/slow (job.yaml#1): Job %[1]s/slow from the previous release is still running, and a Job's pod template cannot change; wait for it to finish, or delete it (kubectl delete job -n %[1]s slow) to run the new one", ns))
		j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "slow", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, kubetest.Image(kubetest.Unready, "1"), j.Spec.Template.Spec.Containers[0].Image, "left as it was")
	})

	t.Run("a finished Job is replaced unless told not to", func(t *testing.T) {
		t.Parallel()
		_, err := applier(t, c.Config, ns).Apply(ctx, objects(t, "job.yaml", job("done", "example.com/migrate:1")))
		require.NoError(t, err)
		kubetest.Poll(t, waitTimeout, "the job to finish", func(ctx context.Context) (bool, error) {
			j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "done", metav1.GetOptions{})
			return err == nil && j.Status.Succeeded == 1, err
		})
		_, err = applier(t, c.Config, ns, apply.WithReplaceFinishedJobs(false)).Apply(ctx, objects(t, "job.yaml", job("done", "example.com/migrate:2")))
		require.ErrorIs(t, err, apply.ErrRejected)
		t.Log(err)
		assert.Contains(t, err.Error(), "has finished and its pod template cannot change; delete it")

		dry, err := applier(t, c.Config, ns, apply.WithDryRun(true)).Apply(ctx, objects(t, "job.yaml", job("done", "example.com/migrate:2")))
		require.NoError(t, err)
		assert.Equal(t, apply.Replaced, dry.Objects[0].Action)
		assert.Contains(t, dry.Objects[0].Note, "dry run")
		j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "done", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "example.com/migrate:1", j.Spec.Template.Spec.Containers[0].Image, "a dry run deletes nothing")

		res, err := applier(t, c.Config, ns).Apply(ctx, objects(t, "job.yaml", job("done", "example.com/migrate:2")))
		require.NoError(t, err)
		assert.Equal(t, apply.Replaced, res.Objects[0].Action)
		assert.Equal(t, j.UID, res.Objects[0].Previous.UID)
		assert.Equal(t, ptr.To(int64(1)), ptr.To(res.Objects[0].Generation))
	})
}
