package audit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/audit"
)

const (
	checkout  = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
	da        = "deploy-action/deploy-action@f6d333e44e8a725b516ff60904ddec697c672aab # main"
	pgDigest  = "postgres:17@sha256:d74eeac9a635390a49bc21bd49fccd973de707e2a53a76ac49b552b8712ec46f"
	testSteps = `      - uses: ` + checkout + `
        with: {persist-credentials: false}
      - run: python -m pytest
`
)

// ruleCase is a minimal workflow and where the rule must report (line:col), or nothing.
type ruleCase struct {
	name, rule, yaml string
	want             []string // "line:col severity"; nil for a negative case
}

var ruleCases = []ruleCase{
	// template-injection
	{"issue title in run", "template-injection", `on: issues
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo start
          echo "${{ github.event.issue.title }}"
`, []string{"9:17 error"}},
	{"head_ref in github-script", "template-injection", `on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1
        with:
          script: console.log("${{ github.head_ref }}")
`, []string{"9:32 error"}},
	{"dispatch input in run", "template-injection", `on:
  workflow_dispatch:
    inputs:
      who: {type: string}
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ inputs.who }}
`, []string{"10:19 warning"}},
	{"through env, compared, or trusted", "template-injection", `on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - name: ${{ github.event.pull_request.title }}
        env:
          TITLE: ${{ github.event.pull_request.title }}
        run: |
          echo "$TITLE" ${{ github.sha }} ${{ github.event.pull_request.number }}
          echo ${{ contains(github.event.pull_request.body, 'x') }} ${{ github.head_ref == 'main' }}
`, nil},

	// unpinned-uses
	{"tag, branch, short sha, docker tag", "unpinned-uses", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache/save@main
      - uses: actions/checkout@3d3c42e
      - uses: docker://alpine:3.20
  b:
    uses: acme/workflows/.github/workflows/ci.yml@v1
`, []string{"7:15 error", "8:15 error", "9:15 error", "10:15 error", "12:11 error"}},
	{"sha, local, docker digest", "unpinned-uses", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: ` + checkout + `
      - uses: ./.github/actions/setup
      - uses: docker://alpine@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
  b:
    uses: ./.github/workflows/ci.yml
`, nil},

	// ref-version-mismatch
	{"comment names another version", "ref-version-mismatch", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v4.2.2
`, []string{"7:73 warning"}},
	{"comment right, floating, or unknown", "ref-version-mismatch", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # tag=v5.0.0
      - uses: acme/unknown@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v9
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8
`, nil},

	// excessive-permissions
	{"none at the top", "excessive-permissions", `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`, []string{"1:1 error"}},
	{"write-all, read-all, unused write, shared write", "excessive-permissions", `on: push
permissions:
  contents: write
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: write-all
    steps:
      - run: "true"
  b:
    runs-on: ubuntu-latest
    permissions: read-all
    steps:
      - run: "true"
  c:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
    steps:
      - uses: ` + checkout + `
  d:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
  e:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`, []string{"3:3 warning", "7:18 error", "12:18 warning", "19:7 warning"}},
	{"least privilege, or a step that may use it", "excessive-permissions", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
    steps:
      - run: docker push ghcr.io/acme/shop:1.0.0
  b:
    runs-on: ubuntu-latest
    permissions:
      issues: write
    steps:
      - run: gh issue comment 1 --body hi
  c:
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: acme/unknown-action@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v1
`, nil},

	// artipacked
	{"checkout persists credentials", "artipacked", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
  b:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/upload-artifact@v4
        with: {name: site, path: .}
`, []string{"7:15 warning", "11:15 error"}},
	{"persist-credentials set", "artipacked", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: actions/checkout@v4
        with:
          persist-credentials: true
`, nil},

	// dangerous-triggers
	{"pull_request_target and workflow_run", "dangerous-triggers", `on:
  pull_request_target:
  workflow_run:
    workflows: [ci]
    types: [completed]
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`, []string{"2:3 error", "3:3 error"}},
	{"pull_request", "dangerous-triggers", `on: [pull_request, push]
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`, nil},

	// cache-poisoning
	{"cache in a publishing job on tags", "cache-poisoning", `on:
  push:
    tags: ["v*"]
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-node@v4
        with: {cache: npm}
      - uses: actions/cache@v4
        with: {path: x, key: k}
      - run: npm publish
`, []string{"9:15 error", "11:15 error"}},
	{"cache off release runs, or in a job that publishes nothing", "cache-poisoning", `on:
  push:
    tags: ["v*"]
    branches: [main]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-node@v4
        with: {cache: npm}
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-go@v5
        with: {cache: false}
      - uses: actions/cache@v4
        if: ${{ !startsWith(github.ref, 'refs/tags/') }}
        with: {path: x, key: k}
      - run: docker push acme/shop:1.0.0
`, nil},

	// secrets-inherit
	{"inherit", "secrets-inherit", `on: push
permissions: {}
jobs:
  call:
    uses: ./.github/workflows/deploy.yml
    secrets: inherit
`, []string{"6:5 warning"}},
	{"named secrets", "secrets-inherit", `on: push
permissions: {}
jobs:
  call:
    uses: ./.github/workflows/deploy.yml
    secrets:
      TOKEN: ${{ secrets.TOKEN }}
`, nil},

	// secrets-outside-env
	{"secret in a job without environment", "secrets-outside-env", `on: push
permissions: {}
env:
  A: ${{ secrets.WORKFLOW_WIDE }}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
        env:
          KEY: ${{ secrets['API_KEY'] }}
`, []string{"4:10 warning", "11:20 warning"}},
	{"environment, or GITHUB_TOKEN", "secrets-outside-env", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: ./deploy.sh
        env:
          KEY: ${{ secrets.API_KEY }}
  b:
    runs-on: ubuntu-latest
    steps:
      - run: gh release view
        env:
          GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
`, nil},

	// overprovisioned-secrets
	{"the whole context", "overprovisioned-secrets", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: ./deploy.sh
        env:
          ALL: ${{ toJSON(secrets) }}
          ONE: ${{ secrets[format('KEY_{0}', github.ref_name)] }}
`, []string{"10:27 error", "11:20 error"}},
	{"named secrets", "overprovisioned-secrets", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: ./deploy.sh
        env:
          ONE: ${{ secrets.KEY }}
`, nil},

	// hardcoded-container-credentials
	{"password in container, service, docker login", "hardcoded-container-credentials", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    container:
      image: ghcr.io/acme/ci@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
      credentials:
        username: acme
        password: hunter2
    services:
      db:
        image: ` + pgDigest + `
        credentials:
          username: acme
          password: "s3cret!"
    steps:
      - run: docker login -u acme -p hunter3 ghcr.io
`, []string{"10:19 error", "16:21 error", "18:38 error"}},
	{"passwords from secrets", "hardcoded-container-credentials", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    container:
      image: ghcr.io/acme/ci@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
      credentials:
        username: acme
        password: ${{ secrets.GHCR_TOKEN }}
    steps:
      - run: echo "$PW" | docker login -u acme --password-stdin ghcr.io
      - run: docker login -u acme -p "$PW" ghcr.io
`, nil},

	// unpinned-images
	{"images by tag or latest", "unpinned-images", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    container: node:22
    services:
      db:
        image: postgres
      cache:
        image: redis:latest
    steps:
      - run: "true"
`, []string{"6:16 warning", "9:16 warning", "11:16 warning"}},
	{"images by digest", "unpinned-images", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    services:
      db:
        image: ` + pgDigest + `
      app:
        image: ${{ matrix.image }}
    steps:
      - run: "true"
`, nil},

	// github-env
	{"untrusted data into GITHUB_ENV", "github-env", `on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - env:
          BRANCH: ${{ github.head_ref }}
        run: |
          echo "checking"
          echo "BRANCH=$BRANCH" >> "$GITHUB_ENV"
`, []string{"11:38 error"}},
	{"any write under a dangerous trigger", "github-env", `on: workflow_run
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "$HOME/bin" >> $GITHUB_PATH
`, []string{"7:35 error"}},
	{"trusted data", "github-env", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "SHA=${{ github.sha }}" >> "$GITHUB_ENV"
          echo "$HOME/bin" >> $GITHUB_PATH
`, nil},

	// insecure-commands
	{"unsecure commands allowed", "insecure-commands", `on: push
permissions: {}
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: true
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "ACTIONS_ALLOW_UNSECURE_COMMANDS=true" >> $GITHUB_ENV
`, []string{"4:3 error", "9:20 error"}},
	{"not allowed", "insecure-commands", `on: push
permissions: {}
env:
  ACTIONS_ALLOW_UNSECURE_COMMANDS: false
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`, nil},

	// concurrency-limits
	{"deploys unguarded, cancelled, or per run", "concurrency-limits", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -f k8s/
  b:
    runs-on: ubuntu-latest
    concurrency:
      group: deploy
      cancel-in-progress: true
    steps:
      - run: helm upgrade --install shop chart/
  c:
    runs-on: ubuntu-latest
    concurrency: {group: "deploy-${{ github.run_id }}"}
    steps:
      - run: kubectl apply -f k8s/
`, []string{"4:3 warning", "12:27 warning", "17:26 warning"}},
	{"deploys queued, tests cancelled", "concurrency-limits", `on: push
permissions: {}
concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: go test ./...
  deploy:
    runs-on: ubuntu-latest
    concurrency: {group: deploy-production, cancel-in-progress: false}
    steps:
      - run: kubectl apply -f k8s/
`, nil},

	// long-lived-cloud-keys
	{"static keys and a kubeconfig on disk", "long-lived-cloud-keys", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - uses: google-github-actions/auth@v2
        with:
          credentials_json: ${{ secrets.GCP_SA_KEY }}
      - run: echo "$KC" > ~/.kube/config
        env:
          KC: ${{ secrets.KUBECONFIG }}
`, []string{"10:34 error", "11:38 error", "15:33 error", "18:19 warning"}},
	{"OIDC, and a kubeconfig to deploy-action behind an environment", "long-lived-cloud-keys", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    environment: production
    permissions: {id-token: write}
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/deploy
          aws-region: us-east-1
      - uses: ` + da + `
        with:
          stages: deploy
          manifests: k8s/
          kubeconfig: ${{ secrets.KUBECONFIG }}
`, nil},

	// deploy-without-test
	{"no test before the deploy", "deploy-without-test", `on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: docker build -t shop .
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -f k8s/
      - run: pytest
`, []string{"8:3 error"}},
	{"a test job upstream, or a test step first", "deploy-without-test", `on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: go test ./...
  build:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - run: docker build -t shop .
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -f k8s/
  one:
    runs-on: ubuntu-latest
    steps:
      - run: npm test
      - run: kubectl apply -f k8s/
`, nil},

	// mutable-tag-deployed
	{"deploy by tag", "mutable-tag-deployed", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          docker push acme/shop:latest
          kubectl set image deployment/shop shop=acme/shop:1.2.3
          helm upgrade shop chart/ --set image.tag=1.2.3
      - uses: azure/k8s-deploy@v5
        with:
          manifests: k8s/
          images: |
            acme/shop:1.2.3
`, []string{"8:33 error", "9:50 error", "10:52 error", "15:13 error"}},
	{"deploy by digest", "mutable-tag-deployed", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: push
        uses: docker/build-push-action@v6
        with: {push: true, tags: "acme/shop:latest"}
      - run: kubectl set image deployment/shop shop=acme/shop@${{ steps.push.outputs.digest }}
      - uses: azure/k8s-deploy@v5
        with:
          manifests: k8s/
          images: acme/shop@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
`, nil},

	// no-rollback
	{"nothing undoes the deploy", "no-rollback", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo deploying
          kubectl apply -f k8s/
      - uses: ` + da + `
        with: {stages: deploy, manifests: k8s/, rollback: false}
`, []string{"9:11 warning"}},
	{"rollout undo, helm --atomic, deploy-action", "no-rollback", `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -f k8s/ && kubectl rollout status deploy/shop --timeout=5m
      - if: failure()
        run: kubectl rollout undo deploy/shop
  b:
    runs-on: ubuntu-latest
    steps:
      - run: helm upgrade --install --atomic shop chart/
  c:
    runs-on: ubuntu-latest
    steps:
      - uses: ` + da + `
        with: {stages: deploy, manifests: k8s/}
`, nil},

	// production-without-environment
	{"production without environment", "production-without-environment", `on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -f k8s/
  deploy-prod:
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -n production -f k8s/
`, []string{"4:3 error", "8:3 error"}},
	{"environment, or staging", "production-without-environment", `on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: kubectl apply -f k8s/
  deploy-staging:
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -n staging -f k8s/
`, nil},
}

func TestRules(t *testing.T) {
	t.Parallel()
	covered := map[string][2]bool{}
	for _, tc := range ruleCases {
		c := covered[tc.rule]
		c[0] = c[0] || tc.want != nil
		c[1] = c[1] || tc.want == nil
		covered[tc.rule] = c
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			fs, err := audit.Workflow("w.yml", []byte(tc.yaml), audit.WithRules(tc.rule), audit.WithActionlint(false), audit.WithPins(pins))
			require.NoError(t, err)
			var got []string
			for _, f := range fs {
				require.Equal(t, tc.rule, f.Rule)
				assert.NotEmpty(t, f.Message)
				assert.NotEmpty(t, f.Fix)
				got = append(got, fmt.Sprintf("%d:%d %s", f.Line, f.Column, f.Severity))
			}
			assert.Equal(t, tc.want, got, "%s", strings.Join(lines(fs), "\n"))
		})
	}
	for _, r := range audit.RuleNames() {
		assert.Equal(t, [2]bool{true, true}, covered[r], "rule %s needs a positive and a negative case", r)
	}
}

func lines(fs []audit.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

// TestSecretsNeverPrinted: a password written into a workflow is reported, never repeated.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	for _, tc := range ruleCases {
		if tc.rule != "hardcoded-container-credentials" || tc.want == nil {
			continue
		}
		fs, err := audit.Workflow("w.yml", []byte(tc.yaml))
		require.NoError(t, err)
		for _, f := range fs {
			for _, pw := range []string{"hunter2", "hunter3", "s3cret!"} {
				assert.NotContains(t, f.String(), pw)
			}
		}
	}
}
