package apply

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func web() Object {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetNamespace("shop")
	u.SetName("web")
	return Object{Unstructured: u, Source: "k8s/web.yaml#1"}
}

var deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func status(code int32, reason metav1.StatusReason, msg string, causes ...metav1.StatusCause) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
		Details: &metav1.StatusDetails{Causes: causes},
	}}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	a := &Applier{opts: *defaults()}
	for _, tc := range []struct {
		name string
		err  error
		kind error
		want string
	}{
		{"conflicts with two managers", status(http.StatusConflict, metav1.StatusReasonConflict, "Apply failed with 2 conflicts",
			metav1.StatusCause{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using apps/v1 at 2026-01-01T00:00:00Z`, Field: ".spec.template.spec.containers[name=\"app\"].image"},
			metav1.StatusCause{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "hpa-controller" with subresource "scale"`, Field: ".spec.replicas"}),
			ErrConflict, `.spec.replicas (owned by "hpa-controller"), .spec.template.spec.containers[name="app"].image (owned by "kubectl-edit")`},
		{"quota", status(http.StatusForbidden, metav1.StatusReasonForbidden, `deployments.apps "web" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=10, limited: count/deployments.apps=10`),
			ErrDenied, "the API server refused it: deployments.apps \"web\" is forbidden: exceeded quota"},
		{"terminating namespace", status(http.StatusForbidden, metav1.StatusReasonForbidden, `deployments.apps "web" is forbidden: unable to create new content in namespace shop because it is being terminated`),
			ErrDenied, "because it is being terminated"},
		{"webhook", status(http.StatusBadRequest, metav1.StatusReasonBadRequest, `admission webhook "policy.example.com" denied the request: image must be pinned by digest`),
			ErrRejected, `admission webhook "policy.example.com" denied the request: image must be pinned by digest`},
		{"missing namespace", status(http.StatusNotFound, metav1.StatusReasonNotFound, `namespaces "shop" not found`),
			ErrNoNamespace, `namespace "shop" does not exist`},
		{"something else", errors.New("boom"), nil, "patch deployments.apps: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := a.classify(web(), deployments, "patch", tc.err)
			if tc.kind != nil {
				assert.ErrorIs(t, e, tc.kind)
			}
			assert.ErrorIs(t, e, tc.err, "the cause stays reachable")
			assert.Contains(t, e.Error(), "applying Deployment shop/web (k8s/web.yaml#1): ")
			assert.Contains(t, e.Error(), tc.want)
		})
	}
}

func TestForbiddenWithoutTheAuthorizersWording(t *testing.T) {
	t.Parallel()
	f := forbidden("forbidden", "patch", deployments, "shop")
	assert.Equal(t, &Forbidden{Verb: "patch", Resource: "deployments.apps", Namespace: "shop"}, f, "falls back on the request that failed")
}

func TestOrder(t *testing.T) {
	t.Parallel()
	kinds := []schema.GroupKind{
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"},
		{Group: "example.com", Kind: "Widget"},
		gkJob, gkDeployment, {Kind: "Service"}, {Kind: "ConfigMap"}, {Kind: "Secret"}, {Kind: "ServiceAccount"}, gkCRD, gkNamespace,
	}
	for i := 1; i < len(kinds); i++ {
		assert.Greater(t, rank(kinds[i-1]), rank(kinds[i]), "%s after %s", kinds[i-1], kinds[i])
	}
}

// FuzzClassify: whatever the API server says, the explanation names the object
// and keeps the server's message.
func FuzzClassify(f *testing.F) {
	f.Add(int32(403), `deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`, "", "")
	f.Add(int32(403), `User "" cannot  resource ""`, "", "")
	f.Add(int32(409), "Apply failed with 1 conflict", `conflict with "x"`, ".spec")
	f.Add(int32(409), "", `conflicts with "`, "")
	f.Add(int32(404), `namespaces "" not found`, "", "")
	f.Add(int32(422), `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1`, "", "")
	f.Add(int32(500), "failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): .spec.x: field not declared in schema", "", "")
	a := &Applier{opts: *defaults()}
	f.Fuzz(func(t *testing.T, code int32, msg, causeMsg, field string) {
		reason := map[int32]metav1.StatusReason{403: metav1.StatusReasonForbidden, 409: metav1.StatusReasonConflict, 404: metav1.StatusReasonNotFound, 422: metav1.StatusReasonInvalid}[code]
		err := status(code, reason, msg, metav1.StatusCause{Type: metav1.CauseTypeFieldManagerConflict, Message: causeMsg, Field: field})
		e := a.classify(web(), deployments, "patch", err)
		require.NotNil(t, e)
		s := e.Error()
		require.True(t, strings.HasPrefix(s, "applying Deployment shop/web (k8s/web.yaml#1): "), s)
		if e.Forbidden != nil {
			require.NotEmpty(t, e.Forbidden.Resource)
		}
	})
}
