package push_test

import (
	"bytes"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// randomImage makes an image of random layers, compressed once up front so
// that pushing it measures the push, not gzip.
func randomImage(t testing.TB, layers int, size int64) v1.Image {
	t.Helper()
	ls := make([]v1.Layer, 0, layers)
	for range layers {
		l, err := random.Layer(size, types.DockerLayer)
		require.NoError(t, err)
		rc, err := l.Compressed()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		tl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		})
		require.NoError(t, err)
		ls = append(ls, tl)
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	require.NoError(t, err)
	return img
}

// memRegistry serves go-containerregistry's in-memory registry, behind wrap
// when given, and returns its host ("127.0.0.1:PORT").
func memRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// recorder keeps "METHOD /path" of every request that reaches the registry.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

var uploadID = regexp.MustCompile(`/blobs/uploads/[^/]+$`)

// flaky fails the first request of each kind (method and path, upload IDs
// aside) once, in turn with 500, 429, a reset connection and 503, the way an
// overloaded registry behind a load balancer does. Every step of a push thus
// fails once and must be retried.
type flaky struct {
	mu     sync.Mutex
	seen   map[string]bool
	failed int
}

func (f *flaky) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := req.Method + " " + uploadID.ReplaceAllString(req.URL.Path, "/blobs/uploads/ID")
		f.mu.Lock()
		first := !f.seen[key]
		if f.seen == nil {
			f.seen = map[string]bool{}
		}
		f.seen[key] = true
		n := f.failed
		if first {
			f.failed++
		}
		f.mu.Unlock()
		if !first {
			next.ServeHTTP(w, req)
			return
		}
		switch n % 4 {
		case 0:
			http.Error(w, "internal error", http.StatusInternalServerError)
		case 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
		case 2:
			reset(w)
		case 3:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}
	})
}

func (f *flaky) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// reset drops the connection with a TCP RST, before any response.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// failing answers status to requests matching the pattern ("METHOD /path"),
// and passes the rest on.
func failing(pattern string, status int, body string) func(http.Handler) http.Handler {
	re := regexp.MustCompile(pattern)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if re.MatchString(req.Method + " " + req.URL.Path) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}

func chain(wraps ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(wraps) - 1; i >= 0; i-- {
			h = wraps[i](h)
		}
		return h
	}
}

// pulled reads back what a registry holds under ref, anonymously.
func pulled(t testing.TB, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	img, err := remote.Image(r, remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 3}))
	require.NoError(t, err)
	return img
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
