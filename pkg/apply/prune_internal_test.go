package apply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

// TestApplySetID: the ID kubectl apply --applyset computes for the parent
// Secret my-set in namespace test (its own test's value), so that either tool
// recognises the other's set.
func TestApplySetID(t *testing.T) {
	assert.Equal(t, "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1", ApplySetID("my-set", "test"))
	assert.NotEqual(t, ApplySetID("my-set", "test"), ApplySetID("my-set", "prod"), "the namespace is part of the identity")
}

// TestApplySetParent: the parent records the kinds and namespaces in the
// specification's format, reads back what it wrote, and one of another tool,
// or a plain Secret, is refused.
func TestApplySetParent(t *testing.T) {
	set := &ApplySet{ID: ApplySetID("shop", "prod"), name: "shop", namespace: "prod"}
	kinds := sets.New(schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Kind: "Service"})
	p := parent(set, kinds, sets.New("shop-jobs"))
	assert.Equal(t, map[string]string{
		ApplySetToolingAnnotation:    "deploy-action/v1",
		ApplySetKindsAnnotation:      "ConfigMap,Deployment.apps,Service",
		ApplySetNamespacesAnnotation: "shop-jobs",
	}, p.GetAnnotations())
	assert.Equal(t, map[string]string{ApplySetIDLabel: set.ID}, p.GetLabels())
	assert.Nil(t, checkParent(set, p))
	gotKinds, gotNS := parseParent(p)
	assert.Equal(t, kinds, gotKinds)
	assert.Equal(t, sets.New("shop-jobs"), gotNS)

	for name, mutate := range map[string]func(u *unstructured.Unstructured){
		"a plain Secret": func(u *unstructured.Unstructured) { u.SetAnnotations(nil) },
		"kubectl's set": func(u *unstructured.Unstructured) {
			a := u.GetAnnotations()
			a[ApplySetToolingAnnotation] = "kubectl/v1.37.2"
			u.SetAnnotations(a)
		},
		"another ID": func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{ApplySetIDLabel: "applyset-x-v1"}) },
	} {
		t.Run(name, func(t *testing.T) {
			u := p.DeepCopy()
			mutate(u)
			e := checkParent(set, u)
			require.NotNil(t, e, "refused")
			assert.Contains(t, e.Error(), "left alone")
		})
	}
}
