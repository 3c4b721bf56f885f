package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-logr/logr"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/deploy-action/deploy-action/internal/demo"
	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/pkg/apply"
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
	// summaryFiles get the run's summary when it ends (--summary-file).
	summaryFiles []string
	verbose      bool
	// api is the engine client the stages share (see dockerClient).
	api *client.Client
	// flushes write out the last partial line of each progress writer.
	flushes []func()
}

// close flushes the progress writers and closes the engine client, once the
// stages are done with them.
func (e *env) close() {
	for _, f := range e.flushes {
		f()
	}
	e.flushes = nil
	if e.api != nil {
		e.api.Close()
		e.api = nil
	}
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
	e.close()
	// The summary of a failed run is the one most worth keeping.
	for _, f := range e.summaryFiles {
		if werr := e.rep.WriteSummary(f); werr != nil {
			if err == nil {
				err = fmt.Errorf("flag --summary-file: %w; name a file in a writable directory", werr)
			}
			continue
		}
		if e.rep.SummaryMarkdown() != "" {
			e.rep.Infof("summary written to %s", f)
		}
	}
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
	root.PersistentFlags().StringArrayVar(&e.summaryFiles, "summary-file", nil,
		"also write the summary to this file: Markdown, or an HTML page for a name ending in .html (repeatable)")
	root.PersistentFlags().BoolVarP(&e.verbose, "verbose", "v", false, "list every row of the summary (objects left unchanged too)")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		e.rep.SetTerminal(report.TerminalOptions{
			Color:   report.ColorFor(e.stdout, e.getenv),
			Verbose: e.verbose,
			Width:   report.TerminalWidth(e.stdout),
			Folds:   []report.Fold{{Column: "Applied", Value: string(apply.Unchanged), Noun: "objects"}},
		})
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

// demoSummaryFiles are where the demo writes its summary when --summary-file
// is not given.
var demoSummaryFiles = []string{".cache/demo/summary.md", ".cache/demo/summary.html"}

func newDemoCmd(e *env) *cobra.Command {
	var o demo.Options
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on embedded defaults: build, test, push, deploy, and a broken release rolled back",
		Long: `demo needs nothing configured. It starts an OCI registry on 127.0.0.1, builds the sample
shop through BuildKit, tests it (policy checks, structure tests, a smoke run against PostgreSQL),
pushes it as <namespace>/<name>:<version> and latest, and with --kubeconfig-file deploys it by
digest, then deploys a broken release of it, which the watch catches and rolls back. It ends with
the summary a workflow's job gets, also written as Markdown and HTML (.cache/demo/summary.md and
.html unless --summary-file says otherwise). Without a Docker engine it builds and releases a
daemonless sample instead; each part it skips is named with the command that enables it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !c.Flags().Changed("summary-file") {
				e.summaryFiles = demoSummaryFiles
			}
			o.Getenv = e.getenv
			o.FieldNames = inputNames
			_, err := demo.Run(c.Context(), e.rep, o)
			return nameInput(err)
		},
	}
	c.Flags().StringVar(&o.ShopDir, "shop", "e2e/testdata/shop", "the sample shop's build context; \"\" releases the daemonless sample")
	c.Flags().StringVar(&o.DockerHost, "docker-host", "", "Docker engine address (default: DOCKER_HOST, else the local socket)")
	c.Flags().StringVar(&o.Version, "version", "0.1.0", "the version tag to push, besides latest")
	c.Flags().BoolVar(&o.Serve, "serve", false, "keep the registry up until interrupted, to inspect the images")
	c.Flags().StringVar(&o.Namespace, "namespace", demo.Namespace, "the namespace the demo deploys to")
	c.Flags().StringVar(&o.Kubeconfig, "kubeconfig-file", "", "deploy to this cluster (make demo gives it the test control plane)")
	return c
}
