package demo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/render"
)

// Namespace is where the demo deploys.
const Namespace = "deploy-action-demo"

// deployHello deploys the pushed sample (ref, "<repository>@sha256:...") to the
// cluster of kubeconfig, then a broken release of it (an image whose
// containers crash, as the test control plane simulates it, or one that cannot
// be pulled, on any other cluster), which the watch catches and rolls back.
func deployHello(ctx context.Context, rep *report.Reporter, kubeconfig, ref string) error {
	dir, err := writeEmbedded("demo/k8s")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	_, digest, _ := strings.Cut(ref, "@")
	w, _ := rep.Writer()
	grace := 5 * time.Second
	release := func(title, target string) (*deploy.Result, error) {
		end := rep.Group("demo: " + title)
		defer end()
		m, err := pin.ParseMapping("demo/hello=" + target + "@" + digest)
		if err != nil {
			return nil, err
		}
		d, err := deploy.New(deploy.Config{
			Access:          kube.Access{Kubeconfig: kubeconfig},
			Manifests:       render.Spec{Paths: []string{dir}},
			ImageMap:        []pin.Mapping{m},
			Namespace:       Namespace,
			CreateNamespace: true,
			Grace:           &grace,
			Rollback:        true,
		}, deploy.WithLog(w))
		if err != nil {
			return nil, err
		}
		res, err := d.Deploy(ctx, nil)
		rep.Infof("%s", res.Markdown())
		return res, err
	}
	repo, _, _ := strings.Cut(ref, "@")
	if _, err := release("deploy hello", repo); err != nil {
		return fmt.Errorf("demo deploy: %w", err)
	}
	res, err := release("deploy a broken hello (it crashes), caught and rolled back", "example.com/crash")
	if err == nil || !res.RolledBack() {
		return fmt.Errorf("demo deploy: the broken release was not caught and rolled back (%v)", err)
	}
	rep.Infof("The broken release was caught in %s (%s) and rolled back; hello runs %s again.",
		res.Verdict.Duration.Round(time.Millisecond), res.Cause(), ref)
	return nil
}
