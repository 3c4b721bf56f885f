package manifestpolicy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/render"
)

// FuzzCheck: whatever objects the renderer accepts, the checks return
// findings or an error, never a panic, and never a finding without a place.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(good))
	for _, name := range []string{"app.yaml", "postgres.yaml", "prometheus.yaml"} {
		if b, err := os.ReadFile(filepath.Join(firstRelease, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {1: 2, a: [b]}\n"))
	f.Add([]byte("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: x}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a, image: ':'}]}}}}}\n"))
	c, err := manifestpolicy.New(manifestpolicy.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := render.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		res, err := c.Check(context.Background(), objs)
		if err != nil {
			return
		}
		for _, fd := range res.Findings {
			if fd.Source == "" || fd.Object == "" || fd.Message == "" || fd.Fix == "" {
				t.Fatalf("finding without its parts: %+v", fd)
			}
		}
	})
}
