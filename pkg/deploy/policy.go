package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
)

// checkManifests runs the manifest policy over the release as it will be
// applied: the repositories the run pushes and the images of "image-map"
// count as pinned by digest, since they will be. A finding in fail mode stops
// the deploy here, before anything is applied.
func (d *Deployer) checkManifests(ctx context.Context, repos []string) error {
	objs := d.objects
	if len(repos) > 0 || len(d.cfg.ImageMap) > 0 {
		p, err := d.pin(repos, strings.Repeat("0", 64))
		if err != nil {
			return err
		}
		objs = p.Objects
	}
	cfg := d.cfg.Policy
	if cfg.Namespace == "" {
		cfg.Namespace = d.namespace
	}
	checker, err := manifestpolicy.New(cfg)
	if err != nil {
		return err
	}
	res, err := checker.Check(ctx, objs)
	if err != nil {
		return fmt.Errorf("checking the manifests: %w", err)
	}
	d.policy = res
	fmt.Fprintf(d.o.log, "manifest policy: %s\n", res.Verdict())
	_, _ = io.WriteString(d.o.log, res.Text())
	if err := res.Err(); err != nil {
		return fmt.Errorf("%w; nothing was applied", err)
	}
	return nil
}
