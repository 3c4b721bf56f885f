package scaffold

import (
	"encoding/json"
	"fmt"
)

// The dashboard is built as data rather than templated JSON: encoding/json
// quotes the PromQL and keeps the output stable.

type dash struct {
	Title         string      `json:"title"`
	UID           string      `json:"uid"`
	Tags          []string    `json:"tags"`
	Timezone      string      `json:"timezone"`
	SchemaVersion int         `json:"schemaVersion"`
	Refresh       string      `json:"refresh"`
	Time          timeRange   `json:"time"`
	Templating    templating  `json:"templating"`
	Annotations   annotations `json:"annotations"`
	Panels        []panel     `json:"panels"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type templating struct {
	List []variable `json:"list"`
}

type variable struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

type annotations struct {
	List []annotation `json:"list"`
}

type annotation struct {
	Name       string     `json:"name"`
	Datasource datasource `json:"datasource"`
	Enable     bool       `json:"enable"`
	IconColor  string     `json:"iconColor"`
	// Grafana's own annotations, by tag: those deploy-action writes.
	Type     string   `json:"type,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	MatchAny bool     `json:"matchAny,omitempty"`
	// A Prometheus query: a new Deployment generation is a deploy.
	Expr       string `json:"expr,omitempty"`
	Step       string `json:"step,omitempty"`
	TitleFmt   string `json:"titleFormat,omitempty"`
	TextFormat string `json:"textFormat,omitempty"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int         `json:"id"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	Type        string      `json:"type"`
	Datasource  datasource  `json:"datasource"`
	GridPos     gridPos     `json:"gridPos"`
	FieldConfig fieldConfig `json:"fieldConfig"`
	Targets     []target    `json:"targets"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type fieldConfig struct {
	Defaults fieldDefaults `json:"defaults"`
}

type fieldDefaults struct {
	Unit string `json:"unit"`
	Min  *int   `json:"min,omitempty"`
}

type target struct {
	RefID        string     `json:"refId"`
	Datasource   datasource `json:"datasource"`
	Expr         string     `json:"expr"`
	LegendFormat string     `json:"legendFormat"`
}

var promDS = datasource{Type: "prometheus", UID: "${datasource}"}

// dashboard returns the Grafana dashboard: traffic, errors, latency,
// saturation, error budget left, restarts, and deploys as annotations.
func dashboard(v *view, s settings) (string, error) {
	zero := 0
	type q struct{ expr, legend string }
	var panels []panel
	addPanel := func(title, desc, unit string, min *int, qs ...q) {
		p := panel{
			ID: len(panels) + 1, Title: title, Description: desc, Type: "timeseries", Datasource: promDS,
			GridPos:     gridPos{H: 8, W: 12, X: 12 * (len(panels) % 2), Y: 8 * (len(panels) / 2)},
			FieldConfig: fieldConfig{Defaults: fieldDefaults{Unit: unit, Min: min}},
		}
		for i, x := range qs {
			p.Targets = append(p.Targets, target{RefID: string(rune('A' + i)), Datasource: promDS, Expr: x.expr, LegendFormat: x.legend})
		}
		panels = append(panels, p)
	}
	sel := fmt.Sprintf(`job=%q`, v.Name)
	if m := v.Metrics; m != nil {
		addPanel("Requests", "Requests a second, by status.", "reqps", &zero,
			q{fmt.Sprintf(`sum by (namespace, %s) (rate(%s{%s}[5m]))`, m.Status, m.Requests, sel), "{{namespace}} {{" + m.Status + "}}"})
		addPanel("Error ratio", fmt.Sprintf("Share of 5xx answers; the objective allows %s.", v.SLO.ErrorBudget), "percentunit", &zero,
			q{fmt.Sprintf(`slo:http_errors:ratio_rate5m{service=%q}`, v.Name), "{{namespace}}"})
		var lat []q
		for _, p := range []string{"0.5", "0.9", "0.99"} {
			lat = append(lat, q{fmt.Sprintf(`histogram_quantile(%s, sum by (namespace, le) (rate(%s_bucket{%s}[5m])))`, p, m.Duration, sel), "{{namespace}} p" + p[2:]})
		}
		addPanel("Latency", fmt.Sprintf("Percentiles of the time to answer; the latency objective is %s s.", v.SLO.LatencyThreshold), "s", &zero, lat...)
		addPanel("Error budget left", fmt.Sprintf("Share of the %s error budget (%v %% objective) not spent; 0 is spent.", v.SLO.Window, v.SLO.Objective), "percentunit", nil,
			q{fmt.Sprintf(`slo:error_budget:remaining{service=%q}`, v.Name), "{{namespace}} {{slo}}"})
	}
	addPanel("CPU of the limit", "Saturation: CPU used over the container's limit.", "percentunit", &zero,
		q{fmt.Sprintf(`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container=%q}[5m])) / sum by (namespace, pod) (kube_pod_container_resource_limits{container=%q,resource="cpu"})`, v.Name, v.Name), "{{namespace}}/{{pod}}"})
	addPanel("Memory of the limit", "Saturation: working set over the container's limit (killed at 100 %).", "percentunit", &zero,
		q{fmt.Sprintf(`sum by (namespace, pod) (container_memory_working_set_bytes{container=%q}) / sum by (namespace, pod) (kube_pod_container_resource_limits{container=%q,resource="memory"})`, v.Name, v.Name), "{{namespace}}/{{pod}}"})
	addPanel("Restarts", "Container restarts over 15 minutes.", "short", &zero,
		q{fmt.Sprintf(`sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{container=%q}[15m]))`, v.Name), "{{namespace}}/{{pod}}"})

	d := dash{
		Title: v.Name, UID: v.Name, Tags: []string{v.Name, "deploy-action"}, Timezone: "utc", SchemaVersion: 39, Refresh: "1m",
		Time:       timeRange{From: "now-6h", To: "now"},
		Templating: templating{List: []variable{{Name: "datasource", Label: "Prometheus", Type: "datasource", Query: "prometheus"}}},
		Annotations: annotations{List: []annotation{
			{Name: "Releases", Datasource: datasource{Type: "grafana", UID: "-- Grafana --"}, Enable: true, IconColor: "blue",
				Type: "tags", Tags: []string{"deploy", v.Name}, MatchAny: false},
			{Name: "Rollouts", Datasource: promDS, Enable: true, IconColor: "purple",
				Expr:     fmt.Sprintf(`changes(kube_deployment_status_observed_generation{deployment=%q}[5m]) > 0`, v.Name),
				Step:     promDuration(s.scrapeInterval),
				TitleFmt: "rollout", TextFormat: "{{namespace}}/{{deployment}}"},
		}},
		Panels: panels,
	}
	b, err := json.MarshalIndent(d, "", "  ")
	return string(b), err
}
