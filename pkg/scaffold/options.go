package scaffold

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/pkg/detect"
)

// Part is a group of generated files that is written, skipped or forced as one.
type Part string

// The parts, in the order they are generated.
const (
	// Dockerfile is the Dockerfile and its .dockerignore.
	Dockerfile Part = "dockerfile"
	// Kubernetes is the kustomize base and its staging and production overlays.
	Kubernetes Part = "kubernetes"
	// Migrations is the Job that migrates the schema before a release.
	Migrations Part = "migrations"
	// Database is the staging PostgreSQL (a StatefulSet with a volume).
	Database Part = "database"
	// Monitoring is the ServiceMonitor, the SLO rules with their tests and
	// the Grafana dashboard.
	Monitoring Part = "monitoring"
)

// Parts lists every part, in the order they are generated.
var Parts = []Part{Dockerfile, Kubernetes, Migrations, Database, Monitoring}

// needs says which part a part's files refer to: the Job and the database are
// resources of the kustomization; the ServiceMonitor selects its Service.
var needs = map[Part]Part{
	Migrations: Kubernetes,
	Database:   Kubernetes,
	Monitoring: Kubernetes,
}

// Mode says whether a part is written.
type Mode string

// The modes of a part.
const (
	// Auto writes a part only where the repository has no such files.
	Auto Mode = "auto"
	// Skip never writes the part.
	Skip Mode = "skip"
	// Force writes the part even where the repository has its own files
	// (next to them: generated files never replace the repository's).
	Force Mode = "force"
)

// Options are the choices a repository's config file (its "files" section) or
// the generate command's flags make. The zero value takes every default.
type Options struct {
	// Parts sets each part's mode; a part left out is Auto.
	Parts map[Part]Mode `yaml:"parts,omitempty"`
	// Language overrides the detected language: python, go, node (or
	// javascript, typescript) or java.
	Language string `yaml:"language,omitempty"`
	// Port overrides the detected port (a string, as flags give it).
	Port string `yaml:"port,omitempty"`
	// HealthPath overrides the detected health path ("/healthz").
	HealthPath string `yaml:"healthPath,omitempty"`
	// Image is the repository the manifests name, without a tag:
	// deploy-action pins it to the pushed digest (default: the service name).
	Image string `yaml:"image,omitempty"`
	// BaseImages override the Dockerfile's base images, by build argument
	// (BUILD_IMAGE, RUNTIME_IMAGE); the Dockerfile keeps them as defaults.
	BaseImages map[string]string `yaml:"baseImages,omitempty"`
	// PostgresImage is the staging database's image (default
	// DefaultPostgresImage, pinned by digest).
	PostgresImage string `yaml:"postgresImage,omitempty"`
	// SLO sets the objectives the alerts and the dashboard measure.
	SLO SLO `yaml:"slo,omitempty"`
	// ScrapeInterval is how often Prometheus scrapes the app (default 30s);
	// every rate window is at least four of them.
	ScrapeInterval string `yaml:"scrapeInterval,omitempty"`
}

// SLO is a service level objective over a window.
type SLO struct {
	// Objective is the percentage of good requests, in (0, 100) (default 99.5).
	Objective float64 `yaml:"objective,omitempty"`
	// Window is the period the objective holds over: 30d by default, at
	// least 7d (the slowest alert looks at 3 days), in days or weeks.
	Window string `yaml:"window,omitempty"`
	// LatencyThreshold is how fast a good request is answered (default
	// 0.5s); it must be a bucket boundary of the app's histogram.
	LatencyThreshold string `yaml:"latencyThreshold,omitempty"`
}

// The defaults, in one place.
const (
	DefaultObjective        = 99.5
	DefaultWindow           = "30d"
	DefaultLatencyThreshold = "0.5s"
	DefaultScrapeInterval   = "30s"
	DefaultPostgresImage    = "postgres:17@sha256:d74eeac9a635390a49bc21bd49fccd973de707e2a53a76ac49b552b8712ec46f"
)

// ServiceImages are the backing services' images, by tag and digest (the
// multi-architecture index each tag pointed to when pinned): the staging
// database here, the workflow's service containers in the generator.
var ServiceImages = map[detect.DependencyKind]string{
	detect.PostgreSQL: DefaultPostgresImage,
	detect.MySQL:      "mysql:8.4@sha256:b3b90af2a6552ae30c266fdb7d5dd55f3afb72404bb78d37fe8a23eb857fd3fb",
	detect.Redis:      "redis:7-alpine@sha256:6ab0b6e7381779332f97b8ca76193e45b0756f38d4c0dcda72dbb3c32061ab99",
}

// OptionError is an option with a bad value: Key is its config key (under the
// config file's "files" section) and Flag the generate command's flag.
type OptionError struct {
	Key, Flag string
	Value     string
	Problem   string
	Fix       string
}

func (e *OptionError) Error() string {
	name := fmt.Sprintf("config key %q", e.Key)
	if e.Flag != "" {
		name += fmt.Sprintf(" (flag --%s)", e.Flag)
	}
	v := ""
	if e.Value != "" {
		v = fmt.Sprintf("%q ", e.Value)
	}
	return fmt.Sprintf("%s: %s%s; %s", name, v, e.Problem, e.Fix)
}

// ErrInvalidOption is what every OptionError matches with errors.Is.
var ErrInvalidOption = errors.New("invalid option")

// Is makes errors.Is(err, ErrInvalidOption) hold.
func (e *OptionError) Is(target error) bool { return target == ErrInvalidOption }

// settings are Options checked and completed with the defaults.
type settings struct {
	parts          map[Part]Mode
	language       detect.Language
	port           int
	healthPath     string
	image          string
	baseImages     map[string]string
	postgresImage  string
	objective      float64
	window         time.Duration
	latency        float64 // seconds
	scrapeInterval time.Duration
}

// Validate checks the options; every error is an *OptionError naming the key.
func (o Options) Validate() error {
	_, err := o.settings()
	return err
}

func (o Options) settings() (settings, error) {
	s := settings{
		parts:         map[Part]Mode{},
		healthPath:    o.HealthPath,
		image:         o.Image,
		baseImages:    o.BaseImages,
		postgresImage: o.PostgresImage,
		objective:     o.SLO.Objective,
	}
	known := map[Part]bool{}
	for _, p := range Parts {
		known[p] = true
		s.parts[p] = Auto
	}
	partNames := make([]string, 0, len(o.Parts))
	for p := range o.Parts {
		partNames = append(partNames, string(p))
	}
	sort.Strings(partNames)
	for _, name := range partNames {
		p, m := Part(name), o.Parts[Part(name)]
		if !known[p] {
			return s, &OptionError{Key: "parts", Flag: "skip", Value: name, Problem: "is not a part",
				Fix: "use " + joinParts(Parts)}
		}
		switch m {
		case Auto, Skip, Force:
			s.parts[p] = m
		case "":
		default:
			return s, &OptionError{Key: "parts." + name, Value: string(m), Problem: "is not a mode", Fix: "use auto, skip or force"}
		}
	}
	for _, p := range Parts {
		dep, ok := needs[p]
		if ok && s.parts[p] == Force && s.parts[dep] == Skip {
			return s, &OptionError{Key: "parts." + string(p), Flag: "force", Value: string(Force),
				Problem: fmt.Sprintf("needs part %q, which is skipped (parts.%s: skip)", dep, dep),
				Fix:     fmt.Sprintf("stop skipping %s, or skip %s too", dep, p)}
		}
	}

	switch strings.ToLower(strings.TrimSpace(o.Language)) {
	case "":
	case "python":
		s.language = detect.Python
	case "go", "golang":
		s.language = detect.Go
	case "node", "javascript", "typescript", "nodejs":
		s.language = detect.Node
	case "java":
		s.language = detect.Java
	default:
		return s, &OptionError{Key: "language", Flag: "language", Value: o.Language, Problem: "is not a language the generator knows",
			Fix: "use python, go, node or java, or leave it out to use the detected one"}
	}
	if p := strings.TrimSpace(o.Port); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return s, &OptionError{Key: "port", Flag: "port", Value: o.Port, Problem: "is not a port number",
				Fix: "use a whole number from 1 to 65535, e.g. 8000"}
		}
		s.port = n
	}
	if hp := o.HealthPath; hp != "" && (!strings.HasPrefix(hp, "/") || strings.ContainsAny(hp, " \t\n?#")) {
		return s, &OptionError{Key: "healthPath", Flag: "health-path", Value: hp, Problem: "is not an HTTP path",
			Fix: `start it with a slash and leave out spaces and queries, e.g. "/healthz"`}
	}
	if s.image != "" && (strings.ContainsAny(s.image, " \t\n@") || strings.Contains(s.image[strings.LastIndex(s.image, "/")+1:], ":")) {
		return s, &OptionError{Key: "image", Flag: "image", Value: s.image, Problem: "is not a repository name",
			Fix: `name the repository without a tag or digest, e.g. "docker.io/acme/shop"; deploy-action pins the digest`}
	}
	for _, k := range sortedKeys(o.BaseImages) {
		if k != "BUILD_IMAGE" && k != "RUNTIME_IMAGE" {
			return s, &OptionError{Key: "baseImages", Value: k, Problem: "is not a base image argument", Fix: "use BUILD_IMAGE or RUNTIME_IMAGE"}
		}
		if v := o.BaseImages[k]; v == "" || strings.ContainsAny(v, " \t\n") {
			return s, &OptionError{Key: "baseImages." + k, Value: v, Problem: "is not an image reference", Fix: `use NAME:TAG, e.g. "python:3.13-slim"`}
		}
	}
	if s.postgresImage == "" {
		s.postgresImage = DefaultPostgresImage
	}

	if s.objective == 0 {
		s.objective = DefaultObjective
	}
	if s.objective <= 0 || s.objective >= 100 || math.IsNaN(s.objective) {
		return s, &OptionError{Key: "slo.objective", Flag: "slo-objective", Value: strconv.FormatFloat(o.SLO.Objective, 'g', -1, 64),
			Problem: "is outside (0, 100)", Fix: "give the percentage of good requests, more than 0 and less than 100, e.g. 99.5"}
	}
	w := o.SLO.Window
	if w == "" {
		w = DefaultWindow
	}
	var err error
	if s.window, err = parseDays(w); err != nil || s.window < 7*24*time.Hour || s.window > 90*24*time.Hour {
		return s, &OptionError{Key: "slo.window", Flag: "slo-window", Value: w, Problem: "is not a window from 7d to 90d",
			Fix: `give days or weeks, e.g. "30d" or "4w" (the slowest alert looks at 3 days)`}
	}
	lt := o.SLO.LatencyThreshold
	if lt == "" {
		lt = DefaultLatencyThreshold
	}
	d, err := time.ParseDuration(lt)
	if err != nil || d <= 0 {
		return s, &OptionError{Key: "slo.latencyThreshold", Flag: "slo-latency", Value: lt, Problem: "is not a duration",
			Fix: `give a bucket boundary of the app's latency histogram, e.g. "500ms" or "1s"`}
	}
	s.latency = d.Seconds()
	si := o.ScrapeInterval
	if si == "" {
		si = DefaultScrapeInterval
	}
	if s.scrapeInterval, err = time.ParseDuration(si); err != nil || s.scrapeInterval < time.Second || s.scrapeInterval > 75*time.Second ||
		s.scrapeInterval%time.Second != 0 {
		return s, &OptionError{Key: "scrapeInterval", Value: si, Problem: "is not a scrape interval from 1s to 75s in whole seconds",
			Fix: `use e.g. "30s": every rate window, the shortest being 5m, must span four scrapes at least`}
	}
	return s, nil
}

// parseDays reads "30d", "4w" or a Go duration ("720h").
func parseDays(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil {
				return 0, err
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}

func joinParts(ps []Part) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
