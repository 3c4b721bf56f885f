package manifestpolicy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/render"
)

func TestParseModes(t *testing.T) {
	t.Parallel()
	m, err := manifestpolicy.ParseModes("probes=fail,\n pdb=OFF")
	require.NoError(t, err)
	assert.Equal(t, manifestpolicy.Fail, m[manifestpolicy.Probes])
	assert.Equal(t, manifestpolicy.Off, m[manifestpolicy.PDB])
	assert.Equal(t, manifestpolicy.Fail, m[manifestpolicy.Secrets], "a default kept")
	assert.Equal(t, manifestpolicy.Warn, m[manifestpolicy.Latest], "a default kept")

	// all=MODE goes first wherever it is written.
	m, err = manifestpolicy.ParseModes("secrets=fail, all=off")
	require.NoError(t, err)
	assert.Equal(t, manifestpolicy.Fail, m[manifestpolicy.Secrets])
	assert.Equal(t, manifestpolicy.Off, m[manifestpolicy.Probes])

	m, err = manifestpolicy.ParseModes("")
	require.NoError(t, err)
	assert.Equal(t, manifestpolicy.DefaultModes(), m)
}

// TestBadConfig: each error is a *ConfigError naming its field and the item
// at fault, with the fix.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		err   func() error
		field manifestpolicy.Field
		want  string
	}{
		{"unknown check", func() error { _, err := manifestpolicy.ParseModes("probe=fail"); return err },
			manifestpolicy.FieldModes, `"probe": is not a check; use one of secrets, digest, latest, migrations, database-volume, exposed-admin, probes, resources, baseline, restricted, pdb, or all`},
		{"unknown mode", func() error { _, err := manifestpolicy.ParseModes("probes=error"); return err },
			manifestpolicy.FieldModes, `"probes=error": mode "error" of probes is unknown; use fail, warn or off`},
		{"no mode", func() error { _, err := manifestpolicy.ParseModes("probes"); return err },
			manifestpolicy.FieldModes, `"probes": is not CHECK=MODE; write e.g. "probes=fail, pdb=off"`},
		{"unknown check in Config", func() error {
			_, err := manifestpolicy.New(manifestpolicy.Config{Modes: map[manifestpolicy.Check]manifestpolicy.Mode{"probe": manifestpolicy.Fail}})
			return err
		}, manifestpolicy.FieldModes, `"probe": is not a check`},
		{"unknown mode in Config", func() error {
			_, err := manifestpolicy.New(manifestpolicy.Config{Modes: map[manifestpolicy.Check]manifestpolicy.Mode{manifestpolicy.PDB: "error"}})
			return err
		}, manifestpolicy.FieldModes, `mode "error" of pdb is unknown`},
		{"allow with two parts", func() error { _, err := manifestpolicy.ParseAllow([]string{"Deployment/postgres"}); return err },
			manifestpolicy.FieldAllow, `"Deployment/postgres": is not [CHECK:]KIND/NAMESPACE/NAME`},
		{"allow for an unknown check", func() error { _, err := manifestpolicy.ParseAllow([]string{"probe:Deployment/*/x"}); return err },
			manifestpolicy.FieldAllow, `"probe" is not a check`},
		{"allow with a bad pattern", func() error { _, err := manifestpolicy.ParseAllow([]string{"Deployment/[/x"}); return err },
			manifestpolicy.FieldAllow, `"[" is not a valid pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.err()
			var ce *manifestpolicy.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestModes(t *testing.T) {
	t.Parallel()
	yaml := edit(t, "1.0@sha256:"+hex64, "1.0", "          readinessProbe: {httpGet: {path: /readyz, port: http}}\n", "")
	res, err := run(t, manifestpolicy.Config{}, yaml)
	require.NoError(t, err)
	assert.False(t, res.Failed())
	require.Len(t, res.Warnings(), 2, res.Text())

	res, err = run(t, manifestpolicy.Config{Modes: map[manifestpolicy.Check]manifestpolicy.Mode{manifestpolicy.Probes: manifestpolicy.Fail, manifestpolicy.Digest: manifestpolicy.Off}}, yaml)
	require.NoError(t, err)
	require.True(t, res.Failed())
	require.Len(t, res.Findings, 1, res.Text())
	assert.Equal(t, manifestpolicy.Fail, res.Findings[0].Mode)
	var fe *manifestpolicy.FailedError
	require.ErrorAs(t, res.Err(), &fe)
	assert.Contains(t, fe.Error(), "the manifests fail 1 policy check(s): probes: Deployment/web (app.yaml:17): container web has no readiness probe")

	// With latest off, a latest image is the digest check's.
	res, err = run(t, manifestpolicy.Config{Modes: map[manifestpolicy.Check]manifestpolicy.Mode{manifestpolicy.Latest: manifestpolicy.Off}},
		edit(t, "1.0@sha256:"+hex64, "latest"))
	require.NoError(t, err)
	require.Len(t, res.Findings, 1, res.Text())
	assert.Equal(t, manifestpolicy.Digest, res.Findings[0].Check)
}

// TestWaivers: an object opts out of a check by an annotation that says why,
// or an allow-list entry lets it through; the finding stays in the report,
// waived, with its reason.
func TestWaivers(t *testing.T) {
	t.Parallel()
	yaml := edit(t, "  name: web\nspec:\n  replicas: 2", "  name: web\n  annotations:\n    manifest-policy.deploy-action/skip-probes: a worker, it serves nothing\nspec:\n  replicas: 2",
		"          readinessProbe: {httpGet: {path: /readyz, port: http}}\n", "",
		"value: INFO", "value: INFO\n            - name: DB_PASSWORD\n              value: hunter2hunter2")
	cfg := manifestpolicy.Config{Namespace: "shop", Modes: map[manifestpolicy.Check]manifestpolicy.Mode{manifestpolicy.Probes: manifestpolicy.Fail}}
	res, err := run(t, cfg, yaml)
	require.NoError(t, err)
	require.True(t, res.Failed(), "the secret is not waived: %s", res.Text())
	require.Len(t, res.Findings, 2)
	assert.Equal(t, "opted out: a worker, it serves nothing", res.Findings[1].Waived)
	assert.False(t, res.Findings[1].Counts())

	allow, err := manifestpolicy.ParseAllow([]string{"secrets:Deployment/shop/w*"})
	require.NoError(t, err)
	cfg.Allow = allow
	res, err = run(t, cfg, yaml)
	require.NoError(t, err)
	assert.False(t, res.Failed(), res.Text())
	assert.Equal(t, "allowed by secrets:Deployment/shop/w*", res.Findings[0].Waived)
	assert.Contains(t, res.Markdown(), "Waived findings")
	assert.Contains(t, res.Verdict(), "passed in 3 object(s); 2 waived")

	// Another namespace is not allowed.
	cfg.Namespace = "prod"
	res, err = run(t, cfg, yaml)
	require.NoError(t, err)
	assert.True(t, res.Failed())
}

// TestBadAnnotations: an opt-out without a reason, with a yes for a reason,
// or for a check that does not exist, is an error naming the object.
func TestBadAnnotations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ annotation, want string }{
		{`skip-probes: ""`, `app.yaml:1: Deployment/web: annotation "manifest-policy.deploy-action/skip-probes" has no reason; its value must say why`},
		{`skip-probes: "true"`, `annotation "manifest-policy.deploy-action/skip-probes" is "true", not a reason`},
		{`skip-probe: a worker`, `annotation "manifest-policy.deploy-action/skip-probe" names no check; the checks are secrets, digest`},
	} {
		t.Run(tc.annotation, func(t *testing.T) {
			t.Parallel()
			yaml := edit(t, "  name: web\nspec:", "  name: web\n  annotations:\n    manifest-policy.deploy-action/"+tc.annotation+"\nspec:")
			_, err := run(t, manifestpolicy.Config{}, yaml)
			var ae *manifestpolicy.AnnotationError
			require.ErrorAs(t, err, &ae)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestNothingToFind: what looks like a problem and is not.
func TestNothingToFind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		yaml []string
	}{
		{"one replica runs migrations", []string{"replicas: 2", "replicas: 1", `args: ["serve"]`, `args: ["migrate"]`, "    matchLabels: {app: web}\n---", "    matchLabels: {app: other}\n---"}},
		{"makemigrations is not a migration", []string{`args: ["serve"]`, `args: ["manage.py", "makemigrations", "--check"]`}},
		{"database on a claim", []string{"docker.io/acme/web:1.0", "postgres:17", "          readinessProbe:", "          volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]\n          readinessProbe:",
			"      containers:\n", "      volumes: [{name: data, persistentVolumeClaim: {claimName: pg}}]\n      containers:\n"}},
		{"app port behind a NodePort", []string{"type: LoadBalancer", "type: NodePort"}},
		{"metrics port inside the cluster", []string{"type: LoadBalancer", "type: ClusterIP", "    - name: http\n      port: 80", "    - name: metrics\n      port: 9090"}},
		{"placeholders", []string{"value: INFO", "value: INFO\n            - name: SECRET_KEY\n              value: \"\"\n            - name: DB_PASSWORD\n              value: ${DB_PASSWORD}\n            - name: TOKEN_TTL\n              value: \"3600\"\n            - name: DATABASE_URL\n              value: postgres://db:5432/shop\n            - name: TOKEN_SERVER\n              value: https://auth.example.com/oauth/token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := run(t, manifestpolicy.Config{}, edit(t, tc.yaml...))
			require.NoError(t, err)
			assert.Empty(t, res.Findings, res.Text())
		})
	}
}

func TestStatefulSetClaims(t *testing.T) {
	t.Parallel()
	objs, err := render.Parse("db.yaml", []byte(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: redis
          image: redis:7.4
          volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`))
	require.NoError(t, err)
	c, err := manifestpolicy.New(manifestpolicy.Config{})
	require.NoError(t, err)
	res, err := c.Check(context.Background(), objs)
	require.NoError(t, err)
	for _, f := range res.Findings {
		assert.NotEqual(t, manifestpolicy.DatabaseVolume, f.Check, f.Message)
	}
	assert.NotEmpty(t, res.Findings, "probes and resources still")
}

func TestUnreadableTemplate(t *testing.T) {
	t.Parallel()
	_, err := run(t, manifestpolicy.Config{}, edit(t, "      containers:\n", "      containers: several\n      initContainers:\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app.yaml:1: Deployment/web: reading spec.template.spec")
	assert.False(t, errors.As(err, new(*manifestpolicy.AnnotationError)))
}
