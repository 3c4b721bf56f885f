package layers_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/build"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
)

var _ build.Interface = (*layers.Builder)(nil)

// noEnv is a getenv that finds nothing, so the machine's SOURCE_DATE_EPOCH
// cannot change a test.
func noEnv(string) string { return "" }

// entry is what a test checks of one tar entry.
type entry struct {
	Type     byte
	Mode     int64
	UID, GID int
	Link     string
	Body     string
}

// writeTree makes files under dir: a name ending in "/" is a directory, a
// value starting with "->" a symlink.
func writeTree(t *testing.T, dir string, files map[string]string, modes map[string]os.FileMode) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, "/"):
			require.NoError(t, os.MkdirAll(p, 0o755))
		case strings.HasPrefix(body, "->"):
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.Symlink(strings.TrimPrefix(body, "->"), p))
		default:
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		}
	}
	for name, m := range modes {
		require.NoError(t, os.Chmod(filepath.Join(dir, name), m))
	}
}

// readLayer returns the entries of a layer in order, and checks what every
// entry must have: no user names, the given time, nothing but files,
// directories and symlinks.
func readLayer(t *testing.T, l v1.Layer, when time.Time) ([]string, map[string]entry) {
	t.Helper()
	rc, err := l.Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	entries := map[string]entry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		assert.Empty(t, h.Uname, h.Name)
		assert.Empty(t, h.Gname, h.Name)
		assert.True(t, h.ModTime.Equal(when), "%s: mtime %v, want %v", h.Name, h.ModTime, when)
		assert.Contains(t, []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink}, h.Typeflag, h.Name)
		names = append(names, h.Name)
		entries[h.Name] = entry{Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Link: h.Linkname, Body: string(body)}
	}
	return names, entries
}

func lastLayer(t *testing.T, img v1.Image) v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	require.NoError(t, err)
	require.NotEmpty(t, ls)
	return ls[len(ls)-1]
}

func TestBuildScratch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"bin/app":              "#!/bin/sh\necho hi\n",
		"static/css/site.css":  "body{}",
		"static/index.html":    "<html>",
		"static/a.txt":         "a",
		"static/empty/":        "",
		"static/current":       "->css/site.css",
		"static/css/private/":  "",
		"static/css/private/k": "k",
	}, map[string]os.FileMode{"bin/app": 0o755, "static/css/private": 0o750})
	require.NoError(t, os.Symlink("bin/app", filepath.Join(dir, "app-link")))

	epoch := time.Unix(1700000000, 0).UTC()
	b, err := layers.New(layers.Spec{
		Base: "scratch",
		Layers: []layers.Layer{
			{Source: "app-link", Target: "/app/bin/app"}, // a symlinked source is followed
			{Source: "static", Target: "/srv/www", UID: 65532, GID: 65533},
			{Source: "static/a.txt", Target: "/etc/", Mode: mode(0o600)},
			{Source: "static", Target: "/", Mode: mode(0o444)},
		},
		Workdir:    "/app",
		Entrypoint: []string{"/app/bin/app"},
		Cmd:        []string{"--serve"},
		Env:        []string{"PORT=8000", "MODE=prod"},
		User:       "65532:65532",
		Ports:      []string{"8000", "9090/UDP", "8000/tcp"},
		Labels:     map[string]string{"team": "shop"},
		Platform:   "linux/arm64",
	}, layers.WithDir(dir), layers.WithSourceDateEpoch(epoch), layers.WithGetenv(noEnv))
	require.NoError(t, err)

	img, err := b.Build(context.Background())
	require.NoError(t, err)

	mt, err := img.MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.OCIManifestSchema1, mt)
	m, err := img.Manifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIConfigJSON, m.Config.MediaType)
	require.Len(t, m.Layers, 4)
	for _, l := range m.Layers {
		assert.Equal(t, types.OCILayer, l.MediaType)
	}

	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, "arm64", cf.Architecture)
	assert.True(t, cf.Created.Equal(epoch), "created %v", cf.Created)
	assert.Equal(t, "/app", cf.Config.WorkingDir)
	assert.Equal(t, []string{"/app/bin/app"}, cf.Config.Entrypoint)
	assert.Equal(t, []string{"--serve"}, cf.Config.Cmd)
	assert.Equal(t, []string{"PORT=8000", "MODE=prod"}, cf.Config.Env)
	assert.Equal(t, "65532:65532", cf.Config.User)
	assert.Equal(t, map[string]struct{}{"8000/tcp": {}, "9090/udp": {}}, cf.Config.ExposedPorts)
	assert.Equal(t, map[string]string{"team": "shop"}, cf.Config.Labels)
	require.Len(t, cf.History, 4)
	for i, h := range cf.History {
		assert.True(t, h.Created.Equal(epoch))
		assert.Equal(t, "deploy-action", h.Author)
		assert.Equal(t, "ADD "+[]string{"/app/bin/app", "/srv/www", "/etc/", "/"}[i], h.CreatedBy)
	}
	require.Len(t, cf.RootFS.DiffIDs, 4)

	ls, err := img.Layers()
	require.NoError(t, err)

	t.Run("file with parents", func(t *testing.T) {
		names, es := readLayer(t, ls[0], epoch)
		assert.Equal(t, []string{"app/", "app/bin/", "app/bin/app"}, names)
		assert.Equal(t, entry{Type: tar.TypeDir, Mode: 0o755}, es["app/"])
		assert.Equal(t, entry{Type: tar.TypeReg, Mode: 0o755, Body: "#!/bin/sh\necho hi\n"}, es["app/bin/app"])
	})
	t.Run("directory, owned, symlink kept", func(t *testing.T) {
		names, es := readLayer(t, ls[1], epoch)
		assert.Equal(t, []string{
			"srv/", "srv/www/", "srv/www/a.txt", "srv/www/css/", "srv/www/css/private/", "srv/www/css/private/k",
			"srv/www/css/site.css", "srv/www/current", "srv/www/empty/", "srv/www/index.html",
		}, names)
		assert.Equal(t, entry{Type: tar.TypeDir, Mode: 0o755}, es["srv/"], "a parent belongs to root")
		assert.Equal(t, entry{Type: tar.TypeDir, Mode: 0o755, UID: 65532, GID: 65533}, es["srv/www/"])
		assert.Equal(t, entry{Type: tar.TypeDir, Mode: 0o750, UID: 65532, GID: 65533}, es["srv/www/css/private/"])
		assert.Equal(t, entry{Type: tar.TypeReg, Mode: 0o644, UID: 65532, GID: 65533, Body: "<html>"}, es["srv/www/index.html"])
		assert.Equal(t, entry{Type: tar.TypeSymlink, Mode: 0o777, UID: 65532, GID: 65533, Link: "css/site.css"}, es["srv/www/current"])
	})
	t.Run("file into a directory target, mode override", func(t *testing.T) {
		names, es := readLayer(t, ls[2], epoch)
		assert.Equal(t, []string{"etc/", "etc/a.txt"}, names)
		assert.Equal(t, entry{Type: tar.TypeReg, Mode: 0o600, Body: "a"}, es["etc/a.txt"])
	})
	t.Run("directory at the root, mode only on files", func(t *testing.T) {
		names, es := readLayer(t, ls[3], epoch)
		assert.Equal(t, "a.txt", names[0], "no entry for the root itself")
		assert.Equal(t, int64(0o444), es["css/site.css"].Mode)
		assert.Equal(t, int64(0o750), es["css/private/"].Mode, "directories keep their mode")
	})
}

// pushBase puts img into an in-memory registry and returns its reference.
func pushBase(t *testing.T, host, repo string, img v1.Image) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repo)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	return ref
}

func baseImage(t *testing.T, platform v1.Platform, cfg v1.Config) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	require.NoError(t, err)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Config = cfg
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return img
}

func multiPlatform(t *testing.T, imgs map[string]v1.Image) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	for p, img := range imgs {
		pl, err := v1.ParsePlatform(p)
		require.NoError(t, err)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	return idx
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	require.NoError(t, err)
	return h
}

func TestBuildRegistryBase(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	cfg := v1.Config{
		Env:        []string{"PATH=/usr/bin", "PORT=80"},
		Cmd:        []string{"python3"},
		Labels:     map[string]string{"vendor": "base", "team": "base"},
		WorkingDir: "/",
	}
	amd := baseImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, cfg)
	arm := baseImage(t, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, cfg)
	single := pushBase(t, host, "base/single:v1", amd)
	idx := multiPlatform(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64/v8": arm})
	multiRef, err := name.ParseReference(host + "/base/multi:v1")
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(multiRef, idx))

	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app": "bin"}, nil)

	tests := []struct {
		name       string
		base       string
		platform   string
		entrypoint []string
		want       v1.Image
		wantDigest v1.Hash // the base.digest annotation
		wantErr    string
	}{
		{name: "single image", base: single.String(), want: amd, wantDigest: digest(t, amd)},
		{name: "by digest", base: host + "/base/single@" + digest(t, amd).String(), want: amd, wantDigest: digest(t, amd)},
		{name: "index, default platform", base: multiRef.String(), want: amd, wantDigest: digest(t, idx)},
		{name: "index, arm64 without variant", base: multiRef.String(), platform: "linux/arm64", want: arm, wantDigest: digest(t, idx)},
		{name: "entrypoint clears the base cmd", base: single.String(), entrypoint: []string{"/app"}, want: amd, wantDigest: digest(t, amd)},
		{name: "single image of another platform", base: single.String(), platform: "linux/arm64", wantErr: "is for linux/amd64, not linux/arm64"},
		{name: "missing tag", base: host + "/base/single:nope", wantErr: "reading " + host + "/base/single:nope: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := layers.New(layers.Spec{
				Base:       tc.base,
				Layers:     []layers.Layer{{Source: "app", Target: "/usr/local/bin/app", Mode: mode(0o755)}},
				Env:        []string{"PORT=8000", "DEBUG=0"},
				Labels:     map[string]string{"team": "shop"},
				Entrypoint: tc.entrypoint,
				Platform:   tc.platform,
			}, layers.WithDir(dir), layers.WithKeychain(authn.NewMultiKeychain()), layers.WithGetenv(noEnv))
			require.NoError(t, err)
			img, err := b.Build(context.Background())
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)

			baseLayers, err := tc.want.Layers()
			require.NoError(t, err)
			ls, err := img.Layers()
			require.NoError(t, err)
			require.Len(t, ls, len(baseLayers)+1)
			for i := range baseLayers {
				assert.Equal(t, digest(t, baseLayers[i]), digest(t, ls[i]), "base layer %d", i)
			}

			cf, err := img.ConfigFile()
			require.NoError(t, err)
			bcf, err := tc.want.ConfigFile()
			require.NoError(t, err)
			assert.Equal(t, bcf.Architecture, cf.Architecture)
			assert.Equal(t, []string{"PATH=/usr/bin", "PORT=8000", "DEBUG=0"}, cf.Config.Env)
			assert.Equal(t, map[string]string{"vendor": "base", "team": "shop"}, cf.Config.Labels)
			if tc.entrypoint != nil {
				assert.Equal(t, tc.entrypoint, cf.Config.Entrypoint)
				assert.Empty(t, cf.Config.Cmd)
			} else {
				assert.Equal(t, []string{"python3"}, cf.Config.Cmd)
			}
			assert.Len(t, cf.History, len(bcf.History)+1)

			m, err := img.Manifest()
			require.NoError(t, err)
			assert.Equal(t, tc.wantDigest.String(), m.Annotations["org.opencontainers.image.base.digest"])
			assert.Contains(t, m.Annotations["org.opencontainers.image.base.name"], "/base/")
			require.NoError(t, validate(img))
		})
	}
}

func TestBuildLayoutBase(t *testing.T) {
	t.Parallel()
	amd := baseImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Config{Cmd: []string{"sh"}})
	arm := baseImage(t, v1.Platform{OS: "linux", Architecture: "arm64"}, v1.Config{Cmd: []string{"sh"}})

	multi := t.TempDir()
	_, err := layout.Write(multi, multiPlatform(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm}))
	require.NoError(t, err)
	single := t.TempDir()
	_, err = layout.Write(single, empty.Index)
	require.NoError(t, err)
	require.NoError(t, layout.Path(single).AppendImage(amd))
	nested := t.TempDir()
	_, err = layout.Write(nested, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: multiPlatform(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm}),
	}))
	require.NoError(t, err)
	emptyLayout := t.TempDir()
	_, err = layout.Write(emptyLayout, empty.Index)
	require.NoError(t, err)

	src := t.TempDir()
	writeTree(t, src, map[string]string{"app": "bin"}, nil)

	tests := []struct {
		name, base, platform string
		want                 v1.Image
		wantErr              string
	}{
		{name: "single image", base: "oci:" + single, want: amd},
		{name: "multi-platform, default", base: "oci:" + multi, want: amd},
		{name: "multi-platform, arm64", base: "oci:" + multi, platform: "linux/arm64", want: arm},
		{name: "by digest", base: "oci:" + multi + "@" + digest(t, arm).String(), platform: "linux/arm64", want: arm},
		{name: "nested index", base: "oci:" + nested, platform: "linux/arm64/v8", want: arm},
		{name: "nested, by digest", base: "oci:" + nested + "@" + digest(t, arm).String(), want: arm},
		{name: "empty layout", base: "oci:" + emptyLayout, wantErr: "reading oci:" + emptyLayout + ": the layout holds no image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := layers.New(layers.Spec{Base: tc.base, Platform: tc.platform,
				Layers: []layers.Layer{{Source: "app", Target: "/app"}}}, layers.WithDir(src), layers.WithGetenv(noEnv))
			require.NoError(t, err)
			img, err := b.Build(context.Background())
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			ls, err := img.Layers()
			require.NoError(t, err)
			wl, err := tc.want.Layers()
			require.NoError(t, err)
			require.Len(t, ls, len(wl)+1)
			assert.Equal(t, digest(t, wl[0]), digest(t, ls[0]))
			m, err := img.Manifest()
			require.NoError(t, err)
			assert.NotContains(t, m.Annotations, "org.opencontainers.image.base.name", "a local base has no name to record")
			require.NoError(t, validate(img))
		})
	}
}

func TestBuildTarballBase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, err := random.Image(128, 1) // Docker media types, as docker save writes
	require.NoError(t, err)
	tag, err := name.NewTag("shop/base:1")
	require.NoError(t, err)
	require.NoError(t, tarball.WriteToFile(filepath.Join(dir, "base.tar"), tag, img))
	writeTree(t, dir, map[string]string{"app": "bin"}, nil)

	b, err := layers.New(layers.Spec{Base: "tarball:base.tar", Layers: []layers.Layer{{Source: "app", Target: "/app"}}},
		layers.WithDir(dir), layers.WithGetenv(noEnv))
	require.NoError(t, err)
	out, err := b.Build(context.Background())
	require.NoError(t, err)
	m, err := out.Manifest()
	require.NoError(t, err)
	assert.Equal(t, types.DockerManifestSchema2, m.MediaType)
	require.Len(t, m.Layers, 2)
	assert.Equal(t, types.DockerLayer, m.Layers[1].MediaType, "a Docker manifest gets a Docker layer")
	require.NoError(t, validate(out))
}

// validate reads the whole image back, as a push would, and checks every
// digest and size against the content.
func validate(img v1.Image) error {
	dir, err := os.MkdirTemp("", "layers-validate")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img); err != nil {
		return err
	}
	back, err := p.Image(mustDigest(img))
	if err != nil {
		return err
	}
	ls, err := back.Layers()
	if err != nil {
		return err
	}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func mustDigest(img v1.Image) v1.Hash {
	h, err := img.Digest()
	if err != nil {
		panic(err)
	}
	return h
}

// TestReproducible builds the same sources twice from trees made at
// different times in different places: the digests must match, and must
// change with SOURCE_DATE_EPOCH, so the equality is not an accident.
func TestReproducible(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"bin/app":          "binary",
		"static/a.css":     "a{}",
		"static/js/app.js": "x()",
		"static/link":      "->a.css",
		"static/z/":        "",
	}
	trees := []string{t.TempDir(), t.TempDir()}
	for i, dir := range trees {
		writeTree(t, dir, files, map[string]os.FileMode{"bin/app": 0o755})
		when := time.Date(2020+i, 1, 2, 3, 4, 5, 6, time.UTC)
		for _, f := range []string{"bin/app", "static/a.css", "static/js/app.js", "static/js", "static/z", "static"} {
			require.NoError(t, os.Chtimes(filepath.Join(dir, f), when, when))
		}
	}
	build := func(dir, sde string) v1.Hash {
		b, err := layers.New(layers.Spec{
			Base:       "scratch",
			Layers:     []layers.Layer{{Source: "bin/app", Target: "/app/app"}, {Source: "static", Target: "/app/static", UID: 1000}},
			Entrypoint: []string{"/app/app"},
			Env:        []string{"A=1"},
			Labels:     map[string]string{"b": "2", "a": "1"},
			Ports:      []string{"9000", "8000"},
		}, layers.WithDir(dir), layers.WithGetenv(func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return sde
			}
			return ""
		}))
		require.NoError(t, err)
		img, err := b.Build(context.Background())
		require.NoError(t, err)
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		if sde != "" {
			assert.Equal(t, sde, strconv.FormatInt(cf.Created.Unix(), 10))
			_, es := readLayer(t, lastLayer(t, img), cf.Created.Time)
			assert.Equal(t, 1000, es["app/static/a.css"].UID)
		}
		return digest(t, img)
	}
	a := build(trees[0], "1700000000")
	assert.Equal(t, a, build(trees[1], "1700000000"), "same sources, same SOURCE_DATE_EPOCH, same digest")
	assert.Equal(t, build(trees[0], ""), build(trees[1], ""), "without SOURCE_DATE_EPOCH the Unix epoch is used")
	assert.NotEqual(t, a, build(trees[0], "1700000001"))
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app": "bin", "notalayout/": "", "static/": ""}, nil)
	tests := []struct {
		name    string
		spec    layers.Spec
		getenv  func(string) string
		wantErr []string
	}{
		{name: "empty base", spec: layers.Spec{}, wantErr: []string{`layers.Spec.Base: no image given; use "scratch"`}},
		{name: "bad reference", spec: layers.Spec{Base: "Not A Ref"}, wantErr: []string{`layers.Spec.Base: "Not A Ref" is not an image reference`}},
		{name: "docker base", spec: layers.Spec{Base: "docker:shop:1"}, wantErr: []string{`docker save shop:1 -o image.tar`}},
		{name: "layout without index", spec: layers.Spec{Base: "oci:notalayout"}, wantErr: []string{"is not an OCI image layout"}},
		{name: "layout with bad digest", spec: layers.Spec{Base: "oci:x@sha256:zz"}, wantErr: []string{"has a bad digest"}},
		{name: "missing tarball", spec: layers.Spec{Base: "tarball:nope.tar"}, wantErr: []string{"nope.tar is not a readable file"}},
		{name: "missing source", spec: layers.Spec{Base: "scratch", Layers: []layers.Layer{{Source: "dist", Target: "/srv"}}},
			wantErr: []string{`layers.Spec.Layers: "dist:/srv" has a source that cannot be read`, "build the file first"}},
		{name: "relative target", spec: layers.Spec{Base: "scratch", Layers: []layers.Layer{{Source: "app", Target: "app"}}},
			wantErr: []string{"relative target"}},
		{name: "bad ports", spec: layers.Spec{Base: "scratch", Ports: []string{"http", "0", "70000", "53/icmp"}},
			wantErr: []string{`"http" is not a port`, `"0" is not a port`, `"70000" is not a port`, `"53/icmp" has protocol "icmp"`}},
		{name: "bad env", spec: layers.Spec{Base: "scratch", Env: []string{"NOVALUE", "=x", "A=1", "A=2", "B C=1"}},
			wantErr: []string{`"NOVALUE" is not KEY=VALUE`, `"=x" is not KEY=VALUE`, "A is set twice", "white space in its name"}},
		{name: "relative workdir", spec: layers.Spec{Base: "scratch", Workdir: "app"}, wantErr: []string{`layers.Spec.Workdir: "app" is relative`}},
		{name: "user with space", spec: layers.Spec{Base: "scratch", User: "app user"}, wantErr: []string{`layers.Spec.User: "app user" has white space`}},
		{name: "empty label key", spec: layers.Spec{Base: "scratch", Labels: map[string]string{" ": "x"}}, wantErr: []string{`layers.Spec.Labels: a label has an empty key`}},
		{name: "bad platform", spec: layers.Spec{Base: "scratch", Platform: "amd64"}, wantErr: []string{`platform "amd64" is not os/arch`}},
		{name: "bad SOURCE_DATE_EPOCH", spec: layers.Spec{Base: "scratch"}, getenv: func(string) string { return "yesterday" },
			wantErr: []string{`SOURCE_DATE_EPOCH: "yesterday" is not a number of seconds`}},
		{name: "every problem at once", spec: layers.Spec{Ports: []string{"x"}, Workdir: "w"},
			wantErr: []string{`layers.Spec.Base: `, `layers.Spec.Ports: `, `layers.Spec.Workdir: `}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv := tc.getenv
			if getenv == nil {
				getenv = noEnv
			}
			_, err := layers.New(tc.spec, layers.WithDir(dir), layers.WithGetenv(getenv))
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	t.Run("nil keychain", func(t *testing.T) {
		t.Parallel()
		_, err := layers.New(layers.Spec{Base: "scratch"}, layers.WithKeychain(nil))
		assert.ErrorContains(t, err, "non-nil")
	})
}

func TestBuildRejectsSpecialFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"run/x": "x"}, nil)
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "run", "fifo"), 0o644))
	b, err := layers.New(layers.Spec{Base: "scratch", Layers: []layers.Layer{{Source: "run", Target: "/run"}}},
		layers.WithDir(dir), layers.WithGetenv(noEnv))
	require.NoError(t, err)
	_, err = b.Build(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a named pipe; a layer holds only files, directories and symlinks")
}

func TestBuildCanceled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"d/a": "a", "d/b": "b"}, nil)
	b, err := layers.New(layers.Spec{Base: "scratch", Layers: []layers.Layer{{Source: "d", Target: "/d"}}},
		layers.WithDir(dir), layers.WithGetenv(noEnv))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.Build(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}
