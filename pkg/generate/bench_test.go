package generate

import (
	"context"
	"io"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/deploy-action/deploy-action/pkg/audit"
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

// BenchmarkAudit is the audit of the shop's workflow, actionlint included;
// BenchmarkActionlint is actionlint alone.
func BenchmarkAudit(b *testing.B) {
	wf := shopWorkflow(b)
	for b.Loop() {
		if _, err := audit.Workflow(DefaultWorkflowPath, wf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkActionlint(b *testing.B) {
	wf := shopWorkflow(b)
	for b.Loop() {
		l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Lint("<stdin>", wf, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func shopWorkflow(b *testing.B) []byte {
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
	return wf
}
