package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
)

// The Debian client: the newer one some machines carry on PATH has no buildx and fails
// with BuildKit.
const debianDocker = "/usr/bin/docker"

// TestShop builds the sample shop and its PostgreSQL, runs them on a private network the
// way a release would (migrate, then serve), and checks what a smoke test of the product
// relies on: readiness, an order written to PostgreSQL, metrics, a graceful stop.
func TestShop(t *testing.T) {
	d := newDockerCLI(t)
	ctx := t.Context()
	run := "shop-e2e-" + randomHex(t, 4)

	// The test target runs the shop's unit tests inside the image.
	d.build(ctx, "testdata/shop", run+"-unit", "test")
	shopImage := d.build(ctx, "testdata/shop", run+"-shop", "")
	pgImage := d.build(ctx, "testdata/postgres", run+"-pg", "")

	t.Run("image", func(t *testing.T) {
		var cfg struct {
			User         string
			Entrypoint   []string
			ExposedPorts map[string]struct{}
			Healthcheck  *struct{ Test []string }
		}
		require.NoError(t, json.Unmarshal([]byte(d.out(ctx, "image", "inspect", "-f", "{{json .Config}}", shopImage)), &cfg))
		assert.Equal(t, "10001:10001", cfg.User, "a fixed, non-root UID")
		assert.Equal(t, []string{"python3", "-m", "shop"}, cfg.Entrypoint, "exec form")
		assert.Contains(t, cfg.ExposedPorts, "8000/tcp")
		if assert.NotNil(t, cfg.Healthcheck) {
			assert.Equal(t, []string{"CMD", "python3", "-m", "shop", "healthcheck"}, cfg.Healthcheck.Test)
		}
	})

	network := run
	d.out(ctx, "network", "create", "--label", "org.deploy-action.e2e="+run, network)
	t.Cleanup(func() { d.cleanup(network, run) })

	const password = `s3cret"with'quotes`
	pg := d.out(ctx, "run", "-d", "--name", run+"-db", "--network", network, "--network-alias", "db",
		"--label", "org.deploy-action.e2e="+run,
		"-e", "POSTGRES_USER=shop", "-e", "POSTGRES_PASSWORD="+password, "-e", "POSTGRES_DB=shop", pgImage)
	start := time.Now()
	d.waitHealthy(ctx, pg, 2*time.Minute)
	t.Logf("postgres healthy in %s", time.Since(start).Round(10*time.Millisecond))

	dbURL := (&url.URL{Scheme: "postgresql", User: url.UserPassword("shop", password), Host: "db:5432", Path: "/shop"}).String()
	migrate := func() []int {
		out := d.out(ctx, "run", "--rm", "--network", network, "--label", "org.deploy-action.e2e="+run,
			"-e", "DATABASE_URL="+dbURL, shopImage, "migrate", "--wait", "30")
		return migrationsApplied(t, out)
	}
	start = time.Now()
	assert.Equal(t, []int{1, 2}, migrate(), "first run creates the schema and catalogue")
	assert.Empty(t, migrate(), "second run applies nothing")
	t.Logf("migrated twice in %s", time.Since(start).Round(10*time.Millisecond))

	// As locked down as a careful Kubernetes pod: read-only root filesystem, no capabilities.
	shop := d.out(ctx, "run", "-d", "--name", run+"-shop", "--network", network,
		"--label", "org.deploy-action.e2e="+run, "-p", "127.0.0.1::8000", "-e", "DATABASE_URL="+dbURL,
		"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", shopImage)
	addr := d.out(ctx, "port", shop, "8000/tcp")
	base := "http://" + firstLine(addr)
	client := &http.Client{Timeout: 10 * time.Second}
	start = time.Now()
	waitReady(ctx, t, client, base+"/readyz", 60*time.Second, func() string { return d.logs(shop) })
	t.Logf("shop ready in %s", time.Since(start).Round(10*time.Millisecond))

	t.Run("gunicorn is PID 1 as the shop user", func(t *testing.T) {
		cmdline := d.out(ctx, "exec", shop, "cat", "/proc/1/cmdline")
		assert.Contains(t, strings.ReplaceAll(cmdline, "\x00", " "), "gunicorn --config python:shop.gunicorn_conf")
		assert.Equal(t, "10001", d.out(ctx, "exec", shop, "id", "-u"))
	})

	t.Run("order round trip", func(t *testing.T) {
		before := getProduct(t, client, base, 1)
		status, body := httpDo(t, client, http.MethodPost, base+"/api/orders",
			`{"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 2}, {"product_id": 2}]}`)
		require.Equal(t, http.StatusCreated, status, body)
		var order struct {
			ID         int `json:"id"`
			TotalCents int `json:"total_cents"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &order))
		second := getProduct(t, client, base, 2)
		assert.Equal(t, 2*before.PriceCents+second.PriceCents, order.TotalCents)
		assert.Equal(t, before.Stock-2, getProduct(t, client, base, 1).Stock, "stock is written to PostgreSQL")

		status, again := httpDo(t, client, http.MethodGet, fmt.Sprintf("%s/api/orders/%d", base, order.ID), "")
		assert.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, body, again)

		status, body = httpDo(t, client, http.MethodPost, base+"/api/orders", `{"items": [{"product_id": 3, "quantity": 100}]}`)
		assert.Equal(t, http.StatusConflict, status, body)
		assert.Contains(t, body, "in stock")
	})

	t.Run("metrics", func(t *testing.T) {
		status, text := httpDo(t, client, http.MethodGet, base+"/metrics", "")
		require.Equal(t, http.StatusOK, status)
		samples := parseExposition(text)
		assert.Equal(t, 1.0, samples[`shop_orders_total{}`], "one order placed")
		assert.Equal(t, 1.0, samples[`shop_http_requests_total{method="POST",route="/api/orders",status="201"}`])
		assert.Equal(t, 1.0, samples[`shop_http_requests_total{method="POST",route="/api/orders",status="409"}`])
		assert.GreaterOrEqual(t, samples[`shop_http_requests_total{method="GET",route="/api/products/<int:product_id>",status="200"}`], 3.0)
		assert.Equal(t, 1.0, samples[`shop_http_request_duration_seconds_count{method="POST",route="/api/orders",status="201"}`])
	})

	t.Run("graceful stop", func(t *testing.T) {
		// Exit code 0, not 137: gunicorn received SIGTERM and stopped before the kill.
		d.out(ctx, "stop", "-t", "30", shop)
		assert.Equal(t, "0", d.out(ctx, "inspect", "-f", "{{.State.ExitCode}}", shop))
		assert.Contains(t, d.logs(shop), `"message":"Handling signal: term"`)
	})
}

// dockerCLI runs the Debian docker client against the engine testenv found.
type dockerCLI struct {
	t   *testing.T
	env []string
}

func newDockerCLI(t *testing.T) *dockerCLI {
	t.Helper()
	host := testenv.DockerHost(t)
	_, err := os.Stat(debianDocker)
	testenv.Require(t, err == nil, "the Debian docker client "+debianDocker, "run `make setup` (hack/setup.sh) to install docker.io")
	return &dockerCLI{t: t, env: append(os.Environ(), "DOCKER_HOST="+host, "DOCKER_BUILDKIT=1")}
}

func (d *dockerCLI) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, debianDocker, args...)
	cmd.Env = d.env
	return cmd
}

// out runs docker and returns its trimmed stdout; any failure ends the test with stderr.
func (d *dockerCLI) out(ctx context.Context, args ...string) string {
	d.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := d.cmd(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("docker %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), tail(stderr.String(), 40))
	}
	return strings.TrimSpace(stdout.String())
}

// build builds dir (optionally one target) as image name, logs how long it took and
// removes the tag when the test ends; BuildKit's cache keeps the layers for the next run.
func (d *dockerCLI) build(ctx context.Context, dir, name, target string) string {
	d.t.Helper()
	image := "deploy-action-e2e/" + name
	args := []string{"build", "--progress=plain", "-t", image}
	if target != "" {
		args = append(args, "--target", target)
	}
	start := time.Now()
	out, err := d.cmd(ctx, append(args, dir)...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("building %s (target %q): %v\n%s", dir, target, err, tail(string(out), 60))
	}
	d.t.Logf("built %s target %q in %s", dir, target, time.Since(start).Round(10*time.Millisecond))
	d.t.Cleanup(func() { _ = d.cmd(context.Background(), "image", "rm", image).Run() })
	return image
}

func (d *dockerCLI) logs(container string) string {
	out, _ := d.cmd(context.Background(), "logs", "--tail", "50", container).CombinedOutput()
	return string(out)
}

// cleanup removes every container labelled with this run (anonymous volumes too), then
// the network. It runs after the test's context is cancelled, hence a fresh one.
func (d *dockerCLI) cleanup(network, run string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids, err := d.cmd(ctx, "ps", "-aq", "--filter", "label=org.deploy-action.e2e="+run).Output()
	if err != nil {
		d.t.Errorf("listing containers of %s: %v", run, err)
	}
	if ids := strings.Fields(string(ids)); len(ids) > 0 {
		if out, err := d.cmd(ctx, append([]string{"rm", "-f", "-v"}, ids...)...).CombinedOutput(); err != nil {
			d.t.Errorf("removing containers of %s: %v: %s", run, err, out)
		}
	}
	if out, err := d.cmd(ctx, "network", "rm", network).CombinedOutput(); err != nil {
		d.t.Errorf("removing network %s: %v: %s", network, err, out)
	}
}

// waitHealthy waits for the container's HEALTHCHECK to pass.
func (d *dockerCLI) waitHealthy(ctx context.Context, container string, limit time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		state := d.out(ctx, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", container)
		switch {
		case state == "running healthy":
			return
		case !strings.HasPrefix(state, "running"):
			d.t.Fatalf("container %s stopped (%s):\n%s", container, state, d.logs(container))
		case time.Now().After(deadline):
			d.t.Fatalf("container %s not healthy after %s (%s):\n%s", container, limit, state, d.logs(container))
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

func waitReady(ctx context.Context, t *testing.T, client *http.Client, url string, limit time.Duration, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, b)
		} else {
			last = err.Error()
		}
		sleep(ctx, 250*time.Millisecond)
	}
	t.Fatalf("%s not ready after %s: %s\n%s", url, limit, last, logs())
}

type product struct {
	ID         int `json:"id"`
	PriceCents int `json:"price_cents"`
	Stock      int `json:"stock"`
}

func getProduct(t *testing.T, client *http.Client, base string, id int) product {
	t.Helper()
	status, body := httpDo(t, client, http.MethodGet, fmt.Sprintf("%s/api/products/%d", base, id), "")
	require.Equal(t, http.StatusOK, status, body)
	var p product
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	return p
}

func httpDo(t *testing.T, client *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// migrationsApplied reads the versions from the migrate command's last JSON log line.
func migrationsApplied(t *testing.T, logs string) []int {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var entry struct {
			Message string `json:"message"`
			Applied []int  `json:"applied"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "schema up to date" {
			return entry.Applied
		}
	}
	t.Fatalf("migrate did not report \"schema up to date\":\n%s", logs)
	return nil
}

// parseExposition maps `name{labels}` to the value, for the Prometheus text format as
// prometheus_client writes it (labels sorted, as the multiprocess collector does).
func parseExposition(text string) map[string]float64 {
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		key := line[:i]
		if !strings.HasSuffix(key, "}") {
			key += "{}"
		}
		samples[key] = v
	}
	return samples
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
