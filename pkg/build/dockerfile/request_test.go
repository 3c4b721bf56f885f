package dockerfile

import (
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/field"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":       "FROM scratch\n",
		"ci/Dockerfile":    "FROM scratch\n",
		"empty/.keep":      "",
		"file-not-a-dir":   "",
		"docker/.keep":     "",
		"docker/web/.keep": "",
	})

	for _, tc := range []struct {
		name    string
		req     Request
		want    string // the whole error, or empty for success
		wantDF  string // the Dockerfile the request resolves to
		options []Option
	}{
		{
			name:   "defaults to the Dockerfile of the context",
			req:    Request{ContextDir: dir},
			wantDF: filepath.Join(dir, "Dockerfile"),
		},
		{
			name:   "Dockerfile elsewhere",
			req:    Request{ContextDir: filepath.Join(dir, "empty"), Dockerfile: filepath.Join(dir, "ci", "Dockerfile"), Target: "app", Tag: "shop/web:dev"},
			wantDF: filepath.Join(dir, "ci", "Dockerfile"),
		},
		{
			name: "no context",
			req:  Request{},
			want: `dockerfile.Request.ContextDir: no directory given; give the directory to build from, e.g. "."`,
		},
		{
			name: "missing context",
			req:  Request{ContextDir: filepath.Join(dir, "nope")},
			want: `dockerfile.Request.ContextDir: ` + filepath.Join(dir, "nope") + ` does not exist; give the directory to build from`,
		},
		{
			name: "context is a file",
			req:  Request{ContextDir: filepath.Join(dir, "file-not-a-dir")},
			want: `dockerfile.Request.ContextDir: ` + filepath.Join(dir, "file-not-a-dir") + ` is a file, not a directory; give the directory to build from (and the file as dockerfile.Request.Dockerfile)`,
		},
		{
			name:    "context is a file, named",
			req:     Request{ContextDir: filepath.Join(dir, "file-not-a-dir")},
			options: []Option{WithFieldNames(field.Map(map[string]string{FieldDockerfile: `input "dockerfile"`}))},
			want:    `dockerfile.Request.ContextDir: ` + filepath.Join(dir, "file-not-a-dir") + ` is a file, not a directory; give the directory to build from (and the file as input "dockerfile")`,
		},
		{
			name: "missing default Dockerfile",
			req:  Request{ContextDir: filepath.Join(dir, "empty")},
			want: `dockerfile.Request.Dockerfile: ` + filepath.Join(dir, "empty", "Dockerfile") + ` does not exist; give the path of your Dockerfile`,
		},
		{
			name: "missing Dockerfile",
			req:  Request{ContextDir: dir, Dockerfile: filepath.Join(dir, "x", "Dockerfile")},
			want: `dockerfile.Request.Dockerfile: ` + filepath.Join(dir, "x", "Dockerfile") + ` does not exist; give the path of your Dockerfile`,
		},
		{
			name: "Dockerfile is a directory",
			req:  Request{ContextDir: dir, Dockerfile: filepath.Join(dir, "docker", "web")},
			want: `dockerfile.Request.Dockerfile: ` + filepath.Join(dir, "docker", "web") + ` is a directory; give the path of your Dockerfile, e.g. ` + filepath.Join(dir, "docker", "web", "Dockerfile"),
		},
		{
			name: "bad target",
			req:  Request{ContextDir: dir, Target: "my stage"},
			want: `dockerfile.Request.Target: "my stage" is not a stage name; use the name after "AS" in a FROM line, e.g. "runtime"`,
		},
		{
			name: "bad build arg",
			req:  Request{ContextDir: dir, BuildArgs: map[string]string{"A=B": "c"}},
			want: `dockerfile.Request.BuildArgs: "A=B" is not an argument name; use NAME=value, one per line`,
		},
		{
			name: "empty label key",
			req:  Request{ContextDir: dir, Labels: map[string]string{" ": "c"}},
			want: `dockerfile.Request.Labels: a label has an empty key; use key=value, one per line`,
		},
		{
			name: "bad tag",
			req:  Request{ContextDir: dir, Tag: "Shop/Web:dev"},
			want: `dockerfile.Request.Tag: "Shop/Web:dev" is not an image name (could not parse reference: Shop/Web:dev); use "<name>:<tag>" in lower case, e.g. "shop/web:dev"`,
		},
		{
			name: "digest tag",
			req:  Request{ContextDir: dir, Tag: "shop/web@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123"},
			want: `dockerfile.Request.Tag: "shop/web@sha256:0123456789012345678901234567890123456789012345678901234567890123" names a digest; the engine stores tags only, use "<name>:<tag>"`,
		},
		{
			name:    "host and client",
			req:     Request{ContextDir: dir},
			options: []Option{WithHost("unix:///x.sock"), WithDockerClient(&client.Client{})},
			want:    "WithHost and WithDockerClient exclude each other: give the host to the client",
		},
		{
			name:    "compression level",
			req:     Request{ContextDir: dir},
			options: []Option{WithCompressionLevel(0)},
			want:    "WithCompressionLevel: level 0 is out of range; use 1 (fastest) to 9 (smallest)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := New(tc.req, tc.options...)
			if tc.want != "" {
				require.EqualError(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			defer b.Close()
			assert.Equal(t, tc.wantDF, b.Request().Dockerfile)
			assert.True(t, filepath.IsAbs(b.Request().ContextDir))
		})
	}
}

func TestFrontendAttrs(t *testing.T) {
	t.Parallel()
	r := Request{
		Dockerfile: "/src/ci/web.Dockerfile",
		Target:     "runtime",
		BuildArgs:  map[string]string{"VERSION": "1.2.3", "SOURCE_DATE_EPOCH": "5"},
		Labels:     map[string]string{"org.opencontainers.image.revision": "abc"},
		NoCache:    true,
	}
	assert.Equal(t, map[string]string{
		"filename":                    "web.Dockerfile",
		"target":                      "runtime",
		"no-cache":                    "",
		"build-arg:VERSION":           "1.2.3",
		"build-arg:SOURCE_DATE_EPOCH": "5",
		"label:org.opencontainers.image.revision": "abc",
	}, r.frontendAttrs("1700000000"), "an explicit build arg wins over the environment")
	assert.Equal(t, map[string]string{
		"filename":                    "Dockerfile",
		"build-arg:SOURCE_DATE_EPOCH": "1700000000",
	}, Request{Dockerfile: "/src/Dockerfile"}.frontendAttrs("1700000000"))
	assert.Equal(t, map[string]string{"filename": "Dockerfile"}, Request{Dockerfile: "/src/Dockerfile"}.frontendAttrs(""))
}

func TestHostFromEnvironment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		want string
	}{
		{"default", nil, nil, "unix:///var/run/docker.sock"},
		{"DOCKER_HOST", map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2375"}, nil, "tcp://10.0.0.1:2375"},
		{"option wins", map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2375"}, []Option{WithHost("unix:///run/user/1000/docker.sock")}, "unix:///run/user/1000/docker.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tc.env[k] }
			o := defaultOptions()
			for _, opt := range append([]Option{WithGetenv(getenv)}, tc.opts...) {
				require.NoError(t, opt(&o))
			}
			c, err := newAPIClient(o)
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, tc.want, c.DaemonHost())
		})
	}
}
