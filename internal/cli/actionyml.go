package cli

import (
	"encoding/json"
	"fmt"
	"strings"
)

// outputs are the action's step outputs, in the order action.yml lists them.
var outputs = []struct{ name, description string }{
	{"digest", "Digest of the image (sha256:...)"},
	{"image", "The image by digest in the first registry that took it (<repository>@sha256:...)"},
	{"refs", "The image by digest in every registry that took it, one per line"},
	{"tags", "The tags written, comma-separated"},
	{"test-result", "passed or failed: the test stage's verdict"},
	{"verdict", "succeeded, failed or dry-run: the deploy stage's verdict"},
	{"rolled-back", "true when the failed release was rolled back and the restore rolled out"},
	{"cause", "Why the rollout failed (reason: message), empty when it did not"},
	{"resources", "The objects applied, one per line (Deployment shop/web)"},
}

var groupTitles = map[string]string{
	"run":    "Pipeline",
	"build":  "Stage build: a Dockerfile through BuildKit, or files on a base image without a daemon",
	"tag":    "Tags and labels",
	"test":   "Stage test: policy checks read from the image, structure tests, a smoke run with services",
	"push":   "Stage push",
	"deploy": "Stage deploy: render, pin by digest, server-side apply, watch to a verdict, roll back on failure",
}

// ActionYAML renders action.yml from the inputs table, so that the action's
// inputs and the CLI's flags are one list. A test keeps the committed file equal
// to this.
func ActionYAML() []byte {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // JSON strings are YAML double-quoted scalars
	var b strings.Builder
	b.WriteString(`# Generated from internal/cli/inputs.go by "go test ./internal/cli -run TestActionYAML -update"; edit that table, not this file.
name: deploy-action
description: Build, test and push a container image to every registry at once, from git push to a verified release.
author: deploy-action
branding:
  icon: upload-cloud
  color: blue
inputs:
`)
	group := ""
	for _, in := range inputs {
		if in.group != group {
			group = in.group
			fmt.Fprintf(&b, "  # %s\n", groupTitles[group])
		}
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.name, q(in.usage))
		def := in.def
		if in.actions != "" {
			def = in.actions
		}
		if def != "" {
			fmt.Fprintf(&b, "    default: %s\n", q(def))
		}
	}
	b.WriteString("outputs:\n")
	for _, o := range outputs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n", o.name, q(o.description))
	}
	b.WriteString(`runs:
  using: docker
  image: Dockerfile
  args:
    - run
`)
	return []byte(b.String())
}
