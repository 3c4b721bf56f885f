package deploy

import (
	"context"
	"fmt"

	"github.com/deploy-action/deploy-action/pkg/apply"
)

// prune deletes what earlier releases applied and the manifests no longer
// have (Config.Prune), once the release is known good: a release that fails
// is rolled back with its objects still there. A dry run lists what would go.
func (d *Deployer) prune(ctx context.Context, applier *apply.Applier, res *Result) error {
	if !d.cfg.Prune || res.Apply == nil {
		return nil
	}
	if err := applier.Prune(ctx, res.Apply); err != nil {
		return fmt.Errorf("the release is applied, but %s could not finish: %w", d.o.names.Of(FieldPrune), err)
	}
	if len(res.Apply.Pruned) == 0 {
		fmt.Fprintf(d.o.log, "prune: nothing to prune in ApplySet %s\n", res.Apply.ApplySet.Parent)
	}
	return nil
}

// applySetName is the parent Secret of the release's ApplySet.
func (c Config) applySetName() string {
	if c.ApplySet != "" {
		return c.ApplySet
	}
	return apply.DefaultApplySet
}
