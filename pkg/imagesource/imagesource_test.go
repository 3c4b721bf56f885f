package imagesource_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagesource"
)

const someDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	require.NoError(t, err)
	return h
}

// platformImage is a random OCI image whose config says it is for p.
func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	require.NoError(t, err)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
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

func writeLayout(t *testing.T, dir string, idx v1.ImageIndex, imgs ...v1.Image) string {
	t.Helper()
	p, err := layout.Write(dir, idx)
	require.NoError(t, err)
	for _, img := range imgs {
		require.NoError(t, p.AppendImage(img))
	}
	return dir
}

func parseRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	require.NoError(t, err)
	return r
}

func newRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// baseField is a caller's field, named as a caller's input would be.
const baseField = "build.Spec.Base"

var inputNames field.Names = func(f string) string {
	if f == baseField {
		return `input "base"`
	}
	return ""
}

func TestParse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "out"), empty.Index)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "img.tar"), []byte("x"), 0o644))

	tests := []struct {
		name     string
		text     string
		opts     []imagesource.Option
		wantKind imagesource.Kind
		want     string // String()
	}{
		{name: "scratch", text: "scratch", wantKind: imagesource.Scratch, want: "scratch"},
		{name: "white space around", text: "  scratch\n", wantKind: imagesource.Scratch, want: "scratch"},
		{name: "registry", text: "debian:trixie-slim", wantKind: imagesource.Remote, want: "debian:trixie-slim"},
		{name: "registry by digest", text: "ghcr.io/o/n@" + someDigest, wantKind: imagesource.Remote, want: "ghcr.io/o/n@" + someDigest},
		{name: "layout, absolute", text: "oci:" + dir + "/out", wantKind: imagesource.Layout, want: "oci:" + dir + "/out"},
		{name: "layout, relative to the dir", text: "oci:out", opts: []imagesource.Option{imagesource.WithDir(dir)},
			wantKind: imagesource.Layout, want: "oci:" + dir + "/out"},
		{name: "layout by digest", text: "oci:out@" + someDigest, opts: []imagesource.Option{imagesource.WithDir(dir)},
			wantKind: imagesource.Layout, want: "oci:" + dir + "/out@" + someDigest},
		{name: "absolute path ignores the dir", text: "tarball:" + dir + "/img.tar", opts: []imagesource.Option{imagesource.WithDir("/elsewhere")},
			wantKind: imagesource.Tarball, want: "tarball:" + dir + "/img.tar"},
		{name: "tarball, relative", text: "tarball:./img.tar", opts: []imagesource.Option{imagesource.WithDir(dir)},
			wantKind: imagesource.Tarball, want: "tarball:" + dir + "/img.tar"},
		{name: "docker", text: "docker:shop:1", wantKind: imagesource.Docker, want: "docker:shop:1"},
		{name: "limited kinds", text: "scratch", opts: []imagesource.Option{imagesource.WithKinds(imagesource.Scratch)},
			wantKind: imagesource.Scratch, want: "scratch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := imagesource.Parse(tc.text, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, tc.wantKind, s.Kind())
			assert.Equal(t, tc.want, s.String())
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "out"), empty.Index)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "img.tar"), []byte("x"), 0o644))
	base := []imagesource.Option{imagesource.WithField(baseField), imagesource.WithDir(dir),
		imagesource.WithKinds(imagesource.Scratch, imagesource.Remote, imagesource.Layout, imagesource.Tarball)}
	from := []imagesource.Option{imagesource.WithDir(dir),
		imagesource.WithKinds(imagesource.Scratch, imagesource.Layout, imagesource.Tarball, imagesource.Docker)}

	tests := []struct {
		name string
		text string
		opts []imagesource.Option
		want []string
	}{
		{name: "empty", text: " ", want: []string{`imagesource.Parse: no image given; use "scratch", an image reference such as "debian:trixie-slim", "oci:DIR[@sha256:...]", "tarball:FILE" or "docker:NAME"`}},
		{name: "empty, named input and kinds", text: "", opts: base,
			want: []string{`build.Spec.Base: no image given; use "scratch", an image reference such as "debian:trixie-slim", "oci:DIR[@sha256:...]" or "tarball:FILE"`}},
		{name: "bad reference", text: "Not A Ref", opts: base, want: []string{`build.Spec.Base: "Not A Ref" is not an image reference`, `use "scratch"`}},
		{name: "layout without index", text: "oci:nope", opts: base,
			want: []string{`build.Spec.Base: ` + dir + `/nope is not an OCI image layout (no readable index.json`, "crane pull --format=oci"}},
		{name: "layout with bad digest", text: "oci:out@sha256:zz", want: []string{`"oci:out@sha256:zz" has a bad digest "sha256:zz"`, "oci:DIR@sha256:<64 hex digits>"}},
		{name: "layout without directory", text: "oci:@" + someDigest, want: []string{"names no directory; write oci:DIR"}},
		{name: "tarball without file", text: "tarball:", want: []string{`"tarball:" names no file; write tarball:FILE`}},
		{name: "missing tarball", text: "tarball:nope.tar", opts: base, want: []string{dir + "/nope.tar is not a readable file", "docker save IMAGE -o FILE"}},
		{name: "tarball is a directory", text: "tarball:out", opts: base, want: []string{"/out is not a readable file"}},
		{name: "bad docker name", text: "docker:", want: []string{`imagesource.Parse: "docker:" is not an image name`, "docker:shop:1"}},
		{name: "docker where the engine is out of reach", text: "docker:shop:1", opts: base,
			want: []string{`build.Spec.Base: "docker:shop:1" is an image in the Docker engine, which this input cannot read; run "docker save shop:1 -o image.tar" and use tarball:image.tar`}},
		{name: "docker without tarball", text: "docker:shop:1", opts: []imagesource.Option{imagesource.WithKinds(imagesource.Scratch)},
			want: []string{`"docker:shop:1" is an image in the Docker engine, which this input does not take; use "scratch"`}},
		{name: "registry where only local images go", text: "debian:trixie-slim", opts: from,
			want: []string{`imagesource.Parse: "debian:trixie-slim" is not an image source; use "scratch", "oci:DIR[@sha256:...]", "tarball:FILE" or "docker:NAME"`}},
		{name: "a directory without oci:", text: dir + "/out", opts: from,
			want: []string{`is not an image source`, `(for the OCI image layout in that directory, write "oci:` + dir + `/out")`}},
		{name: "a file without tarball:", text: "img.tar", opts: from,
			want: []string{`(for the image tarball in that file, write "tarball:img.tar")`}},
		{name: "a directory that is no reference", text: "/" + strings.TrimPrefix(dir, "/") + "/out",
			want: []string{`is not an image reference`, `write "oci:`}},
		{name: "scratch refused", text: "scratch", opts: []imagesource.Option{imagesource.WithKinds(imagesource.Layout)},
			want: []string{`"scratch" is the empty image, which this input does not take; use "oci:DIR[@sha256:...]"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := imagesource.Parse(tc.text, tc.opts...)
			require.Error(t, err)
			var fe *field.Error
			require.ErrorAs(t, err, &fe, "the error names the field at fault")
			assert.Contains(t, []string{imagesource.FieldText, baseField}, fe.Field)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestOptionsRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  imagesource.Option
		want string
	}{
		{"nil keychain", imagesource.WithKeychain(nil), "WithKeychain needs a non-nil keychain"},
		{"nil transport", imagesource.WithTransport(nil), "WithTransport needs a non-nil transport"},
		{"no field", imagesource.WithField(""), "WithField needs a field"},
		{"no kinds", imagesource.WithKinds(), "WithKinds needs at least one kind"},
		{"unknown kind", imagesource.WithKinds(imagesource.Kind(42)), "42 is not a Kind"},
		{"platform without architecture", imagesource.WithPlatform(v1.Platform{OS: "linux"}), "WithPlatform needs an OS and an architecture"},
		{"bad default platform", imagesource.WithDefaultPlatform(v1.Platform{}), "WithDefaultPlatform needs an OS and an architecture"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := imagesource.Parse("scratch", tc.opt)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	amd, arm := platformImage(t, amd64), platformImage(t, arm64)
	plain, err := random.Image(256, 1) // no platform in its config
	require.NoError(t, err)
	idx := multiPlatform(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64/v8": arm})

	dir := t.TempDir()
	single := writeLayout(t, filepath.Join(dir, "single"), empty.Index, amd)
	two := writeLayout(t, filepath.Join(dir, "two"), empty.Index, amd, plain)
	multi := writeLayout(t, filepath.Join(dir, "multi"), idx)
	nested := writeLayout(t, filepath.Join(dir, "nested"), mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx}))
	emptyLayout := writeLayout(t, filepath.Join(dir, "empty"), empty.Index)
	require.NoError(t, tarball.WriteToFile(filepath.Join(dir, "plain.tar"), name.MustParseReference("example.com/a/b:1"), plain))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notatar"), []byte("x"), 0o644))

	host := newRegistry(t)
	singleRef := host + "/base/single:v1"
	require.NoError(t, remote.Write(parseRef(t, singleRef), amd))
	multiRef := host + "/base/multi:v1"
	require.NoError(t, remote.WriteIndex(parseRef(t, multiRef), idx))

	tests := []struct {
		name     string
		text     string
		opts     []imagesource.Option
		want     v1.Image
		wantAnns map[string]string
		wantErr  []string
	}{
		{name: "layout, one image", text: "oci:" + single, want: amd},
		{name: "layout by digest", text: "oci:" + two + "@" + digest(t, plain).String(), want: plain},
		{name: "layout, multi-platform, default", text: "oci:" + multi, want: amd},
		{name: "layout, multi-platform, asked for", text: "oci:" + multi, opts: []imagesource.Option{imagesource.WithPlatform(arm64)}, want: arm},
		{name: "layout, multi-platform, other default", text: "oci:" + multi,
			opts: []imagesource.Option{imagesource.WithDefaultPlatform(arm64)}, want: arm},
		{name: "layout, nested index by digest", text: "oci:" + nested + "@" + digest(t, idx).String(),
			opts: []imagesource.Option{imagesource.WithPlatform(arm64)}, want: arm},
		{name: "layout, nested index", text: "oci:" + nested, opts: []imagesource.Option{imagesource.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})}, want: arm},
		{name: "layout, nested by digest", text: "oci:" + nested + "@" + digest(t, arm).String(), want: arm},
		{name: "tarball", text: "tarball:" + filepath.Join(dir, "plain.tar"), want: plain},
		{name: "registry", text: singleRef, want: amd,
			wantAnns: map[string]string{imagesource.AnnotationBaseName: singleRef, imagesource.AnnotationBaseDigest: digest(t, amd).String()}},
		{name: "registry by digest", text: host + "/base/single@" + digest(t, amd).String(), want: amd,
			wantAnns: map[string]string{imagesource.AnnotationBaseName: host + "/base/single@" + digest(t, amd).String(), imagesource.AnnotationBaseDigest: digest(t, amd).String()}},
		{name: "registry index, default platform", text: multiRef, want: amd,
			wantAnns: map[string]string{imagesource.AnnotationBaseName: multiRef, imagesource.AnnotationBaseDigest: digest(t, idx).String()}},
		{name: "registry index, arm64 is arm64/v8", text: multiRef, opts: []imagesource.Option{imagesource.WithPlatform(arm64)}, want: arm,
			wantAnns: map[string]string{imagesource.AnnotationBaseName: multiRef, imagesource.AnnotationBaseDigest: digest(t, idx).String()}},
		{name: "single image, default platform differs", text: singleRef, opts: []imagesource.Option{imagesource.WithDefaultPlatform(arm64)}, want: amd,
			wantAnns: map[string]string{imagesource.AnnotationBaseName: singleRef, imagesource.AnnotationBaseDigest: digest(t, amd).String()}},
		{name: "image without a platform, platform asked for", text: "oci:" + two + "@" + digest(t, plain).String(),
			opts: []imagesource.Option{imagesource.WithPlatform(arm64)}, want: plain},

		{name: "single image of another platform", text: singleRef, opts: []imagesource.Option{imagesource.WithField(baseField), imagesource.WithFieldNames(inputNames), imagesource.WithPlatform(arm64)},
			wantErr: []string{`input "base": ` + singleRef + " is for linux/amd64, not linux/arm64; choose an image for linux/arm64 or drop the platform"}},
		{name: "registry index without the platform", text: multiRef, opts: []imagesource.Option{imagesource.WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"})},
			wantErr: []string{"reading " + multiRef + ": it has no image for linux/s390x, only for linux/amd64, linux/arm64/v8; set the platform to one of them"}},
		{name: "missing in registry", text: host + "/base/single:nope", opts: []imagesource.Option{imagesource.WithField(baseField)},
			wantErr: []string{"reading " + host + "/base/single:nope: "}},
		{name: "layout with two images", text: "oci:" + two, wantErr: []string{"the layout holds 2 entries; name one as oci:" + two + "@sha256:"}},
		{name: "layout, unknown digest", text: "oci:" + multi + "@" + digest(t, empty.Image).String(), wantErr: []string{"no manifest sha256:", "jq .manifests index.json"}},
		{name: "empty layout", text: "oci:" + emptyLayout, wantErr: []string{"reading oci:" + emptyLayout + ": the layout holds no image"}},
		{name: "not a tarball", text: "tarball:" + filepath.Join(dir, "notatar"), wantErr: []string{"it is not an image tarball", "docker save IMAGE -o FILE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := imagesource.Parse(tc.text, tc.opts...)
			require.NoError(t, err)
			img, anns, err := s.BaseImage(ctx)
			if tc.wantErr != nil {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, digest(t, tc.want), digest(t, img))
			assert.Equal(t, tc.wantAnns, anns)
		})
	}
}

func TestImageScratch(t *testing.T) {
	t.Parallel()
	img, err := imagesource.Resolve(context.Background(), "scratch", imagesource.WithPlatform(arm64))
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIManifestSchema1, m.MediaType, "layers appended later follow the manifest's kind")
	assert.Equal(t, types.OCIConfigJSON, m.Config.MediaType)
	assert.Empty(t, m.Layers)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := platformImage(t, amd64)
	dir := writeLayout(t, t.TempDir(), empty.Index, img)
	host := newRegistry(t)
	ref := parseRef(t, host+"/a/b:1")
	require.NoError(t, remote.Write(ref, img))

	got, err := imagesource.Resolve(ctx, "oci:"+dir)
	require.NoError(t, err)
	assert.Equal(t, digest(t, img), digest(t, got))

	got, err = imagesource.Resolve(ctx, ref.String(), imagesource.WithKeychain(authn.NewMultiKeychain()), imagesource.WithTransport(remote.DefaultTransport))
	require.NoError(t, err)
	assert.Equal(t, digest(t, img), digest(t, got))

	_, err = imagesource.Resolve(ctx, "oci:"+filepath.Join(dir, "nope"))
	assert.ErrorContains(t, err, imagesource.FieldText+": "+dir+"/nope is not an OCI image layout")
}

func TestZeroSource(t *testing.T) {
	t.Parallel()
	var s imagesource.Source
	_, err := s.Image(context.Background())
	assert.ErrorContains(t, err, "make one with Parse")
	assert.Empty(t, s.String())
}

func TestKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[imagesource.Kind]string{
		imagesource.Scratch: "scratch", imagesource.Remote: "registry", imagesource.Layout: "oci",
		imagesource.Tarball: "tarball", imagesource.Docker: "docker", imagesource.Kind(0): "Kind(0)",
	} {
		assert.Equal(t, want, k.String())
	}
}

// FuzzParse checks that Parse does not panic and that the text a Source
// prints parses back to the same source.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	_, err := layout.Write(filepath.Join(dir, "out"), empty.Index)
	require.NoError(f, err)
	require.NoError(f, os.WriteFile(filepath.Join(dir, "img.tar"), []byte("x"), 0o644))
	for _, s := range []string{"scratch", " scratch ", "debian:trixie-slim", "ghcr.io/o/n@" + someDigest, "oci:out",
		"oci:out@" + someDigest, "oci:@x", "tarball:img.tar", "tarball:", "docker:shop:1", "docker:", "", "UPPER/Case", "oci:out@a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := imagesource.Parse(text, imagesource.WithDir(dir))
		if err != nil {
			return
		}
		again, err := imagesource.Parse(s.String(), imagesource.WithDir(dir))
		require.NoError(t, err, "parsing %q, printed from %q", s.String(), text)
		assert.Equal(t, s.Kind(), again.Kind())
		assert.Equal(t, s.String(), again.String())
	})
}

// A registry that accepts connections and never answers fails the read after
// the request timeout, named, instead of holding the job until the CI's own
// limit: the outer context's deadline is far later and must not be what ends it.
func TestHungRegistryTimesOut(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never read, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	host := ln.Addr().String()
	_, err = imagesource.Resolve(ctx, host+"/shop:1", imagesource.WithField(baseField),
		imagesource.WithKeychain(authn.NewMultiKeychain()), imagesource.WithRequestTimeout(200*time.Millisecond))
	require.Error(t, err)
	require.NoError(t, ctx.Err(), "the request timeout ended the read, not the outer deadline")
	assert.ErrorContains(t, err, host, "the message names the registry")
	assert.ErrorContains(t, err, "timeout")
}
