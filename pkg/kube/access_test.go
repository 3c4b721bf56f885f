package kube_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
)

const secretToken = "tok-9f8e7d6c5b4a-SECRET"

// kubeconfig returns a kubeconfig with two contexts, "blue" (current, namespace
// shop) and "green" (namespace unset), each with its own server.
func kubeconfig(blue, green string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: blue
  cluster:
    server: %s
- name: green
  cluster:
    server: %s
users:
- name: ci
  user:
    token: %s
contexts:
- name: blue
  context: {cluster: blue, user: ci, namespace: shop}
- name: green
  context: {cluster: green, user: ci}
current-context: blue
`, blue, green, secretToken)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func env(m map[string]string) kube.Option {
	return kube.WithGetenv(func(k string) string { return m[k] })
}

func TestConfigSources(t *testing.T) {
	t.Parallel()
	cfg := kubeconfig("https://blue.example:6443", "https://green.example:6443")
	file := writeFile(t, "config", cfg)
	other := writeFile(t, "other", strings.ReplaceAll(cfg, "blue.example", "kubeconfig-env.example"))
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".kube"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".kube", "config"),
		[]byte(strings.ReplaceAll(cfg, "blue.example", "home.example")), 0o600))
	saDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(saDir, "token"), []byte(secretToken), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(saDir, "namespace"), []byte("ci-runners\n"), 0o644))
	inPod := map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": home}

	for _, tc := range []struct {
		name       string
		access     kube.Access
		env        map[string]string
		wantHost   string
		wantNS     string
		wantToken  string // inline token expected in the config
		wantTokenF string // token file expected in the config
	}{
		{name: "file", access: kube.Access{Kubeconfig: file}, wantHost: "https://blue.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "file with context", access: kube.Access{Kubeconfig: file, Context: "green"}, wantHost: "https://green.example:6443", wantNS: "default", wantToken: secretToken},
		{name: "content", access: kube.Access{KubeconfigData: cfg}, wantHost: "https://blue.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "content with context", access: kube.Access{KubeconfigData: cfg, Context: "green"}, wantHost: "https://green.example:6443", wantNS: "default", wantToken: secretToken},
		{name: "content as base64", access: kube.Access{KubeconfigData: base64.StdEncoding.EncodeToString([]byte(cfg))}, wantHost: "https://blue.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "content as wrapped base64", access: kube.Access{KubeconfigData: wrap(base64.StdEncoding.EncodeToString([]byte(cfg)), 76) + "\n"}, wantHost: "https://blue.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "KUBECONFIG list, first file wins", env: map[string]string{"KUBECONFIG": other + string(os.PathListSeparator) + file, "HOME": home}, wantHost: "https://kubeconfig-env.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "KUBECONFIG skips missing files", env: map[string]string{"KUBECONFIG": "/nonexistent" + string(os.PathListSeparator) + other}, wantHost: "https://kubeconfig-env.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "home", env: map[string]string{"HOME": home}, wantHost: "https://home.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "home with context", access: kube.Access{Context: "green"}, env: map[string]string{"HOME": home}, wantHost: "https://green.example:6443", wantNS: "default", wantToken: secretToken},
		{name: "explicit file beats KUBECONFIG", access: kube.Access{Kubeconfig: file}, env: map[string]string{"KUBECONFIG": other}, wantHost: "https://blue.example:6443", wantNS: "shop", wantToken: secretToken},
		{name: "in cluster", access: kube.Access{InCluster: true}, env: inPod, wantHost: "https://10.96.0.1:443", wantNS: "ci-runners", wantTokenF: filepath.Join(saDir, "token")},
		{name: "in cluster, IPv6", access: kube.Access{InCluster: true}, env: map[string]string{"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}, wantHost: "https://[fd00::1]:443", wantNS: "ci-runners", wantTokenF: filepath.Join(saDir, "token")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := kube.Config(tc.access, env(tc.env), kube.WithServiceAccountDir(saDir))
			require.NoError(t, err)
			assert.Equal(t, tc.wantHost, got.Host)
			assert.Equal(t, tc.wantToken, got.BearerToken)
			assert.Equal(t, tc.wantTokenF, got.BearerTokenFile)
			assert.Equal(t, float32(50), got.QPS, "a client that applies and watches must not be throttled at 5 requests a second")
			assert.NotContains(t, got.String(), secretToken, "rest.Config prints itself without the token")
			assert.Equal(t, tc.wantNS, kube.NamespaceOf(t, tc.access, env(tc.env), kube.WithServiceAccountDir(saDir)))
		})
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	good := kubeconfig("https://blue.example:6443", "https://green.example:6443")
	file := writeFile(t, "config", good)
	noContexts := `apiVersion: v1
kind: Config
users:
- name: ci
  user: {token: ` + secretToken + `}
`
	badYAML := "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: " + secretToken + "\n  bad: [unclosed\n"
	noServer := strings.Replace(good, "    server: https://blue.example:6443\n", "    insecure-skip-tls-verify: true\n", 1)
	badCurrent := strings.Replace(good, "current-context: blue", "current-context: purple", 1)
	noCurrent := strings.Replace(good, "current-context: blue", "", 1)
	missingCert := strings.Replace(good, "    token: "+secretToken, "    token: "+secretToken+"\n    client-certificate: /nonexistent/ci.crt\n    client-key: /nonexistent/ci.key", 1)
	emptySA := t.TempDir()

	for _, tc := range []struct {
		name   string
		access kube.Access
		env    map[string]string
		field  string // the *field.Error's field; "" for none
		want   []string
	}{
		{name: "two sources", access: kube.Access{Kubeconfig: file, KubeconfigData: good},
			want: []string{`input "kubeconfig-file" and input "kubeconfig" are all set`, "keep one of them"}},
		{name: "content and in-cluster", access: kube.Access{KubeconfigData: good, InCluster: true},
			want: []string{`input "kubeconfig" and input "in-cluster"`}},
		{name: "context in cluster", access: kube.Access{InCluster: true, Context: "blue"}, field: kube.FieldContext,
			want: []string{`input "kube-context": "blue" has no meaning with input "in-cluster"`}},
		{name: "blank content", access: kube.Access{KubeconfigData: " \n\t"}, field: kube.FieldKubeconfigData,
			want: []string{`input "kubeconfig": the value is blank`}},
		{name: "content is not YAML", access: kube.Access{KubeconfigData: badYAML}, field: kube.FieldKubeconfigData,
			want: []string{`input "kubeconfig": not a valid kubeconfig (YAML error at line 7)`, "base64"}},
		{name: "content is a bare secret", access: kube.Access{KubeconfigData: secretToken}, field: kube.FieldKubeconfigData,
			want: []string{`input "kubeconfig": `}},
		{name: "content without contexts", access: kube.Access{KubeconfigData: noContexts}, field: kube.FieldKubeconfigData,
			want: []string{`input "kubeconfig": the kubeconfig has no contexts`}},
		{name: "unknown context", access: kube.Access{KubeconfigData: good, Context: "purple"}, field: kube.FieldContext,
			want: []string{`input "kube-context": context "purple" is not in input "kubeconfig"; use one of "blue", "green"`}},
		{name: "current context missing", access: kube.Access{KubeconfigData: badCurrent}, field: kube.FieldKubeconfigData,
			want: []string{`current-context "purple" is not one of its contexts; set input "kube-context" to one of "blue", "green"`}},
		{name: "no current context", access: kube.Access{KubeconfigData: noCurrent}, field: kube.FieldKubeconfigData,
			want: []string{`has no current-context; set input "kube-context" to one of "blue", "green"`}},
		{name: "no server", access: kube.Access{KubeconfigData: noServer}, field: kube.FieldKubeconfigData,
			want: []string{`input "kubeconfig": the kubeconfig, context "blue"`, "no server"}},
		{name: "unreadable client certificate", access: kube.Access{KubeconfigData: missingCert}, field: kube.FieldKubeconfigData,
			want: []string{`input "kubeconfig": the kubeconfig, context "blue"`, "/nonexistent/ci.crt"}},
		{name: "missing file", access: kube.Access{Kubeconfig: "/nonexistent/config"}, field: kube.FieldKubeconfig,
			want: []string{`input "kubeconfig-file": cannot read /nonexistent/config`, `input "kubeconfig"`}},
		{name: "file is not YAML", access: kube.Access{Kubeconfig: writeFile(t, "bad", badYAML)}, field: kube.FieldKubeconfig,
			want: []string{`input "kubeconfig-file": /`, "not a valid kubeconfig (YAML error at line 7)"}},
		{name: "KUBECONFIG names no file", env: map[string]string{"KUBECONFIG": "/nonexistent/a:/nonexistent/b"},
			want: []string{`KUBECONFIG is "/nonexistent/a:/nonexistent/b", but no such file exists`}},
		{name: "nothing at all", env: map[string]string{"HOME": t.TempDir()},
			want: []string{"no cluster to deploy to", `a secret that does not exist is empty`, `input "kubeconfig-file"`, `input "in-cluster"`}},
		{name: "not in a pod", access: kube.Access{InCluster: true}, field: kube.FieldInCluster,
			want: []string{`input "in-cluster": KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set`}},
		{name: "pod without token", access: kube.Access{InCluster: true}, env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"},
			field: kube.FieldInCluster,
			want:  []string{`input "in-cluster": the pod has no service-account token`, "automountServiceAccountToken"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := kube.Config(tc.access, env(tc.env), kube.WithServiceAccountDir(emptySA), kube.WithFieldNames(inputNames))
			require.Error(t, err)
			var fe *field.Error
			if tc.field == "" {
				assert.False(t, errors.As(err, &fe), "no one field is at fault: %v", err)
			} else if assert.True(t, errors.As(err, &fe), "a *field.Error: %v", err) {
				assert.Equal(t, tc.field, fe.Field)
			}
			msg := userMessage(err)
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
			assert.NotContains(t, msg, secretToken, "the secret is never echoed")
			assert.NotContains(t, msg, "SECRET")
		})
	}
}

// inputs are the action's names of the fields of Access.
var inputs = map[string]string{
	kube.FieldKubeconfig:     "kubeconfig-file",
	kube.FieldKubeconfigData: "kubeconfig",
	kube.FieldContext:        "kube-context",
	kube.FieldInCluster:      "in-cluster",
}

var inputNames field.Names = func(f string) string {
	if in, ok := inputs[f]; ok {
		return fmt.Sprintf("input %q", in)
	}
	return ""
}

// userMessage is err as the action tells it: a *field.Error names its input.
func userMessage(err error) string {
	var fe *field.Error
	if errors.As(err, &fe) {
		return fmt.Sprintf("input %q: %v", inputs[fe.Field], fe.Err)
	}
	return err.Error()
}

func TestAccessErrorsWithoutNames(t *testing.T) {
	t.Parallel()
	_, err := kube.Config(kube.Access{InCluster: true, Context: "blue"}, env(nil))
	require.Error(t, err)
	assert.EqualError(t, err, `kube.Access.Context: "blue" has no meaning with kube.Access.InCluster: a pod's service account has no kubeconfig contexts; unset one of them`)
}

func TestOptionsRejectedWhenMade(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  kube.Option
		want string
	}{
		{"nil getenv", kube.WithGetenv(nil), "nil function"},
		{"empty sa dir", kube.WithServiceAccountDir(""), "empty directory"},
		{"zero qps", kube.WithRateLimit(0, 10), "positive"},
		{"nil warnings", kube.WithWarnings(nil), "nil writer"},
		{"zero timeout", kube.WithCheckTimeout(0), "positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := kube.Config(kube.Access{KubeconfigData: kubeconfig("https://a", "https://b")}, tc.opt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestSecrets: the credentials of kubeconfig content, in the forms a log could
// show them, and none from content that does not parse.
func TestSecrets(t *testing.T) {
	const key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIkey\n-----END EC PRIVATE KEY-----\n"
	withKey := strings.Replace(kubeconfig("https://blue.example", "https://green.example"), "users:\n",
		"users:\n- name: admin\n  user:\n    password: hunter2-pw\n    client-key-data: "+base64.StdEncoding.EncodeToString([]byte(key))+"\n", 1)
	for name, data := range map[string]string{
		"yaml":   withKey,
		"base64": base64.StdEncoding.EncodeToString([]byte(withKey)),
	} {
		t.Run(name, func(t *testing.T) {
			got := kube.Secrets(data)
			assert.Contains(t, got, secretToken)
			assert.Contains(t, got, "hunter2-pw")
			assert.Contains(t, got, key)
			assert.Contains(t, got, base64.StdEncoding.EncodeToString([]byte(key)), "as the file holds it")
		})
	}
	assert.Empty(t, kube.Secrets("not: [a kubeconfig"))
}

// TestSecretsOnlyCredentials: an exec env's or auth provider's ordinary
// settings are not credentials and are not masked.
func TestSecretsOnlyCredentials(t *testing.T) {
	cfg := strings.Replace(kubeconfig("https://blue.example", "https://green.example"), "users:\n", `users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, shop]
      env:
      - {name: AWS_PROFILE, value: default}
      - {name: AWS_REGION, value: eu-west-1}
      - {name: AWS_SESSION_TOKEN, value: sess-tok-12345}
- name: oidc
  user:
    auth-provider:
      name: oidc
      config: {client-id: shop-ci, idp-issuer-url: "https://issuer.example", id-token: idtok-98765, client-secret: clsec-4567}
`, 1)
	got := kube.Secrets(cfg)
	assert.Subset(t, got, []string{secretToken, "sess-tok-12345", "idtok-98765", "clsec-4567"})
	for _, plain := range []string{"default", "eu-west-1", "shop-ci", "https://issuer.example"} {
		assert.NotContains(t, got, plain)
	}
}

// TestAccessSecrets: the credentials of a kubeconfig file, of $KUBECONFIG's
// files and of ~/.kube/config are found as those of the content input are.
func TestAccessSecrets(t *testing.T) {
	data := kubeconfig("https://blue.example", "https://green.example")
	f := writeFile(t, "config", data)
	other := writeFile(t, "other", strings.ReplaceAll(data, secretToken, "tok-from-the-second-file"))
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".kube"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".kube", "config"), []byte(strings.ReplaceAll(data, secretToken, "tok-home-1234")), 0o600))
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	assert.Contains(t, kube.AccessSecrets(kube.Access{Kubeconfig: f}, getenv(nil)), secretToken)
	assert.Contains(t, kube.AccessSecrets(kube.Access{KubeconfigData: data}, getenv(nil)), secretToken)
	got := kube.AccessSecrets(kube.Access{}, getenv(map[string]string{"KUBECONFIG": f + string(os.PathListSeparator) + other}))
	assert.Contains(t, got, secretToken)
	assert.Contains(t, got, "tok-from-the-second-file")
	assert.Contains(t, kube.AccessSecrets(kube.Access{}, getenv(map[string]string{"HOME": home})), "tok-home-1234")
	assert.Empty(t, kube.AccessSecrets(kube.Access{Kubeconfig: "/nonexistent"}, getenv(nil)))
}

// TestExecCredentialsNotInstalled: a user that runs a credential program that
// is not installed is refused by name, with the fix.
func TestExecCredentialsNotInstalled(t *testing.T) {
	cfg := strings.Replace(kubeconfig("https://blue.example", "https://green.example"), "    token: "+secretToken+"\n", `    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator-not-installed
      args: [token, -i, shop]
`, 1)
	_, err := kube.Config(kube.Access{KubeconfigData: cfg}, env(nil))
	require.ErrorIs(t, err, kube.ErrExecCredentials)
	assert.Contains(t, err.Error(), `running "aws-iam-authenticator-not-installed" (exec:)`)
	assert.Contains(t, err.Error(), "kubectl create token", "the fix")
}

// TestInsecureWarned: a kubeconfig that skips TLS verification is warned about.
func TestInsecureWarned(t *testing.T) {
	cfg := strings.Replace(kubeconfig("https://blue.example", "https://green.example"), "    server: https://blue.example\n",
		"    server: https://blue.example\n    insecure-skip-tls-verify: true\n", 1)
	var w strings.Builder
	_, err := kube.Config(kube.Access{KubeconfigData: cfg}, env(nil), kube.WithWarnings(&w))
	require.NoError(t, err)
	assert.Contains(t, w.String(), "insecure-skip-tls-verify for https://blue.example")

	assert.NotContains(t, w.String(), secretToken)
}
