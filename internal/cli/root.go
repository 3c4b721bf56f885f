package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/deploy-action/deploy-action/internal/demo"
	"github.com/deploy-action/deploy-action/internal/report"
)

// Version information, set at link time (-ldflags "-X ...").
var (
	version = "dev"
	commit  = "unknown"
)

// quietKlog silences client-go, which logs through klog to stderr (a watch
// ended by the verdict's cancel, a retried request): what matters reaches the
// user as a cause or an error, not as library log lines. klog's logger is
// process-wide, so it is set once.
var quietKlog sync.Once

// env is the outside world a command sees; tests pass their own.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	rep            *report.Reporter
}

// Execute runs the CLI with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	quietKlog.Do(func() { klog.SetLogger(logr.Discard()) })
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv,
		rep: report.New(report.WithWriter(stdout), report.WithGetenv(getenv))}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	msg := e.rep.Mask(err.Error())
	var uerr usageError
	if errors.As(err, &uerr) {
		fmt.Fprintf(stderr, "error: %s\nRun 'deploy-action %s --help' for usage.\n", msg, uerr.cmd)
		return 2
	}
	if e.rep.InActions() {
		e.rep.Errorf("%s", msg)
	} else {
		fmt.Fprintf(stderr, "error: %s\n", msg)
	}
	return 1
}

type usageError struct {
	cmd string
	err error
}

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "deploy-action",
		Short: "From git push to a verified release on Kubernetes",
		Long: `deploy-action builds a container image, tags it, and pushes it to every registry at once;
the same binary is the GitHub Action (uses: deploy-action/deploy-action@v1) and this CLI.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{cmd: c.Name(), err: err}
	})
	root.AddCommand(newRunCmd(e), newBuildCmd(e), newTestCmd(e), newPushCmd(e), newRolloutCmd(e), newGenerateCmd(e), newDemoCmd(e), newVersionCmd(e))
	root.AddCommand(newAuditCmd(e))
	return root
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(e.stdout, "deploy-action %s (commit %s)\n", version, commit)
			return nil
		},
	}
}

func newDemoCmd(e *env) *cobra.Command {
	var o demo.Options
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run build, tag and push on embedded defaults, against an in-process registry",
		Long: `demo needs nothing configured: it starts an OCI registry on 127.0.0.1, builds a sample
image without a daemon, tags it <version> and latest, pushes it, and prints what to do next.
With a Docker engine running it also builds the sample shop through BuildKit and pushes it.
With --kubeconfig-file it deploys the sample to that cluster, then a broken release of it,
which the watch catches and rolls back.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return demo.Run(c.Context(), e.rep, o)
		},
	}
	c.Flags().StringVar(&o.ShopDir, "shop", "e2e/testdata/shop", "the sample shop's build context (skipped when absent)")
	c.Flags().StringVar(&o.DockerHost, "docker-host", "", "Docker engine address (default: DOCKER_HOST, else the local socket)")
	c.Flags().StringVar(&o.Version, "version", "0.1.0", "the version tag to push, besides latest")
	c.Flags().BoolVar(&o.Serve, "serve", false, "keep the registry up until interrupted, to inspect the images")
	c.Flags().StringVar(&o.Kubeconfig, "kubeconfig-file", "", "also deploy the sample to this cluster (make demo uses the test control plane when it is built)")
	return c
}
