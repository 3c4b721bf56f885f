package pin

import (
	"strings"
	"testing"

	"github.com/deploy-action/deploy-action/pkg/render"
)

// BenchmarkPin pins a stream of 100 workloads (the test manifest repeated),
// the cost a large deploy adds after rendering.
func BenchmarkPin(b *testing.B) {
	var docs []string
	for i := 0; i < 12; i++ {
		docs = append(docs, strings.ReplaceAll(workloads, "name: ", "name: x"+strings.Repeat("y", i)))
	}
	objs, err := render.Parse("bench.yaml", []byte(strings.Join(docs, "---\n")))
	if err != nil {
		b.Fatal(err)
	}
	m := []Mapping{pushed(b, "index.docker.io/acme/shop@"+digest)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Pin(objs, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(objs)), "objects")
}
