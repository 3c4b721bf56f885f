package push_test

import (
	"context"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/push"
)

// countingTransport records "METHOD /path" of every request sent.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r.Method+" "+r.URL.Host+r.URL.Path)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.reqs
	c.reqs = nil
	return out
}

// serverWrites counts the blob uploads a docker-registry logged, from its
// access log: evidence from the server side, independent of the client.
var serverWrites = regexp.MustCompile(`"(POST|PATCH|PUT) /v2/[^ ]+/blobs/uploads/`)

func TestPushE2E(t *testing.T) {
	t.Parallel()
	plain := testenv.Registry(t)
	secure := testenv.Registry(t, testenv.WithTLS(), testenv.WithHtpasswd("alice", "e2e-Secret-pass"))
	img := randomImage(t, 5, 512<<10)
	digest, err := img.Digest()
	require.NoError(t, err)
	rawManifest, err := img.RawManifest()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	var layerDigests []string
	for _, l := range layers {
		d, err := l.Digest()
		require.NoError(t, err)
		layerDigests = append(layerDigests, d.String())
	}

	keychain := push.Keychain(env(nil), push.Credential{Registry: secure.Host, Username: secure.Username, Password: secure.Password})
	repos := []string{plain.Repo("acme/shop"), secure.Repo("acme/shop")}
	tags := []string{"1.4.0", "latest"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("first push reaches both registries", func(t *testing.T) {
		res, err := push.Push(ctx, img, repos, tags, push.WithKeychain(keychain), push.WithCAFile(secure.CAFile))
		require.NoError(t, err)
		assert.Equal(t, digest, res.Digest)
		require.Len(t, res.Registries, 2)

		for i, rs := range []*testenv.RegistryServer{plain, secure} {
			assert.Equal(t, rs.Repo("acme/shop")+"@"+digest.String(), res.Registries[i].Ref)
			assert.Equal(t, tags, res.Registries[i].Tags)
			// skopeo, an independent client, sees the same image by every tag.
			for _, tag := range tags {
				in := rs.Inspect(t, rs.Repo("acme/shop")+":"+tag)
				assert.Equal(t, digest.String(), in.Digest, "%s:%s", rs.Host, tag)
				assert.ElementsMatch(t, tags, in.RepoTags)
				assert.Equal(t, layerDigests, in.Layers)
			}
			assert.Equal(t, string(rawManifest), string(rs.InspectRaw(t, rs.Repo("acme/shop")+"@"+digest.String())))
			assert.Equal(t, 3*(len(layers)+1), len(serverWrites.FindAllString(rs.Log(), -1)),
				"%s: one POST, PATCH and PUT per layer and for the config", rs.Host)
		}
	})

	t.Run("second push uploads nothing", func(t *testing.T) {
		// The client is watched on the wire; the servers through their logs.
		ct := &countingTransport{next: &http.Transport{TLSClientConfig: secure.TLSConfig()}}
		before := map[string]int{}
		for _, rs := range []*testenv.RegistryServer{plain, secure} {
			before[rs.Host] = len(serverWrites.FindAllString(rs.Log(), -1))
		}
		res, err := push.Push(ctx, img, repos, append(tags, "again"), push.WithKeychain(keychain), push.WithTransport(ct))
		require.NoError(t, err)
		for _, rr := range res.Registries {
			assert.Equal(t, []string{"1.4.0", "latest", "again"}, rr.Tags)
		}
		sent := ct.take()
		for _, r := range sent {
			assert.NotRegexp(t, `^(POST|PATCH) |/blobs/uploads/`, r, "a blob was uploaded again")
			assert.NotRegexp(t, `^PUT .*/manifests/sha256:`, r, "the manifest is already there by digest")
		}
		assert.Len(t, filter(sent, `^PUT .*/manifests/(1\.4\.0|latest|again)$`), 6, "three tags on two registries: %v", sent)
		for _, rs := range []*testenv.RegistryServer{plain, secure} {
			assert.Equal(t, before[rs.Host], len(serverWrites.FindAllString(rs.Log(), -1)), "%s logged a blob upload", rs.Host)
			in := rs.Inspect(t, rs.Repo("acme/shop")+":again")
			assert.Equal(t, digest.String(), in.Digest)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		wrong := push.Keychain(env(nil), push.Credential{Registry: secure.Host, Username: "alice", Password: "not-the-password"})
		res, err := push.Push(ctx, img, []string{secure.Repo("acme/other")}, []string{"x"}, push.WithKeychain(wrong), push.WithCAFile(secure.CAFile), fast)
		require.Error(t, err)
		assert.ErrorIs(t, err, push.ErrUnauthorized)
		assert.Contains(t, err.Error(), `registry "`+secure.Host+`" rejected the credentials of user "alice"; set push.Credential.Username and push.Credential.Password, or log in with docker login`)
		assert.NotContains(t, err.Error(), "not-the-password")
		assert.Empty(t, res.Registries[0].Tags)
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		_, err := push.Push(ctx, img, []string{secure.Repo("acme/other")}, nil, push.WithKeychain(keychain), fast)
		require.Error(t, err)
		assert.ErrorIs(t, err, push.ErrUntrusted)
		assert.Contains(t, err.Error(), "give its CA certificate in "+push.FieldCAFile, "without names, the field is named as it is")
	})
}
