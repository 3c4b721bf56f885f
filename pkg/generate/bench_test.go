package generate

import (
	"context"
	"testing"
)

// BenchmarkGenerate is one generation of the shop: plan, templates, and
// actionlint on the workflow (the bar: under 100 ms).
// BenchmarkGenerateNoLint and BenchmarkLint split it, for actionlint's share.
func BenchmarkGenerate(b *testing.B) {
	repo := shopRepo(b.TempDir())
	for b.Loop() {
		if _, err := Generate(context.Background(), repo, nil, Overrides{}, WithActionPin(testPin)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateNoLint(b *testing.B) {
	repo := shopRepo(b.TempDir())
	for b.Loop() {
		if _, err := Generate(context.Background(), repo, nil, Overrides{}, WithActionPin(testPin), WithoutLint()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLint(b *testing.B) {
	res, err := Generate(context.Background(), shopRepo(b.TempDir()), nil, Overrides{}, WithActionPin(testPin), WithoutLint())
	if err != nil {
		b.Fatal(err)
	}
	var wf []byte
	for _, f := range res.Files {
		if f.Path == DefaultWorkflowPath {
			wf = f.Data
		}
	}
	for b.Loop() {
		if _, err := Lint(DefaultWorkflowPath, wf); err != nil {
			b.Fatal(err)
		}
	}
}
