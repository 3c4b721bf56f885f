package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryServer is a real registry (CNCF distribution 2.8, Debian's
// docker-registry) listening on loopback for one test.
type RegistryServer struct {
	// Host is "127.0.0.1:PORT", the registry part of image references.
	Host string
	// CAFile is the PEM file of the CA that signed the server certificate;
	// empty without WithTLS.
	CAFile string
	// CertDir holds only ca.crt, laid out for skopeo's --cert-dir and
	// docker's certs.d; empty without WithTLS.
	CertDir string
	// Username and Password are the htpasswd credentials; empty without WithHtpasswd.
	Username string
	Password string
	// Dir is the registry's storage root.
	Dir string

	logFile string
}

// RegistryOption configures Registry.
type RegistryOption func(*registryConfig)

type registryConfig struct {
	tls      bool
	user     string
	password string
}

// WithTLS serves HTTPS with a certificate for localhost and 127.0.0.1, signed
// by a CA made for this registry alone (see RegistryServer.CAFile).
func WithTLS() RegistryOption {
	return func(c *registryConfig) { c.tls = true }
}

// WithHtpasswd requires HTTP basic authentication with this user and password.
func WithHtpasswd(user, password string) RegistryOption {
	return func(c *registryConfig) { c.user, c.password = user, password }
}

// Registry starts a registry server with empty storage and stops it at the end
// of the test. Without the docker-registry program the test is skipped (failed
// in CI).
func Registry(t testing.TB, opts ...RegistryOption) *RegistryServer {
	t.Helper()
	bin := LookPath(t, "docker-registry")
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}

	dir := t.TempDir()
	rs := &RegistryServer{
		Dir:      filepath.Join(dir, "storage"),
		Username: cfg.user,
		Password: cfg.password,
		logFile:  filepath.Join(dir, "registry.log"),
	}
	var tlsYAML, authYAML string
	if cfg.tls {
		certs := filepath.Join(dir, "certs")
		rs.CertDir = filepath.Join(dir, "ca")
		rs.CAFile = filepath.Join(rs.CertDir, "ca.crt")
		for _, d := range []string{certs, rs.CertDir} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeCertificates(rs.CAFile, filepath.Join(certs, "server.crt"), filepath.Join(certs, "server.key")); err != nil {
			t.Fatalf("making certificates for the registry: %v", err)
		}
		tlsYAML = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n",
			filepath.Join(certs, "server.crt"), filepath.Join(certs, "server.key"))
	}
	if cfg.user != "" {
		// The registry checks the bcrypt hash on every request: the minimum
		// cost keeps that at about a millisecond.
		hash, err := bcrypt.GenerateFromPassword([]byte(cfg.password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(cfg.user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		authYAML = fmt.Sprintf("auth:\n  htpasswd:\n    realm: testenv\n    path: %s\n", htpasswd)
	}

	// The port is picked free, then handed to the registry: another process
	// may take it in between, so a failed start is tried again on a new port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		rs.Host = fmt.Sprintf("127.0.0.1:%d", port)
		secret := make([]byte, 16)
		_, _ = rand.Read(secret)
		conf := fmt.Sprintf(registryYAML, rs.Dir, rs.Host, hex.EncodeToString(secret), tlsYAML, authYAML)
		confPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if lastErr = rs.start(t, bin, confPath); lastErr == nil {
			return rs
		}
	}
	t.Fatalf("starting docker-registry: %v", lastErr)
	return nil
}

const registryYAML = `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
%s%s`

func (rs *RegistryServer) start(t testing.TB, bin, confPath string) error {
	t.Helper()
	logf, err := os.OpenFile(rs.logFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Keep the registry away from proxies and configuration in the environment.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + filepath.Dir(confPath)}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()

	stop := sync.OnceFunc(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	if err := rs.waitReady(exited, 20*time.Second); err != nil {
		stop()
		return fmt.Errorf("%w\n%s", err, rs.Log())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("docker-registry at %s logged:\n%s", rs.Host, tail(rs.Log(), 40))
		}
	})
	return nil
}

// waitReady polls /v2/ until the registry answers (200, or 401 with auth).
func (rs *RegistryServer) waitReady(exited <-chan error, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: rs.TLSConfig(), Proxy: nil}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("docker-registry exited: %v", err)
		default:
		}
		resp, err := client.Get(rs.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("docker-registry did not answer on %s within %v", rs.URL(), timeout)
}

// URL is the registry's base URL, "https://..." with TLS.
func (rs *RegistryServer) URL() string {
	if rs.CAFile != "" {
		return "https://" + rs.Host
	}
	return "http://" + rs.Host
}

// Repo returns the repository path under this registry: Host + "/" + path.
func (rs *RegistryServer) Repo(path string) string { return rs.Host + "/" + path }

// TLSConfig trusts the registry's CA; nil without TLS.
func (rs *RegistryServer) TLSConfig() *tls.Config {
	if rs.CAFile == "" {
		return nil
	}
	pemBytes, err := os.ReadFile(rs.CAFile)
	if err != nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Log returns what the registry logged so far (one access-log line per request).
func (rs *RegistryServer) Log() string {
	b, _ := os.ReadFile(rs.logFile)
	return string(b)
}

// SkopeoFlags are the flags skopeo's inspect, copy and delete need for this registry.
func (rs *RegistryServer) SkopeoFlags() []string {
	var f []string
	if rs.CAFile != "" {
		f = append(f, "--tls-verify=true", "--cert-dir", rs.CertDir)
	} else {
		f = append(f, "--tls-verify=false")
	}
	if rs.Username != "" {
		f = append(f, "--creds", rs.Username+":"+rs.Password)
	}
	return f
}

// Inspection is the part of `skopeo inspect` output the tests check.
type Inspection struct {
	Name     string   `json:"Name"`
	Digest   string   `json:"Digest"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Inspect runs `skopeo inspect docker://ref` (ref under this registry, e.g.
// rs.Repo("app")+":1.0") and decodes its answer.
func (rs *RegistryServer) Inspect(t testing.TB, ref string) Inspection {
	t.Helper()
	out := Skopeo(t, append(append([]string{"inspect"}, rs.SkopeoFlags()...), "docker://"+ref)...)
	var in Inspection
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatalf("decoding skopeo inspect %s: %v\n%s", ref, err, out)
	}
	return in
}

// InspectRaw returns the manifest exactly as the registry serves it, from
// `skopeo inspect --raw`.
func (rs *RegistryServer) InspectRaw(t testing.TB, ref string) []byte {
	t.Helper()
	return Skopeo(t, append(append([]string{"inspect", "--raw"}, rs.SkopeoFlags()...), "docker://"+ref)...)
}

// Skopeo runs skopeo with args and returns its standard output; it fails the
// test, with skopeo's error output, if skopeo fails. Without skopeo the test is
// skipped (failed in CI).
func Skopeo(t testing.TB, args ...string) []byte {
	t.Helper()
	bin := LookPath(t, "skopeo")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := SkopeoRun(ctx, bin, args...)
	if err != nil {
		t.Fatalf("skopeo %s: %v", redactCreds(args), err)
	}
	return out
}

// SkopeoRun is Skopeo for callers that expect a failure: it returns the error
// with skopeo's error output instead of failing the test.
func SkopeoRun(ctx context.Context, bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// An empty registries.conf: no mirrors, no short-name aliases from the host.
	cmd.Env = append(os.Environ(), "CONTAINERS_REGISTRIES_CONF=/dev/null")
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// redactCreds hides the value after --creds in a command line shown in a log.
func redactCreds(args []string) string {
	out := make([]string, len(args))
	copy(out, args)
	for i := range out {
		if out[i] == "--creds" && i+1 < len(out) {
			user, _, _ := strings.Cut(out[i+1], ":")
			out[i+1] = user + ":***"
		}
	}
	return strings.Join(out, " ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeCertificates makes a CA and a server certificate it signs, valid for
// localhost and 127.0.0.1, and writes them as PEM.
func writeCertificates(caFile, certFile, keyFile string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "testenv registry CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return errors.Join(
		writePEM(caFile, "CERTIFICATE", caDER),
		writePEM(certFile, "CERTIFICATE", der),
		writePEM(keyFile, "PRIVATE KEY", keyDER),
	)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
