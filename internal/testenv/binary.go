package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// Binary builds the deploy-action command once per test process and returns
// its path, so end-to-end tests drive the program exactly as a user does.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "deploy-action-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "deploy-action")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/deploy-action")
		cmd.Dir = RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("building deploy-action: %v\n%s", binErr, binOut)
	}
	return binPath
}

// RepoRoot returns the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Run runs the deploy-action binary with args and env (added to a minimal
// environment: PATH and HOME only, so the machine's CI variables do not leak
// in) and returns its combined output and exit code.
func Run(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Dir = RepoRoot(t)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), ee.ExitCode()
		}
		t.Fatalf("running deploy-action: %v", err)
	}
	return out.String(), 0
}
