package kube_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/deploy-action/deploy-action/pkg/kube"
)

// server is a TLS server that answers /version as an API server does, or with
// status when it is not 200.
func server(t *testing.T, status int) (url, caData string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":%d}`, status)
			return
		}
		fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv.URL, base64.StdEncoding.EncodeToString(ca)
}

// withCA adds certificate-authority-data to kubeconfig's first cluster.
func withCA(cfg, caData string) string {
	return strings.Replace(cfg, "  cluster:\n", "  cluster:\n    certificate-authority-data: "+caData+"\n", 1)
}

func TestConnect(t *testing.T) {
	t.Parallel()
	srvURL, ca := server(t, http.StatusOK)
	c, err := kube.Connect(t.Context(), kube.Access{KubeconfigData: withCA(kubeconfig(srvURL, "https://unused"), ca)}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, "v1.37.2", c.Version.GitVersion)
	assert.Equal(t, srvURL, c.Server)
	assert.Equal(t, "shop", c.Namespace, "the context's namespace")
	assert.NotNil(t, c.Typed)
	assert.NotNil(t, c.Dynamic)
	assert.NotNil(t, c.Mapper)
}

func TestConnectFailures(t *testing.T) {
	t.Parallel()
	unauthorized, ca401 := server(t, http.StatusUnauthorized)
	trusted, _ := server(t, http.StatusOK)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	plainURL := "https://" + plain.Listener.Addr().String()

	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		return "https://" + addr
	}()
	// A listener that never accepts: the kernel completes the TCP handshake,
	// nobody speaks TLS, as with a load balancer in front of a dead server.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { silent.Close() })
	silentURL := "https://" + silent.Addr().String()

	for _, tc := range []struct {
		name, kubeconfig string
		kind             error
		want             []string
	}{
		{"refused", kubeconfig(refused, "https://unused"), kube.ErrUnreachable,
			[]string{"cannot reach the Kubernetes API server at " + refused + ": connection refused", "check the server address"}},
		{"no answer", kubeconfig(silentURL, "https://unused"), kube.ErrUnreachable,
			[]string{"cannot reach the Kubernetes API server at " + silentURL + ": no answer within 300ms"}},
		{"rejected credentials", withCA(kubeconfig(unauthorized, "https://unused"), ca401), kube.ErrUnauthorized,
			[]string{"the Kubernetes API server at " + unauthorized + " rejected the credentials (401 Unauthorized)", "fresh kubeconfig"}},
		{"untrusted certificate", kubeconfig(trusted, "https://unused"), kube.ErrUntrusted,
			[]string{"the Kubernetes API server at " + trusted + " presents a certificate signed by an authority the kubeconfig does not trust", "certificate-authority-data"}},
		{"plain HTTP", kubeconfig(plainURL, "https://unused"), kube.ErrUntrusted,
			[]string{"speaks plain HTTP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Only the silent server needs a short limit; a loaded machine may
			// take longer than that for a TLS handshake.
			timeout := 10 * time.Second
			if tc.kind == kube.ErrUnreachable {
				timeout = 300 * time.Millisecond
			}
			c, err := kube.Connect(t.Context(), kube.Access{KubeconfigData: tc.kubeconfig}, env(nil), kube.WithCheckTimeout(timeout))
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, tc.kind)
			var ke *kube.Error
			require.ErrorAs(t, err, &ke)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secretToken)
		})
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	const srv = "https://api.example:6443"
	dns := &url.Error{Op: "Get", URL: srv + "/version", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}}}
	reset := &url.Error{Op: "Get", URL: srv + "/version", Err: errors.New("read tcp 10.0.0.2:5000->10.0.0.1:6443: read: connection reset by peer")}
	other := errors.New(`deployments.apps "web" not found`)

	err := kube.Explain(srv, 0, dns)
	assert.ErrorIs(t, err, kube.ErrUnreachable)
	assert.Contains(t, err.Error(), "the name api.example does not resolve")

	err = kube.Explain(srv, 0, reset)
	assert.ErrorIs(t, err, kube.ErrUnreachable)
	assert.Contains(t, err.Error(), "at "+srv+": read tcp 10.0.0.2:5000->10.0.0.1:6443: read: connection reset by peer;")

	assert.Same(t, other, kube.Explain(srv, 0, other), "other errors pass through")
	assert.NoError(t, kube.Explain(srv, 0, nil))
	assert.Same(t, err, kube.Explain(srv, 0, err), "an explained error is not explained twice")
}

// hung is a loopback listener that accepts connections and never answers.
func hung(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// TestHungAPIServer: a server that accepts and never answers fails each
// request within the request timeout, with a message naming it, instead of
// holding the job until the CI's limit.
func TestHungAPIServer(t *testing.T) {
	t.Parallel()
	srv := hung(t)
	c, err := kube.NewClients(&rest.Config{Host: srv}, "shop", kube.WithRequestTimeout(500*time.Millisecond))
	require.NoError(t, err)
	start := time.Now()
	_, err = c.Typed.CoreV1().ConfigMaps("shop").Get(context.Background(), "x", metav1.GetOptions{})
	took := time.Since(start)
	require.Error(t, err)
	assert.Less(t, took, 10*time.Second, "fails within the timeout (client-go may retry once)")
	assert.Contains(t, err.Error(), srv)
	assert.Contains(t, err.Error(), "sent no answer within 500ms")
	assert.ErrorIs(t, kube.Explain(srv, 0, err), kube.ErrUnreachable)
}
