package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/markdown"
)

func TestReporterTerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	r := New(WithWriter(&out), WithGetenv(func(string) string { return "" }))
	r.Secret("hunter2")
	end := r.Group("push")
	r.Infof("logging in with hunter2")
	end()
	w, closeW := r.Writer()
	fmt.Fprint(w, "progress hun")
	fmt.Fprint(w, "ter2 done\nlast")
	closeW()
	r.Errorf("denied for hunter2")
	r.Output("digest", "sha256:abc")
	r.Output("refs", "a@sha256:abc\nb@sha256:abc")
	r.Summary(markdown.Table([]string{"a", "b"}, [][]string{{"x|y", "hunter2"}}))
	r.Flush()

	got := out.String()
	assert.NotContains(t, got, "hunter2")
	assert.Contains(t, got, "==> push\nlogging in with ***\n")
	assert.Contains(t, got, "progress *** done\nlast\n", "progress is line-buffered so a secret split across writes is still masked")
	assert.Contains(t, got, "error: denied for ***\n")
	assert.Contains(t, got, "a    b\n───  ───\nx|y  ***\n")
	assert.Contains(t, got, "digest=sha256:abc\nrefs<<EOF\na@sha256:abc\nb@sha256:abc\nEOF\n")
}

func TestReporterActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outFile, sumFile := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	for _, f := range []string{outFile, sumFile} {
		require.NoError(t, os.WriteFile(f, nil, 0o600))
	}
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outFile, "GITHUB_STEP_SUMMARY": sumFile}
	var out bytes.Buffer
	r := New(WithWriter(&out), WithGetenv(func(k string) string { return env[k] }))
	require.True(t, r.InActions())
	r.Secret("hunter2")
	end := r.Group("build")
	r.Infof("token hunter2")
	end()
	r.Errorf("push failed: hunter2 rejected")
	r.Output("digest", "sha256:abc hunter2")
	r.Summary("| image | hunter2 |")
	r.Flush()

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, []string{
		"::add-mask::hunter2",
		"::group::build",
		"token ***",
		"::endgroup::",
		"::error::push failed: *** rejected",
	}, lines)
	o, err := os.ReadFile(outFile)
	require.NoError(t, err)
	assert.Contains(t, string(o), "digest<<")
	assert.Contains(t, string(o), "sha256:abc ***")
	s, err := os.ReadFile(sumFile)
	require.NoError(t, err)
	assert.Equal(t, "| image | *** |\n", string(s))
	for _, b := range [][]byte{o, s} {
		assert.NotContains(t, string(b), "hunter2")
	}
}

// TestMultiLineSecret: a structured document (a kubeconfig) is masked here
// only, and its credentials are registered one by one.
func TestMultiLineSecret(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	r := New(WithWriter(&out), WithGetenv(func(k string) string { return env[k] }))
	r.SecretDocument("users:\n- name: ci\n  token: tok-SECRET-123\n")
	r.Secret("tok-SECRET-123")
	assert.Equal(t, "::add-mask::tok-SECRET-123\n", out.String())
	assert.Equal(t, "kubeconfig: ***", r.Mask("kubeconfig: users:\n- name: ci\n  token: tok-SECRET-123"))
	assert.Equal(t, "token ***", r.Mask("token tok-SECRET-123"))
}

// TestAddMaskEscaped: the runner unescapes %25, %0D and %0A in a command's
// data, so a secret holding them must be sent escaped, and a line break must
// not end the command with the rest of the secret printed in clear.
func TestAddMaskEscaped(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	r := New(WithWriter(&out), WithGetenv(func(k string) string { return env[k] }))
	r.Secret("50%off%0A")
	r.Secret("line1\r\nline2-secret")
	assert.Equal(t, "::add-mask::50%25off%250A\n::add-mask::line1%0D%0Aline2-secret\n", out.String())
}

func TestWriteFileMaskedAndOwned(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root, as the action runs")
	}
	ws := t.TempDir()
	require.NoError(t, os.Chown(ws, 1234, 1235))
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws}
	var out bytes.Buffer
	r := New(WithWriter(&out), WithGetenv(func(k string) string { return env[k] }))
	r.Secret(`hun&ter2`)
	p := filepath.Join(ws, "report.xml")
	require.NoError(t, r.WriteFile(p, func(w io.Writer) error {
		_, err := io.WriteString(w, `<testcase><failure message="hun&amp;ter2">hun&ter2</failure></testcase>`)
		return err
	}))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, `<testcase><failure message="***">***</failure></testcase>`, string(b))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	assert.Equal(t, []uint32{1234, 1235}, []uint32{st.Uid, st.Gid}, "owned by the workspace's owner")

	dir := filepath.Join(ws, "image")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "blobs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blobs", "x"), nil, 0o644))
	require.NoError(t, r.Own(dir))
	fi, err = os.Stat(filepath.Join(dir, "blobs", "x"))
	require.NoError(t, err)
	assert.Equal(t, uint32(1234), fi.Sys().(*syscall.Stat_t).Uid, "a directory is given whole")
}
