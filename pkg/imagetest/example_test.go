package imagetest_test

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// The test stage as the CLI and the action run it: a Config (the CLI reads it
// from the inputs), validated once, the image tested, the report written as
// JUnit and shown, and the exit code set by the verdict.
func Example() {
	cfg := imagetest.Config{
		SmokeMode: imagetest.SmokeAuto,
		Smoke: smoke.Config{
			Services: []smoke.Service{{Name: "db", Image: "shop-postgres",
				Secrets: map[string]string{"POSTGRES_PASSWORD": "secret"}}},
			Env:         map[string]string{"LOG_LEVEL": "info"},
			Secrets:     map[string]string{"DATABASE_URL": "postgresql://postgres:secret@db/postgres"},
			ReadyPath:   "/readyz",
			TestCommand: []string{"python3", "-m", "shop", "migrate", "--wait", "30"},
		},
	}
	tester, err := imagetest.New(cfg, imagetest.WithLog(os.Stderr))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tester.Close()

	var img v1.Image // the built image; "shop:dev" is its name in the engine, if BuildKit built it
	rep, err := tester.Test(context.Background(), img, "shop:dev")
	if err != nil {
		fmt.Println(err) // interrupted
	}
	if f, err := os.Create("image-test.xml"); err == nil {
		_ = rep.JUnit(f)
		f.Close()
	}
	fmt.Print(rep.Text()) // the CLI output
	_ = rep.Markdown()    // the job summary
	if rep.Failed() {
		os.Exit(1) // nothing is pushed
	}
}
