package dockerfile

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/pgzip"
	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"

	"github.com/deploy-action/deploy-action/pkg/internal/bytesize"
)

// ImageSaver is the part of the engine API that Load uses.
type ImageSaver interface {
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
}

// Image is an image read back from the engine, with its layers compressed
// once into temporary files: digests are known without another pass, and a
// push streams the files as they are. Close removes the files; the image is
// unusable afterwards.
type Image struct {
	v1.Image
	id  string
	dir string

	closeOnce sync.Once
	closeErr  error
}

var _ io.Closer = (*Image)(nil)

// ID is the image's name in the engine's store (an image ID or the tag it was
// loaded by), for stages that run it in the same engine.
func (i *Image) ID() string { return i.id }

// Close removes the image's temporary files.
func (i *Image) Close() error {
	i.closeOnce.Do(func() { i.closeErr = os.RemoveAll(i.dir) })
	return i.closeErr
}

// Load reads the image ref (an ID or a tag) out of the engine's store in one
// `docker save` stream. Layers stored uncompressed by the engine are gzipped
// once, in parallel blocks, as they stream; layers it stores compressed (the
// containerd image store) are kept as they are. The result has OCI media
// types. Of the options, Load uses WithTempDir, WithCompressionLevel and
// WithProgress. The caller closes the image.
func Load(ctx context.Context, s ImageSaver, ref string, opts ...Option) (*Image, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return load(ctx, s, ref, o)
}

func load(ctx context.Context, s ImageSaver, ref string, o options) (*Image, error) {
	start := time.Now()
	rc, err := s.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("reading image %s from the engine: %w", ref, err)
	}
	defer rc.Close()
	img, err := readSave(ctx, rc, o)
	if err != nil {
		return nil, fmt.Errorf("reading image %s from the engine: %w", ref, err)
	}
	img.id = ref
	if m, err := img.Manifest(); err == nil {
		var size int64
		for _, l := range m.Layers {
			size += l.Size
		}
		fmt.Fprintf(o.progress, "read back %d layers, %s compressed, in %s\n",
			len(m.Layers), bytesize.Format(size), time.Since(start).Round(10*time.Millisecond))
	}
	return img, nil
}

const (
	// smallFile is the size under which a file of the save stream is kept in
	// memory until manifest.json, at the end of the stream, says what it is.
	smallFile = 1 << 20
	// blockSize is the unit of parallel compression. It is fixed, so the same
	// layer always gives the same bytes whatever the number of cores.
	blockSize = 1 << 20
)

// blob is one file of the save stream.
type blob struct {
	data      []byte // a small file, kept in memory
	path      string // or a large one, spooled to disk (a layer, compressed)
	size      int64
	digest    v1.Hash
	diffID    v1.Hash // set when the blob was compressed here from a tar
	mediaType types.MediaType
	once      sync.Once
	err       error
}

// saveReader turns a save stream into blobs in dir.
type saveReader struct {
	dir    string
	level  int
	blocks int
	blobs  map[string]*blob
	links  map[string]string
}

// readSave reads a save stream: both the legacy layout of graph-driver
// engines (<id>/layer.tar, uncompressed, manifest.json last) and the OCI
// layout of newer ones (blobs/sha256/..., possibly compressed, with
// symbolic links for the legacy names).
func readSave(ctx context.Context, r io.Reader, o options) (_ *Image, err error) {
	dir, err := os.MkdirTemp(o.tempDir, "deploy-action-image-")
	if err != nil {
		return nil, fmt.Errorf("making a directory for the layers: %w", err)
	}
	img := &Image{dir: dir}
	defer func() {
		if err != nil {
			_ = img.Close()
		}
	}()
	s := &saveReader{dir: dir, level: o.level, blocks: o.blocks, blobs: map[string]*blob{}, links: map[string]string{}}
	if s.blocks <= 0 {
		s.blocks = 2 * runtime.GOMAXPROCS(0)
	}

	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the save stream: %w", err)
		}
		name := clean(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			s.links[name] = clean(target)
		case tar.TypeLink:
			s.links[name] = clean(hdr.Linkname)
		case tar.TypeReg:
			b, err := s.take(tr, hdr.Size)
			if err != nil {
				return nil, fmt.Errorf("reading %s of the save stream: %w", name, err)
			}
			s.blobs[name] = b
		}
	}

	mb, err := s.resolve("manifest.json")
	if err != nil {
		return nil, err
	}
	mdata, err := mb.bytes()
	if err != nil {
		return nil, err
	}
	var manifests []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(mdata, &manifests); err != nil {
		return nil, fmt.Errorf("parsing manifest.json of the save stream: %w", err)
	}
	if len(manifests) != 1 {
		return nil, fmt.Errorf("the save stream holds %d images, want 1", len(manifests))
	}
	cb, err := s.resolve(manifests[0].Config)
	if err != nil {
		return nil, err
	}
	config, err := cb.bytes()
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(config))
	if err != nil {
		return nil, fmt.Errorf("parsing the image config: %w", err)
	}
	paths := manifests[0].Layers
	if len(paths) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("the save stream lists %d layers but the config has %d diff_ids", len(paths), len(cf.RootFS.DiffIDs))
	}

	// Small layers are compressed now, several at a time.
	layerBlobs := make([]*blob, len(paths))
	for i, p := range paths {
		if layerBlobs[i], err = s.resolve(p); err != nil {
			return nil, err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, b := range layerBlobs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return s.finish(b)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	c := &core{config: config, layers: map[v1.Hash]*layer{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType: types.OCIConfigJSON,
			Size:      int64(len(config)),
			Digest:    sha256Hash(config),
		},
	}
	used := map[string]bool{}
	for i, b := range layerBlobs {
		want := cf.RootFS.DiffIDs[i]
		diffID := b.diffID
		if diffID == (v1.Hash{}) {
			diffID = want // compressed by the engine: trust its config
		} else if diffID != want {
			return nil, fmt.Errorf("layer %d (%s): its content has sha256 %s but the config says %s", i, paths[i], diffID.Hex, want.Hex)
		}
		used[b.path] = true
		c.layers[b.digest] = &layer{path: b.path, digest: b.digest, diffID: diffID, size: b.size, mediaType: b.mediaType}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: b.mediaType, Size: b.size, Digest: b.digest})
	}
	// Large files that turned out not to be layers are of no further use.
	for _, b := range s.blobs {
		if b.path != "" && !used[b.path] {
			_ = os.Remove(b.path)
		}
	}
	if c.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	if img.Image, err = partial.CompressedToImage(c); err != nil {
		return nil, err
	}
	return img, nil
}

func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// resolve finds a file of the stream by name, following links.
func (s *saveReader) resolve(name string) (*blob, error) {
	name = clean(name)
	for hops := 0; hops < 16; hops++ {
		if b, ok := s.blobs[name]; ok {
			return b, nil
		}
		target, ok := s.links[name]
		if !ok {
			break
		}
		name = target
	}
	return nil, fmt.Errorf("the save stream has no file %s", name)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// take reads one file of the stream. Small files and JSON stay in memory;
// large compressed files are copied; large tars are compressed on the way.
func (s *saveReader) take(r io.Reader, size int64) (*blob, error) {
	if size <= smallFile {
		data, err := io.ReadAll(io.LimitReader(r, size))
		return &blob{data: data}, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, []byte("{")) || bytes.HasPrefix(head, []byte("[")):
		data, err := io.ReadAll(br)
		return &blob{data: data}, err
	case bytes.HasPrefix(head, gzipMagic):
		return s.store(br, types.OCILayer)
	case bytes.HasPrefix(head, zstdMagic):
		return s.store(br, types.OCILayerZStd)
	default:
		return s.compress(br)
	}
}

// finish gives a layer that is still in memory its file.
func (s *saveReader) finish(b *blob) error {
	b.once.Do(func() {
		if b.data == nil {
			return
		}
		r := bytes.NewReader(b.data)
		var nb *blob
		switch {
		case bytes.HasPrefix(b.data, gzipMagic):
			nb, b.err = s.store(r, types.OCILayer)
		case bytes.HasPrefix(b.data, zstdMagic):
			nb, b.err = s.store(r, types.OCILayerZStd)
		default:
			nb, b.err = s.compress(r)
		}
		if b.err == nil {
			b.data, b.path, b.size, b.digest, b.diffID, b.mediaType = nil, nb.path, nb.size, nb.digest, nb.diffID, nb.mediaType
		}
	})
	return b.err
}

// bytes returns a metadata file's content.
func (b *blob) bytes() ([]byte, error) {
	if b.path == "" {
		return b.data, nil
	}
	return nil, fmt.Errorf("%s is not a metadata file", b.path)
}

// store copies an already compressed layer.
func (s *saveReader) store(r io.Reader, mt types.MediaType) (*blob, error) {
	return s.spool(mt, func(w io.Writer) (v1.Hash, error) {
		_, err := io.Copy(w, r)
		return v1.Hash{}, err
	})
}

// compress gzips a tar layer, hashing it on the way in (its diff ID) and on
// the way out (its digest).
func (s *saveReader) compress(r io.Reader) (*blob, error) {
	return s.spool(types.OCILayer, func(w io.Writer) (v1.Hash, error) {
		zw, err := pgzip.NewWriterLevel(w, s.level)
		if err != nil {
			return v1.Hash{}, err
		}
		if err := zw.SetConcurrency(blockSize, s.blocks); err != nil {
			return v1.Hash{}, err
		}
		h := sha256.New()
		if _, err := io.Copy(zw, io.TeeReader(r, h)); err != nil {
			_ = zw.Close()
			return v1.Hash{}, err
		}
		if err := zw.Close(); err != nil {
			return v1.Hash{}, err
		}
		return toHash(h), nil
	})
}

// spool writes a blob to a new file of the directory, hashing what is written.
func (s *saveReader) spool(mt types.MediaType, write func(io.Writer) (v1.Hash, error)) (_ *blob, err error) {
	f, err := os.CreateTemp(s.dir, "layer-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	cw := &counter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, h, cw), 1<<20)
	diffID, err := write(bw)
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return &blob{path: f.Name(), size: cw.n, digest: toHash(h), diffID: diffID, mediaType: mt}, nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func toHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

func sha256Hash(b []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))}
}

// core is the image as go-containerregistry's partial package wants it: the
// manifest and config bytes, and compressed layers by digest.
type core struct {
	config   []byte
	manifest []byte
	layers   map[v1.Hash]*layer
}

func (c *core) RawConfigFile() ([]byte, error)      { return c.config, nil }
func (c *core) RawManifest() ([]byte, error)        { return c.manifest, nil }
func (c *core) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (c *core) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := c.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("the image has no layer %s", h)
}

// layer is a compressed layer in a file.
type layer struct {
	path      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
}

func (l *layer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *layer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *layer) Size() (int64, error)                { return l.size, nil }
func (l *layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *layer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("layer %s: its file is gone; the image was closed before its layers were read", l.digest)
	}
	return f, err
}
