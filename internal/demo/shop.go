package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"time"

	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// PostgresImage is the PostgreSQL the shop's smoke run starts, built from
// the checkout once and kept in the engine.
const PostgresImage = "deploy-action-demo/postgres:17"

// shopApp is the seed's shop: built through BuildKit, tested (policy checks,
// structure tests, a smoke run against PostgreSQL), deployed with its
// migration Job. It returns a Skip instead when the shop cannot be built
// here.
func shopApp(ctx context.Context, rep *report.Reporter, host string, o Options) (*app, *Skip, error) {
	const part = "the shop (built through BuildKit, tested against PostgreSQL)"
	if o.ShopDir == "" {
		return nil, &Skip{Part: part, Reason: "--shop is empty", Enable: "make demo"}, nil
	}
	if !exists(filepath.Join(o.ShopDir, "Dockerfile")) {
		return nil, &Skip{Part: part, Reason: "no Dockerfile in " + o.ShopDir, Enable: "make demo (from the repository's checkout)"}, nil
	}
	// One engine client for the builds and the tests, closed after them.
	api, err := ping(ctx, o)
	if err != nil {
		return nil, &Skip{Part: part, Reason: fmt.Sprintf("no Docker engine answers (%v)", err), Enable: EnableEngine}, nil
	}
	keep := false
	defer func() {
		if !keep {
			api.Close()
		}
	}()
	if _, err := api.ImageInspect(ctx, BaseImage); err != nil {
		return nil, &Skip{Part: part, Reason: "the engine has no " + BaseImage + " to build from", Enable: EnableEngine}, nil
	}
	testdata := filepath.Dir(o.ShopDir)
	hostOpts := []dockerfile.Option{dockerfile.WithDockerClient(api)}

	end := rep.Group("postgres: the shop's database for its smoke run")
	if _, err := api.ImageInspect(ctx, PostgresImage); err == nil {
		rep.Infof("%s is in the engine", PostgresImage)
	} else {
		rep.Infof("building %s from %s (first run: a few minutes, Debian's postgresql-17 is installed)", PostgresImage, filepath.Join(testdata, "postgres"))
		start := time.Now()
		b, err := dockerfile.New(dockerfile.Request{ContextDir: filepath.Join(testdata, "postgres"), Tag: PostgresImage}, hostOpts...)
		if err != nil {
			end()
			return nil, nil, err
		}
		_, err = b.Build(ctx)
		b.Close()
		if err != nil {
			end()
			return nil, nil, fmt.Errorf("demo: building PostgreSQL: %w", err)
		}
		rep.Infof("built %s in %s", PostgresImage, time.Since(start).Round(100*time.Millisecond))
	}
	end()

	builder, err := dockerfile.New(dockerfile.Request{ContextDir: o.ShopDir}, hostOpts...)
	if err != nil {
		return nil, nil, err
	}
	password := randomHex()
	rep.Secret(password)
	w, flush := rep.Writer()
	tester, err := imagetest.New(imagetest.Config{
		StructureTests: []string{filepath.Join(testdata, "imagetest", "shop.yaml")},
		Smoke:          shopSmoke(password),
		SmokeMode:      imagetest.SmokeOn,
	}, imagetest.WithDockerClient(api), imagetest.WithLog(w), imagetest.WithMasker(rep.Masker()))
	if err != nil {
		builder.Close()
		return nil, nil, err
	}
	keep = true
	return &app{
		name: "shop", repo: host + "/acme/shop", builder: builder, tester: tester,
		manifests: filepath.Join(o.ShopDir, "k8s"), image: "docker.io/acme/shop",
		// In order: the engine client goes after the stages that use it, and
		// the test's last partial log line is written out.
		closers: []io.Closer{builder, tester, closeFunc(func() error { flush(); return nil }), api},
	}, nil, nil
}

// closeFunc is a function as an io.Closer.
type closeFunc func() error

func (f closeFunc) Close() error { return f() }

// shopSmoke runs the shop against PostgreSQL: the schema migrated and the
// catalogue read back by a command inside the image, as the shop's own CI
// would.
func shopSmoke(password string) smoke.Config {
	dbURL := (&url.URL{Scheme: "postgresql", User: url.UserPassword("shop", password), Host: "db:5432", Path: "/shop"}).String()
	return smoke.Config{
		Services: []smoke.Service{{
			Name: "db", Image: PostgresImage,
			Env: map[string]string{"POSTGRES_USER": "shop", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "shop"},
		}},
		Env:       map[string]string{"DATABASE_URL": dbURL, "WEB_CONCURRENCY": "1"},
		ReadyPath: "/readyz",
		TestCommand: []string{"sh", "-c", `python3 -m shop migrate --wait 30 && python3 -c '
import json, urllib.request
products = json.load(urllib.request.urlopen("http://app:8000/api/products", timeout=5))["products"]
assert products, "the catalogue is empty"
print("catalogue:", len(products), "products")'`},
		GracePeriod: 5 * time.Second,
		Timeout:     2 * time.Minute,
	}
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
