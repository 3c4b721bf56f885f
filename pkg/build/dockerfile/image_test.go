package dockerfile

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testImage has layers on both sides of smallFile, so that both the
// streaming and the in-memory paths are taken.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for _, size := range []int64{3 << 20, 200, 2 << 20} {
		l, err := random.Layer(size, types.DockerLayer)
		require.NoError(t, err)
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	require.NoError(t, err)
	return img
}

type entry struct {
	name, link string
	hard       bool
	data       []byte
}

func tarOf(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		switch {
		case e.link != "" && e.hard:
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, e.link, 0
		case e.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, e.link, 0
		}
		require.NoError(t, tw.WriteHeader(hdr))
		_, err := tw.Write(e.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

type saveFormat int

const (
	// legacy is a graph-driver engine before 25: <id>/layer.tar, uncompressed,
	// manifest.json last.
	legacy saveFormat = iota
	// ociLinks is a graph-driver engine from 25 on: uncompressed blobs, and
	// the legacy names as symbolic links to them.
	ociLinks
	// ociCompressed is the containerd image store: compressed blobs.
	ociCompressed
)

// saveStream writes img as an engine's save stream would.
func saveStream(t *testing.T, img v1.Image, f saveFormat, config []byte) []byte {
	t.Helper()
	if config == nil {
		var err error
		config, err = img.RawConfigFile()
		require.NoError(t, err)
	}
	cn := fmt.Sprintf("%x", sha256.Sum256(config))
	layers, err := img.Layers()
	require.NoError(t, err)
	var entries []entry
	var paths []string
	for i, l := range layers {
		dir := fmt.Sprintf("%064d", i)
		switch f {
		case legacy:
			entries = append(entries,
				entry{name: dir + "/VERSION", data: []byte("1.0")},
				entry{name: dir + "/json", data: []byte("{}")},
				entry{name: dir + "/layer.tar", data: readAll(t, l.Uncompressed)})
			paths = append(paths, dir+"/layer.tar")
		case ociLinks:
			d, err := l.DiffID()
			require.NoError(t, err)
			entries = append(entries,
				entry{name: "blobs/sha256/" + d.Hex, data: readAll(t, l.Uncompressed)},
				entry{name: dir + "/layer.tar", link: "../blobs/sha256/" + d.Hex})
			// Use the link, so that resolving it is tested.
			paths = append(paths, dir+"/layer.tar")
		case ociCompressed:
			d, err := l.Digest()
			require.NoError(t, err)
			entries = append(entries, entry{name: "blobs/sha256/" + d.Hex, data: readAll(t, l.Compressed)})
			paths = append(paths, "blobs/sha256/"+d.Hex)
		}
	}
	configName := cn + ".json"
	if f != legacy {
		configName = "blobs/sha256/" + cn
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{"shop/web:dev"}, "Layers": paths}})
	require.NoError(t, err)
	entries = append(entries,
		entry{name: configName, data: config},
		entry{name: "manifest.json", data: manifest},
		entry{name: "repositories", data: []byte(`{"shop/web":{"dev":"x"}}`)})
	if f != legacy {
		entries = append(entries, entry{name: "index.json", data: []byte(`{"schemaVersion":2,"manifests":[]}`)},
			entry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)})
	}
	return tarOf(t, entries)
}

func TestReadSave(t *testing.T) {
	t.Parallel()
	src := testImage(t)
	srcLayers, err := src.Layers()
	require.NoError(t, err)
	rawConfig, err := src.RawConfigFile()
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		f    saveFormat
	}{
		{"legacy layout, uncompressed layers", legacy},
		{"OCI layout with links, uncompressed layers", ociLinks},
		{"OCI layout, compressed layers", ociCompressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			o := defaultOptions()
			o.tempDir = tmp
			img, err := readSave(context.Background(), bytes.NewReader(saveStream(t, src, tc.f, nil)), o)
			require.NoError(t, err)
			require.NoError(t, validate.Image(img))

			got, err := img.RawConfigFile()
			require.NoError(t, err)
			assert.Equal(t, rawConfig, got, "the config is the engine's, byte for byte")
			mt, err := img.MediaType()
			require.NoError(t, err)
			assert.Equal(t, types.OCIManifestSchema1, mt)
			layers, err := img.Layers()
			require.NoError(t, err)
			require.Len(t, layers, len(srcLayers))
			for i, l := range layers {
				want, err := srcLayers[i].DiffID()
				require.NoError(t, err)
				diffID, err := l.DiffID()
				require.NoError(t, err)
				assert.Equal(t, want, diffID)
				lmt, err := l.MediaType()
				require.NoError(t, err)
				assert.Equal(t, types.OCILayer, lmt)
				assert.Equal(t, readAll(t, srcLayers[i].Uncompressed), readAll(t, l.Uncompressed))
				if tc.f == ociCompressed {
					// Compressed blobs are kept as the engine has them.
					wantDigest, err := srcLayers[i].Digest()
					require.NoError(t, err)
					digest, err := l.Digest()
					require.NoError(t, err)
					assert.Equal(t, wantDigest, digest)
				}
			}

			// Only the layers are left on disk, and Close removes them.
			dirs, err := os.ReadDir(tmp)
			require.NoError(t, err)
			require.Len(t, dirs, 1)
			files, err := os.ReadDir(tmp + "/" + dirs[0].Name())
			require.NoError(t, err)
			assert.Len(t, files, len(srcLayers))
			require.NoError(t, img.Close())
			require.NoError(t, img.Close(), "a second Close does nothing")
			dirs, err = os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, dirs)
		})
	}
}

// TestReadSaveDeterministic proves that the same layers give the same bytes,
// whatever the number of blocks compressed at once.
func TestReadSaveDeterministic(t *testing.T) {
	t.Parallel()
	stream := saveStream(t, testImage(t), legacy, nil)
	var digests []v1.Hash
	for _, blocks := range []int{1, 3, 8} {
		o := defaultOptions()
		o.tempDir, o.blocks = t.TempDir(), blocks
		img, err := readSave(context.Background(), bytes.NewReader(stream), o)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		digests = append(digests, d)
		require.NoError(t, img.Close())
	}
	assert.Equal(t, digests[0], digests[1])
	assert.Equal(t, digests[0], digests[2])
}

func TestReadSaveErrors(t *testing.T) {
	t.Parallel()
	src := testImage(t)
	cf, err := src.ConfigFile()
	require.NoError(t, err)
	bad := cf.DeepCopy()
	bad.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064d", 0)}
	badConfig, err := json.Marshal(bad)
	require.NoError(t, err)
	short := cf.DeepCopy()
	short.RootFS.DiffIDs = short.RootFS.DiffIDs[1:]
	shortConfig, err := json.Marshal(short)
	require.NoError(t, err)
	good := saveStream(t, src, legacy, nil)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	for _, tc := range []struct {
		name   string
		ctx    context.Context
		stream []byte
		want   string
	}{
		{"diff ID mismatch", context.Background(), saveStream(t, src, legacy, badConfig), "its content has sha256"},
		{"layer count mismatch", context.Background(), saveStream(t, src, legacy, shortConfig), "lists 3 layers but the config has 2 diff_ids"},
		{"no manifest", context.Background(), tarOf(t, []entry{{name: "VERSION", data: []byte("1.0")}}), "the save stream has no file manifest.json"},
		{"truncated", context.Background(), good[:len(good)/2], "unexpected EOF"},
		{"link loop", context.Background(), tarOf(t, []entry{{name: "manifest.json", link: "manifest.json"}}), "no file manifest.json"},
		{"canceled", canceled, good, context.Canceled.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			o := defaultOptions()
			o.tempDir = tmp
			_, err := readSave(tc.ctx, bytes.NewReader(tc.stream), o)
			require.ErrorContains(t, err, tc.want)
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "a failed read leaves no files")
		})
	}
}

// TestReadSavePush pushes a read-back image to a registry and pulls it again:
// the registry gets the layers as they are in the files.
func TestReadSavePush(t *testing.T) {
	t.Parallel()
	o := defaultOptions()
	o.tempDir = t.TempDir()
	img, err := readSave(context.Background(), bytes.NewReader(saveStream(t, testImage(t), legacy, nil)), o)
	require.NoError(t, err)
	defer img.Close()

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/shop/web:dev")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))

	pulled, err := remote.Image(ref)
	require.NoError(t, err)
	require.NoError(t, validate.Image(pulled))
	want, err := img.Digest()
	require.NoError(t, err)
	got, err := pulled.Digest()
	require.NoError(t, err)
	assert.Equal(t, want, got)
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		d, err := l.Digest()
		require.NoError(t, err)
		pl, err := pulled.LayerByDigest(d)
		require.NoError(t, err)
		assert.Equal(t, readAll(t, l.Compressed), readAll(t, pl.Compressed))
	}
}
