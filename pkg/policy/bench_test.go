package policy_test

import (
	"context"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/policy"
)

// BenchmarkCheck times the checks on a synthetic image of 4 layers of 500
// source files each (about 10 MB of text), every line holding words the
// secret rules look for ("api", "token"): the worst case of the secret scan on
// an application's own files. BenchmarkPolicyShop in e2e measures a real image.
func BenchmarkCheck(b *testing.B) {
	var layers []v1.Layer
	for l := 0; l < 4; l++ {
		files := []testimage.File{}
		for i := 0; i < 500; i++ {
			content := ""
			for j := 0; j < 80; j++ {
				content += fmt.Sprintf("def handler_%d_%d(request):  # returns the api token count\n", i, j)
			}
			files = append(files, testimage.File{Path: fmt.Sprintf("/app/pkg%d/mod%d.py", l, i), Content: content})
		}
		layers = append(layers, testimage.Layer(b, files...))
	}
	img := testimage.Image(b, good(), append([]v1.Layer{testimage.Layer(b, baseFiles...)}, layers...)...)
	c, err := policy.New(policy.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := c.Check(context.Background(), img)
		if err != nil {
			b.Fatal(err)
		}
		if res.Scanned != 2003 {
			b.Fatalf("scanned %d files", res.Scanned)
		}
	}
}
