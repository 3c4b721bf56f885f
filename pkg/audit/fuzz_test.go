package audit_test

import (
	"os"
	"testing"

	"github.com/deploy-action/deploy-action/pkg/audit"
)

// FuzzWorkflow: whatever the bytes, Workflow returns findings with a place and a rule, never a
// panic. go test ./pkg/audit -run '^$' -fuzz FuzzWorkflow -fuzztime 60s
func FuzzWorkflow(f *testing.F) {
	for _, p := range []string{"testdata/usual.yml", "testdata/hardened.yml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range ruleCases {
		f.Add([]byte(tc.yaml))
	}
	f.Add([]byte("on: push\njobs:\n  a:\n    steps:\n      - run: ${{ \n"))
	f.Add([]byte("{}"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("on: &a [push]\njobs: *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fs, err := audit.Workflow("fuzz.yml", src, audit.WithPins(pins))
		if err != nil {
			t.Fatalf("Workflow: %v", err)
		}
		for _, f := range fs {
			if f.Line < 1 || f.Column < 1 || f.Rule == "" || f.Message == "" || (f.Severity != audit.Error && f.Severity != audit.Warning) {
				t.Fatalf("malformed finding %+v", f)
			}
		}
	})
}
