package imagefs_test

import (
	"context"
	"io"
	"io/fs"
	"sort"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/internal/imagefs"
)

type file = testimage.File

func image(t *testing.T) v1.Image {
	return testimage.Image(t, v1.Config{},
		testimage.Layer(t,
			file{Path: "/usr", Dir: true},
			file{Path: "/usr/bin", Dir: true},
			file{Path: "/usr/bin/tool", Content: "v1", Mode: 0o755},
			file{Path: "/bin", Link: "usr/bin"},
			file{Path: "/etc/app/a.conf", Content: "a"},
			file{Path: "/etc/app/b.conf", Content: "b"},
			file{Path: "/etc/secret", Content: "s"},
			file{Path: "/data/old/x", Content: "x"},
			file{Path: "/loop", Link: "/loop"},
		),
		testimage.Layer(t,
			file{Path: "/usr/bin/tool", Content: "v2", Mode: 0o755},
			file{Path: "/etc/secret", Whiteout: true},
			file{Path: "/etc/app/.wh..wh..opq", Content: ""},
			file{Path: "/etc/app/c.conf", Content: "c"},
			file{Path: "/data/old", Content: "now a file"},
			file{Path: "/current", Link: "/etc/app/c.conf"},
		),
	)
}

func TestMerge(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	visited := map[string][]int{}
	fsys, err := imagefs.Read(context.Background(), image(t), imagefs.Options{
		Keep: func(p string) bool { return p == "/usr/bin/tool" },
		Visit: func(layer int, e *imagefs.Entry, r io.Reader) error {
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, e.Size, int64(len(b)))
			mu.Lock()
			visited[e.Path] = append(visited[e.Path], layer)
			mu.Unlock()
			return nil
		},
	})
	require.NoError(t, err)

	for p := range visited {
		sort.Ints(visited[p])
	}
	assert.Equal(t, []int{0}, visited["/etc/secret"], "deleted files are visited too")
	assert.Equal(t, []int{0, 1}, visited["/usr/bin/tool"])

	var paths []string
	require.NoError(t, fsys.Walk(func(e *imagefs.Entry) error { paths = append(paths, e.Path); return nil }))
	assert.Equal(t, []string{"/bin", "/current", "/data/old", "/etc/app/c.conf", "/loop", "/usr", "/usr/bin", "/usr/bin/tool"}, paths,
		"whiteouts delete, an opaque directory hides what is below, a file replaces a directory tree")

	data, err := fsys.ReadFile(context.Background(), "/bin/tool", 0)
	require.NoError(t, err)
	assert.Equal(t, "v2", string(data), "through a link among the directories, the upper layer's content")

	data, err = fsys.ReadFile(context.Background(), "/current", 0)
	require.NoError(t, err)
	assert.Equal(t, "c", string(data), "content that was not kept is read again from its layer")

	e, ok := fsys.Lstat("/current")
	require.True(t, ok)
	assert.Equal(t, fs.ModeSymlink, e.Mode.Type())
	e, ok = fsys.Lstat("/bin/tool")
	require.True(t, ok)
	assert.Equal(t, "/usr/bin/tool", e.Path)
	assert.True(t, fsys.Exists(e))

	_, ok = fsys.Stat("/loop")
	assert.False(t, ok, "a link loop resolves to nothing")
	_, ok = fsys.Stat("/etc/secret")
	assert.False(t, ok)
	_, err = fsys.ReadFile(context.Background(), "/usr/bin", 0)
	assert.ErrorContains(t, err, "not a regular file")
	_, err = fsys.ReadFile(context.Background(), "/data/old", 1)
	assert.ErrorContains(t, err, "over the limit")

	assert.Equal(t, []string{"/etc/app/c.conf"}, fsys.Glob("/etc/app/*"))
}
