package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/markdown"
)

var sampleSummary = "### deploy-action\n\n" +
	"**Image digest:** `sha256:abc`\n\n" +
	markdown.Table([]string{"Object", "Applied", "From"}, [][]string{
		{"`Deployment shop/web`", "configured", "k8s/web.yaml"},
		{"`Service shop/web`", "unchanged", "k8s/web.yaml"},
		{"`ConfigMap shop/settings`", "unchanged", "k8s/cm.yaml"},
	}) + "\n" +
	markdown.Table([]string{"Stage", "Result", "Time"}, [][]string{{"build", "ok", "1.2s"}, {"push", "failed:\nrefused|denied", "3ms"}, {"test", "⚠️ warn", "a &amp;&amp; b"}}) +
	"\n#### `deployment/web`: CrashLoop\n\nthe container exits with code 1\n\n**Fix:** read the logs\n\n" +
	"Events:\n\n- Back-off restarting\n- Started\n\n```sh\nkubectl -n shop logs web\n```\n\n" +
	"<details><summary>policy: user (fail)</summary>\n\n- runs as root\n\n</details>\n\n" +
	"Use <registry>/<namespace>/<name>.\n"

var unchangedFold = []Fold{{Column: "Applied", Value: "unchanged", Noun: "objects"}}

func TestTerminal(t *testing.T) {
	t.Parallel()
	got := Terminal(sampleSummary, TerminalOptions{Folds: unchangedFold})
	want := `deploy-action

Image digest: sha256:abc

Object               Applied     From
───────────────────  ──────────  ────────────
Deployment shop/web  configured  k8s/web.yaml
2 objects unchanged (-v lists them)

Stage  Result          Time
─────  ──────────────  ──────
build  ok              1.2s
push   failed:         3ms
       refused|denied
test   ⚠️ warn         a && b

deployment/web: CrashLoop

the container exits with code 1

Fix: read the logs

Events:

  • Back-off restarting
  • Started

    kubectl -n shop logs web

policy: user (fail)

  • runs as root

Use <registry>/<namespace>/<name>.
`
	assert.Equal(t, want, got)
	assert.NotContains(t, got, "\x1b[", "no colour unless asked")
}

func TestTerminalVerboseAndColor(t *testing.T) {
	t.Parallel()
	got := Terminal(sampleSummary, TerminalOptions{Folds: unchangedFold, Verbose: true})
	assert.Contains(t, got, "Service shop/web         unchanged   k8s/web.yaml\n")
	assert.Contains(t, got, "ConfigMap shop/settings  unchanged", "verbose lists every row")
	assert.NotContains(t, got, "(-v lists them)")

	colored := Terminal(sampleSummary, TerminalOptions{Color: true})
	assert.Contains(t, colored, "\x1b[31mfailed:\x1b[0m")
	assert.Contains(t, colored, "\x1b[32mok\x1b[0m")
	// Colour does not move the columns: the padding is measured without it.
	plain := strings.NewReplacer("\x1b[1m", "", "\x1b[2m", "", "\x1b[31m", "", "\x1b[32m", "", "\x1b[33m", "", "\x1b[36m", "", "\x1b[0m", "").Replace(colored)
	assert.Equal(t, Terminal(sampleSummary, TerminalOptions{}), plain)
}

func TestHTML(t *testing.T) {
	t.Parallel()
	md := sampleSummary + "\n" + markdown.Table([]string{"check", "message"}, [][]string{{"secret", "<script>alert(1)</script> in layer 3"}})
	got, err := HTML("summary", md)
	require.NoError(t, err)
	assert.Contains(t, got, "<!DOCTYPE html>")
	assert.Contains(t, got, "<th>Object</th>")
	assert.Contains(t, got, "<td><code>Service shop/web</code></td>", "the HTML lists every object")
	assert.Contains(t, got, "<td>failed:<br>refused|denied</td>", "line breaks in cells are kept")
	assert.Contains(t, got, "<details><summary>policy: user (fail)</summary>")
	assert.Contains(t, got, "&lt;script&gt;alert(1)&lt;/script&gt; in layer 3", "other markup is shown, not run")
	assert.NotContains(t, got, "<script>")
}

func TestWriteSummary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out strings.Builder
	r := New(WithWriter(&out), WithGetenv(func(string) string { return "" }))
	r.Secret("hunter2")
	r.SetTerminal(TerminalOptions{Folds: unchangedFold})
	r.Summary(sampleSummary)
	r.Summary("token hunter2\n")
	assert.NotContains(t, out.String(), "| ---", "the terminal gets no raw Markdown")
	assert.Contains(t, out.String(), "2 objects unchanged")

	md, html := filepath.Join(dir, "s.md"), filepath.Join(dir, "sub", "s.html")
	require.NoError(t, r.WriteSummary(md))
	require.NoError(t, r.WriteSummary(html))
	b, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Equal(t, sampleSummary+"\ntoken ***\n", string(b), "the file holds the Markdown, every row, masked")
	h, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(h), "<td><code>ConfigMap shop/settings</code></td>")
	assert.Contains(t, string(h), "token ***")
	assert.NotContains(t, string(h)+string(b)+out.String(), "hunter2")
}

func TestColorFor(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	var b strings.Builder
	assert.False(t, ColorFor(&b, env()), "not a terminal")
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, ColorFor(f, env()), "a file is not a terminal")
	assert.False(t, ColorFor(os.Stdout, env("NO_COLOR", "1")), "NO_COLOR wins")
}

func TestTerminalWidth(t *testing.T) {
	t.Parallel()
	md := markdown.Table([]string{"check", "message"}, [][]string{
		{"labels", "missing or empty label org.opencontainers.image.source, so nobody can tell where the image came from"},
		{"user", "runs as UID 10001"},
	})
	got := Terminal(md, TerminalOptions{Width: 40})
	assert.Equal(t, `check   message
──────  ────────────────────────────────
labels  missing or empty label
        org.opencontainers.image.source,
        so nobody can tell where the
        image came from
user    runs as UID 10001
`, got)
	assert.Equal(t, Terminal(md, TerminalOptions{}), Terminal(md, TerminalOptions{Width: 500}), "a table that fits is left alone")
}
