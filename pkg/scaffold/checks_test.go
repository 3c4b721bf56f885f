package scaffold_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// every returns the generated files of all fixtures, the shop's forced, by
// fixture-qualified path.
func every(t testing.TB) map[string]scaffold.File {
	t.Helper()
	out := map[string]scaffold.File{}
	for name, r := range generated(t, scaffold.Options{}) {
		for _, f := range r.Files {
			out[name+"/"+f.Path] = f
		}
	}
	for _, f := range generated(t, forced())["shop"].Files {
		out["shop-forced/"+f.Path] = f
	}
	return out
}

// lint runs BuildKit's Dockerfile parser and linter (every rule, the
// experimental ones too) and returns what they say.
func lint(t testing.TB, dockerfile []byte) []string {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	require.NoError(t, err)
	var out []string
	for _, w := range res.Warnings {
		out = append(out, "parser: "+w.Short)
	}
	cfg, err := linter.ParseLintOptions("experimental=all")
	require.NoError(t, err)
	sm := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", dockerfile)
	sm.Definition = &llb.Definition{}
	results, err := dockerfile2llb.DockerfileLint(context.Background(), dockerfile, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{LinterConfig: cfg},
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	require.NoError(t, err)
	if results.Error != nil {
		out = append(out, "error: "+results.Error.Message)
	}
	for _, w := range results.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		out = append(out, fmt.Sprintf("%s (line %d): %s", w.RuleName, line, w.Detail))
	}
	return out
}

// offlineResolver answers BuildKit's questions about base images without a
// registry: each is a plain Linux image whose only setting is PATH, as in the
// Debian-based images the Dockerfiles name.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

func TestDockerfilesPassBuildKitLint(t *testing.T) {
	n := 0
	for p, f := range every(t) {
		if path.Base(p) != "Dockerfile" {
			continue
		}
		n++
		t.Run(p, func(t *testing.T) {
			assert.Empty(t, lint(t, f.Content))
		})
	}
	// python web, python worker, go, node, java; the shop's own is not regenerated.
	assert.GreaterOrEqual(t, n, 8)
}

// The linter is really on: a Dockerfile with the usual mistakes is reported.
func TestLintCatchesMistakes(t *testing.T) {
	got := lint(t, []byte("FROM debian as Build\nENV A 1\nENV B=$UNDEFINED\nCMD echo hi\n"))
	joined := strings.Join(got, "\n")
	for _, rule := range []string{"FromAsCasing", "StageNameCasing", "LegacyKeyValueFormat", "UndefinedVar", "JSONArgsRecommended"} {
		assert.Contains(t, joined, rule)
	}
}

// writeTree writes the files whose paths start with prefix to a directory.
func writeTree(t testing.TB, files map[string]scaffold.File, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	for p, f := range files {
		if rel, ok := strings.CutPrefix(p, prefix); ok {
			full := filepath.Join(dir, filepath.FromSlash(rel))
			require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
			require.NoError(t, os.WriteFile(full, f.Content, 0o644))
		}
	}
	return dir
}

// monitoringDirs are the fixture-qualified monitoring directories.
func monitoringDirs(files map[string]scaffold.File) []string {
	seen := map[string]bool{}
	var dirs []string
	for p := range files {
		if path.Base(p) == "rules.yaml" && !seen[path.Dir(p)] {
			seen[path.Dir(p)] = true
			dirs = append(dirs, path.Dir(p))
		}
	}
	sortStrings(dirs)
	return dirs
}

func promtool(t testing.TB, dir string, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// Every rule file passes promtool check rules and the unit tests shipped with it.
func TestRulesPassPromtool(t *testing.T) {
	files := every(t)
	dirs := monitoringDirs(files)
	require.NotEmpty(t, dirs)
	for _, d := range dirs {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, files, d+"/")
			out := promtool(t, dir, "check", "rules", "rules.yaml")
			assert.Contains(t, out, "SUCCESS")
			out = promtool(t, dir, "test", "rules", "rules.test.yaml")
			assert.Contains(t, out, "SUCCESS")
		})
	}
}

// The PrometheusRule holds exactly the groups of the rule file promtool tests.
func TestPrometheusRuleMatchesRuleFile(t *testing.T) {
	files := every(t)
	for _, d := range monitoringDirs(files) {
		var plain, crd struct {
			Groups any `yaml:"groups"`
			Spec   struct {
				Groups any `yaml:"groups"`
			} `yaml:"spec"`
		}
		require.NoError(t, yaml.Unmarshal(files[d+"/rules.yaml"].Content, &plain))
		require.NoError(t, yaml.Unmarshal(files[d+"/prometheusrule.yaml"].Content, &crd))
		assert.NotNil(t, plain.Groups, d)
		assert.Equal(t, plain.Groups, crd.Spec.Groups, d)
	}
}

// queries returns every PromQL expression of a monitoring directory: the
// rules' and the dashboard's (panels and annotations).
func queries(t testing.TB, files map[string]scaffold.File, dir string) (rules, dashboard []string) {
	t.Helper()
	var rf struct {
		Groups []struct {
			Rules []struct {
				Expr string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(files[dir+"/rules.yaml"].Content, &rf))
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			rules = append(rules, r.Expr)
		}
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	require.NoError(t, yaml.Unmarshal(files[dir+"/dashboard.yaml"].Content, &cm))
	require.Len(t, cm.Data, 1)
	for _, js := range cm.Data {
		var d struct {
			Panels []struct {
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
			Annotations struct {
				List []struct {
					Expr string `json:"expr"`
				} `json:"list"`
			} `json:"annotations"`
		}
		require.NoError(t, json.Unmarshal([]byte(js), &d), "the dashboard is JSON")
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				dashboard = append(dashboard, tg.Expr)
			}
		}
		for _, a := range d.Annotations.List {
			if a.Expr != "" {
				dashboard = append(dashboard, a.Expr)
			}
		}
	}
	return rules, dashboard
}

// Every dashboard query parses as PromQL with Prometheus' own parser: promtool
// checks them as the expressions of recording rules.
func TestDashboardQueriesParse(t *testing.T) {
	files := every(t)
	for _, d := range monitoringDirs(files) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			_, qs := queries(t, files, d)
			require.NotEmpty(t, qs)
			var rf strings.Builder
			rf.WriteString("groups:\n  - name: dashboard\n    rules:\n")
			for i, q := range qs {
				b, _ := json.Marshal(q)
				fmt.Fprintf(&rf, "      - record: dashboard:query:%d\n        expr: %s\n", i, b)
			}
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "q.yaml"), []byte(rf.String()), 0o644))
			out := promtool(t, dir, "check", "rules", "q.yaml")
			assert.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(qs)))
		})
	}
}

// Every query, rules and dashboard, aggregates histograms by le before the
// quantile and has rate windows of four scrape intervals at least.
func TestQueriesAreSound(t *testing.T) {
	files := every(t)
	for _, d := range monitoringDirs(files) {
		rules, dash := queries(t, files, d)
		for _, q := range append(rules, dash...) {
			assert.NoError(t, checkQuery(q, 30*time.Second), "%s: %s", d, q)
		}
	}
}

func TestCheckQueryCatchesMistakes(t *testing.T) {
	for _, tc := range []struct{ query, err string }{
		{`histogram_quantile(0.9, rate(x_bucket[5m]))`, "without sum by (le)"},
		{`histogram_quantile(0.9, sum by (job) (rate(x_bucket[5m])))`, "without sum by (le)"},
		{`histogram_quantile(0.9, sum(rate(x_bucket[5m])))`, "without sum by (le)"},
		{`sum(rate(x_total[1m]))`, "window 1m0s is under four scrape intervals"},
		{`increase(x_total[90s]) > 2`, "window 1m30s is under four scrape intervals"},
	} {
		err := checkQuery(tc.query, 30*time.Second)
		if assert.Error(t, err, tc.query) {
			assert.Contains(t, err.Error(), tc.err)
		}
	}
	assert.NoError(t, checkQuery(`histogram_quantile(0.9, sum by (namespace, le) (rate(x_bucket[2m])))`, 30*time.Second))
}

var (
	rangeSel = regexp.MustCompile(`\[([0-9]+[smhdwy])\]`)
	byClause = regexp.MustCompile(`^\s*(sum|max|min|avg)\s+by\s*\(([^)]*)\)`)
)

// checkQuery holds two rules of thumb of PromQL: histogram_quantile reads
// buckets summed by le (else the quantile is of one series, or none), and a
// rate window spans four scrapes at least (else one missed scrape leaves it
// empty). The Prometheus parser is not a dependency of the module, so this
// reads the query's text; promtool has parsed it already.
func checkQuery(q string, scrape time.Duration) error {
	for _, m := range rangeSel.FindAllStringSubmatch(q, -1) {
		d, err := parsePromDuration(m[1])
		if err != nil {
			return err
		}
		if d < 4*scrape {
			return fmt.Errorf("window %s is under four scrape intervals (%s)", d, 4*scrape)
		}
	}
	rest := q
	for {
		i := strings.Index(rest, "histogram_quantile(")
		if i < 0 {
			return nil
		}
		rest = rest[i+len("histogram_quantile("):]
		comma := strings.Index(rest, ",")
		if comma < 0 {
			return fmt.Errorf("histogram_quantile without a second argument")
		}
		m := byClause.FindStringSubmatch(rest[comma+1:])
		if m == nil {
			return fmt.Errorf("histogram_quantile without sum by (le)")
		}
		hasLe := false
		for _, l := range strings.Split(m[2], ",") {
			if strings.TrimSpace(l) == "le" {
				hasLe = true
			}
		}
		if !hasLe {
			return fmt.Errorf("histogram_quantile without sum by (le)")
		}
	}
}

func parsePromDuration(s string) (time.Duration, error) {
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	var n int
	if _, err := fmt.Sscanf(s[:len(s)-1], "%d", &n); err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return time.Duration(n) * unit[s[len(s)-1]], nil
}
