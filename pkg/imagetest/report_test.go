package imagetest_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/imagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "run go test -update and review the diff")
}

func sample() *imagetest.Report {
	return &imagetest.Report{
		Image:    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Duration: 14200 * time.Millisecond,
		Cases: []imagetest.Case{
			{Suite: "policy", Name: "user", Status: imagetest.Fail, Message: "runs as root: the image sets no USER; add `USER <uid>` after a <useradd>", Duration: 900 * time.Millisecond},
			{Suite: "policy", Name: "secrets", Status: imagetest.Pass, Message: "no secret"},
			{Suite: "policy", Name: "labels", Status: imagetest.Warn, Message: "missing label org.opencontainers.image.source", Details: []string{"org.opencontainers.image.source"}},
			{Suite: "policy", Name: "size", Status: imagetest.Skip, Message: "off"},
			{Suite: "structure", Name: "tests.yaml: python | version", Status: imagetest.Fail, Message: "exited with code 1, expected 0",
				Details: []string{"exited with code 1, expected 0", `stdout does not match "Python 3"`}, Output: "stderr:\n<no python>", Duration: 1200 * time.Millisecond},
			{Suite: "smoke", Name: "image becomes ready", Status: imagetest.Fail, Message: "not ready after 2s: GET /readyz last answered 503",
				Output: "listening on :8000\n```\ncode fence in the logs", Duration: 2 * time.Second},
			{Suite: "smoke", Name: "image stops on its stop signal", Status: imagetest.Skip, Message: "not run: an earlier step failed"},
			{Suite: "smoke", Name: "smoke run", Status: imagetest.Error, Message: "removing what the smoke run created: boom"},
		},
	}
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	r := sample()
	assert.True(t, r.Failed())
	assert.Equal(t, "failed: 8 checks, 3 failed, 1 could not run, 1 warning, 2 skipped", r.Verdict())
	golden(t, "report.md", []byte(r.Markdown()))
	golden(t, "report.txt", []byte(r.Text()))
	var buf bytes.Buffer
	require.NoError(t, r.JUnit(&buf))
	golden(t, "report.xml", buf.Bytes())

	// The XML parses, and counts what the report holds.
	var parsed struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &parsed))
	assert.Equal(t, 8, parsed.Tests)
	assert.Equal(t, 3, parsed.Failures)
	assert.Equal(t, 1, parsed.Errors)
	assert.Equal(t, 2, parsed.Skipped)
	assert.Len(t, parsed.Suites, 3)
}

func TestReportPassed(t *testing.T) {
	t.Parallel()
	r := &imagetest.Report{Cases: []imagetest.Case{
		{Suite: "policy", Name: "user", Status: imagetest.Pass},
		{Suite: "policy", Name: "labels", Status: imagetest.Warn},
		{Suite: "smoke", Name: "smoke run", Status: imagetest.Skip},
	}}
	assert.False(t, r.Failed(), "warnings and skips do not fail")
	assert.Equal(t, "passed: 3 checks, 1 warning, 1 skipped", r.Verdict())
}
