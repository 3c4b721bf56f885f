package layers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// gzipLevel trades a little size for speed: the layers hold prebuilt
// artifacts (binaries, wheels, bundles) that compress little better at higher
// levels. compress/gzip writes the same bytes for the same input and level
// (no name, no time in its header), which the reproducibility test relies on.
const gzipLevel = gzip.BestSpeed

// parentMode is the mode of the directories made for a target's parents,
// the one a container runtime gives the parents it has to create.
const parentMode = 0o755

// source is a layer whose source has been found on disk.
type source struct {
	Layer
	path  string // absolute, symlinks of the source itself resolved
	isDir bool
	name  string // base name of the source as given, for "dir/" targets
}

// tarLayer writes src as a gzipped tar in memory and wraps it as a v1.Layer.
// Memory holds the compressed layer only, which is what a push reads again.
// Both digests are taken while writing, so nothing is read twice.
func tarLayer(ctx context.Context, src source, epoch time.Time, mt types.MediaType) (v1.Layer, error) {
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint(src)))
	digest, diffID := sha256.New(), sha256.New()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(buf, digest), gzipLevel)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID))
	if err := writeTree(ctx, tw, src, epoch); err != nil {
		return nil, fmt.Errorf("layer %s: %w", src.Layer, err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer %s: closing tar: %w", src.Layer, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("layer %s: closing gzip: %w", src.Layer, err)
	}
	l := &memLayer{
		compressed: buf.Bytes(),
		digest:     v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digest.Sum(nil))},
		diffID:     v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffID.Sum(nil))},
		mediaType:  mt,
	}
	return partial.CompressedToLayer(l)
}

// sizeHint guesses the compressed size of a source (half of a file's size,
// 1 MiB for a directory), so the buffer rarely grows and copies.
func sizeHint(src source) int {
	if src.isDir {
		return 1 << 20
	}
	fi, err := os.Stat(src.path)
	if err != nil {
		return 0
	}
	return int(min(fi.Size()/2+4096, 1<<30))
}

// memLayer is a gzipped layer held in memory with its digests known;
// partial.CompressedToLayer adds the rest of v1.Layer.
type memLayer struct {
	compressed     []byte
	digest, diffID v1.Hash
	mediaType      types.MediaType
}

func (l *memLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)     { return int64(len(l.compressed)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) {
	return l.mediaType, nil
}
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}

// writeTree writes the parents of the target, then the source. Entries come
// in a fixed order: parents top-down, then a directory walk, which visits
// names in lexical order.
func writeTree(ctx context.Context, tw *tar.Writer, src source, epoch time.Time) error {
	name := src.targetName(src.isDir, src.name)
	if name == "." {
		name = "" // the image root: its contents go in, the root entry does not
	}
	if err := writeParents(tw, name, epoch); err != nil {
		return err
	}
	if !src.isDir {
		fi, err := os.Stat(src.path)
		if err != nil {
			return err
		}
		return writeEntry(tw, src, name, src.path, fi, epoch)
	}
	return filepath.WalkDir(src.path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src.path, p)
		if err != nil {
			return err
		}
		entry := path.Join(name, filepath.ToSlash(rel))
		if rel == "." {
			if name == "" {
				return nil
			}
			entry = name
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return writeEntry(tw, src, entry, p, fi, epoch)
	})
}

func writeParents(tw *tar.Writer, name string, epoch time.Time) error {
	dir := path.Dir(name)
	if dir == "." || dir == "/" || name == "" {
		return nil
	}
	var parts []string
	for d := dir; d != "." && d != "/"; d = path.Dir(d) {
		parts = append(parts, d)
	}
	for i := len(parts) - 1; i >= 0; i-- {
		h := &tar.Header{
			Typeflag: tar.TypeDir,
			Name:     parts[i] + "/",
			Mode:     parentMode,
			ModTime:  epoch,
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("writing %s: %w", h.Name, err)
		}
	}
	return nil
}

// writeEntry writes one file, directory or symlink. Only the fields below are
// set, so nothing of the machine (user names, access times, device numbers)
// reaches the image.
func writeEntry(tw *tar.Writer, src source, name, p string, fi fs.FileInfo, epoch time.Time) error {
	h := &tar.Header{
		Name:    name,
		Mode:    unixMode(fi.Mode()),
		Uid:     src.UID,
		Gid:     src.GID,
		ModTime: epoch,
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		h.Typeflag = tar.TypeReg
		h.Size = fi.Size()
		if src.Mode != nil {
			h.Mode = unixMode(*src.Mode)
		}
	case m.IsDir():
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		h.Typeflag = tar.TypeSymlink
		h.Linkname = filepath.ToSlash(target)
		h.Mode = 0o777
	default:
		return fmt.Errorf("%s is a %s; a layer holds only files, directories and symlinks: remove it from %s", p, typeName(m), src.Source)
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if n, err := io.CopyN(tw, f, h.Size); err != nil {
		return fmt.Errorf("reading %s (%d of %d bytes): %w; was it changed during the build?", p, n, h.Size, err)
	}
	return nil
}

// unixMode converts Go's file mode to the permission bits of a tar header.
func unixMode(m os.FileMode) int64 {
	mode := int64(m.Perm())
	if m&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func typeName(m os.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}
