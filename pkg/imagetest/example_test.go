package imagetest_test

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/imagetest"
)

// The test stage as the CLI and the action run it: the inputs read into a Config,
// validated once, the image tested, the report written as JUnit and shown, and the
// exit code set by the verdict.
func Example() {
	inputs := map[string]string{
		"services":      "db:\n  image: shop-postgres\n  secrets:\n    POSTGRES_PASSWORD: secret\n",
		"smoke-env":     "LOG_LEVEL=info",
		"smoke-secrets": "DATABASE_URL=postgresql://postgres:secret@db/postgres",
		"ready-path":    "/readyz",
		"test-command":  "python3 -m shop migrate --wait 30",
		"junit":         "image-test.xml",
	}
	cfg, err := imagetest.ConfigFromInputs(func(k string) string { return inputs[k] }, ".")
	if err != nil {
		fmt.Println(err) // names the input, what is wrong and the fix
		return
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
	if f, err := os.Create(inputs["junit"]); err == nil {
		_ = rep.JUnit(f)
		f.Close()
	}
	fmt.Print(rep.Text()) // the CLI output
	_ = rep.Markdown()    // the job summary
	if rep.Failed() {
		os.Exit(1) // nothing is pushed
	}
}
