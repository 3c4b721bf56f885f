package audit

import (
	"os"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
)

// BenchmarkAudit audits a workflow of the size the generator writes (testdata/hardened.yml: four
// jobs, services, staged deploys) and the usual hand-written one. "all" is Workflow with its
// defaults and reports actionlint's share of the time (%actionlint); "rules" is our rules on
// actionlint's parse; "parse" is actionlint's parser alone.
//
//	go test ./pkg/audit -run '^$' -bench BenchmarkAudit -benchmem
func BenchmarkAudit(b *testing.B) {
	for _, name := range []string{"hardened", "usual"} {
		src, err := os.ReadFile("testdata/" + name + ".yml")
		if err != nil {
			b.Fatal(err)
		}
		o, rules, err := makeOptions(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/all", func(b *testing.B) {
			var inLint time.Duration
			start := time.Now()
			for b.Loop() {
				if aliasBlowup("w.yml", src) != nil {
					b.Fatal("alias blowup")
				}
				t := time.Now()
				wf, _, err := lint("w.yml", src)
				inLint += time.Since(t)
				if err != nil || wf == nil {
					b.Fatal(err)
				}
				f := newFile("w.yml", src, wf, o)
				for _, r := range rules {
					r.check(f)
				}
				sortFindings(f.findings)
			}
			b.ReportMetric(100*float64(inLint)/float64(time.Since(start)), "%actionlint")
		})
		b.Run(name+"/workflow", func(b *testing.B) {
			for b.Loop() {
				if _, err := Workflow("w.yml", src); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/rules", func(b *testing.B) {
			for b.Loop() {
				if _, err := Workflow("w.yml", src, WithActionlint(false)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parse", func(b *testing.B) {
			for b.Loop() {
				if w, _ := actionlint.Parse(src); w == nil {
					b.Fatal("no workflow")
				}
			}
		})
	}
}
