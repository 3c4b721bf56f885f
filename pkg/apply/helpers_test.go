package apply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// waitTimeout bounds a wait in a test; it measures nothing (the benchmarks do).
const waitTimeout = 60 * time.Second

// objects decodes a multi-document manifest; each object's source is
// file#index, as a renderer would name it.
func objects(t testing.TB, file, manifest string) []apply.Object {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []apply.Object
	for i := 1; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		if m == nil {
			continue
		}
		out = append(out, apply.Object{Unstructured: &unstructured.Unstructured{Object: m}, Source: fmt.Sprintf("%s#%d", file, i)})
	}
}

// syncBuffer collects progress lines written while a test reads them.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// applier returns an Applier for the cluster as cfg's user, with fresh
// discovery (a mapper shared between tests would hide what one test's
// CustomResourceDefinitions do to it).
func applier(t testing.TB, cfg *rest.Config, ns string, opts ...apply.Option) *apply.Applier {
	t.Helper()
	clients, err := kube.NewClients(cfg, ns)
	require.NoError(t, err)
	a, err := apply.New(clients.Dynamic, clients.Mapper, append([]apply.Option{apply.WithNamespace(ns)}, opts...)...)
	require.NoError(t, err)
	return a
}

func actions(r *apply.Result) []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, fmt.Sprintf("%s %s", o, o.Action))
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func kubeDynamic(t testing.TB, cfg *rest.Config) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	return d
}

// inputNames names the options as the action's inputs do.
var inputNames field.Names = func(f string) string {
	in := map[string]string{
		apply.FieldNamespace:       "namespace",
		apply.FieldCreateNamespace: "create-namespace",
		apply.FieldForceConflicts:  "force-conflicts",
		apply.FieldApplySet:        "applyset",
	}[f]
	if in == "" {
		return ""
	}
	return fmt.Sprintf("input %q", in)
}
