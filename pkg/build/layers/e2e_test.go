package layers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
)

// probe reports, from inside the container, what the image gave it.
const probe = `package main

import (
	"encoding/json"
	"os"
	"syscall"
)

func main() {
	wd, _ := os.Getwd()
	out := map[string]any{"uid": os.Getuid(), "gid": os.Getgid(), "wd": wd, "env": os.Getenv("GREETING"), "args": os.Args[1:]}
	for _, p := range []string{"/app/bin/probe", "/srv/data", "/srv/data/conf.txt", "/srv/data/current", "/app"} {
		fi, err := os.Lstat(p)
		if err != nil {
			out[p] = err.Error()
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		link, _ := os.Readlink(p)
		out[p] = map[string]any{"mode": fi.Mode().String(), "uid": st.Uid, "gid": st.Gid, "link": link}
	}
	b, _ := os.ReadFile("/srv/data/current")
	out["content"] = string(b)
	json.NewEncoder(os.Stdout).Encode(out)
}
`

// TestRunInDocker runs a daemonless image in a real container runtime: the
// layers' files, modes, owners, symlinks and parent directories, and the
// config's user, working directory, environment and entrypoint must all hold
// there, not only in the tar. skopeo then reads the same image as an OCI layout.
func TestRunInDocker(t *testing.T) {
	t.Parallel()
	testenv.DockerHost(t)
	docker := testenv.LookPath(t, "docker")
	goBin := testenv.LookPath(t, "go")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module probe\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(probe), 0o644))
	cmd := exec.Command(goBin, "build", "-o", "probe", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOTOOLCHAIN=local", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the probe: %s", out)
	require.NoError(t, os.Chmod(filepath.Join(dir, "probe"), 0o600)) // the layer's mode must win
	writeTree(t, dir, map[string]string{"data/conf.txt": "port=8000", "data/current": "->conf.txt"}, nil)

	b, err := layers.New(layers.Spec{
		Base: "scratch",
		Layers: []layers.Layer{
			{Source: "probe", Target: "/app/bin/", Mode: mode(0o755)},
			{Source: "data", Target: "/srv/data", UID: 65532, GID: 65533},
		},
		Workdir:    "/srv",
		Entrypoint: []string{"/app/bin/probe"},
		Cmd:        []string{"--serve"},
		Env:        []string{"GREETING=hello"},
		User:       "65532:65533",
		Platform:   "linux/" + runtime.GOARCH, // the engine runs what the machine runs
	}, layers.WithDir(dir), layers.WithSourceDateEpoch(time.Unix(1700000000, 0)), layers.WithGetenv(noEnv))
	require.NoError(t, err)
	img, err := b.Build(context.Background())
	require.NoError(t, err)

	t.Run("docker", func(t *testing.T) {
		suffix := make([]byte, 4)
		_, _ = rand.Read(suffix)
		tag, err := name.NewTag("deploy-action-test/layers:" + hex.EncodeToString(suffix))
		require.NoError(t, err)
		tarPath := filepath.Join(t.TempDir(), "img.tar")
		require.NoError(t, tarball.WriteToFile(tarPath, tag, img))
		run := func(args ...string) string {
			out, err := exec.Command(docker, args...).CombinedOutput()
			require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
			return string(out)
		}
		run("load", "-i", tarPath)
		t.Cleanup(func() { _ = exec.Command(docker, "rmi", "-f", tag.String()).Run() })

		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(run("run", "--rm", "--network=none", tag.String())), &got))
		assert.Equal(t, map[string]any{
			"uid": 65532.0, "gid": 65533.0, "wd": "/srv", "env": "hello", "args": []any{"--serve"},
			"/app":               map[string]any{"mode": "drwxr-xr-x", "uid": 0.0, "gid": 0.0, "link": ""},
			"/app/bin/probe":     map[string]any{"mode": "-rwxr-xr-x", "uid": 0.0, "gid": 0.0, "link": ""},
			"/srv/data":          map[string]any{"mode": "drwxr-xr-x", "uid": 65532.0, "gid": 65533.0, "link": ""},
			"/srv/data/conf.txt": map[string]any{"mode": "-rw-r--r--", "uid": 65532.0, "gid": 65533.0, "link": ""},
			"/srv/data/current":  map[string]any{"mode": "Lrwxrwxrwx", "uid": 65532.0, "gid": 65533.0, "link": "conf.txt"},
			"content":            "port=8000",
		}, got)
	})

	t.Run("skopeo", func(t *testing.T) {
		skopeo := testenv.LookPath(t, "skopeo")
		dir := t.TempDir()
		p, err := layout.Write(dir, empty.Index)
		require.NoError(t, err)
		require.NoError(t, p.AppendImage(img))
		out, err := exec.Command(skopeo, "inspect", "--config", "oci:"+dir).CombinedOutput()
		require.NoError(t, err, "skopeo: %s", out)
		var cfg struct {
			Architecture, OS string
			Created          time.Time
			Config           struct{ Entrypoint, Env []string }
		}
		require.NoError(t, json.Unmarshal(out, &cfg))
		assert.Equal(t, runtime.GOARCH, cfg.Architecture)
		assert.Equal(t, "linux", cfg.OS)
		assert.Equal(t, int64(1700000000), cfg.Created.Unix())
		assert.Equal(t, []string{"/app/bin/probe"}, cfg.Config.Entrypoint)
		assert.Equal(t, []string{"GREETING=hello"}, cfg.Config.Env)
	})
}
