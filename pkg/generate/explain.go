package generate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/detect"
)

// indented writes every line it is given two spaces in.
type indented struct {
	w   io.Writer
	mid bool
}

func (i *indented) Write(p []byte) (int, error) {
	for _, c := range p {
		if !i.mid {
			if _, err := io.WriteString(i.w, "  "); err != nil {
				return 0, err
			}
		}
		if _, err := i.w.Write([]byte{c}); err != nil {
			return 0, err
		}
		i.mid = c != '\n'
	}
	return len(p), nil
}

// Explain writes what detection found, each fact with the file and line it
// was read from, the overrides and where they came from, and what will be
// written (new, changed, unchanged, or refused without --force).
func Explain(w io.Writer, repo detect.Repository, res *Result) error {
	var b strings.Builder
	b.WriteString("Detected\n")
	if err := repo.Explain(&indented{w: &b}); err != nil {
		return err
	}
	for i, svc := range repo.Services {
		sp := res.Plan.Services[i]
		fmt.Fprintf(&b, "\nWorkflow for %s (%s)\n", svc.Name, or(svc.Dir, "."))
		fmt.Fprintf(&b, "  => language %s; test: %s\n", sp.Language, or(sp.Test, "(none found)"))
		fmt.Fprintf(&b, "  => image %s built from %s", sp.Image, sp.Context)
		if sp.Dockerfile != "" {
			fmt.Fprintf(&b, " (%s)", sp.Dockerfile)
		}
		b.WriteString("\n")
		for _, c := range sp.Containers {
			fmt.Fprintf(&b, "  => service container %s: %s\n", c.Name, c.Image)
		}
		for _, e := range res.Plan.Environments {
			trigger := "pushes to " + res.Plan.Branch
			if e.Tag {
				trigger = "version tags"
			}
			fmt.Fprintf(&b, "  => deploy %s on %s: %s, kubeconfig from secret %s\n", e.Name, trigger, sp.Manifests[e.Name], e.Secret)
		}
	}
	if len(res.Overrides) > 0 {
		b.WriteString("\nOverrides\n")
		for _, o := range res.Overrides {
			fmt.Fprintf(&b, "  %s\n", o)
		}
	}
	b.WriteString("\nWill write\n")
	for _, f := range res.Files {
		state := "new"
		if old, err := os.ReadFile(filepath.Join(repo.Root, f.Path)); err == nil {
			switch {
			case bytes.Equal(old, f.Data):
				state = "unchanged"
			case !generatedByUs(old):
				state = "exists, not generated: kept unless --force"
			default:
				state = "changed"
			}
		}
		fmt.Fprintf(&b, "  %-40s %s\n", f.Path, state)
	}
	if len(res.Notes) > 0 {
		b.WriteString("\nNotes\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	if len(res.Findings) > 0 {
		b.WriteString("\nAudit of the workflow\n")
		for _, f := range res.Findings {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
