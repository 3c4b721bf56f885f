package apply_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
)

// offline is an Applier whose mapper knows a few kinds and whose client has
// no server: anything that reaches the network fails the test's expectations.
func offline(t *testing.T, opts ...apply.Option) *apply.Applier {
	t.Helper()
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	require.NoError(t, err)
	a, err := apply.New(dyn, m, opts...)
	require.NoError(t, err)
	return a
}

func TestObjectsCheckedBeforeAnythingIsSent(t *testing.T) {
	t.Parallel()
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
	for _, tc := range []struct {
		name string
		objs []apply.Object
		want string
	}{
		{"none", nil, "no objects to apply; check that the manifests are not empty (nothing was applied)"},
		{"nil object", []apply.Object{{Source: "k8s/a.yaml#1"}}, "applying object (k8s/a.yaml#1): object 1 is empty"},
		{"no kind", objects(t, "k8s/a.yaml", "apiVersion: v1\nmetadata: {name: web}\n"),
			"applying object web (k8s/a.yaml#1): it has no apiVersion or kind; every object needs both, e.g. apiVersion: apps/v1, kind: Deployment"},
		{"no apiVersion", objects(t, "k8s/a.yaml", "kind: ConfigMap\nmetadata: {name: web}\n"),
			"it has no apiVersion or kind"},
		{"no name", objects(t, "k8s/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"),
			"applying ConfigMap (k8s/a.yaml#1): it has no metadata.name; give it a name"},
		{"generateName", objects(t, "k8s/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: web-}\n"),
			"it has no metadata.name (server-side apply cannot use generateName); give it a name"},
		{"twice", objects(t, "k8s/a.yaml", cm+"---\n"+cm),
			"applying ConfigMap default/web (k8s/a.yaml#2): it is given twice (also ConfigMap default/web (k8s/a.yaml#1)); keep one (nothing was applied)"},
		{"twice, once with the default namespace spelled out", objects(t, "k8s/a.yaml", cm+"---\n"+strings.Replace(cm, "{name: web}", "{name: web, namespace: default}", 1)),
			"it is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := offline(t).Apply(t.Context(), tc.objs)
			require.ErrorIs(t, err, apply.ErrInvalidObject)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, res.Objects)
		})
	}
}

func TestApplyDoesNotChangeItsInput(t *testing.T) {
	t.Parallel()
	objs := objects(t, "k8s/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, resourceVersion: \"12\"}\n")
	before := objs[0].DeepCopy()
	_, err := offline(t).Apply(t.Context(), objs)
	require.Error(t, err, "nothing listens")
	assert.Equal(t, before, objs[0].Unstructured, "the namespace default and the stripped fields went to a copy")
}

func TestUnreachableCluster(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	server := "https://" + l.Addr().String()
	require.NoError(t, l.Close())
	clients, err := kube.NewClients(&rest.Config{Host: server}, "shop")
	require.NoError(t, err)
	a, err := apply.New(clients.Dynamic, clients.Mapper, apply.WithNamespace("shop"))
	require.NoError(t, err)

	_, err = a.Apply(t.Context(), objects(t, "k8s/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"))
	require.Error(t, err)
	t.Log(err)
	assert.ErrorIs(t, err, kube.ErrUnreachable)
	var e *apply.Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, err.Error(), "applying ConfigMap web (k8s/a.yaml#1): cannot reach the Kubernetes API server at "+server+": connection refused; check the server address")

	// Past discovery (a mapper that needs no server), the write fails the same way.
	_, err = offline(t).Apply(t.Context(), objects(t, "k8s/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"))
	assert.ErrorIs(t, err, kube.ErrUnreachable)
	assert.Contains(t, err.Error(), "applying ConfigMap default/web (k8s/a.yaml#1): cannot reach the Kubernetes API server at https://127.0.0.1:1: connection refused")
}

func TestOptionsRejectedWhenMade(t *testing.T) {
	t.Parallel()
	m := meta.NewDefaultRESTMapper(nil)
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		opt   apply.Option
		field string // the *field.Error's field; "" for none
		want  string
	}{
		{"empty field manager", apply.WithFieldManager(""), apply.FieldFieldManager, `apply.WithFieldManager: "" is not a field manager name`},
		{"long field manager", apply.WithFieldManager(strings.Repeat("x", 129)), apply.FieldFieldManager, "1 to 128 characters"},
		{"bad namespace", apply.WithNamespace("Shop_Prod"), apply.FieldNamespace, `apply.WithNamespace: "Shop_Prod" is not a namespace name`},
		{"empty namespace", apply.WithNamespace(""), apply.FieldNamespace, `apply.WithNamespace: "" is not a namespace name`},
		{"bad applyset", apply.WithApplySet("Shop_Set"), apply.FieldApplySet, `apply.WithApplySet: "Shop_Set" is not a Secret name`},
		{"zero wait", apply.WithWaitTimeout(0), "", "positive duration"},
		{"nil progress", apply.WithProgress(nil), "", "nil writer"},
		{"nil clock", apply.WithClock(nil), "", "nil clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := apply.New(dyn, m, tc.opt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var fe *field.Error
			if tc.field == "" {
				assert.False(t, errors.As(err, &fe), "no field is at fault: %v", err)
			} else if assert.True(t, errors.As(err, &fe), "a *field.Error: %v", err) {
				assert.Equal(t, tc.field, fe.Field)
			}
		})
	}
	_, err = apply.New(nil, m)
	assert.Error(t, err)
}

func TestResultHelpers(t *testing.T) {
	t.Parallel()
	r := &apply.Result{Objects: []apply.Applied{
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "web", Action: apply.Unchanged},
		{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Namespace: "shop", Name: "web", Action: apply.Unchanged},
		{GVK: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, Namespace: "shop", Name: "migrate", Action: apply.Unchanged},
		{GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Deployment"}, Namespace: "shop", Name: "lookalike", Action: apply.Unchanged},
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, Name: "shop", Action: apply.Unchanged},
	}}
	var names []string
	for _, w := range r.Workloads() {
		names = append(names, w.String())
	}
	assert.Equal(t, []string{"Deployment shop/web", "Job shop/migrate"}, names, "a Deployment of another group is no workload")
	assert.Equal(t, "Namespace shop", r.Objects[4].String())
	assert.False(t, r.Changed())
	r.Objects[0].Action = apply.Configured
	assert.True(t, r.Changed())
	assert.Len(t, apply.Objects(&unstructured.Unstructured{}, &unstructured.Unstructured{}), 2)
}

func TestNoProgressLineForAFailedObject(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	_, err := offline(t, apply.WithProgress(&buf)).Apply(t.Context(), objects(t, "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"))
	require.Error(t, err)
	assert.Empty(t, buf.String(), "no line for an object that was not applied")
}

// TestApplyRetriesTransientFailures: a server-side apply is idempotent, so
// one refused with 503 or 429, or whose connection was reset, is sent again;
// a 4xx answer is final.
func TestApplyRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		failures []int // status of each failed attempt; 0 resets the connection
		wantErr  bool
		attempts int
	}{
		{"503 then 429 then ok", []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}, false, 3},
		{"reset then ok", []int{0}, false, 2},
		{"422 is final", []int{http.StatusUnprocessableEntity}, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var patches atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.Method != http.MethodPatch {
					w.WriteHeader(http.StatusNotFound)
					fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
					return
				}
				n := int(patches.Add(1))
				if n <= len(tc.failures) {
					code := tc.failures[n-1]
					if code == 0 {
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							_ = conn.(*net.TCPConn).SetLinger(0)
							conn.Close()
						}
						return
					}
					w.WriteHeader(code)
					fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"try again","code":%d}`, code)
					return
				}
				fmt.Fprint(w, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","namespace":"default","uid":"u1","resourceVersion":"1"}}`)
			}))
			t.Cleanup(srv.Close)
			m := meta.NewDefaultRESTMapper(nil)
			m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
			dyn, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
			require.NoError(t, err)
			a, err := apply.New(dyn, m)
			require.NoError(t, err)
			_, err = a.Apply(t.Context(), objects(t, "k8s/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"))
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.attempts, int(patches.Load()))
		})
	}
}
