package audit

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/rhysd/actionlint"
)

var (
	awsKey   = regexp.MustCompile(`(?i)AWS.*(KEY|SECRET)|ACCESS_KEY_ID|SECRET_ACCESS_KEY`)
	gcpKey   = regexp.MustCompile(`(?i)(GCP|GCLOUD|GOOGLE|GKE).*(KEY|CREDENTIAL|SA_JSON)|SERVICE_ACCOUNT_KEY|CREDENTIALS_JSON`)
	azureKey = regexp.MustCompile(`(?i)AZURE_CREDENTIALS|AZURE.*CLIENT_SECRET|ARM_CLIENT_SECRET`)
	kubeconf = regexp.MustCompile(`(?i)KUBE_?CONF|K8S_?CONF|CLUSTER_?CONFIG`)
)

// staticKeyInputs are action inputs that take a long-lived cloud credential.
var staticKeyInputs = map[string][]string{
	"aws-actions/configure-aws-credentials": {"aws-access-key-id", "aws-secret-access-key"},
	"google-github-actions/auth":            {"credentials_json"},
	"azure/login":                           {"creds"},
}

const (
	awsFix   = "log in through OIDC: permissions: {id-token: write} on the job and aws-actions/configure-aws-credentials with role-to-assume (an IAM role trusting token.actions.githubusercontent.com for this repository); then delete the keys"
	gcpFix   = "log in through OIDC: permissions: {id-token: write} and google-github-actions/auth with workload_identity_provider and service_account; then delete the key"
	azureFix = "log in through OIDC: permissions: {id-token: write} and azure/login with client-id, tenant-id and subscription-id (a federated credential); then delete the client secret"
	kubeFix  = "on EKS, GKE or AKS, get cluster access through OIDC (id-token: write, the cloud's login action, then aws eks update-kubeconfig, get-gke-credentials or aks-set-context); elsewhere use a kubeconfig of a namespaced ServiceAccount, kept as an environment secret and passed to deploy-action's kubeconfig input (masked, never written to disk)"
)

func checkLongLivedCloudKeys(f *file) {
	const rule = "long-lived-cloud-keys"
	// One finding a line: a key input holding a key secret is one fault, reported at the secret.
	seen := map[int]bool{}
	report := func(pos *actionlint.Pos, sev Severity, fix, format string, args ...any) {
		if !seen[pos.Line] {
			seen[pos.Line] = true
			f.add(pos, rule, sev, fix, format, args...)
		}
	}
	for _, j := range f.jobs {
		fa := f.factsOf(j)
		for _, u := range secretUses(fa.strs) {
			pos := f.posIn(u.s, u.ref.offset)
			n := u.ref.name
			switch {
			case n == "":
			case awsKey.MatchString(n):
				report(pos, Error, awsFix, "secrets.%s is a static AWS access key: it works from anywhere until someone rotates it", n)
			case gcpKey.MatchString(n):
				report(pos, Error, gcpFix, "secrets.%s is a Google Cloud service account key: it works from anywhere until someone rotates it", n)
			case azureKey.MatchString(n):
				report(pos, Error, azureFix, "secrets.%s is an Azure client secret: it works from anywhere until it expires", n)
			case kubeconf.MatchString(n):
				if why := kubeconfigRisk(j, u.s); why != "" {
					report(pos, Warning, kubeFix, "secrets.%s hands job %s a whole kubeconfig, a long-lived credential to the cluster, %s", n, j.ID.Value, why)
				}
			}
		}
		for _, st := range j.Steps {
			u := stepUses(st)
			for _, in := range staticKeyInputs[u.repo] {
				if s := input(st, in); s != nil {
					fix := map[string]string{"aws-actions/configure-aws-credentials": awsFix, "google-github-actions/auth": gcpFix, "azure/login": azureFix}[u.repo]
					report(s.Pos, Error, fix, "%s logs in with a long-lived key (%s) where OIDC would do", u.repo, in)
				}
			}
		}
	}
}

// kubeconfigRisk says what makes a kubeconfig secret's use worse than it must be, or "" when it
// goes to deploy-action's kubeconfig input in a job behind an environment.
func kubeconfigRisk(j *actionlint.Job, s *actionlint.String) string {
	for _, st := range j.Steps {
		a := action(st)
		if a == nil {
			continue
		}
		for _, in := range a.Inputs {
			if in == nil || in.Value != s {
				continue
			}
			u := parseUses(a.Uses.Value)
			switch {
			case !isDeployAction(u):
				return "which " + u.repo + " writes to the runner's disk, where every later step can read it"
			case j.Environment == nil:
				return "in a job with no environment, so any run of the workflow gets it"
			default:
				return ""
			}
		}
	}
	return "in the environment of scripts, which can copy it anywhere"
}

func checkDeployWithoutTest(f *file) {
	for _, j := range f.deployJobs() {
		fa := f.factsOf(j)
		tested := fa.firstTest >= 0 && fa.firstTest < fa.firstDepl
		for _, up := range f.upstream(j) {
			if f.factsOf(up).firstTest >= 0 {
				tested = true
			}
		}
		if tested {
			continue
		}
		f.add(j.ID.Pos, "deploy-without-test", Error,
			fmt.Sprintf("add a job that runs the tests (e.g. pytest against a PostgreSQL service container) and list it in needs: of job %s", j.ID.Value),
			"job %s deploys, and neither it nor any job it needs runs tests: every push goes out untested", j.ID.Value)
	}
}

var (
	setImage      = regexp.MustCompile(`\b(?:kubectl\b.*\bset\s+image|kustomize\s+edit\s+set\s+image)\b`)
	imageAssign   = regexp.MustCompile(`(?:^|\s)[\w.*/-]+=((?:\$\{\{.*?\}\}|[^\s$]|\$[^{])+)`)
	helmTag       = regexp.MustCompile(`--set(?:-string)?[ =]\S*image\.tag=(\S+)`)
	latestPushCmd = regexp.MustCompile(`\b(?:docker|podman)\s+(?:image\s+)?(?:push|tag)\b.*:latest\b`)
)

func checkMutableTagDeployed(f *file) {
	const rule = "mutable-tag-deployed"
	const fix = "deploy the digest the push printed: image@sha256:<digest> (docker/build-push-action's digest output, or deploy-action, which pins manifests to the pushed digest)"
	undigested := false
	for _, j := range f.deployJobs() {
		fa := f.factsOf(j)
		if !fa.digest {
			undigested = true
		}
		for _, st := range fa.deploy {
			if s := script(st); s != nil {
				for line, off := range scriptLines(s.Value) {
					if loc := setImage.FindStringIndex(line); loc != nil {
						for _, m := range imageAssign.FindAllStringSubmatchIndex(line[loc[1]:], -1) {
							img := line[loc[1]+m[2] : loc[1]+m[3]]
							if !byDigest(img) {
								f.add(f.posIn(s, off+loc[1]+m[2]), rule, Error, fix,
									"job %s deploys %s by tag: a tag can be pushed over, so what the cluster pulls (now, or when a node restarts a pod) is not what was built and tested", j.ID.Value, img)
							}
						}
					}
					if m := helmTag.FindStringSubmatchIndex(line); m != nil {
						f.add(f.posIn(s, off+m[2]), rule, Error, "set the digest instead: --set image.digest=sha256:<digest> (or an image reference with @sha256:)",
							"job %s deploys the image by the tag %s", j.ID.Value, line[m[2]:m[3]])
					}
				}
			}
			if stepUses(st).repo == "azure/k8s-deploy" {
				if in := input(st, "images"); in != nil {
					for line, off := range scriptLines(in.Value) {
						if img := strings.TrimSpace(line); !byDigest(img) {
							f.add(f.posIn(in, off+strings.Index(line, img)), rule, Error, fix, "job %s deploys %s by tag", j.ID.Value, img)
						}
					}
				}
			}
		}
	}
	if !undigested {
		return
	}
	// A deploy that names no digest takes what the manifests or the registry say: flag where the
	// workflow pushes latest, the tag such a deploy ends up running.
	for _, j := range f.jobs {
		for _, st := range j.Steps {
			var in *actionlint.String
			switch stepUses(st).repo {
			case "docker/build-push-action", "docker/metadata-action":
				in = input(st, "tags")
			}
			if s := script(st); s != nil {
				in = s
			}
			if in == nil {
				continue
			}
			for line, off := range scriptLines(in.Value) {
				col := -1
				if in == script(st) {
					if loc := latestPushCmd.FindStringIndex(line); loc != nil {
						col = strings.LastIndex(line[:loc[1]], "latest")
					}
				} else if i := strings.Index(line, "latest"); i >= 0 && (strings.Contains(line, ":latest") || strings.Contains(line, "value=latest")) {
					col = strings.Index(line, strings.TrimSpace(line))
				}
				if col >= 0 {
					f.add(f.posIn(in, off+col), rule, Error, "push version tags only and deploy by digest; if latest must exist for people, never deploy it",
						"job %s pushes the tag latest, and the deploy names no digest: the cluster runs whatever latest points at when a pod starts, not the release this run built", j.ID.Value)
				}
			}
		}
	}
}

// byDigest reports whether an image reference names a digest: repo@sha256:..., or repo@ followed
// by an expression (a push step's digest output).
func byDigest(img string) bool {
	return strings.Contains(img[strings.LastIndexByte(img, '/')+1:], "@")
}

func checkNoRollback(f *file) {
	for _, j := range f.deployJobs() {
		fa := f.factsOf(j)
		if fa.rollback {
			continue
		}
		st := fa.deploy[0]
		pos := st.Pos
		if a := action(st); a != nil {
			pos = a.Uses.Pos
		} else if s := script(st); s != nil {
			pos = s.Pos
			for line, off := range scriptLines(s.Value) {
				if loc := deployCmd.FindStringIndex(line); loc != nil {
					pos = f.posIn(s, off+loc[0])
					break
				}
			}
		}
		f.add(pos, "no-rollback", Warning,
			"after the deploy, wait with kubectl rollout status deployment/<name> --timeout=5m and add a step with if: failure() running kubectl rollout undo deployment/<name> (helm: --atomic); deploy-action watches the rollout and rolls back by itself",
			"job %s deploys with no way back: nothing waits for the rollout and undoes it when it fails", j.ID.Value)
	}
}

func checkProductionWithoutEnvironment(f *file) {
	for _, j := range f.deployJobs() {
		if j.Environment != nil || !f.factsOf(j).production {
			continue
		}
		f.add(j.ID.Pos, "production-without-environment", Error,
			fmt.Sprintf("add environment: production to job %s, and give that environment required reviewers and deployment branches (Settings → Environments)", j.ID.Value),
			"job %s deploys to production without an environment: no approval, wait timer or branch rule stands before it, and its secrets are the repository's", j.ID.Value)
	}
}
