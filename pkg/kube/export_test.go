package kube

import "testing"

// NamespaceOf returns the namespace Connect would give its Clients for a.
func NamespaceOf(t *testing.T, a Access, opts ...Option) string {
	t.Helper()
	o, err := newOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, ns, err := load(a, o)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
