package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// tree writes files (path -> content) under a new directory and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return dir
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: docker.io/acme/web:1
`

const chartYAML = "apiVersion: v2\nname: web\nversion: 0.1.0\n"

// inputs name the fields as the action's inputs do.
var inputs field.Names = func(f string) string {
	return map[string]string{
		FieldPaths: `input "manifests"`, FieldFormat: `input "manifests-format"`, FieldRoot: `input "manifests-root"`,
		FieldValuesFiles: `input "helm-values"`, FieldValues: `input "helm-set"`, FieldSecretValues: `input "helm-set-secrets"`,
	}[f]
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		spec  func(dir string) Spec
		opts  func(dir string) []Option
		// want are substrings of the error; field, when set, the field it
		// is about; is and as, when set, what it matches.
		want  []string
		field string
		// never are substrings the error must not hold (a secret, an
		// input that does not exist).
		never []string
		is    error
		as    any
	}{
		{
			name:  "no paths",
			spec:  func(string) Spec { return Spec{} },
			field: FieldPaths,
			want:  []string{"no path given"},
		},
		{
			name:  "empty directory",
			files: map[string]string{"k8s/README.md": "nothing here"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/k8s"}} },
			field: FieldPaths,
			want:  []string{"no manifests found in", "/k8s", "*.yaml and *.yml", "fix the paths"},
			is:    ErrNoManifests,
		},
		{
			name: "missing path",
			spec: func(d string) Spec { return Spec{Paths: []string{d + "/nope"}} },
			want: []string{`/nope" does not exist`},
			is:   ErrNoManifests,
		},
		{
			name: "glob matches nothing",
			spec: func(d string) Spec { return Spec{Paths: []string{d + "/*.yaml"}} },
			want: []string{"matches no file"},
			is:   ErrNoManifests,
		},
		{
			name: "bad glob",
			spec: func(d string) Spec { return Spec{Paths: []string{"k8s/[.yaml"}} },
			want: []string{`"k8s/[.yaml" is not a valid glob`},
		},
		{
			name:  "invalid YAML has its file and line",
			files: map[string]string{"app.yaml": deployment + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n   labels: {}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/app.yaml"}} },
			want:  []string{"/app.yaml:16: invalid YAML"},
			as:    new(*SyntaxError),
		},
		{
			name:  "a tab says so",
			files: map[string]string{"app.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n\tname: web\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/app.yaml"}} },
			want:  []string{"/app.yaml:4: invalid YAML", "tab"},
			as:    new(*SyntaxError),
		},
		{
			name:  "no apiVersion",
			files: map[string]string{"app.yaml": "---\n# web\nkind: Deployment\nmetadata: {name: web}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{"/app.yaml:3: the Deployment has no apiVersion; add \"apiVersion: apps/v1\""},
			as:    new(*ObjectError),
		},
		{
			name:  "no kind",
			files: map[string]string{"app.yaml": "apiVersion: v1\nmetadata: {name: web}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{"/app.yaml:1: the object (apiVersion v1) has no kind"},
		},
		{
			name:  "unknown kind",
			files: map[string]string{"app.yaml": deployment + "---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{"/app.yaml:12: kind \"Deploymnet\" is not served by apiVersion \"apps/v1\"; did you mean \"Deployment\"?"},
			as:    new(*ObjectError),
		},
		{
			name:  "kind in the wrong group",
			files: map[string]string{"app.yaml": "apiVersion: v1\nkind: Deployment\nmetadata: {name: x}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{`kind "Deployment" is not served by apiVersion "v1"; Deployment is "apps/v1"`},
		},
		{
			name:  "unknown version",
			files: map[string]string{"app.yaml": "apiVersion: apps/v2\nkind: Deployment\nmetadata: {name: x}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{`the apps group has no version v2; use "apps/v1"`},
		},
		{
			name:  "misspelt group",
			files: map[string]string{"app.yaml": "apiVersion: app/v1\nkind: Deployment\nmetadata: {name: x}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{`apiVersion "app/v1" names no API group that Kubernetes serves; Deployment is "apps/v1"`},
		},
		{
			name:  "no name",
			files: map[string]string{"app.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  labels: {a: b}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{"/app.yaml:1: the Service has no metadata.name"},
		},
		{
			name:  "not a mapping",
			files: map[string]string{"app.yaml": "- a\n- b\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{"/app.yaml:1: the document is a list, not a Kubernetes object"},
		},
		{
			name:  "repeated key",
			files: map[string]string{"app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n  a: \"2\"\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{`/app.yaml:7: key "a" is repeated (first at line 6)`},
		},
		{
			name:  "object defined twice",
			files: map[string]string{"a.yaml": deployment, "b.yaml": "# again\n" + deployment},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			want:  []string{"/b.yaml:2: Deployment/web is defined twice, here and at ", "/a.yaml:1"},
		},
		{
			name:  "a kustomization inside a plain directory",
			files: map[string]string{"k8s/app.yaml": deployment, "k8s/prod/kustomization.yaml": "resources: []\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/k8s"}} },
			want:  []string{"/k8s/prod, under ", "is a kustomization; name it"},
		},
		{
			name:  "a kustomization file named directly",
			files: map[string]string{"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata: {name: x}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/kustomization.yaml"}} },
			want:  []string{`is a Kustomization for kustomize, not an object; name its directory in input "manifests"`},
		},
		{
			name:  "kustomize error names the kustomization",
			files: map[string]string{"kustomization.yaml": "resources:\n- missing.yaml\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}} },
			field: FieldPaths,
			want:  []string{"kustomization ", "missing.yaml"},
		},
		{
			name: "kustomize outside its directory without a root",
			files: map[string]string{
				"k8s/app.yaml":               deployment,
				"overlay/kustomization.yaml": "resources:\n- ../k8s/app.yaml\n",
			},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/overlay"}} },
			field: FieldPaths,
			want:  []string{"is not in or below", `unless input "manifests-root" names a directory`},
		},
		{
			name: "kustomize cannot leave the root",
			files: map[string]string{
				"secret/token":                    "s3cr3t",
				"repo/overlay/kustomization.yaml": "configMapGenerator:\n- name: stolen\n  files:\n  - ../../secret/token\n",
			},
			spec: func(d string) Spec { return Spec{Paths: []string{d + "/repo/overlay"}} },
			opts: func(d string) []Option { return []Option{WithRoot(d + "/repo")} },
			want: []string{"secret/token is outside", `/repo; manifests may only use files within it (input "manifests-root")`},
		},
		{
			name:  "helm template error names the chart",
			files: map[string]string{"chart/Chart.yaml": chartYAML, "chart/templates/x.yaml": "a: {{ .Values.missing.deep }}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/chart"}} },
			field: FieldPaths,
			want:  []string{"helm chart ", "/chart: ", "templates/x.yaml", "nil pointer"},
		},
		{
			name:  "helm renders invalid YAML",
			files: map[string]string{"chart/Chart.yaml": chartYAML, "chart/templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ \"b\\n c: d\" }}\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/chart"}} },
			want:  []string{"templates/x.yaml"},
		},
		{
			name:  "helm missing dependency",
			files: map[string]string{"chart/Chart.yaml": chartYAML + "dependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://example.com\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/chart"}} },
			want:  []string{"dependencies redis are listed in Chart.yaml and missing from charts/", "helm dependency build"},
		},
		{
			name:  "helm kubeVersion",
			files: map[string]string{"chart/Chart.yaml": chartYAML + "kubeVersion: '>=1.40.0-0'\n"},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/chart"}} },
			want:  []string{"requires Kubernetes >=1.40.0-0", "deploy it to a cluster it supports"},
			never: []string{`input "kube-version"`},
		},
		{
			name:  "helm values file missing",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			spec: func(d string) Spec {
				return Spec{Paths: []string{d + "/chart"}, ValuesFiles: []string{d + "/prod.yaml"}}
			},
			field: FieldValuesFiles,
			want:  []string{"reading ", "/prod.yaml"},
		},
		{
			name:  "helm bad set",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			spec:  func(d string) Spec { return Spec{Paths: []string{d + "/chart"}, Values: []string{"replicas=3", "a.b"}} },
			field: FieldValues,
			want:  []string{"line 2 is not key=value"},
			never: []string{"a.b"},
		},
		{
			name:  "helm bad set secret",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			spec: func(d string) Spec {
				return Spec{Paths: []string{d + "/chart"}, SecretValues: []string{"db.password=ok,with,commas", "hunter2-alone"}}
			},
			field: FieldSecretValues,
			want:  []string{"line 2 is not key=value"},
			never: []string{"hunter2"},
		},
		{
			name:  "helm bad set secret key",
			files: map[string]string{"chart/Chart.yaml": chartYAML},
			spec: func(d string) Spec {
				return Spec{Paths: []string{d + "/chart"}, SecretValues: []string{"db.pass[x=s3cr3t-val"}}
			},
			field: FieldSecretValues,
			want:  []string{`line 1 (key "db.pass[x")`},
			never: []string{"s3cr3t"},
		},
		{
			name:  "helm values without a chart",
			files: map[string]string{"app.yaml": deployment},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}, Values: []string{"a=b"}} },
			want: []string{`input "helm-values", input "helm-set" and input "helm-set-secrets" are for a Helm chart`,
				`in input "manifests", or drop them`},
		},
		{
			name:  "forced kustomize without a kustomization",
			files: map[string]string{"app.yaml": deployment},
			spec:  func(d string) Spec { return Spec{Paths: []string{d}, Format: Kustomize} },
			field: FieldPaths,
			want:  []string{`has no kustomization.yaml; name the kustomization's directory, or set input "manifests-format" to auto`},
		},
		{
			name:  "bad format",
			spec:  func(d string) Spec { return Spec{Paths: []string{"k8s"}, Format: "jsonnet"} },
			field: FieldFormat,
			want:  []string{`"jsonnet" is not a format`},
		},
		{
			name:  "bad release name",
			spec:  func(d string) Spec { return Spec{Paths: []string{"k8s"}, ReleaseName: "My_App"} },
			field: FieldReleaseName,
			want:  []string{`"My_App" is not a release name`},
		},
		{
			name: "bad kube version",
			spec: func(d string) Spec { return Spec{Paths: []string{"k8s"}} },
			opts: func(string) []Option { return []Option{WithKubeVersion("latest")} },
			want: []string{`the cluster's version "latest" is not a Kubernetes version`},
		},
		{
			name:  "stdin not given",
			spec:  func(d string) Spec { return Spec{Paths: []string{"-"}} },
			field: FieldPaths,
			want:  []string{`"-" reads the standard input, which is not available here`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := tree(t, tc.files)
			opts := []Option{WithFieldNames(inputs)}
			if tc.opts != nil {
				opts = append(opts, tc.opts(dir)...)
			}
			_, err := Render(context.Background(), tc.spec(dir), opts...)
			require.Error(t, err)
			t.Log(err)
			var fe *field.Error
			if tc.field != "" && assert.ErrorAs(t, err, &fe) {
				assert.Equal(t, tc.field, fe.Field)
			}
			assert.NotContains(t, err.Error(), `input "manifests": `, "a field is named by its field, the caller names its input")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, n := range tc.never {
				assert.NotContains(t, err.Error(), n)
			}
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			if tc.as != nil {
				assert.ErrorAs(t, err, tc.as)
			}
		})
	}
}

// TestRenderFieldNames: without WithFieldNames a message refers to a setting
// by its field.
func TestRenderFieldNames(t *testing.T) {
	t.Parallel()
	dir := tree(t, map[string]string{"app.yaml": deployment})
	_, err := Render(context.Background(), Spec{Paths: []string{dir}, Format: Kustomize})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "or set render.Spec.Format to auto")

	_, err = Render(context.Background(), Spec{Paths: []string{dir}}, WithRoot(""))
	var fe *field.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, FieldRoot, fe.Field)
	assert.Equal(t, "no directory given; give the directory manifests may read from, e.g. the repository's top directory", fe.Err.Error())
}

// TestHelmSetSecretsLiteral: a secret value is taken as written, commas and
// "=" included (helm --set-literal), and wins over --set.
func TestHelmSetSecretsLiteral(t *testing.T) {
	t.Parallel()
	dir := tree(t, map[string]string{
		"chart/Chart.yaml":        chartYAML,
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  dsn: {{ .Values.db.dsn | quote }}\n  replicas: {{ .Values.replicas | quote }}\n",
	})
	objs, err := Render(context.Background(), Spec{Paths: []string{dir + "/chart"},
		Values:       []string{"replicas=3", "db.dsn=plain"},
		SecretValues: []string{"db.dsn=host=db,user=shop,password=a,b=c"}})
	require.NoError(t, err)
	require.Len(t, objs, 1)
	u, err := objs[0].Unstructured()
	require.NoError(t, err)
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	assert.Equal(t, map[string]string{"dsn": "host=db,user=shop,password=a,b=c", "replicas": "3"}, data)
}

func TestSyntaxErrorFields(t *testing.T) {
	t.Parallel()
	_, err := Parse("k8s/app.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n   labels: {}\n"))
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "k8s/app.yaml", se.File)
	assert.Equal(t, 5, se.Line)
}

func TestRenderMixesFormatsInOrder(t *testing.T) {
	t.Parallel()
	dir := tree(t, map[string]string{
		"ns.yaml":                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
		"chart/Chart.yaml":           chartYAML,
		"chart/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-cm}\n",
		"kust/kustomization.yaml":    "resources: [sa.yaml]\n",
		"kust/sa.yaml":               "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner}\n",
		"more/a.yaml":                deployment,
		"more/.github/workflow.yaml": "on: push\n",
	})
	objs, err := Render(context.Background(), Spec{Paths: []string{dir + "/ns.yaml", dir + "/chart", dir + "/kust", dir + "/more"}})
	require.NoError(t, err)
	var ids []string
	for _, o := range objs {
		ids = append(ids, o.ID())
	}
	assert.Equal(t, []string{"Namespace/shop", "ConfigMap/web-cm", "ServiceAccount/runner", "Deployment/web"}, ids)
}

func TestRenderReadsAFileOnce(t *testing.T) {
	t.Parallel()
	dir := tree(t, map[string]string{"k8s/app.yaml": deployment, "k8s/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"})
	objs, err := Render(context.Background(), Spec{Paths: []string{dir + "/k8s/svc.yaml", dir + "/k8s", dir + "/k8s/*.yaml"}})
	require.NoError(t, err)
	var ids []string
	for _, o := range objs {
		ids = append(ids, o.ID())
	}
	assert.Equal(t, []string{"Service/web", "Deployment/web"}, ids)
}

func TestRenderStdin(t *testing.T) {
	t.Parallel()
	objs, err := Render(context.Background(), Spec{Paths: []string{"-"}}, WithStdin(strings.NewReader(deployment)))
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "<stdin>:1", objs[0].Source)
}

func TestRenderInMemory(t *testing.T) {
	t.Parallel()
	fs := filesys.MakeFsInMemory()
	require.NoError(t, fs.WriteFile("/repo/base/kustomization.yaml", []byte("resources: [app.yaml]\n")))
	require.NoError(t, fs.WriteFile("/repo/base/app.yaml", []byte(deployment)))
	require.NoError(t, fs.WriteFile("/repo/plain/svc.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")))
	objs, err := Render(context.Background(), Spec{Paths: []string{"/repo/base", "/repo/plain"}}, WithFileSystem(fs))
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "Deployment/web", objs[0].ID())
	assert.Equal(t, "/repo/base/app.yaml (kustomization /repo/base)", objs[0].Source)
	assert.Equal(t, "/repo/plain/svc.yaml:1", objs[1].Source)
}

func TestRenderRootRefusesLinksOut(t *testing.T) {
	t.Parallel()
	outside := tree(t, map[string]string{"kubeconfig.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n"})
	repo := tree(t, map[string]string{"k8s/app.yaml": deployment})
	require.NoError(t, os.Symlink(filepath.Join(outside, "kubeconfig.yaml"), filepath.Join(repo, "k8s", "z.yaml")))

	_, err := Render(context.Background(), Spec{Paths: []string{repo + "/k8s"}}, WithRoot(repo))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is outside")

	// Without a root the link is followed, as kubectl does.
	objs, err := Render(context.Background(), Spec{Paths: []string{repo + "/k8s"}})
	require.NoError(t, err)
	assert.Len(t, objs, 2)
}

func TestRenderCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Render(ctx, Spec{Paths: []string{"testdata/plain"}})
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

func TestUnstructured(t *testing.T) {
	t.Parallel()
	objs, err := Parse("x.yaml", []byte("# c\n"+deployment+"    ports: [{containerPort: 8080}]\n"))
	require.NoError(t, err)
	u, err := objs[0].Unstructured()
	require.NoError(t, err)
	assert.Equal(t, "Deployment", u.GetKind())
	assert.Equal(t, "apps/v1", u.GetAPIVersion())
	assert.Equal(t, "web", u.GetName())
	containers, _, err := unstructuredSlice(u.Object, "spec", "template", "spec", "containers")
	require.NoError(t, err)
	assert.Equal(t, "docker.io/acme/web:1", containers[0].(map[string]any)["image"])
}

// TestObjectAt: an object names the file and line of any of its fields, the
// rendered line for a chart, and only itself for a kustomization.
func TestObjectAt(t *testing.T) {
	t.Parallel()
	objs, err := Parse("k8s/app.yaml", []byte("# head\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"))
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "k8s/app.yaml:7", objs[0].At(7))
	assert.Equal(t, "k8s/app.yaml:9", objs[1].Source)
	assert.Equal(t, objs[1].Source, objs[1].At(0), "no line: the object's")
	assert.Equal(t, "k8s/app.yaml:12", objs[1].Copy().At(12), "a copy keeps it")
	assert.Equal(t, "x", Object{Source: "x"}.At(3), "an object not parsed")
}
