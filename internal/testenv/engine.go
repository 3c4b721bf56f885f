package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/deploy-action/deploy-action/pkg/engine"
)

// Engine returns a client of the test engine (see DockerHost), closed when the
// test ends, or stops the test.
func Engine(t testing.TB) *client.Client {
	t.Helper()
	DockerHost(t)
	api, err := engine.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

// TLSEngine is the test engine behind mutual TLS on a loopback port, as
// `dockerd --tlsverify -H tcp://127.0.0.1:PORT` would serve it.
type TLSEngine struct {
	// Env reaches it: DOCKER_HOST=tcp://127.0.0.1:PORT, DOCKER_TLS_VERIFY=1
	// and DOCKER_CERT_PATH, a directory of certificates made for the test
	// (ca.pem, cert.pem, key.pem).
	Env map[string]string

	mu    sync.Mutex
	paths map[string]bool
}

// Requested reports whether a request for the engine API path (without its
// version, e.g. "/containers/create" or "/grpc") went through the listener.
func (e *TLSEngine) Requested(path string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.paths[path]
}

// StartTLSEngine puts the test engine behind mutual TLS on a loopback port
// until the test ends. Connections without the client certificate are
// refused. The listener forwards the decrypted bytes to the engine's unix
// socket, so upgraded connections (BuildKit's, attach) go through as well,
// and notes the request lines it sees (see Requested).
//
// A proxy rather than a second dockerd: a second daemon needs its own data
// root, bridge and iptables chains, and would not hold the images the tests
// built; the TLS a client must speak is the same.
func StartTLSEngine(t testing.TB) *TLSEngine {
	t.Helper()
	host := DockerHost(t)
	sock, ok := strings.CutPrefix(host, "unix://")
	Require(t, ok, "a Docker engine on a unix socket (DOCKER_HOST is "+host+")", "unset DOCKER_HOST to use /var/run/docker.sock")
	dir := t.TempDir()
	serverCert, clientCAs := TLSCerts(t, dir)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &TLSEngine{
		Env: map[string]string{
			"DOCKER_HOST":       "tcp://" + ln.Addr().String(),
			"DOCKER_TLS_VERIFY": "1",
			"DOCKER_CERT_PATH":  dir,
		},
		paths: map[string]bool{},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.forward(c, sock)
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return e
}

// forward copies c to the engine's socket and back until both sides end.
func (e *TLSEngine) forward(c net.Conn, sock string) {
	defer c.Close()
	if err := c.(*tls.Conn).HandshakeContext(context.Background()); err != nil {
		return // no client certificate, or not TLS: refused
	}
	up, err := net.Dial("unix", sock)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(io.MultiWriter(up, &requestLines{e: e}), c)
		_ = up.(*net.UnixConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(c, up)
		_ = c.(*tls.Conn).CloseWrite()
		done <- struct{}{}
	}()
	<-done
	<-done
}

// requestRE is an HTTP/1.1 request line to the engine; the path without its
// /v1.NN prefix and query is the second group.
var requestRE = regexp.MustCompile(`(?:GET|HEAD|POST|PUT|DELETE) (/v[0-9.]+)?(/[^ ?]*)[^ ]* HTTP/1\.1\r\n`)

// requestLines notes the request lines of one connection's stream; a line
// split across two writes is found in the carried-over tail.
type requestLines struct {
	e    *TLSEngine
	tail []byte
}

func (r *requestLines) Write(p []byte) (int, error) {
	buf := append(r.tail, p...)
	for _, m := range requestRE.FindAllSubmatch(buf, -1) {
		r.e.mu.Lock()
		r.e.paths[string(m[2])] = true
		r.e.mu.Unlock()
	}
	const keep = 1024
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	r.tail = append(r.tail[:0], buf...)
	return len(p), nil
}

// TLSCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, writes the client's side to dir as the docker CLI expects it,
// and returns the server's certificate and the pool its clients must chain to.
func TLSCerts(t testing.TB, dir string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "deploy-action test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := issue(2, &x509.Certificate{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	cliDER, cliKey := issue(3, &x509.Certificate{
		Subject: pkix.Name{CommonName: "client"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	cliKeyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":   {Type: "CERTIFICATE", Bytes: caDER},
		"cert.pem": {Type: "CERTIFICATE", Bytes: cliDER},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: cliKeyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}, pool
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(errors.Join(errors.New("generating a key"), err))
	}
	return k
}
