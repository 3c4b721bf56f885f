package scaffold_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// TestGeneratedManifestsPassPolicy checks every fixture's generated overlays
// (the shop's forced too) with the manifest policy, every check in warn mode
// or stricter, as a deploy checks them: the repositories the release pushes
// count as pinned by digest, as the deploy pins them before the check. No
// finding counts; the only waived ones are the queue workers' probes, opted
// out by the generator's annotation with its reason.
func TestGeneratedManifestsPassPolicy(t *testing.T) {
	type run struct {
		name string
		opts scaffold.Options
	}
	for _, r := range []run{{"", scaffold.Options{}}, {"-forced", forced()}} {
		for _, f := range fixtures(t) {
			if r.name != "" && f.name != "shop" {
				continue
			}
			files := map[string]scaffold.File{}
			var pushed []string
			for _, svc := range f.repo.Services {
				res, err := scaffold.Generate(f.repo, svc, r.opts)
				require.NoError(t, err, "%s/%s", f.name, svc.Name)
				for _, file := range res.Files {
					files[f.name+r.name+"/"+file.Path] = file
				}
				// The manifests name the service's repository (Options.Image,
				// by default the service's name); the deploy pushes it.
				pushed = append(pushed, "docker.io/library/"+svc.Name+"@sha256:"+strings.Repeat("0", 64))
			}
			dirs := overlays(files)
			if len(dirs) == 0 {
				continue
			}
			mapping, err := pin.Pushed(pushed...)
			require.NoError(t, err)
			for _, d := range dirs {
				t.Run(d, func(t *testing.T) {
					objs, err := render.Parse(d, build(t, files, d))
					require.NoError(t, err)
					// Monitoring on its own runs no container: nothing to pin.
					p, err := pin.Pin(objs, []pin.Mapping{mapping}, pin.WithUnmatched(pin.Warn))
					require.NoError(t, err)
					checker, err := manifestpolicy.New(manifestpolicy.Config{Namespace: "app"})
					require.NoError(t, err)
					res, err := checker.Check(context.Background(), p.Objects)
					require.NoError(t, err)
					assert.Empty(t, res.Warnings(), res.Text())
					assert.False(t, res.Failed(), res.Text())
					for _, fd := range res.Findings {
						assert.False(t, fd.Counts(), "%+v", fd)
						assert.Equal(t, manifestpolicy.Probes, fd.Check, "%+v", fd)
						assert.Contains(t, fd.Waived, "a queue worker serves no port", "%+v", fd)
					}
				})
			}
		}
	}
}
