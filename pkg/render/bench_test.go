package render

import (
	"context"
	"testing"
)

// BenchmarkRender measures rendering the shop's manifests in each form, the
// time a deploy spends before it talks to the cluster.
func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct {
		name string
		spec Spec
		opts []Option
	}{
		{"plain", Spec{Paths: []string{shop + "/k8s"}}, nil},
		{"kustomize", Spec{Paths: []string{shop + "/kustomize"}}, []Option{WithRoot(shop)}},
		{"helm", Spec{Paths: []string{shop + "/chart"}}, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				objs, err := Render(context.Background(), bc.spec, bc.opts...)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Encode(objs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
