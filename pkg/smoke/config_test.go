package smoke_test

import (
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
    POSTGRES_USER: shop
  secrets:
    POSTGRES_PASSWORD: secret
  command: -c fsync=off
  healthcheck: ["pg_isready", "-U", "postgres"]
cache:
  image: redis:7
`)
	require.NoError(t, err)
	assert.Equal(t, []smoke.Service{
		{Name: "db", Image: "postgres:17", Env: map[string]string{"POSTGRES_USER": "shop"}, Secrets: map[string]string{"POSTGRES_PASSWORD": "secret"},
			Command: []string{"-c", "fsync=off"}, Healthcheck: []string{"pg_isready", "-U", "postgres"}},
		{Name: "cache", Image: "redis:7"},
	}, svcs, "in the order written")

	svcs, err = smoke.ParseServices("  \n")
	require.NoError(t, err)
	assert.Empty(t, svcs)

	for text, want := range map[string]string{
		"- db":                            `line 1: expected a mapping from service name to settings`,
		"db: postgres":                    `line 1: service "db": expected its settings`,
		"db:\n  image: x\n  env: [a]\n":   `line 3: service "db": env: expected NAME: value pairs`,
		"db: {image: x, ports: [1]}":      `line 1: service "db": unknown field "ports"`,
		"db: {image: x, secrets: [a]}":    `line 1: service "db": secrets: expected NAME: value pairs`,
		"db: [":                           `line 1: did not find expected node content`,
		"db: {image: x}\ndb: {image: y}":  `line 2: service "db" is defined twice`,
		"db: {image: x, image: y}":        `line 1: service "db": image is set twice`,
		"db: {image: x, command: 'a \"'}": `line 1: service "db": command: expected a list of arguments`,
		"db:\n":                           `line 1: service "db": expected its settings (image, env, secrets, command, healthcheck)`,
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
	_, err = smoke.ParseEnv("A=1\nnot-a-pair-s3cr3t\n")
	assert.ErrorContains(t, err, "line 2 is not NAME=value")
	assert.NotContains(t, err.Error(), "s3cr3t", "a line that may hold a secret is never quoted")
}

func TestSecretValues(t *testing.T) {
	t.Parallel()
	cfg := smoke.Config{
		Env:     map[string]string{"PORT": "8000", "DB_PASSWORD": "guessed-not-masked", "DATABASE_URL": "postgresql://u:p%40ss-word@db/shop"},
		Secrets: map[string]string{"API_TOKEN": "tok-123456"},
		Services: []smoke.Service{{Name: "db", Image: "pg", Env: map[string]string{"POSTGRES_USER": "shop"},
			Secrets: map[string]string{"POSTGRES_PASSWORD": "pg-secret"}}},
	}
	got := cfg.SecretValues()
	assert.Subset(t, got, []string{"tok-123456", "pg-secret", "p@ss-word", "p%40ss-word"})
	for _, plain := range []string{"8000", "shop", "guessed-not-masked"} {
		assert.NotContains(t, got, plain, "plain settings are never masked, whatever their name")
	}
	assert.True(t, smoke.LooksSecret("DB_PASSWORD"))
	assert.False(t, smoke.LooksSecret("PORT"))
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
		assert.Error(t, err, bad)
	}
}

func FuzzParseServices(f *testing.F) {
	f.Add("db:\n  image: postgres:17\n  env: {A: b}\n  command: [x]\n")
	f.Add("a: {image: x, healthcheck: 'pg_isready -q'}\nb: {image: y}")
	f.Add("- x")
	f.Fuzz(func(t *testing.T, text string) {
		svcs, err := smoke.ParseServices(text)
		if err != nil {
			assert.NotEmpty(t, err.Error())
			return
		}
		for _, s := range svcs {
			assert.NotEmpty(t, s.Name)
		}
	})
}
