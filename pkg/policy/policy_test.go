package policy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/policy"
)

// good is the config of an image that passes every check.
func good() v1.Config {
	return v1.Config{
		User:         "10001:10001",
		Entrypoint:   []string{"/app/server"},
		Cmd:          []string{"serve"},
		ExposedPorts: map[string]struct{}{"8000/tcp": {}},
		Env:          []string{"PATH=/usr/bin:/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.source":   "https://github.com/acme/shop",
			"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		},
	}
}

var baseFiles = []testimage.File{
	{Path: "/etc/passwd", Content: "root:x:0:0:root:/root:/bin/sh\nshop:x:10001:10001::/nonexistent:/usr/sbin/nologin\nadmin:x:0:0::/:/bin/sh\n"},
	{Path: "/app/server", Content: "\x7fELF\x00binary", Mode: 0o755},
	{Path: "/app/start.sh", Content: "#!/bin/sh\nset -e\nexec >>/tmp/log 2>&1\necho starting\n/app/server serve\n", Mode: 0o755},
	{Path: "/app/good.sh", Content: "#!/usr/bin/env bash\nset -e\nif [ -n \"$X\" ]; then echo x; fi\nexec \"$@\"\n", Mode: 0o755},
	{Path: "/usr/bin/gunicorn", Link: "/app/start.sh"},
}

func check(t *testing.T, cfg policy.Config, img v1.Image, opts ...policy.Option) map[policy.Check]policy.Finding {
	t.Helper()
	c, err := policy.New(cfg, opts...)
	require.NoError(t, err)
	res, err := c.Check(context.Background(), img)
	require.NoError(t, err)
	out := map[policy.Check]policy.Finding{}
	for _, f := range res.Findings {
		out[f.Check] = f
	}
	require.Len(t, out, len(policy.Checks))
	return out
}

func TestGoodImagePasses(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t, good(), testimage.Layer(t, baseFiles...))
	c, err := policy.New(policy.Config{})
	require.NoError(t, err)
	res, err := c.Check(context.Background(), img)
	require.NoError(t, err)
	assert.False(t, res.Failed())
	for _, f := range res.Findings {
		assert.Equal(t, policy.Pass, f.Status, "%s: %s", f.Check, f.Message)
	}
	assert.Equal(t, 3, res.Scanned, "the text files are scanned; the binary is not")
	assert.Equal(t, 1, res.Unscanned)
}

func TestUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user   string
		status policy.Status
		msg    string
	}{
		{"", policy.Failure, "runs as root: the image sets no USER; create an unprivileged user"},
		{"0", policy.Failure, `runs as root: USER is "0" (UID 0)`},
		{"0:0", policy.Failure, `USER is "0:0" (UID 0)`},
		{"root", policy.Failure, `runs as root: USER is "root"`},
		{"admin", policy.Failure, `USER "admin" has UID 0 in /etc/passwd`},
		{"ghost", policy.Failure, `USER "ghost" is not in /etc/passwd, so the container cannot start`},
		{"shop", policy.Pass, "runs as shop (UID 10001); USER 10001 would let Kubernetes verify runAsNonRoot"},
		{"shop:0", policy.Pass, "runs as shop (UID 10001)"},
		{"10001:10001", policy.Pass, "runs as UID 10001"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			cfg := good()
			cfg.User = tc.user
			f := check(t, policy.Config{}, testimage.Image(t, cfg, testimage.Layer(t, baseFiles...)))[policy.User]
			assert.Equal(t, tc.status, f.Status, f.Message)
			assert.Contains(t, f.Message, tc.msg)
		})
	}
}

func TestModes(t *testing.T) {
	t.Parallel()
	cfg := good()
	cfg.User = ""
	img := testimage.Image(t, cfg, testimage.Layer(t, baseFiles...))

	warn := check(t, policy.Config{Modes: map[policy.Check]policy.Mode{policy.User: policy.Warn}}, img)[policy.User]
	assert.Equal(t, policy.Warning, warn.Status)
	assert.Contains(t, warn.Message, "runs as root")

	off := check(t, policy.Config{Modes: map[policy.Check]policy.Mode{policy.User: policy.Off}}, img)[policy.User]
	assert.Equal(t, policy.Skipped, off.Status)

	c, err := policy.New(policy.Config{Modes: map[policy.Check]policy.Mode{policy.User: policy.Warn}})
	require.NoError(t, err)
	res, err := c.Check(context.Background(), img)
	require.NoError(t, err)
	assert.False(t, res.Failed(), "a warning does not fail the image")
}

// privateKey returns a fresh PEM private key, made here so that no key is in the repository.
func privateKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// awsKeyID returns a random string in the shape of an AWS access key ID.
func awsKeyID(t *testing.T) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "AKIA" + string(b)
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	key := privateKey(t)
	keyID := awsKeyID(t)
	token := randomToken(t)
	envSecret := "SECRET_KEY=" + token
	sum := md5.Sum([]byte(key))

	layers := []v1.Layer{
		testimage.Layer(t, baseFiles...),
		testimage.Layer(t,
			testimage.File{Path: "/root/.ssh/id_ed25519", Content: key, Mode: 0o600},
			testimage.File{Path: "/app/.env", Content: "DEBUG=false\n"},
			testimage.File{Path: "/app/.env.example", Content: "SECRET_KEY=changeme\n"},
			testimage.File{Path: "/app/config.py", Content: fmt.Sprintf("# settings\nAWS_ACCESS_KEY_ID = %q\n", keyID)},
			testimage.File{Path: "/app/fixtures/test.pem", Content: key},
			// A key exactly as a Debian package ships it is the distribution's.
			testimage.File{Path: "/usr/share/doc/libfoo/examples/key.pem", Content: key},
			testimage.File{Path: "/var/lib/dpkg/info/libfoo.md5sums", Content: hex.EncodeToString(sum[:]) + "  usr/share/doc/libfoo/examples/key.pem\n"},
			// A changed packaged file is not.
			testimage.File{Path: "/usr/share/doc/libbar/key.pem", Content: key},
			testimage.File{Path: "/var/lib/dpkg/info/libbar.md5sums", Content: "00000000000000000000000000000000  usr/share/doc/libbar/key.pem\n"},
		),
		// Deleting the key in a later layer leaves it in the layer below.
		testimage.Layer(t, testimage.File{Path: "/root/.ssh/id_ed25519", Whiteout: true}),
	}
	cfg := good()
	cfg.Env = append(cfg.Env, envSecret)
	img := testimage.Image(t, cfg, layers...)

	for _, budget := range []int{64 << 20, 0} {
		t.Run(fmt.Sprintf("keep %d bytes", budget), func(t *testing.T) {
			t.Parallel()
			testSecrets(t, img, budget, key, keyID, token)
		})
	}
}

func testSecrets(t *testing.T, img v1.Image, budget int, key, keyID, token string) {
	c, err := policy.New(policy.Config{SecretsAllow: []string{"/app/fixtures/**"}}, policy.WithKeepBudget(budget))
	require.NoError(t, err)
	res, err := c.Check(context.Background(), img)
	require.NoError(t, err)
	var f policy.Finding
	for _, x := range res.Findings {
		if x.Check == policy.Secrets {
			f = x
		}
	}
	assert.Equal(t, policy.Failure, f.Status)
	details := strings.Join(f.Details, "\n")
	assert.Contains(t, details, "/root/.ssh/id_ed25519 (an SSH private key) in layer 2, deleted by a later layer but still in the image")
	assert.Contains(t, details, "/root/.ssh/id_ed25519:1 (private-key) in layer 2")
	assert.Contains(t, details, "/app/.env (a .env file) in layer 2")
	assert.Contains(t, details, "/app/config.py:2 (aws-access-token) in layer 2")
	assert.Contains(t, details, "/usr/share/doc/libbar/key.pem:1 (private-key)")
	assert.Contains(t, details, "ENV SECRET_KEY (generic-api-key)")
	assert.NotContains(t, details, ".env.example")
	assert.NotContains(t, details, "/app/fixtures", "allowed by secrets-allow")
	assert.NotContains(t, details, "libfoo", "a packaged file as shipped")
	assert.Contains(t, f.Message, "RUN --mount=type=secret")
	assert.Contains(t, f.Message, "rotate every secret listed")
	for _, secret := range []string{keyID, strings.Split(key, "\n")[1], token} {
		assert.NotContains(t, f.Message+details, secret, "a finding never quotes the secret")
	}
}

// randomToken returns a random API-token-like string.
func randomToken(t *testing.T) string {
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "k" + base64.RawURLEncoding.EncodeToString(b) + "9"
}

func TestSize(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t, good(), testimage.Layer(t, baseFiles...), testimage.Layer(t, testimage.File{Path: "/big", Content: randomText(t, 200_000)}))
	f := check(t, policy.Config{SizeBudget: 50_000, Modes: map[policy.Check]policy.Mode{policy.Size: policy.Fail}}, img)[policy.Size]
	assert.Equal(t, policy.Failure, f.Status)
	assert.Contains(t, f.Message, "over the budget of 50.0 kB")
	assert.Contains(t, f.Message, "raise "+policy.FieldSizeBudget, "without names, the field is named as it is")
	assert.Contains(t, f.Details[0], "layer 2: ")

	inputs := field.Names(func(f string) string {
		if f == policy.FieldSizeBudget {
			return `input "size-budget"`
		}
		return ""
	})
	f = check(t, policy.Config{SizeBudget: 50_000, Modes: map[policy.Check]policy.Mode{policy.Size: policy.Fail}}, img, policy.WithFieldNames(inputs))[policy.Size]
	assert.Contains(t, f.Message, `raise input "size-budget"`)

	f = check(t, policy.Config{}, img)[policy.Size]
	assert.Equal(t, policy.Pass, f.Status)
	assert.Contains(t, f.Message, "compressed in 2 layers (budget 1.00 GB)")
}

func randomText(t *testing.T, n int) string {
	b := make([]byte, n/2)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func TestLabelsAndPorts(t *testing.T) {
	t.Parallel()
	cfg := good()
	cfg.Labels = map[string]string{"org.opencontainers.image.source": ""}
	cfg.ExposedPorts = nil
	img := testimage.Image(t, cfg, testimage.Layer(t, baseFiles...))
	got := check(t, policy.Config{Modes: map[policy.Check]policy.Mode{policy.Labels: policy.Fail, policy.Ports: policy.Fail}}, img)
	assert.Equal(t, policy.Failure, got[policy.Labels].Status)
	assert.Equal(t, []string{"org.opencontainers.image.source", "org.opencontainers.image.revision"}, got[policy.Labels].Details, "an empty label counts as missing")
	assert.Contains(t, got[policy.Labels].Message, "LABEL org.opencontainers.image.source=")
	assert.Equal(t, policy.Failure, got[policy.Ports].Status)
	assert.Contains(t, got[policy.Ports].Message, "add `EXPOSE <port>`")

	got = check(t, policy.Config{RequiredLabels: []string{}}, img)
	assert.Equal(t, policy.Pass, got[policy.Labels].Status, "no label required")
	assert.Equal(t, policy.Warning, got[policy.Ports].Status, "ports warns by default")
}

func TestExec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		entrypoint []string
		cmd        []string
		status     policy.Status
		msg        string
	}{
		{"exec form", []string{"/app/server"}, []string{"serve"}, policy.Pass, `exec form: ["/app/server"]`},
		{"shell form entrypoint", []string{"/bin/sh", "-c", "/app/server serve"}, nil, policy.Failure, `ENTRYPOINT is in shell form ["/bin/sh" "-c" "/app/server serve"]: the shell is PID 1`},
		{"shell form cmd", nil, []string{"/bin/sh", "-c", "gunicorn app"}, policy.Failure, "CMD is in shell form"},
		{"shell form that execs", []string{"/bin/sh", "-c", "exec gunicorn app"}, nil, policy.Pass, "shell form, but the shell execs the command"},
		{"shell form that execs, then more", []string{"/bin/sh", "-c", "exec gunicorn app; echo done"}, nil, policy.Failure, "ENTRYPOINT is in shell form"},
		{"shell cmd under exec entrypoint", []string{"/app/server"}, []string{"/bin/sh", "-c", "serve"}, policy.Failure, `the entrypoint receives "/bin/sh -c ..." as arguments`},
		{"script without exec", []string{"/app/start.sh"}, nil, policy.Failure, "the entrypoint /app/start.sh is a shell script that never runs exec"},
		{"script through a link on PATH", []string{"gunicorn"}, nil, policy.Failure, "the entrypoint /app/start.sh is a shell script"},
		{"script with exec", []string{"/app/good.sh"}, []string{"/app/server"}, policy.Pass, "exec form"},
		{"relative to workdir", []string{"./server"}, nil, policy.Pass, "exec form"},
		{"missing program", []string{"/app/missing"}, nil, policy.Failure, `the program "/app/missing" of ["/app/missing"] is not in the image`},
		{"nothing to run", nil, nil, policy.Failure, "has neither ENTRYPOINT nor CMD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good()
			cfg.Entrypoint, cfg.Cmd, cfg.WorkingDir = tc.entrypoint, tc.cmd, "/app"
			f := check(t, policy.Config{}, testimage.Image(t, cfg, testimage.Layer(t, baseFiles...)))[policy.Exec]
			assert.Equal(t, tc.status, f.Status, f.Message)
			assert.Contains(t, f.Message, tc.msg)
		})
	}
}

func TestParseModes(t *testing.T) {
	t.Parallel()
	m, err := policy.ParseModes("all=warn, secrets=fail\nsize=off")
	require.NoError(t, err)
	assert.Equal(t, map[policy.Check]policy.Mode{
		policy.User: policy.Warn, policy.Secrets: policy.Fail, policy.Size: policy.Off,
		policy.Labels: policy.Warn, policy.Ports: policy.Warn, policy.Exec: policy.Warn,
	}, m)
	m, err = policy.ParseModes("")
	require.NoError(t, err)
	assert.Equal(t, policy.DefaultModes(), m)
	for _, bad := range []string{"user", "user=", "user=strict", "shell=fail"} {
		_, err := policy.ParseModes(bad)
		var fe *field.Error
		require.ErrorAs(t, err, &fe, bad)
		assert.Equal(t, policy.FieldModes, fe.Field, bad)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"500MB": 500e6, "1.5 GB": 1.5e9, "300MiB": 300 << 20, "2g": 2 << 30, "1048576": 1 << 20, "64kb": 64e3} {
		got, err := policy.ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "big", "-1MB", "0", "12 parsecs"} {
		_, err := policy.ParseSize(bad)
		var fe *field.Error
		require.ErrorAs(t, err, &fe, bad)
		assert.Equal(t, policy.FieldSizeBudget, fe.Field, bad)
		assert.Contains(t, fe.Err.Error(), "is not a size", bad)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg   policy.Config
		field string
		want  string
	}{
		{policy.Config{Modes: map[policy.Check]policy.Mode{"root": policy.Fail}}, policy.FieldModes, `check "root" is unknown`},
		{policy.Config{Modes: map[policy.Check]policy.Mode{policy.User: "maybe"}}, policy.FieldModes, `mode "maybe" of "user" is unknown`},
		{policy.Config{SizeBudget: -1}, policy.FieldSizeBudget, "is negative"},
		{policy.Config{RequiredLabels: []string{"a b"}}, policy.FieldRequiredLabels, `"a b" is not a label key`},
		{policy.Config{SecretsAllow: []string{"[unclosed"}}, policy.FieldSecretsAllow, "is not a path pattern"},
	} {
		_, err := policy.New(tc.cfg)
		var fe *field.Error
		require.ErrorAs(t, err, &fe, tc.want)
		assert.Equal(t, tc.field, fe.Field, tc.want)
		assert.Contains(t, fe.Err.Error(), tc.want)
	}
	_, err := policy.New(policy.Config{}, policy.WithConcurrency(0))
	assert.Error(t, err)
}
