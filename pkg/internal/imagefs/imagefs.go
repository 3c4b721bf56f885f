package imagefs

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// Layer whiteouts (OCI image-spec, layer.md): ".wh.NAME" deletes NAME from the
// layers below; ".wh..wh..opq" in a directory hides everything below it.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// maxKept bounds the size of a file whose content Read keeps in memory.
const maxKept = 8 << 20

// Entry is one file as a layer holds it.
type Entry struct {
	// Path is absolute and clean ("/etc/passwd").
	Path     string
	Mode     fs.FileMode
	UID, GID int
	Size     int64
	// Linkname is the target of a symbolic link, or of a hard link (absolute).
	Linkname string
	// Layer is the index of the layer the entry comes from, 0 being the base.
	Layer int
	data  []byte
	kept  bool
}

// Options says what Read does besides building the merged view.
type Options struct {
	// Keep selects the paths whose content is kept for ReadFile (files up to
	// 8 MiB). Nil keeps none.
	Keep func(path string) bool
	// Visit, when set, is called for every regular file of every layer, also
	// the files a later layer deletes or replaces. Calls for different layers
	// run concurrently; r is valid during the call only.
	Visit func(layer int, e *Entry, r io.Reader) error
	// Concurrency is how many layers are read at once (default GOMAXPROCS).
	Concurrency int
}

// FS is the merged file system of an image: what a container started from it sees.
type FS struct {
	entries map[string]*Entry
	layers  []v1.Layer
}

type layerIndex struct {
	entries   []*Entry
	whiteouts []string // paths deleted in lower layers
	opaque    []string // directories whose lower contents are hidden
}

// Read reads every layer of img once, in parallel, and merges them.
func Read(ctx context.Context, img v1.Image, o Options) (*FS, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing the image's layers: %w", err)
	}
	n := o.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	idx := make([]layerIndex, len(layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for i, l := range layers {
		g.Go(func() error {
			li, err := readLayer(gctx, i, l, o)
			if err != nil {
				return fmt.Errorf("reading layer %d: %w", i+1, err)
			}
			idx[i] = li
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	f := &FS{entries: map[string]*Entry{}, layers: layers}
	for _, li := range idx {
		f.apply(li)
	}
	return f, nil
}

// apply lays one layer over the layers below, in one pass over the merged
// entries: whiteouts delete a path and what is under it, an opaque directory
// hides what is under it, and a file or link replaces a whole directory tree.
func (f *FS) apply(li layerIndex) {
	gone := map[string]bool{}  // the path and everything under it
	under := map[string]bool{} // everything under the path
	for _, p := range li.whiteouts {
		gone[p] = true
	}
	for _, d := range li.opaque {
		under[d] = true
	}
	for _, e := range li.entries {
		if !e.Mode.IsDir() {
			under[e.Path] = true
		}
	}
	if len(gone)+len(under) > 0 {
		for p := range f.entries {
			if gone[p] {
				delete(f.entries, p)
				continue
			}
			for a := path.Dir(p); a != "/" && a != "."; a = path.Dir(a) {
				if gone[a] || under[a] {
					delete(f.entries, p)
					break
				}
			}
		}
	}
	for _, e := range li.entries {
		f.entries[e.Path] = e
	}
}

func readLayer(ctx context.Context, i int, l v1.Layer, o Options) (layerIndex, error) {
	var li layerIndex
	rc, err := l.Uncompressed()
	if err != nil {
		return li, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		if err := ctx.Err(); err != nil {
			return li, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return li, nil
		}
		if err != nil {
			return li, err
		}
		p := Clean(hdr.Name)
		dir, base := path.Split(p)
		if base == opaqueWhiteout {
			li.opaque = append(li.opaque, path.Clean(dir))
			continue
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			li.whiteouts = append(li.whiteouts, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
			continue
		}
		e := &Entry{Path: p, Mode: hdr.FileInfo().Mode(), UID: hdr.Uid, GID: hdr.Gid, Size: hdr.Size, Layer: i}
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			e.Linkname = hdr.Linkname
		case tar.TypeLink:
			e.Linkname = Clean(hdr.Linkname)
		}
		if hdr.Typeflag == tar.TypeReg {
			var r io.Reader = tr
			keep := o.Keep != nil && o.Keep(p) && hdr.Size <= maxKept
			if keep {
				data, err := io.ReadAll(tr)
				if err != nil {
					return li, fmt.Errorf("%s: %w", p, err)
				}
				e.data, e.kept = data, true
				r = bytes.NewReader(data)
			}
			if o.Visit != nil {
				if err := o.Visit(i, e, r); err != nil {
					return li, err
				}
			}
		}
		li.entries = append(li.entries, e)
	}
}

// Clean turns a tar entry name into an absolute, clean path.
func Clean(name string) string {
	return path.Clean("/" + strings.TrimPrefix(name, "./"))
}

// Lstat returns the entry at p without following a final symbolic link
// (links among its directories are followed, as the kernel does).
func (f *FS) Lstat(p string) (*Entry, bool) {
	p = Clean(p)
	if p == "/" {
		return f.Stat(p)
	}
	dir, base := path.Split(p)
	_, rdir, ok := f.resolve(path.Clean(dir), 0)
	if !ok {
		return nil, false
	}
	e, ok := f.entries[path.Join(rdir, base)]
	return e, ok
}

// Stat returns the entry at p, following symbolic links (also in the
// directories of p) the way the kernel would inside the container.
func (f *FS) Stat(p string) (*Entry, bool) {
	e, _, ok := f.resolve(Clean(p), 0)
	return e, ok
}

// Resolve returns the path p leads to once symbolic links are followed.
func (f *FS) Resolve(p string) (string, bool) {
	_, r, ok := f.resolve(Clean(p), 0)
	return r, ok
}

const maxLinks = 40 // as the kernel's MAXSYMLINKS

func (f *FS) resolve(p string, depth int) (*Entry, string, bool) {
	if depth > maxLinks {
		return nil, "", false
	}
	// Resolve each directory of the path first.
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := path.Join(cur, part)
		e, ok := f.entries[next]
		if !ok {
			if i < len(parts)-1 {
				// Layers need not hold entries for the directories of their
				// files: a directory is implied by what is in it.
				cur = next
				continue
			}
			return nil, "", false
		}
		if e.Mode&fs.ModeSymlink != 0 {
			target := e.Linkname
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			rest := append([]string{target}, parts[i+1:]...)
			return f.resolve(path.Clean(path.Join(rest...)), depth+1)
		}
		if e.Mode.IsRegular() && e.Linkname != "" && i == len(parts)-1 {
			// A hard link: the content is the target's.
			if t, ok := f.entries[e.Linkname]; ok && t.Mode.IsRegular() {
				linked := *t
				linked.Path = next
				return &linked, next, true
			}
		}
		cur = next
	}
	e, ok := f.entries[cur]
	if cur == "/" && !ok {
		return &Entry{Path: "/", Mode: fs.ModeDir | 0o755}, "/", true
	}
	return e, cur, ok
}

// ReadFile returns the content of the regular file at p, symbolic links
// followed. Content that Read kept comes from memory; other content is read
// again from the one layer that holds it, up to limit bytes (0: no limit).
func (f *FS) ReadFile(ctx context.Context, p string, limit int64) ([]byte, error) {
	e, ok := f.Stat(p)
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	if !e.Mode.IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if e.kept {
		return e.data, nil
	}
	if limit > 0 && e.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the limit of %d", p, e.Size, limit)
	}
	want := e.Path
	if e.Linkname != "" { // a hard link: the layer holds the content under the target's name
		want = e.Linkname
	}
	return f.readFrom(ctx, e.Layer, want)
}

func (f *FS) readFrom(ctx context.Context, layer int, p string) ([]byte, error) {
	rc, err := f.layers[layer].Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("reading layer %d: %w", layer+1, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: not found in layer %d", p, layer+1)
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer %d: %w", layer+1, err)
		}
		if Clean(hdr.Name) == p && hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}

// Glob returns the paths of the merged file system matching pattern
// (path.Match syntax), sorted.
func (f *FS) Glob(pattern string) []string {
	var out []string
	for p := range f.entries {
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Exists reports whether the merged file system still holds the entry e,
// that is, no later layer deleted or replaced it.
func (f *FS) Exists(e *Entry) bool {
	cur, ok := f.entries[e.Path]
	return ok && cur == e
}

// Layers is the number of layers read.
func (f *FS) Layers() int { return len(f.layers) }

// Walk calls fn for every entry of the merged file system, in path order.
func (f *FS) Walk(fn func(e *Entry) error) error {
	paths := make([]string, 0, len(f.entries))
	for p := range f.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := fn(f.entries[p]); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of entries in the merged file system.
func (f *FS) Len() int { return len(f.entries) }

// ReadLayers reads the given layers again (indexes as in Entry.Layer), in
// parallel, calling visit for each regular file as Read does.
func (f *FS) ReadLayers(ctx context.Context, layers []int, concurrency int, visit func(layer int, e *Entry, r io.Reader) error) error {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for _, i := range layers {
		if i < 0 || i >= len(f.layers) {
			return fmt.Errorf("layer %d does not exist", i+1)
		}
		g.Go(func() error {
			if _, err := readLayer(gctx, i, f.layers[i], Options{Visit: visit}); err != nil {
				return fmt.Errorf("reading layer %d: %w", i+1, err)
			}
			return nil
		})
	}
	return g.Wait()
}
