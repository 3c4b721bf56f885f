package manifestpolicy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/render"
)

// good is a workload that passes every check.
const good = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: web
          image: docker.io/acme/web:1.0@sha256:` + hex64 + `
          args: ["serve"]
          ports:
            - name: http
              containerPort: 8000
          env:
            - name: LOG_LEVEL
              value: INFO
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
            - name: DB_PASSWORD_FILE
              value: /run/secrets/db
            - name: API_TOKEN
              value: $(TOKEN_FROM_SECRET)
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: web}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
    - name: http
      port: 80
      targetPort: http
`

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func run(t *testing.T, cfg manifestpolicy.Config, yaml string) (*manifestpolicy.Result, error) {
	t.Helper()
	objs, err := render.Parse("app.yaml", []byte(yaml))
	require.NoError(t, err)
	c, err := manifestpolicy.New(cfg)
	require.NoError(t, err)
	return c.Check(context.Background(), objs)
}

// edit replaces old by new in good, once.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := good
	for i := 0; i+1 < len(pairs); i += 2 {
		require.Contains(t, s, pairs[i])
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestGoodPassesEveryCheck(t *testing.T) {
	t.Parallel()
	res, err := run(t, manifestpolicy.Config{}, good)
	require.NoError(t, err)
	assert.Empty(t, res.Findings, res.Text())
	assert.False(t, res.Failed())
	assert.NoError(t, res.Err())
	assert.Equal(t, "passed in 3 object(s)", res.Verdict())
}

// TestChecks gives each check something to find, and the line it is on.
func TestChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		yaml  []string // edits of good
		check manifestpolicy.Check
		at    string
		msg   string
	}{
		{"password by name", []string{"value: INFO", "value: INFO\n            - name: POSTGRES_PASSWORD\n              value: hunter2hunter2"},
			manifestpolicy.Secrets, "app.yaml:27", "env POSTGRES_PASSWORD holds a secret (its name says so)"},
		{"password in a URL", []string{"value: INFO", "value: INFO\n            - name: DATABASE_URL\n              value: postgres://shop:hunter2hunter2@db/shop"},
			manifestpolicy.Secrets, "app.yaml:27", "env DATABASE_URL holds a URL with a password"},
		{"key by gitleaks", []string{"value: INFO", "value: INFO\n            - name: UPSTREAM\n              value: AKIAZ3MSJV4WWNKWW5FG"},
			manifestpolicy.Secrets, "app.yaml:27", "env UPSTREAM holds a secret (aws-access-token)"},
		{"secret in a ConfigMap key", []string{"---\napiVersion: policy/v1", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  smtp-password: hunter2hunter2\n---\napiVersion: policy/v1"},
			manifestpolicy.Secrets, "app.yaml:46", "data smtp-password holds a secret (its key's name says so)"},
		{"secret in a ConfigMap file", []string{"---\napiVersion: policy/v1", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  app.ini: |\n    [mail]\n    host = smtp\n    aws_key = AKIAZ3MSJV4WWNKWW5FG\n---\napiVersion: policy/v1"},
			manifestpolicy.Secrets, "app.yaml:49", "data app.ini holds a secret (aws-access-token)"},
		{"tag only", []string{"1.0@sha256:" + hex64, "1.0"},
			manifestpolicy.Digest, "app.yaml:18", "image docker.io/acme/web:1.0 is not pinned by digest"},
		{"latest", []string{"1.0@sha256:" + hex64, "latest"},
			manifestpolicy.Latest, "app.yaml:18", "image docker.io/acme/web:latest is tagged latest"},
		{"no tag", []string{":1.0@sha256:" + hex64, ""},
			manifestpolicy.Latest, "app.yaml:18", "image docker.io/acme/web names no tag"},
		{"migrations at start", []string{`args: ["serve"]`, `command: ["sh", "-c", "flask db upgrade && gunicorn app"]`},
			manifestpolicy.Migrations, "app.yaml:19", `runs migrations as it starts ("db upgrade"), in each of 2 replicas`},
		{"migrations in an init container", []string{"      containers:\n", "      initContainers:\n        - name: m\n          image: x@sha256:" + hex64 + "\n          args: [manage.py, migrate]\n          resources: {requests: {cpu: 1, memory: 1Mi}, limits: {memory: 1Mi}}\n          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n      containers:\n"},
			manifestpolicy.Migrations, "app.yaml:19", `init container m runs migrations as it starts ("migrate")`},
		{"database without a volume", []string{"docker.io/acme/web:1.0", "mysql:8.4"},
			manifestpolicy.DatabaseVolume, "app.yaml:18", "container web runs mysql with no persistent volume"},
		{"metrics port behind a LoadBalancer", []string{"    - name: http\n      port: 80", "    - name: metrics\n      port: 9100"},
			manifestpolicy.ExposedAdmin, "app.yaml:58", "Service of type LoadBalancer exposes port 9100 (named metrics)"},
		{"no probes", []string{"          readinessProbe: {httpGet: {path: /readyz, port: http}}\n", ""},
			manifestpolicy.Probes, "app.yaml:17", "container web has no readiness probe"},
		{"no resources", []string{"            limits: {memory: 256Mi}\n", ""},
			manifestpolicy.Resources, "app.yaml:34", "container web sets no memory limit"},
		{"privileged", []string{"allowPrivilegeEscalation: false", "allowPrivilegeEscalation: false\n            privileged: true"},
			manifestpolicy.Baseline, "app.yaml:12", "privileged (container \"web\" must not set securityContext.privileged=true)"},
		{"hostPath", []string{"      containers:\n", "      volumes:\n        - name: docker\n          hostPath: {path: /var/run/docker.sock}\n      containers:\n"},
			manifestpolicy.Baseline, "app.yaml:12", "hostPath volumes (volume \"docker\")"},
		{"root", []string{"runAsNonRoot: true", "runAsUser: 0"},
			manifestpolicy.Restricted, "app.yaml:12", "runAsNonRoot != true"},
		{"no budget", []string{"    matchLabels: {app: web}\n---", "    matchLabels: {app: other}\n---"},
			manifestpolicy.PDB, "app.yaml:6", "Deployment runs 2 replicas and no PodDisruptionBudget covers them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := run(t, manifestpolicy.Config{}, edit(t, tc.yaml...))
			require.NoError(t, err)
			var got []manifestpolicy.Finding
			for _, f := range res.Findings {
				if f.Check == tc.check {
					got = append(got, f)
				}
			}
			require.Len(t, got, 1, res.Text())
			assert.Equal(t, tc.at, got[0].Source)
			assert.Contains(t, got[0].Message, tc.msg)
			assert.NotEmpty(t, got[0].Fix)
			assert.NotContains(t, got[0].Message, "hunter2", "the secret is quoted")
			assert.NotContains(t, got[0].Message, "AKIAZ3MSJV4WWNKWW5FG", "the secret is quoted")
			assert.Equal(t, tc.check == manifestpolicy.Secrets, res.Failed(), "only secrets fail by default")
		})
	}
}
