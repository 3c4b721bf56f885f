package smoke_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/smoke"
)

func TestParseServices(t *testing.T) {
	t.Parallel()
	svcs, err := smoke.ParseServices(`
db:
  image: postgres:17
  env:
    POSTGRES_PASSWORD: secret
  command: -c fsync=off
  healthcheck: ["pg_isready", "-U", "postgres"]
cache:
  image: redis:7
`)
	require.NoError(t, err)
	assert.Equal(t, []smoke.Service{
		{Name: "db", Image: "postgres:17", Env: map[string]string{"POSTGRES_PASSWORD": "secret"},
			Command: []string{"-c", "fsync=off"}, Healthcheck: []string{"pg_isready", "-U", "postgres"}},
		{Name: "cache", Image: "redis:7"},
	}, svcs, "in the order written")

	svcs, err = smoke.ParseServices("  \n")
	require.NoError(t, err)
	assert.Empty(t, svcs)

	for text, want := range map[string]string{
		"- db":                          `line 1: expected a mapping from service name to settings`,
		"db: postgres":                  `line 1: service "db": expected its settings`,
		"db:\n  image: x\n  env: [a]\n": `line 3: service "db": env: expected NAME: value pairs`,
		"db: {image: x, ports: [1]}":    `line 1: service "db": unknown field "ports"`,
		"db: [":                         `input "services"`,
	} {
		_, err := smoke.ParseServices(text)
		assert.ErrorContains(t, err, want, text)
	}
}

func TestParseEnv(t *testing.T) {
	t.Parallel()
	env, err := smoke.ParseEnv("# the shop\nDATABASE_URL=postgresql://u:p@db/shop?sslmode=disable\n\nexport LOG_LEVEL=debug\nEMPTY=\nQUOTED=\"kept as written\"\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"DATABASE_URL": "postgresql://u:p@db/shop?sslmode=disable",
		"LOG_LEVEL":    "debug", "EMPTY": "", "QUOTED": `"kept as written"`,
	}, env)
	_, err = smoke.ParseEnv("A=1\n=2\n")
	assert.ErrorContains(t, err, "line 2 is not NAME=value")
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"":                              nil,
		`pytest -q tests/smoke`:         {"pytest", "-q", "tests/smoke"},
		`sh -c 'curl -f http://app/'`:   {"sh", "-c", "curl -f http://app/"},
		`["python3", "-m", "pytest"]`:   {"python3", "-m", "pytest"},
		`  ["with space", "$NOT_EXP"] `: {"with space", "$NOT_EXP"},
	} {
		got, err := smoke.ParseCommand(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{`[]`, `["a", 1]`, `echo "unclosed`} {
		_, err := smoke.ParseCommand(bad)
		assert.ErrorContains(t, err, `input "test-command"`, bad)
	}
}

func FuzzParseServices(f *testing.F) {
	f.Add("db:\n  image: postgres:17\n  env: {A: b}\n  command: [x]\n")
	f.Add("a: {image: x, healthcheck: 'pg_isready -q'}\nb: {image: y}")
	f.Add("- x")
	f.Fuzz(func(t *testing.T, text string) {
		svcs, err := smoke.ParseServices(text)
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), `input "services"`), err.Error())
			return
		}
		for _, s := range svcs {
			_ = s.Name
		}
	})
}
