package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var (
	once   sync.Once
	binary []byte
	bErr   error
	bOut   []byte
)

// File is one file of a layer made with Layer.
type File struct {
	Path     string
	Content  string
	Mode     int64 // default 0644
	UID, GID int
	// Link makes the entry a symbolic link to Link.
	Link string
	// Dir makes the entry a directory.
	Dir bool
	// Whiteout makes the entry a deletion of Path from the layers below.
	Whiteout bool
}

// Layer makes an uncompressed layer from files, in order.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range files {
		name := f.Path
		if len(name) > 0 && name[0] == '/' {
			name = name[1:]
		}
		hdr := &tar.Header{Name: name, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: mtime}
		switch {
		case f.Whiteout:
			hdr.Name = filepath.Join(filepath.Dir(name), ".wh."+filepath.Base(name))
			hdr.Typeflag, hdr.Mode = tar.TypeReg, 0o644
		case f.Dir:
			hdr.Typeflag = tar.TypeDir
			if hdr.Mode == 0 {
				hdr.Mode = 0o755
			}
		case f.Link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f.Link, 0o777
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Content))
			if hdr.Mode == 0 {
				hdr.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg && !f.Whiteout {
			if _, err := io.WriteString(tw, f.Content); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image makes an image from layers with the given config.
func Image(t testing.TB, cfg v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ServerBinary returns the test server, built once per test process as a
// static binary for the machine's platform.
func ServerBinary(t testing.TB) []byte {
	t.Helper()
	once.Do(func() {
		dir, err := os.MkdirTemp("", "deploy-action-testserver-")
		if err != nil {
			bErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "server")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "github.com/deploy-action/deploy-action/internal/testimage/server")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if bOut, bErr = cmd.CombinedOutput(); bErr != nil {
			return
		}
		binary, bErr = os.ReadFile(out)
	})
	if bErr != nil {
		t.Fatalf("building the test server: %v\n%s", bErr, bOut)
	}
	return binary
}

// Server returns an image that runs the test server as UID 65534 on port
// 8080, with env added to its environment.
func Server(t testing.TB, env ...string) v1.Image {
	t.Helper()
	l := Layer(t, File{Path: "/server", Content: string(ServerBinary(t)), Mode: 0o755}, File{Path: "/tmp", Dir: true, Mode: 0o1777})
	return Image(t, v1.Config{
		User:         "65534:65534",
		Entrypoint:   []string{"/server"},
		Cmd:          []string{"serve"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Env:          append([]string{"PATH=/"}, env...),
		Labels: map[string]string{
			"org.opencontainers.image.source":   "https://github.com/acme/server",
			"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		},
	}, l)
}
