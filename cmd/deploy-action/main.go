// Command deploy-action takes a repository from git push to a verified release.
// It is both the GitHub Action's entrypoint and a CLI; all behaviour is in the packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/deploy-action/deploy-action/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
