package audit

import (
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// uses is a parsed `uses:` value.
type uses struct {
	raw    string
	repo   string // owner/name, lower case; "" for local and docker actions
	path   string // below the repository, e.g. "save" of actions/cache/save
	ref    string
	local  bool
	docker string // the image of docker://IMAGE
}

func parseUses(v string) uses {
	u := uses{raw: v}
	switch {
	case strings.HasPrefix(v, "./"):
		u.local = true
	case strings.HasPrefix(v, "docker://"):
		u.docker = strings.TrimPrefix(v, "docker://")
	default:
		name, ref, _ := strings.Cut(v, "@")
		u.ref = ref
		parts := strings.SplitN(name, "/", 3)
		if len(parts) >= 2 {
			u.repo = strings.ToLower(parts[0] + "/" + parts[1])
		}
		if len(parts) == 3 {
			u.path = strings.ToLower(parts[2])
		}
	}
	return u
}

// action is the action a step runs, or nil for a run: step.
func action(st *actionlint.Step) *actionlint.ExecAction {
	if st == nil {
		return nil
	}
	a, _ := st.Exec.(*actionlint.ExecAction)
	if a == nil || a.Uses == nil {
		return nil
	}
	return a
}

func stepUses(st *actionlint.Step) uses {
	if a := action(st); a != nil {
		return parseUses(a.Uses.Value)
	}
	return uses{}
}

// script is the script of a run: step, or nil.
func script(st *actionlint.Step) *actionlint.String {
	if st == nil {
		return nil
	}
	if r, ok := st.Exec.(*actionlint.ExecRun); ok && r.Run != nil {
		return r.Run
	}
	return nil
}

// input is the value of an action step's `with:` input (names are case-insensitive), or nil.
func input(st *actionlint.Step, name string) *actionlint.String {
	a := action(st)
	if a == nil {
		return nil
	}
	if in := a.Inputs[strings.ToLower(name)]; in != nil {
		return in.Value
	}
	return nil
}

func inputValue(st *actionlint.Step, name string) string {
	if s := input(st, name); s != nil {
		return strings.TrimSpace(s.Value)
	}
	return ""
}

func value(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

func isTrue(s *actionlint.String) bool {
	return s != nil && strings.EqualFold(strings.TrimSpace(s.Value), "true")
}

func isDeployAction(u uses) bool {
	return u.repo != "" && strings.HasSuffix(u.repo, "/deploy-action") && u.path == ""
}

// stages is the stages a deploy-action step runs (its "stages" input, "auto" resolved).
func stages(st *actionlint.Step) []string {
	v := strings.ToLower(inputValue(st, "stages"))
	if v == "" || v == "auto" {
		s := []string{"build", "test", "push"}
		if inputValue(st, "manifests") != "" {
			s = append(s, "deploy")
		}
		return s
	}
	return textlist.Words(v)
}

// Commands, matched line by line in scripts with comments removed.
var (
	deployCmd = regexp.MustCompile(`\bkubectl\b.*\b(apply|create|replace|patch|set\s+image|rollout\s+restart)\b|` +
		`\bhelm\b.*\b(upgrade|install)\b|\bskaffold\s+(run|deploy)\b|\bargocd\s+app\s+sync\b|\bflux\s+reconcile\b|` +
		`\bgcloud\s+run\s+deploy\b|\baws\s+ecs\s+update-service\b|\bdocker\s+stack\s+deploy\b|\bkamal\s+deploy\b|` +
		`\bfly(ctl)?\s+deploy\b|\bserverless\s+deploy\b`)
	testCmd = regexp.MustCompile(`\b(pytest|py\.test|tox|nox|go\s+test|gotestsum|(npm|pnpm|yarn|bun)\s+(run\s+)?test|` +
		`npx\s+(jest|vitest|mocha|playwright)|jest|vitest|mvnw?\b.*\b(test|verify)|gradlew?\b.*\b(test|check)|` +
		`cargo\s+(test|nextest)|python3?\s+-m\s+(pytest|unittest)|manage\.py\s+test|rspec|rake\s+test|phpunit|` +
		`make\s+(test|check)|dotnet\s+test|ctest)\b`)
	rollbackCmd = regexp.MustCompile(`\bkubectl\b.*\brollout\s+undo\b|\bhelm\s+rollback\b|--atomic\b|--rollback-on-failure\b|` +
		`\bargo\s+rollouts\s+(undo|abort)\b|\bkubectl\s+argo\s+rollouts\s+(undo|abort)\b`)
)

// deployActions deploy a release by themselves.
var deployActions = []string{
	"azure/k8s-deploy", "azure/webapps-deploy", "aws-actions/amazon-ecs-deploy-task-definition",
	"google-github-actions/deploy-cloudrun", "google-github-actions/deploy-appengine", "deliverybot/helm",
}

// scriptLines yields each line of a script with its offset, comments dropped.
func scriptLines(s string) func(yield func(line string, off int) bool) {
	return func(yield func(string, int) bool) {
		off := 0
		for line := range strings.SplitAfterSeq(s, "\n") {
			text := strings.TrimRight(line, "\n")
			if t := strings.TrimSpace(text); t != "" && !strings.HasPrefix(t, "#") {
				if !yield(text, off) {
					return
				}
			}
			off += len(line)
		}
	}
}

func scriptMatches(s *actionlint.String, re *regexp.Regexp) bool {
	if s == nil {
		return false
	}
	for line := range scriptLines(s.Value) {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

var (
	localClusterCmd     = regexp.MustCompile(`\bkind\s+create\s+cluster\b|\bminikube\s+start\b|\bk3d\s+cluster\s+create\b|\bkwokctl\s+create\s+cluster\b|\bmicrok8s\s+(start|install)\b`)
	localClusterActions = []string{"helm/kind-action", "medyagh/setup-minikube", "absaoss/k3d-action", "nolar/setup-k3d-k3s", "container-tools/kind-action", "engineerd/setup-kind"}
)

// startsLocalCluster reports whether a step starts a cluster on the runner itself.
func startsLocalCluster(st *actionlint.Step) bool {
	if s := script(st); s != nil {
		return scriptMatches(s, localClusterCmd)
	}
	return slices.Contains(localClusterActions, stepUses(st).repo)
}

// isDeployStep reports whether a step deploys a release to an environment.
func isDeployStep(st *actionlint.Step) bool {
	if s := script(st); s != nil {
		return scriptMatches(s, deployCmd)
	}
	u := stepUses(st)
	if isDeployAction(u) {
		return slices.Contains(stages(st), "deploy")
	}
	return slices.Contains(deployActions, u.repo)
}

// isTestStep reports whether a step runs the project's tests (or, for deploy-action, the image's).
func isTestStep(st *actionlint.Step) bool {
	if s := script(st); s != nil {
		return scriptMatches(s, testCmd)
	}
	u := stepUses(st)
	return isDeployAction(u) && slices.Contains(stages(st), "test")
}

func hasRollback(st *actionlint.Step) bool {
	if s := script(st); s != nil {
		return scriptMatches(s, rollbackCmd)
	}
	if isDeployAction(stepUses(st)) {
		return !strings.EqualFold(inputValue(st, "rollback"), "false")
	}
	return false
}

// jobFacts are what the delivery rules ask about a job.
type jobFacts struct {
	id         string
	deploy     []*actionlint.Step // the steps that deploy
	firstTest  int                // index of the first test step, -1 when none
	firstDepl  int                // index of the first deploy step, -1 when none
	rollback   bool
	digest     bool // the job names an image by digest, or deploys with deploy-action (which pins it)
	strs       []*actionlint.String
	secrets    []secretUse // the secrets the job reads, GITHUB_TOKEN aside
	production bool
}

func (f *file) factsOf(j *actionlint.Job) *jobFacts {
	if fa, ok := f.facts[j]; ok {
		return fa
	}
	fa := &jobFacts{id: j.ID.Value, firstTest: -1, firstDepl: -1, strs: stringsIn(j)}
	// A job that starts its own throwaway cluster (kind, minikube, k3d) applies manifests to test
	// them: that is not a deploy.
	local := slices.ContainsFunc(j.Steps, startsLocalCluster)
	for i, st := range j.Steps {
		if isTestStep(st) && fa.firstTest < 0 {
			fa.firstTest = i
		}
		if isDeployStep(st) && !local {
			fa.deploy = append(fa.deploy, st)
			if fa.firstDepl < 0 {
				fa.firstDepl = i
			}
		}
		if hasRollback(st) {
			fa.rollback = true
		}
		if isDeployAction(stepUses(st)) {
			fa.digest = true
		}
	}
	if j.WorkflowCall != nil && j.WorkflowCall.Uses != nil && testCall.MatchString(j.WorkflowCall.Uses.Value) {
		fa.firstTest = 0
	}
	for _, s := range fa.strs {
		if digestRef.MatchString(s.Value) {
			fa.digest = true
		}
	}
	fa.secrets = secretUses(fa.strs)
	fa.production = f.isProduction(j, fa)
	f.facts[j] = fa
	return fa
}

var (
	testCall  = regexp.MustCompile(`(?i)test|check|\bci\b`)
	digestRef = regexp.MustCompile(`@sha256:|(?i)\.digest\b|outputs\.refs\b|image-map`)
	prodWord  = regexp.MustCompile(`(?i)prod|\blive\b`)
	otherEnv  = regexp.MustCompile(`(?i)\b(staging|stage|stg|dev|development|test|testing|qa|preview|review|sandbox|uat|canary)\b`)
)

// isProduction tells a deploy to production from one to a lesser environment: by the environment
// the job names, else by what its id, name and deploy steps say. A deploy that names no other
// environment is taken as production: with no staging, whatever deploys is production.
func (f *file) isProduction(j *actionlint.Job, fa *jobFacts) bool {
	if j.Environment != nil && j.Environment.Name != nil {
		return prodWord.MatchString(j.Environment.Name.Value) || !otherEnv.MatchString(j.Environment.Name.Value)
	}
	texts := []string{j.ID.Value, value(j.Name)}
	for _, st := range fa.deploy {
		for _, s := range stringsIn(st) {
			texts = append(texts, s.Value)
		}
	}
	all := strings.Join(texts, "\n")
	return prodWord.MatchString(all) || !otherEnv.MatchString(all)
}

func (f *file) deployJobs() []*actionlint.Job {
	var out []*actionlint.Job
	for _, j := range f.jobs {
		if len(f.factsOf(j).deploy) > 0 {
			out = append(out, j)
		}
	}
	return out
}

func (f *file) job(id string) *actionlint.Job {
	return f.wf.Jobs[strings.ToLower(id)]
}

// upstream is every job a job waits for through needs, transitively.
func (f *file) upstream(j *actionlint.Job) []*actionlint.Job {
	var out []*actionlint.Job
	seen := map[*actionlint.Job]bool{j: true}
	queue := []*actionlint.Job{j}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range cur.Needs {
			if n == nil {
				continue
			}
			if up := f.job(n.Value); up != nil && !seen[up] {
				seen[up] = true
				out = append(out, up)
				queue = append(queue, up)
			}
		}
	}
	return out
}

// triggers is the set of events the workflow runs on.
func (f *file) triggers() map[string]actionlint.Event {
	out := map[string]actionlint.Event{}
	for _, e := range f.wf.On {
		if e != nil {
			out[strings.ToLower(e.EventName())] = e
		}
	}
	return out
}

// releaseTriggered reports whether tags or releases start the workflow: the runs that publish.
func (f *file) releaseTriggered() bool {
	for name, e := range f.triggers() {
		switch name {
		case "release", "registry_package":
			return true
		case "push", "create":
			if we, ok := e.(*actionlint.WebhookEvent); ok && we.Tags != nil && len(we.Tags.Values) > 0 {
				return true
			}
			if name == "create" {
				return true
			}
		}
	}
	return false
}

func (f *file) dangerousTrigger() string {
	for _, name := range []string{"pull_request_target", "workflow_run"} {
		if _, ok := f.triggers()[name]; ok {
			return name
		}
	}
	return ""
}

// jobSecrets lists the secrets a job reads (GITHUB_TOKEN aside), where it reads them.
type secretUse struct {
	s   *actionlint.String
	ref secretRef
}

func secretUses(strs []*actionlint.String) []secretUse {
	var out []secretUse
	for _, s := range strs {
		if !strings.Contains(s.Value, "${{") {
			continue
		}
		for _, e := range exprsIn(s.Value) {
			for _, r := range secretRefs(e) {
				if r.name != "GITHUB_TOKEN" {
					out = append(out, secretUse{s: s, ref: r})
				}
			}
		}
	}
	return out
}

// publishes reports whether a job ships something: pushes an image, deploys, releases, or holds
// credentials to do so.
func (f *file) publishes(j *actionlint.Job) bool {
	fa := f.factsOf(j)
	if len(fa.deploy) > 0 || len(fa.secrets) > 0 {
		return true
	}
	for _, st := range j.Steps {
		u := stepUses(st)
		switch {
		case u.repo == "docker/build-push-action" && isTrue(input(st, "push")):
			return true
		case isDeployAction(u) && slices.Contains(stages(st), "push"):
			return true
		case slices.Contains(publishActions, u.repo):
			return true
		case scriptMatches(script(st), publishCmd):
			return true
		}
	}
	for _, p := range []*actionlint.Permissions{j.Permissions, f.wf.Permissions} {
		if p == nil {
			continue
		}
		if p.All != nil && strings.EqualFold(p.All.Value, "write-all") {
			return true
		}
		for name, sc := range p.Scopes {
			if sc != nil && strings.EqualFold(value(sc.Value), "write") && name != "checks" && name != "statuses" {
				return true
			}
		}
		break // a job's own permissions replace the workflow's
	}
	return false
}

var (
	publishActions = []string{"softprops/action-gh-release", "ncipollo/release-action", "pypa/gh-action-pypi-publish",
		"goreleaser/goreleaser-action", "actions/deploy-pages", "changesets/action", "js-devtools/npm-publish"}
	publishCmd = regexp.MustCompile(`\b(docker|podman|buildah)\s+(image\s+)?push\b|\bnpm\s+publish\b|\btwine\s+upload\b|` +
		`\bgh\s+release\s+(create|upload)\b|\bgoreleaser\b|\bcargo\s+publish\b|\bmvn\b.*\bdeploy\b|\bko\s+(build|publish)\b`)
)
