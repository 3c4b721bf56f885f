// Command kubetest-cluster starts and stops the test control plane outside of Go
// tests, for `make cluster-up` and `make cluster-down`:
//
//	kubetest-cluster up [-dir DIR] [-nodes N]   start it, print the KUBECONFIG
//	kubetest-cluster down [-dir DIR]            stop it and remove DIR
//
// The processes outlive the command; DIR (default .cache/cluster) holds their
// files and logs until `down`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/deploy-action/deploy-action/e2e/kubetest/controlplane"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest-cluster: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: kubetest-cluster up|down [-dir DIR] [-nodes N]")
	}
	fs := flag.NewFlagSet("kubetest-cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".cache/cluster", "directory of the control plane's files")
	nodes := fs.Int("nodes", 3, "simulated nodes")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		if server, kubeconfig, ok := controlplane.Running(*dir); ok {
			fmt.Fprintf(stderr, "a control plane already runs in %s (%s)\n", *dir, server)
			fmt.Fprintf(stdout, "export KUBECONFIG=%s\n", kubeconfig)
			return nil
		}
		// A directory left by a failed start or a killed cluster.
		if err := controlplane.StopDir(*dir); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		cp, err := controlplane.Start(ctx,
			controlplane.WithDir(*dir),
			controlplane.WithNodes(*nodes),
			controlplane.WithLog(stderr),
			controlplane.Detached(),
		)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "logs in %s/logs; stop with `make cluster-down`\n", cp.Dir)
		if kubectl, err := controlplane.Kubectl(os.Getenv); err == nil {
			fmt.Fprintf(stderr, "kubectl of the same release: %s\n", kubectl)
		}
		fmt.Fprintf(stdout, "export KUBECONFIG=%s\n", cp.Kubeconfig)
		return nil
	case "down":
		return controlplane.StopDir(*dir)
	default:
		return fmt.Errorf("unknown command %q; want up or down", args[0])
	}
}
