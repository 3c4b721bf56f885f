package pin

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	digest  = "sha256:4a5f4bbb3e45b3b2bd1d1e4f70a0be52a22e1d1e3a8f0e5a7e3d36a5c1b1c0d2"
	digest2 = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

func parse(t testing.TB, text string) []render.Object {
	t.Helper()
	objs, err := render.Parse("app.yaml", []byte(text))
	require.NoError(t, err)
	return objs
}

func encode(t testing.TB, objs []render.Object) string {
	t.Helper()
	out, err := render.Encode(objs)
	require.NoError(t, err)
	return string(out)
}

func pushed(t testing.TB, refs ...string) Mapping {
	t.Helper()
	m, err := Pushed(refs...)
	require.NoError(t, err)
	return m
}

func mappings(t testing.TB, text string) []Mapping {
	t.Helper()
	ms, err := ParseMappings(text)
	require.NoError(t, err)
	return ms
}

// A manifest with every place an image can be, and images that must not change.
const workloads = `# The web tier.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: wait
          image: busybox:1.36 # not ours
      containers:
        - name: web
          image: "docker.io/acme/shop:latest" # quoted
          env:
            - name: IMAGE
              value: docker.io/acme/shop:latest
        - name: sidecar
          image: acme/shop # no tag, no registry
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: report
            image: index.docker.io/acme/shop:1.2@sha256:1111111111111111111111111111111111111111111111111111111111111111
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  ephemeralContainers:
  - name: debugger
    image: docker.io/acme/shop:debug
  containers:
  - name: main
    image: localhost:5000/acme/shop:dev
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers: [{name: db, image: "ghcr.io/acme/shop:1"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template: {spec: {containers: [{name: agent, image: docker.io/acme/shop}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template: {spec: {containers: [{name: migrate, image: docker.io/library/shop:1}]}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-workload
data:
  image: docker.io/acme/shop:latest
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: lookalike}
spec:
  template: {spec: {containers: [{name: x, image: docker.io/acme/shop:latest}]}}
`

func TestPinGolden(t *testing.T) {
	t.Parallel()
	objs := parse(t, workloads)
	before := encode(t, objs)
	res, err := Pin(objs, []Mapping{pushed(t, "index.docker.io/acme/shop@"+digest)})
	require.NoError(t, err)
	assert.Equal(t, before, encode(t, objs), "Pin changed the objects it was given")

	var b strings.Builder
	for _, c := range res.Changes {
		b.WriteString("# " + c.Object + " " + c.Field + " (" + c.Name + "): " + c.Image + " -> " + c.New + "\n")
	}
	b.WriteString(encode(t, res.Objects))
	path := filepath.Join("testdata", "golden", "workloads.yaml")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), b.String(), "run with -update and review the diff if the change is intended")
}

func TestPinChanges(t *testing.T) {
	t.Parallel()
	res, err := Pin(parse(t, workloads), []Mapping{pushed(t, "index.docker.io/acme/shop@"+digest)})
	require.NoError(t, err)
	type change struct{ object, field, name, old, new string }
	var got []change
	for _, c := range res.Changes {
		got = append(got, change{c.Object, c.Field, c.Name, c.Image, c.New})
	}
	assert.Equal(t, []change{
		{"Deployment/web", "spec.template.spec.containers[0]", "web", "docker.io/acme/shop:latest", "docker.io/acme/shop@" + digest},
		{"Deployment/web", "spec.template.spec.containers[1]", "sidecar", "acme/shop", "acme/shop@" + digest},
		{"CronJob/report", "spec.jobTemplate.spec.template.spec.containers[0]", "report",
			"index.docker.io/acme/shop:1.2@sha256:1111111111111111111111111111111111111111111111111111111111111111", "index.docker.io/acme/shop@" + digest},
		{"Pod/debug", "spec.ephemeralContainers[0]", "debugger", "docker.io/acme/shop:debug", "docker.io/acme/shop@" + digest},
		{"DaemonSet/agent", "spec.template.spec.containers[0]", "agent", "docker.io/acme/shop", "docker.io/acme/shop@" + digest},
	}, got)
	assert.Len(t, res.Containers, 9, "every container of a workload is listed, pinned or not")
	assert.Empty(t, res.Warnings)
}

func TestPinIsIdempotent(t *testing.T) {
	t.Parallel()
	m := []Mapping{pushed(t, "index.docker.io/acme/shop@"+digest)}
	first, err := Pin(parse(t, workloads), m)
	require.NoError(t, err)
	second, err := Pin(first.Objects, m)
	require.NoError(t, err)
	assert.Empty(t, second.Changes)
	assert.Equal(t, encode(t, first.Objects), encode(t, second.Objects))
}

func TestPinMappings(t *testing.T) {
	t.Parallel()
	const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
      - {name: web, image: "acme/web:1.0"}
      - {name: worker, image: "acme/worker:1.0"}
      - {name: proxy, image: "envoyproxy/envoy:v1.30"}
      - {name: cache, image: "redis:7"}
`
	tests := []struct {
		name    string
		mapping string
		want    map[string]string // container -> new image
	}{
		{
			name:    "repositories keep their spelling",
			mapping: "docker.io/acme/web@" + digest + "\nindex.docker.io/acme/worker@" + digest2,
			want:    map[string]string{"web": "acme/web@" + digest, "worker": "acme/worker@" + digest2},
		},
		{
			name:    "a target moves the image",
			mapping: "acme/web=ghcr.io/acme/web@" + digest,
			want:    map[string]string{"web": "ghcr.io/acme/web@" + digest},
		},
		{
			name:    "a target may keep a tag for people",
			mapping: "acme/web=ghcr.io/acme/web:1.0@" + digest,
			want:    map[string]string{"web": "ghcr.io/acme/web:1.0@" + digest},
		},
		{
			name:    "library images match by their short name",
			mapping: "# comments and blank lines are skipped\n\ndocker.io/library/redis@" + digest,
			want:    map[string]string{"cache": "redis@" + digest},
		},
		{
			name:    "a tag narrows the match",
			mapping: "envoyproxy/envoy:v1.30=envoyproxy/envoy@" + digest + "\nacme/web:2.0=acme/web@" + digest2 + "\nacme/web@" + digest,
			want:    map[string]string{"proxy": "envoyproxy/envoy@" + digest, "web": "acme/web@" + digest},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Pin(parse(t, app), mappings(t, tc.mapping), WithUnmatched(Warn))
			require.NoError(t, err)
			got := map[string]string{}
			for _, c := range res.Changes {
				got[c.Name] = c.New
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPinUnmatched(t *testing.T) {
	t.Parallel()
	objs := parse(t, workloads)
	_, err := Pin(objs, []Mapping{pushed(t, "ghcr.io/acme/api@"+digest)}, WithFieldNames(inputs))
	require.Error(t, err)
	var ue *UnmatchedError
	require.ErrorAs(t, err, &ue)
	for _, want := range []string{
		"the pushed image (ghcr.io/acme/api) matches no container, so the deploy would not run it",
		"busybox:1.36 (Deployment/web)",
		`name the pushed repository in the manifests (e.g. "image: ghcr.io/acme/api:latest"), or map it with input "image-map"`,
	} {
		assert.Contains(t, err.Error(), want)
	}

	ms := mappings(t, "docker.io/acme/shop@"+digest+"\nacme/nope=acme/nope@"+digest2)
	_, err = Pin(objs, ms, WithFieldNames(inputs))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `input "image-map" line 2 (acme/nope) matches no container`)
	_, err = Pin(objs, ms)
	assert.ErrorContains(t, err, "pin.Mappings line 2 (acme/nope) matches no container", "without names, the field")

	res, err := Pin(objs, ms, WithUnmatched(Warn))
	require.NoError(t, err)
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "acme/nope")
	assert.NotEmpty(t, res.Changes, "the mapping that matched still pins")

	_, err = Pin(parse(t, "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"), []Mapping{pushed(t, "acme/shop@"+digest)})
	assert.ErrorContains(t, err, "the manifests have no containers")
}

func TestPinSeveralRegistries(t *testing.T) {
	t.Parallel()
	// One push to Docker Hub and GHCR: a container of either is pinned, and
	// neither repository is reported unmatched when one of them is used.
	m := pushed(t, "index.docker.io/acme/shop@"+digest, "ghcr.io/acme/shop@"+digest)
	res, err := Pin(parse(t, workloads), []Mapping{m})
	require.NoError(t, err)
	var news []string
	for _, c := range res.Changes {
		news = append(news, c.New)
	}
	assert.Contains(t, news, "ghcr.io/acme/shop@"+digest)
	assert.Contains(t, news, "docker.io/acme/shop@"+digest)
}

func TestPinRefusesSharedAnchors(t *testing.T) {
	t.Parallel()
	const shared = `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    image: &img docker.io/acme/shop:latest
spec:
  containers:
  - name: a
    image: *img
  - name: b
    image: &other docker.io/acme/shop:latest
  - name: c
    env: [{name: X, value: *other}]
    image: busybox
`
	_, err := Pin(parse(t, shared), []Mapping{pushed(t, "acme/shop@"+digest)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Pod/p (app.yaml:1): the image of container "a" is shared through a YAML anchor`)
	assert.Contains(t, err.Error(), `container "b"`)
}

func TestMappingErrors(t *testing.T) {
	t.Parallel()
	// A mapping that does not parse is a *field.Error; Pin names the
	// mappings in its own messages.
	tests := []struct {
		in, want string
		parse    bool
	}{
		{"acme/shop=acme/shop:1.0", `line 1: "acme/shop=acme/shop:1.0": the target must be pinned`, true},
		{"acme/shop", `line 1: "acme/shop" is not SOURCE=TARGET@sha256:<digest>`, true},
		{"acme/shop@sha256:abc", "is not SOURCE=TARGET@sha256", true},
		{"Acme/Shop=acme/shop@" + digest, `line 1: source "Acme/Shop" is not an image repository`, true},
		{"acme/shop@" + digest2 + "=acme/shop@" + digest, `source "acme/shop@` + digest2 + `" has a digest`, true},
		{"\n\nacme/shop@" + digest + "\ndocker.io/acme/shop@" + digest2, `input "image-map" line 3 and input "image-map" line 4 both map docker.io/acme/shop; keep one`, false},
	}
	for _, tc := range tests {
		ms, err := ParseMappings(tc.in)
		if tc.parse {
			var fe *field.Error
			if assert.ErrorAs(t, err, &fe, tc.in) {
				assert.Equal(t, FieldMappings, fe.Field)
				assert.Contains(t, fe.Err.Error(), tc.want)
			}
			continue
		}
		require.NoError(t, err, tc.in)
		_, err = Pin(parse(t, workloads), ms, WithFieldNames(inputs))
		if assert.Error(t, err, tc.in) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	_, err := ParseMapping("acme/shop")
	var fe *field.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, FieldMappings, fe.Field)
	assert.True(t, strings.HasPrefix(fe.Err.Error(), `"acme/shop" is not SOURCE=TARGET`), fe.Err.Error())
	_, err = Pushed("docker.io/acme/shop:latest")
	assert.ErrorContains(t, err, `pushed image "docker.io/acme/shop:latest" is not <repository>@sha256:<digest>`)
	_, err = Pushed("a/b@"+digest, "c/d@"+digest2)
	assert.ErrorContains(t, err, "differ in digest")
	_, err = Pin(nil, nil, WithFieldNames(inputs))
	assert.EqualError(t, err, `nothing to pin: no image was pushed and input "image-map" is empty`)
	_, err = Pin(nil, []Mapping{{Match: []string{"a/b"}, Digest: "sha256:zz"}})
	assert.ErrorContains(t, err, `"sha256:zz" is not a digest`)
	_, err = Pin(nil, []Mapping{pushed(t, "a/b@"+digest)}, WithUnmatched("ignore"))
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, FieldUnmatched, fe.Field)
	assert.EqualError(t, fe.Err, `"ignore" is not a policy; use error or warn`)
}

// inputs name the fields as the action's inputs do.
var inputs field.Names = func(f string) string {
	return map[string]string{FieldMappings: `input "image-map"`, FieldUnmatched: `input "pin-unmatched"`}[f]
}

func TestMappingByHand(t *testing.T) {
	t.Parallel()
	res, err := Pin(parse(t, workloads), []Mapping{{Match: []string{"ghcr.io/acme/shop"}, Target: "registry.example.com/shop", Digest: digest}})
	require.NoError(t, err)
	require.Len(t, res.Changes, 1)
	assert.Equal(t, "registry.example.com/shop@"+digest, res.Changes[0].New)
}

func TestRepositoryAsWritten(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"shop":                             "shop",
		"shop:1":                           "shop",
		"localhost:5000/shop":              "localhost:5000/shop",
		"localhost:5000/shop:1":            "localhost:5000/shop",
		"localhost:5000/shop:1@" + digest:  "localhost:5000/shop",
		"docker.io/library/shop@" + digest: "docker.io/library/shop",
		"[::1]:5000/acme/shop:dev":         "[::1]:5000/acme/shop",
	} {
		assert.Equal(t, want, repositoryAsWritten(in), in)
	}
}
