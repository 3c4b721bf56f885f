// Command pushbench pushes the image of an OCI layout with pkg/push: the
// deploy-action side of bench/push.sh, timed from outside like the other tools.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/deploy-action/deploy-action/pkg/push"
)

func main() {
	dir := flag.String("layout", "", "OCI image layout holding one image")
	repos := flag.String("repo", "", "repositories to push to, comma-separated")
	tags := flag.String("tag", "", "tags, comma-separated")
	jobs := flag.Int("jobs", 4, "parallel uploads per registry")
	verbose := flag.Bool("v", false, "print one line per step")
	flag.Parse()
	if *dir == "" || *repos == "" {
		fmt.Fprintln(os.Stderr, "usage: pushbench -layout DIR -repo REGISTRY/NAME[,...] [-tag T[,...]] [-jobs N] [-v]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, split(*repos), split(*tags), *jobs, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "pushbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, repos, tags []string, jobs int, verbose bool) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return fmt.Errorf("reading layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	if len(m.Manifests) != 1 {
		return fmt.Errorf("layout %s holds %d manifests; want 1", dir, len(m.Manifests))
	}
	img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		return err
	}
	opts := []push.Option{push.WithJobs(jobs), push.WithKeychain(push.Keychain(os.Getenv))}
	if verbose {
		opts = append(opts, push.WithProgress(os.Stderr))
	}
	res, err := push.Push(ctx, img, repos, tags, opts...)
	if err != nil {
		return err
	}
	for _, ref := range res.Refs() {
		fmt.Println(ref)
	}
	return nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
