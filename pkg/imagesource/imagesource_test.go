package imagesource_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/imagesource"
)

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img, err := random.Image(256, 2)
	require.NoError(t, err)
	other, err := random.Image(256, 1)
	require.NoError(t, err)
	want := digest(t, img)

	dir := t.TempDir()
	one := filepath.Join(dir, "one")
	p, err := layout.Write(one, empty.Index)
	require.NoError(t, err)
	require.NoError(t, p.AppendImage(img))
	two := filepath.Join(dir, "two")
	p2, err := layout.Write(two, empty.Index)
	require.NoError(t, err)
	require.NoError(t, p2.AppendImage(img))
	require.NoError(t, p2.AppendImage(other))

	tar := filepath.Join(dir, "img.tar")
	require.NoError(t, tarball.WriteToFile(tar, name.MustParseReference("example.com/a/b:1"), img))

	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	ref, err := name.ParseReference(u.Host + "/a/b:1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))

	for _, tc := range []struct{ name, ref string }{
		{"layout", "oci:" + one},
		{"layout by digest", "oci:" + two + "@" + want.String()},
		{"tarball", "tarball:" + tar},
		{"registry", u.Host + "/a/b:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := imagesource.Resolve(ctx, tc.ref)
			require.NoError(t, err)
			assert.Equal(t, want, digest(t, got))
		})
	}

	t.Run("scratch", func(t *testing.T) {
		got, err := imagesource.Resolve(ctx, "scratch")
		require.NoError(t, err)
		assert.Equal(t, digest(t, empty.Image), digest(t, got))
	})

	require.NoError(t, os.WriteFile(filepath.Join(dir, "notatar"), []byte("x"), 0o644))
	for _, tc := range []struct{ name, ref, want string }{
		{"empty", "", `input "from" is empty`},
		{"layout with two images", "oci:" + two, "holds 2 images; name one as oci:"},
		{"not a layout", "oci:" + dir, "is not an OCI layout"},
		{"bad digest", "oci:" + one + "@sha256:zz", "is not a digest"},
		{"missing tarball", "tarball:" + filepath.Join(dir, "nope.tar"), "cannot be read"},
		{"not a tarball", "tarball:" + filepath.Join(dir, "notatar"), "is not an image tarball"},
		{"bad reference", "UPPER/Case:tag", "is not an image reference"},
		{"missing in registry", u.Host + "/a/b:2", "fetching"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imagesource.Resolve(ctx, tc.ref)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
