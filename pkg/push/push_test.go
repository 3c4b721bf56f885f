package push_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/push"
)

// fast keeps retries real but short.
var fast = push.WithRetry(4, time.Millisecond)

// inputNames names the push's fields as a command's inputs would.
var inputNames field.Names = func(f string) string {
	if in, ok := map[string]string{push.FieldRepos: "images", push.FieldTags: "tags", push.FieldCAFile: "registry-ca", push.FieldInsecure: "insecure-registries"}[f]; ok {
		return fmt.Sprintf("input %q", in)
	}
	return ""
}

// syncBuffer is a progress writer safe for concurrent registries.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPushWritesBlobsThenManifestByDigestThenTags(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	host := memRegistry(t, rec.wrap)
	img := randomImage(t, 3, 1024)
	want, err := img.Digest()
	require.NoError(t, err)
	var progress syncBuffer

	res, err := push.Push(context.Background(), img, []string{host + "/acme/shop"}, []string{"1.2.3", "latest"},
		push.WithProgress(&progress), fast)
	require.NoError(t, err)

	assert.Equal(t, want, res.Digest)
	assert.Equal(t, []string{"1.2.3", "latest"}, res.Tags)
	require.Len(t, res.Registries, 1)
	rr := res.Registries[0]
	assert.NoError(t, rr.Err)
	assert.Equal(t, host+"/acme/shop", rr.Repository)
	assert.Equal(t, host+"/acme/shop@"+want.String(), rr.Ref)
	assert.Equal(t, []string{"1.2.3", "latest"}, rr.Tags)
	assert.Empty(t, res.Failed())
	assert.Equal(t, []string{rr.Ref}, res.Refs())

	// The order on the wire: every blob committed, then the manifest by
	// digest, then the tags.
	reqs := rec.requests()
	idx := func(re string) []int {
		var at []int
		for i, r := range reqs {
			if regexp.MustCompile(re).MatchString(r) {
				at = append(at, i)
			}
		}
		return at
	}
	blobCommits := idx(`^PUT /v2/acme/shop/blobs/uploads/`)
	byDigest := idx(`^PUT /v2/acme/shop/manifests/sha256:`)
	byTag := idx(`^PUT /v2/acme/shop/manifests/[^s]`)
	require.Len(t, blobCommits, 4, "3 layers and the config: %v", reqs)
	require.Len(t, byDigest, 1, "%v", reqs)
	require.Len(t, byTag, 2, "%v", reqs)
	assert.Less(t, blobCommits[len(blobCommits)-1], byDigest[0])
	assert.Less(t, byDigest[0], byTag[0])

	for _, tag := range []string{"1.2.3", "latest"} {
		got, err := pulled(t, host+"/acme/shop:"+tag).Digest()
		require.NoError(t, err)
		assert.Equal(t, want, got, tag)
	}
	out := progress.String()
	assert.Contains(t, out, host+"/acme/shop: pushing 3 layers")
	assert.Contains(t, out, "pushed "+want.String())
	assert.Contains(t, out, "tagged 1.2.3, latest")
}

func TestPushSurvivesAFlakyRegistry(t *testing.T) {
	t.Parallel()
	f := &flaky{}
	host := memRegistry(t, f.wrap)
	img := randomImage(t, 4, 4096)
	want, err := img.Digest()
	require.NoError(t, err)
	var progress syncBuffer

	res, err := push.Push(context.Background(), img, []string{host + "/flaky"}, []string{"v1"},
		fast, push.WithProgress(&progress))
	require.NoError(t, err, "progress:\n%s", progress.String())

	rr := res.Registries[0]
	assert.GreaterOrEqual(t, f.failures(), 10, "the flaky handler should have failed every kind of request once")
	// Not every injected failure reaches the count: net/http itself resends
	// an idempotent request whose reused connection was reset.
	assert.Positive(t, rr.TransientFailures)
	assert.Contains(t, progress.String(), "transient failure")
	got := pulled(t, host+"/flaky:v1")
	d, err := got.Digest()
	require.NoError(t, err)
	assert.Equal(t, want, d)
	// The pushed image is whole: every layer can be read back.
	layers, err := got.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 4)
	for _, l := range layers {
		rc, err := l.Compressed()
		require.NoError(t, err)
		_, err = bytes.NewBuffer(nil).ReadFrom(rc)
		require.NoError(t, err)
		rc.Close()
	}
}

func TestPushNeverTagsAPartialImage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fail     string
		wantRef  bool
		wantTags []string
	}{
		{name: "manifest PUT by digest fails", fail: `^PUT /v2/app/manifests/sha256:`},
		{name: "blob commit fails", fail: `^PUT /v2/app/blobs/uploads/`},
		{name: "second tag fails", fail: `^PUT /v2/app/manifests/latest$`, wantRef: true, wantTags: []string{"1.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := memRegistry(t, failing(tc.fail, http.StatusInternalServerError, "disk full"))
			img := randomImage(t, 2, 512)

			res, err := push.Push(context.Background(), img, []string{host + "/app"}, []string{"1.0", "latest"}, push.WithRetry(2, time.Millisecond))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "push failed for 1 of 1 repositories")
			rr := res.Registries[0]
			require.Error(t, rr.Err)
			assert.Equal(t, tc.wantTags, rr.Tags)
			assert.Equal(t, tc.wantRef, rr.Ref != "")
			assert.GreaterOrEqual(t, rr.TransientFailures, 2, "a 500 is retried, and fails again")

			repo, err := name.NewRepository(host + "/app")
			require.NoError(t, err)
			tags, err := remote.List(repo)
			if err == nil {
				assert.Equal(t, tc.wantTags, nilIfEmpty(tags), "no tag may point at an image whose manifest failed")
			} else {
				assert.Nil(t, tc.wantTags, "listing tags: %v", err)
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestPushReportsEachRegistry(t *testing.T) {
	t.Parallel()
	good := memRegistry(t, nil)
	bad := memRegistry(t, failing(`^POST /v2/.*/blobs/uploads/`, http.StatusServiceUnavailable, "maintenance"))
	img := randomImage(t, 2, 512)
	want, err := img.Digest()
	require.NoError(t, err)

	res, err := push.Push(context.Background(), img, []string{good + "/team/app", bad + "/team/app"}, []string{"v2"},
		push.WithRetry(2, time.Millisecond))
	require.Error(t, err)

	require.Len(t, res.Registries, 2)
	assert.NoError(t, res.Registries[0].Err)
	assert.Equal(t, []string{"v2"}, res.Registries[0].Tags)
	assert.Error(t, res.Registries[1].Err)
	failed := res.Failed()
	require.Len(t, failed, 1)
	assert.Equal(t, bad+"/team/app", failed[0].Repository)
	assert.Contains(t, err.Error(), "push failed for 1 of 2 repositories (pushed: "+good+"/team/app@"+want.String()+")")
	assert.Contains(t, err.Error(), bad+"/team/app")
	assert.Contains(t, err.Error(), "503")

	got, err := pulled(t, good+"/team/app:v2").Digest()
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestPushSecondTimeUploadsNoBlob(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	host := memRegistry(t, rec.wrap)
	img := randomImage(t, 3, 2048)
	repos := []string{host + "/again"}

	_, err := push.Push(context.Background(), img, repos, []string{"a"}, fast)
	require.NoError(t, err)
	before := len(rec.requests())
	_, err = push.Push(context.Background(), img, repos, []string{"a", "b"}, fast)
	require.NoError(t, err)

	second := rec.requests()[before:]
	for _, r := range second {
		assert.NotRegexp(t, `^(POST|PATCH) |/blobs/uploads/`, r, "a blob was uploaded again")
	}
	assert.Empty(t, filter(second, `^PUT /v2/again/manifests/sha256:`), "the manifest is already there by digest")
	assert.Len(t, filter(second, `^PUT /v2/again/manifests/(a|b)$`), 2)
}

func filter(reqs []string, pattern string) []string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, r := range reqs {
		if re.MatchString(r) {
			out = append(out, r)
		}
	}
	return out
}

func TestPushExplainsFailures(t *testing.T) {
	t.Parallel()
	const user, password = "alice", "correct-horse-battery"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))

	// echoAuth rejects everything and echoes what it was sent, as a careless
	// registry or proxy might: nothing of it may come out of Push.
	echoAuth := func(status int, code string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" && r.Header.Get("Authorization") == "" {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				// Reads pass, so the first refusal is a write and has a body.
				if r.Method == http.MethodHead || r.Method == http.MethodGet {
					next.ServeHTTP(w, r)
					return
				}
				u, p, _ := r.BasicAuth()
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"nope: %s %s %s"}]}`, code, r.Header.Get("Authorization"), u, p)
			})
		}
	}
	// denyWrites lets reads through and refuses every write.
	denyWrites := failing(`^(POST|PUT|PATCH) `, http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
	// flakyEcho answers 503 with the credentials in the body first, then 401.
	var once sync.Map
	flakyEcho := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, seen := once.LoadOrStore(r.Method+r.URL.Path, true); !seen && r.Header.Get("Authorization") != "" {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "upstream said %s", r.Header.Get("Authorization"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}

	tests := []struct {
		name     string
		wrap     func(http.Handler) http.Handler
		creds    bool
		kind     error
		contains string
	}{
		{name: "anonymous 401", wrap: echoAuth(http.StatusUnauthorized, "UNAUTHORIZED"), kind: push.ErrUnauthorized,
			contains: `requires credentials to push to HOST/app; set push.Credential.Username and push.Credential.Password, or log in with docker login`},
		{name: "wrong password", wrap: echoAuth(http.StatusUnauthorized, "UNAUTHORIZED"), creds: true, kind: push.ErrUnauthorized,
			contains: `registry "HOST" rejected the credentials of user "alice"; set push.Credential.Username and push.Credential.Password, or log in with docker login`},
		{name: "wrong password after a 503", wrap: chain(flakyEcho, echoAuth(http.StatusUnauthorized, "UNAUTHORIZED")), creds: true, kind: push.ErrUnauthorized,
			contains: `rejected the credentials`},
		{name: "no write access", wrap: denyWrites, creds: true, kind: push.ErrDenied,
			contains: `registry "HOST" denied push to HOST/app; user "alice" lacks write access`},
		{name: "anonymous without write access", wrap: denyWrites, kind: push.ErrDenied,
			contains: `denied push to HOST/app; anonymous users lack write access`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := memRegistry(t, tc.wrap)
			var progress syncBuffer
			opts := []push.Option{fast, push.WithProgress(&progress)}
			if tc.creds {
				opts = append(opts, push.WithKeychain(push.Keychain(nil, push.Credential{Registry: host, Username: user, Password: password})))
			}
			res, err := push.Push(context.Background(), randomImage(t, 1, 256), []string{host + "/app"}, []string{"v1"}, opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.kind)
			assert.ErrorIs(t, res.Registries[0].Err, tc.kind)
			assert.Contains(t, err.Error(), strings.ReplaceAll(tc.contains, "HOST", host))

			// Nothing that was sent as a credential comes back out, whichever
			// way the error or the progress is printed.
			var texts []string
			walk(err, func(e error) {
				texts = append(texts, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
			})
			texts = append(texts, progress.String())
			for _, s := range texts {
				assert.NotContains(t, s, password)
				assert.NotContains(t, s, basic)
			}
		})
	}
}

func TestPushUnreachableRegistry(t *testing.T) {
	t.Parallel()
	res, err := push.Push(context.Background(), randomImage(t, 1, 128), []string{"127.0.0.1:1/app"}, nil, fast, push.WithFieldNames(inputNames))
	require.Error(t, err)
	assert.ErrorIs(t, err, push.ErrUnreachable)
	assert.Contains(t, err.Error(), `registry "127.0.0.1:1" is unreachable: connection refused; check the address in input "images" and that the registry is up`)
	assert.Zero(t, res.Registries[0].TransientFailures, "a refused connection is not retried")
}

func TestPushTLSWithPrivateCA(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pemOf(srv.Certificate().Raw), 0o600))
	img := randomImage(t, 1, 128)

	_, err := push.Push(context.Background(), img, []string{host + "/tls"}, []string{"v1"}, fast, push.WithFieldNames(inputNames))
	require.Error(t, err)
	assert.ErrorIs(t, err, push.ErrUntrusted)
	assert.Contains(t, err.Error(), `registry "`+host+`" presented a TLS certificate signed by an unknown authority; give its CA certificate in input "registry-ca"`)

	res, err := push.Push(context.Background(), img, []string{host + "/tls"}, []string{"v1"}, fast, push.WithCAFile(ca))
	require.NoError(t, err)
	assert.Equal(t, []string{"v1"}, res.Registries[0].Tags)
}

func TestPushRejectsBadInputs(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 1, 64)
	tests := []struct {
		name  string
		repos []string
		tags  []string
		field string
		want  string
	}{
		{name: "no repository", field: push.FieldRepos, want: `no repository given; use "<registry>/<namespace>/<name>"`},
		{name: "registry only", repos: []string{"docker.io/"}, field: push.FieldRepos, want: `"docker.io/" is not a valid repository (`},
		{name: "registry only, fix", repos: []string{"docker.io/"}, field: push.FieldRepos, want: `); use "<registry>/<namespace>/<name>"`},
		{name: "upper case", repos: []string{"ghcr.io/Acme/App"}, field: push.FieldRepos, want: `"ghcr.io/Acme/App" is not a valid repository`},
		{name: "tag in repository", repos: []string{"ghcr.io/acme/app:1.0"}, field: push.FieldRepos, want: `"ghcr.io/acme/app:1.0" names a tag, not a repository; use "ghcr.io/acme/app" and give "1.0" in input "tags"`},
		{name: "bad tag", repos: []string{"ghcr.io/acme/app"}, tags: []string{"v1", "feature/x"}, field: push.FieldTags, want: `"feature/x" is not a valid tag`},
		{name: "empty tag", repos: []string{"ghcr.io/acme/app"}, tags: []string{""}, field: push.FieldTags, want: `"" is not a valid tag`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// 127.0.0.1:1 refuses connections: an input error must come first.
			_, err := push.Push(context.Background(), img, tc.repos, tc.tags, push.WithFieldNames(inputNames))
			require.Error(t, err)
			var fe *field.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Err.Error(), tc.want)
			assert.NotErrorIs(t, err, push.ErrUnreachable)
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	tests := []struct {
		name string
		opts []push.Option
		want string
	}{
		{name: "no jobs", opts: []push.Option{push.WithJobs(0)}, want: `push: 0 is not a valid number of parallel uploads; use 1 or more`},
		{name: "no attempts", opts: []push.Option{push.WithRetry(0, time.Second)}, want: "0 attempts"},
		{name: "no wait", opts: []push.Option{push.WithRetry(3, 0)}, want: "use a positive duration"},
		{name: "missing CA file", opts: []push.Option{push.WithCAFile(filepath.Join(dir, "nope.pem"))}, want: push.FieldCAFile + `: cannot read`},
		{name: "CA file without certificate", opts: []push.Option{push.WithCAFile(notPEM)}, want: `holds no PEM certificate`},
		{name: "CA file and transport", opts: []push.Option{push.WithCAFile(notPEM), push.WithTransport(http.DefaultTransport)}, want: "WithCAFile and WithTransport conflict"},
		{name: "insecure with path", opts: []push.Option{push.WithInsecure("registry.local:5000/app")}, want: push.FieldInsecure + `: "registry.local:5000/app" is not a registry`},
		{name: "nil keychain", opts: []push.Option{push.WithKeychain(nil)}, want: "nil keychain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := push.New(tc.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := push.New(push.WithJobs(8), push.WithInsecure("registry.local:5000"), push.WithRetry(1, time.Second))
	assert.NoError(t, err)
}

func TestPushManyRegistriesAtOnce(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 2, 256)
	var repos []string
	for i := range 5 {
		repos = append(repos, memRegistry(t, nil)+fmt.Sprintf("/r%d/app", i))
	}
	repos = append(repos, repos[0]) // a duplicate is pushed once
	res, err := push.Push(context.Background(), img, repos, []string{"x"}, push.WithJobs(2), fast)
	require.NoError(t, err)
	require.Len(t, res.Registries, 5)
	for i, rr := range res.Registries {
		assert.Equal(t, repos[i], rr.Repository)
		assert.Equal(t, []string{"x"}, rr.Tags)
	}
}

func TestPushHonoursCancellation(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	host := memRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-block:
				case <-r.Context().Done():
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	// Registered after the server, so it runs before the server's Close.
	t.Cleanup(func() { close(block) })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := push.Push(ctx, randomImage(t, 1, 128), []string{host + "/slow"}, []string{"v1"})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, res.Registries[0].Tags)
}

// walk calls fn on err and on every error reachable from it.
func walk(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, fn)
		}
	}
}

// TestPushHungRegistry: a registry that accepts connections and never answers
// fails the push within the request timeout (and its retries), naming it,
// instead of holding the job until the CI's own limit.
func TestPushHungRegistry(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	host := l.Addr().String()
	start := time.Now()
	_, err = push.Push(context.Background(), randomImage(t, 1, 128), []string{host + "/app"}, nil,
		push.WithRetry(2, time.Millisecond), push.WithRequestTimeout(300*time.Millisecond))
	took := time.Since(start)
	require.Error(t, err)
	assert.ErrorIs(t, err, push.ErrUnreachable)
	assert.Contains(t, err.Error(), `registry "`+host+`" sent no answer within 300ms`)
	assert.Less(t, took, 15*time.Second)
}
