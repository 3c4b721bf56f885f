package cli

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type result struct {
	code           int
	stdout, stderr string
	files          map[string]string // GITHUB_OUTPUT and GITHUB_STEP_SUMMARY contents
}

func (r result) all() string {
	var b strings.Builder
	b.WriteString(r.stdout + r.stderr)
	for _, f := range r.files {
		b.WriteString(f)
	}
	return b.String()
}

// execute runs the CLI in-process with only the given environment.
func execute(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
	for k, p := range files {
		require.NoError(t, os.WriteFile(p, nil, 0o600))
		if _, ok := env[k]; !ok {
			env[k] = p
		}
	}
	env["DOCKER_CONFIG"] = dir // no credentials of the machine's leak in
	var out, errw bytes.Buffer
	code := Execute(context.Background(), args, &out, &errw, func(k string) string { return env[k] })
	r := result{code: code, stdout: out.String(), stderr: errw.String(), files: map[string]string{}}
	for k, p := range files {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		r.files[k] = string(b)
	}
	return r
}

func registryHost(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	return u.Host
}

func quietRegistry() http.Handler { return registry.New(registry.Logger(log.New(io.Discard, "", 0))) }

func siteDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(d, "index.html"), []byte("<h1>shop</h1>"), 0o644))
	return d
}

func TestRunFromActionInputs(t *testing.T) {
	t.Parallel()
	host := registryHost(t, quietRegistry())
	env := map[string]string{
		"GITHUB_ACTIONS":     "true",
		"GITHUB_SHA":         "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF":         "refs/heads/main",
		"GITHUB_EVENT_NAME":  "push",
		"GITHUB_REPOSITORY":  "acme/shop",
		"GITHUB_RUN_NUMBER":  "42",
		"SOURCE_DATE_EPOCH":  "1700000000",
		"INPUT_STAGES":       "build,push",
		"INPUT_BASE":         "scratch",
		"INPUT_LAYERS":       siteDir(t) + ":/srv/www",
		"INPUT_IMAGES":       host + "/acme/shop\n" + host + "/mirror/shop",
		"INPUT_VERSION":      "1.4.0",
		"INPUT_TAGS":         "version,latest,run,sha",
		"INPUT_GITHUB-TOKEN": "ghs_notarealtoken0000000000000000",
	}
	r := execute(t, env, "run")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "::group::build")
	assert.Contains(t, r.stdout, "::group::push")
	assert.NotContains(t, r.all()[strings.Index(r.all(), "\n"):], "ghs_notarealtoken", "the token appears only in the add-mask command")

	out := r.files["GITHUB_OUTPUT"]
	assert.Contains(t, out, "tags<<")
	assert.Contains(t, out, "1.4.0,latest,sha-0123456,v42")
	assert.Contains(t, out, "digest<<")
	summary := r.files["GITHUB_STEP_SUMMARY"]
	assert.Contains(t, summary, "| Registry | Result | Reference | Time |")
	assert.Contains(t, summary, "`"+host+"/mirror/shop` | pushed |")

	// Both repositories hold the image under every tag.
	for _, repo := range []string{"acme/shop", "mirror/shop"} {
		for _, tag := range []string{"1.4.0", "latest", "v42", "sha-0123456"} {
			ref, err := name.ParseReference(host + "/" + repo + ":" + tag)
			require.NoError(t, err)
			_, err = remote.Head(ref)
			assert.NoError(t, err, repo+":"+tag)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-P4ssw0rd-x9"
	// A registry that rejects every credential, and echoes what it got (as some do).
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials for `+user+`:`+pass+`"}]}`)
	})
	host := registryHost(t, deny)
	site := siteDir(t)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		actions bool
	}{
		{"flag", map[string]string{}, []string{"run", "--stages", "build,push", "--base", "scratch", "--layers", site + ":/srv", "--images", host + "/acme/shop",
			"--tags", "latest", "--username", "acme", "--password", secret}, false},
		{"action input", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_STAGES": "build,push", "INPUT_BASE": "scratch", "INPUT_LAYERS": site + ":/srv",
			"INPUT_IMAGES": host + "/acme/shop", "INPUT_TAGS": "latest", "INPUT_USERNAME": "acme", "INPUT_PASSWORD": secret}, []string{"run"}, true},
		{"bad input after the secret", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_PASSWORD": secret, "INPUT_USERNAME": "acme",
			"INPUT_STAGES": "build,nope"}, []string{"run"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := execute(t, tc.env, tc.args...)
			require.NotEqual(t, 0, r.code)
			all := r.all()
			if tc.actions {
				assert.Contains(t, all, "::add-mask::"+secret+"\n", "the runner is told to mask the secret")
				all = strings.ReplaceAll(all, "::add-mask::"+secret+"\n", "")
			}
			assert.NotContains(t, all, secret)
			assert.NotContains(t, all, "s3cr3t", "no part of the secret leaks either")
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	site := siteDir(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown stage", []string{"run", "--stages", "build,ship"}, 1, `input "stages": unknown stage "ship"`},
		{"unknown tag policy", []string{"run", "--base", "scratch", "--layers", site + ":/srv", "--images", "127.0.0.1:1/a/b", "--tags", "nightly"}, 1,
			`input "tags": unknown tag policy "nightly"`},
		{"malformed image", []string{"push", "--from", "scratch", "--images", "docker.io/", "--tags", "latest"}, 1, `input "images"`},
		{"half credentials", []string{"push", "--from", "oci:" + site, "--images", "127.0.0.1:1/a/b", "--username", "u"}, 1,
			`inputs "username" and "password" go together`},
		{"mixed builders", []string{"build", "--base", "scratch", "--target", "prod"}, 1, `input "target" is for Dockerfile builds`},
		{"missing Dockerfile", []string{"build", "--context", site}, 1, `input "dockerfile": ` + site + `/Dockerfile does not exist`},
		{"bad layer", []string{"build", "--base", "scratch", "--layers", "./app"}, 1, `input "layers": "./app" has no target`},
		// Every problem is reported at once, each under its input.
		{"missing layer and bad workdir", []string{"build", "--base", "scratch", "--layers", "nonexistent:/app", "--workdir", "w"}, 1,
			`input "layers": "nonexistent:/app" has a source that cannot be read`},
		{"bad workdir and missing layer", []string{"build", "--base", "scratch", "--layers", "nonexistent:/app", "--workdir", "w"}, 1,
			`input "workdir": "w" is relative`},
		{"bad image-map", []string{"rollout", "--manifests", site, "--image-map", "acme/shop:1.0"}, 1,
			`input "image-map": line 1: "acme/shop:1.0" is not SOURCE=TARGET@sha256:<digest> nor REPOSITORY@sha256:<digest>`},
		{"bad from", []string{"push", "--from", "/some/dir", "--images", "127.0.0.1:1/a/b"}, 1, `input "from": "/some/dir" is not an image source`},
		{"from is no layout", []string{"push", "--from", "oci:" + site, "--images", "127.0.0.1:1/a/b"}, 1, `input "from": ` + site + ` is not an OCI image layout`},
		{"from in a registry", []string{"push", "--from", "debian:trixie-slim", "--images", "127.0.0.1:1/a/b"}, 1,
			`input "from": "debian:trixie-slim" is not an image source; use "scratch", "oci:DIR[@sha256:...]", "tarball:FILE" or "docker:NAME"`},
		{"unknown manifest check", []string{"rollout", "--manifests", site, "--manifest-policy", "probes=fail,probe=off"}, 1,
			`input "manifest-policy": "probe": is not a check; use one of secrets, digest, latest, migrations, database-volume, exposed-admin, probes, resources, baseline, restricted, pdb, or all`},
		{"unknown manifest check mode", []string{"rollout", "--manifests", site, "--manifest-policy", "secrets=error"}, 1,
			`input "manifest-policy": "secrets=error": mode "error" of secrets is unknown; use fail, warn or off`},
		{"bad manifest allow entry", []string{"rollout", "--manifests", site, "--manifest-policy-allow", "Deployment/postgres"}, 1,
			`input "manifest-policy-allow": "Deployment/postgres": is not [CHECK:]KIND/NAMESPACE/NAME`},
		{"unknown flag", []string{"push", "--imagez", "x"}, 2, "unknown flag: --imagez"},
		{"bad epoch", []string{"build", "--base", "scratch"}, 1, "SOURCE_DATE_EPOCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if tc.name == "bad epoch" {
				env["SOURCE_DATE_EPOCH"] = "yesterday"
			}
			r := execute(t, env, tc.args...)
			assert.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := execute(t, map[string]string{}, "version")
	require.Equal(t, 0, r.code)
	assert.Regexp(t, `^deploy-action \S+ \(commit \S+\)\n$`, r.stdout)
}

// TestTerminalSummary: outside Actions the summary is laid out for the
// terminal, with no Markdown, and written as Markdown or HTML only where
// --summary-file asks; the job summary file is left alone.
func TestTerminalSummary(t *testing.T) {
	t.Parallel()
	host := registryHost(t, quietRegistry())
	dir := t.TempDir()
	md, html := filepath.Join(dir, "summary.md"), filepath.Join(dir, "summary.html")
	r := execute(t, map[string]string{"NO_COLOR": "1"}, "run", "--stages", "build,push", "--base", "scratch", "--layers", siteDir(t)+":/srv",
		"--images", host+"/acme/shop", "--version", "1.4.0", "--tags", "version,latest", "--summary-file", md, "--summary-file", html)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.NotContains(t, r.stdout, "| ---", "no Markdown table on the terminal")
	assert.NotContains(t, r.stdout, "###")
	assert.Regexp(t, `(?m)^Registry\s+Result\s+Reference\s+Time$`, r.stdout)
	assert.Regexp(t, `(?m)^`+host+`/acme/shop\s+pushed\s+`+host+`/acme/shop@sha256:[0-9a-f]{64}\s+\S+$`, r.stdout)
	assert.NotContains(t, r.stdout, "\x1b[", "no colour off a TTY")
	assert.Empty(t, r.files["GITHUB_STEP_SUMMARY"], "outside Actions the job summary is not written")

	b, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Contains(t, string(b), "| Registry | Result | Reference | Time |")
	assert.Contains(t, string(b), "| `"+host+"/acme/shop` | pushed |")
	h, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(h), "<td><code>"+host+"/acme/shop</code></td>")

	bad := execute(t, map[string]string{}, "version", "--summary-file", filepath.Join(md, "under-a-file.md"))
	assert.Equal(t, 1, bad.code)
	assert.Contains(t, bad.stderr, "flag --summary-file: writing the summary to "+filepath.Join(md, "under-a-file.md"))
}
