package e2e

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// imagetestImages are the images TestImageTest builds: the shop, its PostgreSQL, and the
// variants that must fail.
type imagetestImages struct {
	shop, postgres                  string
	root, secret, shell, neverReady string
}

// buildImagetestImages builds the shop with its OCI labels set, as a release build does,
// then PostgreSQL and the variants on top of the shop.
func buildImagetestImages(ctx context.Context, t testing.TB, run string, variants bool) imagetestImages {
	t.Helper()
	host := testenv.DockerHost(t)
	_, err := os.Stat(debianDocker)
	testenv.Require(t, err == nil, "the Debian docker client "+debianDocker, "run `make setup` (hack/setup.sh) to install docker.io")
	build := func(dir, name string, args ...string) string {
		image := "deploy-action-e2e/" + run + "-" + name
		argv := []string{"build", "--progress=plain", "-t", image}
		for _, a := range args {
			argv = append(argv, "--build-arg", a)
		}
		cmd := exec.CommandContext(ctx, debianDocker, append(argv, filepath.Join("testdata", dir))...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+host, "DOCKER_BUILDKIT=1")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", dir, err, tail(string(out), 60))
		}
		t.Logf("built %s in %s", dir, time.Since(start).Round(10*time.Millisecond))
		t.Cleanup(func() {
			rm := exec.Command(debianDocker, "image", "rm", image)
			rm.Env = cmd.Env
			_ = rm.Run()
		})
		return image
	}
	var im imagetestImages
	im.shop = build("shop", "shop", "VERSION=1.4.0", "REVISION=0123456789abcdef0123456789abcdef01234567",
		"CREATED=2026-01-02T03:04:05Z", "SOURCE=https://github.com/acme/shop")
	im.postgres = build("postgres", "pg")
	if variants {
		from := "SHOP_IMAGE=" + im.shop
		im.root = build("shop-root", "root", from)
		im.secret = build("shop-secret", "secret", from)
		im.shell = build("shop-shell", "shell", from)
		im.neverReady = build("shop-never-ready", "never-ready", from)
	}
	return im
}

// shopSmoke is the smoke run of the shop: PostgreSQL as service "db", the schema
// migrated and the catalogue read by the test command, from inside the image.
func shopSmoke(pgImage, password string) smoke.Config {
	dbURL := (&url.URL{Scheme: "postgresql", User: url.UserPassword("shop", password), Host: "db:5432", Path: "/shop"}).String()
	return smoke.Config{
		Services: []smoke.Service{{
			Name: "db", Image: pgImage,
			Env:     map[string]string{"POSTGRES_USER": "shop", "POSTGRES_DB": "shop"},
			Secrets: map[string]string{"POSTGRES_PASSWORD": password},
		}},
		Env:       map[string]string{"DATABASE_URL": dbURL, "WEB_CONCURRENCY": "1"},
		ReadyPath: "/readyz",
		TestCommand: []string{"sh", "-c", `python3 -m shop migrate --wait 30 && python3 -c '
import json, urllib.request
products = json.load(urllib.request.urlopen("http://app:8000/api/products", timeout=5))["products"]
assert products, "the catalogue is empty"
print("catalogue:", len(products), "products")'`},
		GracePeriod: 5 * time.Second,
		Timeout:     90 * time.Second,
	}
}

// testImage runs the image test of ref the way the test stage does: the image as BuildKit
// left it in the engine, read back for the daemonless checks.
func testImage(ctx context.Context, t *testing.T, api *client.Client, cfg imagetest.Config, ref string) *imagetest.Report {
	t.Helper()
	img, err := dockerfile.Load(ctx, api, ref)
	require.NoError(t, err)
	defer img.Close()
	run := imagetest.NewRunID()
	var log strings.Builder
	tester, err := imagetest.New(cfg, imagetest.WithDockerClient(api), imagetest.WithRunID(run), imagetest.WithLog(&log))
	require.NoError(t, err)
	defer tester.Close()
	rep, err := tester.Test(ctx, img, ref)
	require.NoError(t, err)
	t.Logf("%s\n%s", log.String(), rep.Text())

	// Whatever the verdict, the run leaves no container, network, volume or image behind.
	left, err := imagetest.Leftovers(context.Background(), api, run)
	require.NoError(t, err)
	assert.Empty(t, left, "the image test must remove everything it created")
	return rep
}

func caseOf(t *testing.T, rep *imagetest.Report, suite, name string) imagetest.Case {
	t.Helper()
	for _, c := range rep.Cases {
		if c.Suite == suite && c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %s/%s in the report:\n%s", suite, name, rep.Text())
	return imagetest.Case{}
}

// TestImageTest is the test stage on real images: the shop passes the policy checks, its
// structure tests and a smoke run against a real PostgreSQL; each broken variant fails
// with a message that names the cause and the fix.
func TestImageTest(t *testing.T) {
	api, err := client.New(client.WithHost(testenv.DockerHost(t)))
	require.NoError(t, err)
	defer api.Close()
	ctx := t.Context()
	im := buildImagetestImages(ctx, t, "imagetest-"+randomHex(t, 4), true)
	password := `pw"` + randomHex(t, 6)
	structureTests := []string{filepath.Join("testdata", "imagetest", "shop.yaml")}

	t.Run("shop passes", func(t *testing.T) {
		rep := testImage(ctx, t, api, imagetest.Config{
			StructureTests: structureTests,
			Smoke:          shopSmoke(im.postgres, password),
			SmokeMode:      imagetest.SmokeOn,
		}, im.shop)
		assert.False(t, rep.Failed(), rep.Text())
		for _, c := range rep.Cases {
			assert.Equal(t, imagetest.Pass, c.Status, "%s/%s: %s", c.Suite, c.Name, c.Message)
		}
		assert.Contains(t, caseOf(t, rep, "smoke", "service db starts").Message, "is healthy")
		assert.Contains(t, caseOf(t, rep, "smoke", "image becomes ready").Message, "GET /readyz answered 200")
		assert.Contains(t, caseOf(t, rep, "smoke", "image stops on its stop signal").Message, "exited with code 0")
		assert.Contains(t, caseOf(t, rep, "structure", "shop.yaml: the application imports").Status, imagetest.Pass)
		assert.NotContains(t, rep.Markdown()+rep.Text(), password, "the database password is never shown")
	})

	t.Run("root fails the user check", func(t *testing.T) {
		rep := testImage(ctx, t, api, imagetest.Config{SmokeMode: imagetest.SmokeOff}, im.root)
		assert.True(t, rep.Failed())
		c := caseOf(t, rep, "policy", "user")
		assert.Equal(t, imagetest.Fail, c.Status)
		assert.Contains(t, c.Message, `runs as root: USER is "root"`)
		assert.Contains(t, c.Message, "USER 10001:10001", "the fix")
	})

	t.Run("secret in a layer fails the secrets check", func(t *testing.T) {
		rep := testImage(ctx, t, api, imagetest.Config{SmokeMode: imagetest.SmokeOff}, im.secret)
		assert.True(t, rep.Failed())
		c := caseOf(t, rep, "policy", "secrets")
		assert.Equal(t, imagetest.Fail, c.Status)
		details := strings.Join(c.Details, "\n")
		assert.Contains(t, details, "/app/deploy_key:1 (private-key)")
		assert.Contains(t, details, "deleted by a later layer but still in the image")
		assert.Contains(t, details, "/app/.env (a .env file)")
		assert.Contains(t, c.Message, "RUN --mount=type=secret", "the fix")
		assert.Contains(t, c.Message, "rotate")
		assert.NotContains(t, rep.Markdown(), "PRIVATE KEY-----", "findings never quote the secret")
	})

	t.Run("entrypoint shell without exec fails the stop", func(t *testing.T) {
		cfg := imagetest.Config{Smoke: shopSmoke(im.postgres, password), SmokeMode: imagetest.SmokeOn}
		cfg.Smoke.GracePeriod = 3 * time.Second
		cfg.Smoke.TestCommand = nil
		rep := testImage(ctx, t, api, cfg, im.shell)
		assert.True(t, rep.Failed())
		stop := caseOf(t, rep, "smoke", "image stops on its stop signal")
		assert.Equal(t, imagetest.Fail, stop.Status)
		assert.Contains(t, stop.Message, "did not exit within the grace period of 3s after SIGTERM and was killed (exit code 137)")
		assert.Contains(t, stop.Message, `PID 1 was "/bin/sh /usr/local/bin/start.sh", a shell`)
		assert.Contains(t, stop.Message, "exec", "the fix")
		assert.Contains(t, stop.Output, "start.sh: starting the shop", "the logs are shown")
		exec := caseOf(t, rep, "policy", "exec")
		assert.Equal(t, imagetest.Fail, exec.Status)
		assert.Contains(t, exec.Message, "/usr/local/bin/start.sh is a shell script that never runs exec")
		assert.Equal(t, imagetest.Pass, caseOf(t, rep, "smoke", "image becomes ready").Status)
	})

	t.Run("never ready fails readiness", func(t *testing.T) {
		cfg := imagetest.Config{Smoke: shopSmoke(im.postgres, password), SmokeMode: imagetest.SmokeOn,
			Policy: policy.Config{Modes: map[policy.Check]policy.Mode{policy.Secrets: policy.Off}}}
		cfg.Smoke.Timeout = 20 * time.Second
		rep := testImage(ctx, t, api, cfg, im.neverReady)
		assert.True(t, rep.Failed())
		c := caseOf(t, rep, "smoke", "image becomes ready")
		assert.Equal(t, imagetest.Fail, c.Status)
		assert.Contains(t, c.Message, "not ready after 20s: GET /readyz on port 8000 last answered 503")
		assert.Contains(t, c.Message, "SSL", "the cause, from the server's answer")
		assert.Contains(t, c.Message, "raise "+smoke.FieldTimeout, "without names, the field is named as it is")
		assert.NotEmpty(t, c.Output, "the logs are shown")
		assert.Equal(t, imagetest.Skip, caseOf(t, rep, "smoke", "image stops on its stop signal").Status)
	})

	t.Run("service that fails to start", func(t *testing.T) {
		cfg := imagetest.Config{Smoke: shopSmoke(im.postgres, password), SmokeMode: imagetest.SmokeOn,
			Policy: policy.Config{Modes: map[policy.Check]policy.Mode{policy.Secrets: policy.Off}}}
		delete(cfg.Smoke.Services[0].Secrets, "POSTGRES_PASSWORD")
		rep := testImage(ctx, t, api, cfg, im.shop)
		c := caseOf(t, rep, "smoke", "service db starts")
		assert.Equal(t, imagetest.Fail, c.Status)
		assert.Contains(t, c.Message, "exited with code 1 before it was ready")
		assert.Contains(t, c.Output, "POSTGRES_PASSWORD is empty", "the service's logs are shown")
		assert.Equal(t, imagetest.Skip, caseOf(t, rep, "smoke", "image starts").Status)
	})
}
