package detect

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// skipDirs are directories that hold no code of the project's own: version
// control, installed dependencies, virtual environments, caches and build
// outputs. A directory holding pyvenv.cfg (any virtual environment) is skipped
// too.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true,
	"node_modules": true, "vendor": true, "bower_components": true, "site-packages": true,
	".venv": true, "venv": true, ".tox": true, ".nox": true, ".eggs": true,
	"__pycache__": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true,
	"target": true, "build": true, "dist": true, ".next": true, ".nuxt": true, "coverage": true,
	".gradle": true, ".idea": true, ".vscode": true, ".terraform": true,
}

// maxRead bounds what is read of one file: project files and source files are
// far smaller; a larger file is generated or data.
const maxRead = 1 << 20

// tree is the repository's file list, read once, with a cache of contents.
type tree struct {
	fsys  fs.FS
	files []file // sorted by path
	dirs  map[string]bool
	byDir map[string][]file // direct children of each directory
	cache map[string][]byte
}

type file struct {
	path string // slash-separated, relative to the root
	size int64
}

func readTree(ctx context.Context, fsys fs.FS) (*tree, error) {
	t := &tree{fsys: fsys, dirs: map[string]bool{".": true}, byDir: map[string][]file{}, cache: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // an unreadable entry is one the project cannot build from either
		}
		if d.IsDir() {
			if p == "." {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			name := d.Name()
			if skipDirs[name] || strings.HasSuffix(name, ".egg-info") {
				return fs.SkipDir
			}
			if _, err := fs.Stat(fsys, p+"/pyvenv.cfg"); err == nil {
				return fs.SkipDir
			}
			t.dirs[p] = true
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		f := file{path: p, size: info.Size()}
		t.files = append(t.files, f)
		dir := path.Dir(p)
		t.byDir[dir] = append(t.byDir[dir], f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(t.files, func(i, j int) bool { return t.files[i].path < t.files[j].path })
	return t, nil
}

// has says whether the file p exists.
func (t *tree) has(p string) bool {
	for _, f := range t.byDir[path.Dir(p)] {
		if f.path == p {
			return true
		}
	}
	return false
}

// read returns p's content (at most maxRead bytes), cached.
func (t *tree) read(p string) ([]byte, error) {
	if b, ok := t.cache[p]; ok {
		return b, nil
	}
	f, err := t.fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(&limited{r: f, n: maxRead})
	if err != nil {
		return nil, err
	}
	b := buf.Bytes()
	t.cache[p] = b
	return b, nil
}

type limited struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("file larger than 1 MiB")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// under lists the files in dir and below, except those in the excluded
// directories (other services nested in it).
func (t *tree) under(dir string, exclude []string) []file {
	var out []file
	for _, f := range t.files {
		if !within(f.path, dir) {
			continue
		}
		skip := false
		for _, x := range exclude {
			if x != dir && within(f.path, x) {
				skip = true
				break
			}
		}
		if !skip {
			out = append(out, f)
		}
	}
	return out
}

// within says whether p is dir or below it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// join is path.Join that keeps "." out of relative paths.
func join(dir string, elem ...string) string {
	return path.Join(append([]string{dir}, elem...)...)
}

// lineOf is the 1-based line of offset i in b.
func lineOf(b []byte, i int) int {
	return bytes.Count(b[:i], []byte("\n")) + 1
}

// findLine is the line of the first occurrence of needle in b, 0 if absent.
func findLine(b []byte, needle string) int {
	i := bytes.Index(b, []byte(needle))
	if i < 0 {
		return 0
	}
	return lineOf(b, i)
}
