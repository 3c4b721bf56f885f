package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/deploy-action/deploy-action/pkg/engine"
)

// InCI reports whether the tests run in CI, where a missing part is a failure.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Require stops the test when ok is false: it fails in CI and skips elsewhere,
// printing what is missing and how to provide it.
func Require(t testing.TB, ok bool, what, fix string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("%s is missing, and CI skips nothing: %s", what, fix)
	}
	t.Skipf("skipping: %s is missing; %s", what, fix)
}

// LookPath returns the path of a program the test needs, or stops the test.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, err == nil, "the program "+name, "run `make setup` (hack/setup.sh) to install it")
	return p
}

// DockerHost returns the Docker engine's address once the engine answers, or
// stops the test. The address is DOCKER_HOST's (unix:// or tcp://, with the TLS
// of DOCKER_CERT_PATH and DOCKER_TLS_VERIFY), else the local socket: the test
// reaches the engine as the stages will.
func DockerHost(t testing.TB) string {
	t.Helper()
	host := engine.Host("", os.Getenv)
	api, err := engine.New()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = api.Ping(ctx, client.PingOptions{})
		cancel()
		api.Close()
	}
	Require(t, err == nil, "a Docker engine at "+host, "run `make setup` (hack/setup.sh) to install and start dockerd")
	return host
}
