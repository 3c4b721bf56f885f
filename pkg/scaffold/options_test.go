package scaffold_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

func TestOptionsRejectBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts scaffold.Options
		key  string
		msg  string
	}{
		{"unknown language", scaffold.Options{Language: "cobol"}, "language",
			`config key "language" (flag --language): "cobol" is not a language the generator knows; use python, go, node or java`},
		{"port not a number", scaffold.Options{Port: "http"}, "port",
			`config key "port" (flag --port): "http" is not a port number; use a whole number from 1 to 65535, e.g. 8000`},
		{"port out of range", scaffold.Options{Port: "70000"}, "port", `"70000" is not a port number`},
		{"objective 100", scaffold.Options{SLO: scaffold.SLO{Objective: 100}}, "slo.objective",
			`config key "slo.objective" (flag --slo-objective): "100" is outside (0, 100); give the percentage of good requests, more than 0 and less than 100, e.g. 99.5`},
		{"objective negative", scaffold.Options{SLO: scaffold.SLO{Objective: -1}}, "slo.objective", `"-1" is outside (0, 100)`},
		{"health path without slash", scaffold.Options{HealthPath: "healthz"}, "healthPath",
			`config key "healthPath" (flag --health-path): "healthz" is not an HTTP path; start it with a slash and leave out spaces and queries, e.g. "/healthz"`},
		{"skipped part another needs", scaffold.Options{Parts: map[scaffold.Part]scaffold.Mode{scaffold.Kubernetes: scaffold.Skip, scaffold.Monitoring: scaffold.Force}},
			"parts.monitoring", `config key "parts.monitoring" (flag --force): "force" needs part "kubernetes", which is skipped (parts.kubernetes: skip); stop skipping kubernetes, or skip monitoring too`},
		{"unknown part", scaffold.Options{Parts: map[scaffold.Part]scaffold.Mode{"helm": scaffold.Skip}}, "parts", `"helm" is not a part; use dockerfile, kubernetes, migrations, database, monitoring`},
		{"unknown mode", scaffold.Options{Parts: map[scaffold.Part]scaffold.Mode{scaffold.Dockerfile: "maybe"}}, "parts.dockerfile", `use auto, skip or force`},
		{"short window", scaffold.Options{SLO: scaffold.SLO{Window: "1d"}}, "slo.window", `"1d" is not a window from 7d to 90d`},
		{"latency not a duration", scaffold.Options{SLO: scaffold.SLO{LatencyThreshold: "fast"}}, "slo.latencyThreshold", `"fast" is not a duration`},
		{"slow scrapes", scaffold.Options{ScrapeInterval: "5m"}, "scrapeInterval", `the shortest being 5m, must span four scrapes`},
		{"image with a tag", scaffold.Options{Image: "docker.io/acme/shop:latest"}, "image", `without a tag or digest`},
		{"unknown base image argument", scaffold.Options{BaseImages: map[string]string{"BASE": "x"}}, "baseImages", `use BUILD_IMAGE or RUNTIME_IMAGE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			require.Error(t, err)
			var oe *scaffold.OptionError
			require.True(t, errors.As(err, &oe))
			assert.Equal(t, tc.key, oe.Key)
			assert.ErrorIs(t, err, scaffold.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.msg)

			// Generate checks them too, before anything is written.
			f := fixtureNamed(t, "flask-src")
			files, err := scaffold.Files(f.repo, f.repo.Services[0], tc.opts)
			assert.ErrorAs(t, err, &oe)
			assert.Empty(t, files)
		})
	}
	assert.NoError(t, scaffold.Options{}.Validate())
	assert.NoError(t, scaffold.Options{Language: "Node", Port: "3000", HealthPath: "/ready", SLO: scaffold.SLO{Objective: 99.9, Window: "4w", LatencyThreshold: "250ms"}}.Validate())
}

func TestGenerateIsDeterministic(t *testing.T) {
	first := generated(t, forced())
	for range 5 {
		again := generated(t, forced())
		require.Equal(t, first, again)
	}
}

func TestExistingFilesAreLeftAlone(t *testing.T) {
	r := generated(t, scaffold.Options{})
	shop := r["shop"]
	for _, f := range shop.Files {
		assert.Equal(t, scaffold.Monitoring, f.Part, "the shop has its Dockerfile and manifests: only monitoring is written, not %s", f.Path)
	}
	var notes []string
	for _, n := range shop.Notes {
		notes = append(notes, n.Text)
	}
	assert.Contains(t, notes, "dockerfile: nothing generated: it has its own Dockerfile (Dockerfile); force it with parts.dockerfile: force")
	assert.Contains(t, notes, "kubernetes: nothing generated: it has a Helm chart (chart); force it with parts.kubernetes: force")
	assert.Contains(t, notes, "monitoring: metrics preset prometheus_client (prometheus-client in requirements.txt, requirements.txt:7): requests shop_http_requests_total by label \"status\", latency shop_http_request_duration_seconds_bucket")

	for _, f := range r["helm-chart"].Files {
		assert.Equal(t, scaffold.Monitoring, f.Part, f.Path)
	}
}

func TestNoMetricsGetsANote(t *testing.T) {
	var found bool
	for _, n := range generated(t, scaffold.Options{})["django"].Notes {
		if n.Part == scaffold.Monitoring {
			found = true
			assert.Contains(t, n.Text, "django-prometheus")
		}
	}
	assert.True(t, found)
}
