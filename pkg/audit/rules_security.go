package audit

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rhysd/actionlint"
)

func checkTemplateInjection(f *file) {
	for _, j := range f.jobs {
		for _, st := range j.Steps {
			code, where, envRef := script(st), "run: script", "\"$%s\""
			if code == nil && stepUses(st).repo == "actions/github-script" {
				code, where, envRef = input(st, "script"), "github-script's script:", "process.env.%s"
			}
			if code == nil {
				continue
			}
			for _, e := range exprsIn(code.Value) {
				p, sev, ok := taint(e)
				if !ok {
					continue
				}
				who := "whoever opens the issue, pull request or comment, or names the branch, writes it"
				if sev == Warning {
					who = "whoever dispatches or calls the workflow chooses it"
				}
				v := envName(p.path)
				f.add(f.posIn(code, e.start), "template-injection", sev,
					fmt.Sprintf("pass it through the step's env (env: {%s: ${{ %s }}}) and use %s in the script", v, p, fmt.Sprintf(envRef, v)),
					"%s is pasted into the %s of job %s before it runs, and %s: its text runs as code", p, where, j.ID.Value, who)
			}
		}
	}
}

// envName names an environment variable after a context path: github.event.issue.title is ISSUE_TITLE.
func envName(path []string) string {
	var segs []string
	for _, s := range slices.Backward(path) {
		if s != "*" && s != "github" && s != "event" {
			segs = append([]string{s}, segs...)
		}
		if len(segs) == 2 {
			break
		}
	}
	if len(segs) == 0 {
		return "VALUE"
	}
	return strings.ToUpper(nonAlnum.ReplaceAllString(strings.Join(segs, "_"), "_"))
}

var (
	sha40      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortSHA   = regexp.MustCompile(`^[0-9a-f]{7,39}$`)
	nonAlnum   = regexp.MustCompile(`[^A-Za-z0-9]+`)
	versionish = regexp.MustCompile(`^v?\d+(\.\d+)*([-+.][0-9A-Za-z.-]+)?$`)
	fileWrite  = regexp.MustCompile(`\btee\b|Out-File|Add-Content|Set-Content`)
)

// usesStrings is every uses: of the workflow, steps' and reusable workflow calls'.
func (f *file) usesStrings() []*actionlint.String {
	var out []*actionlint.String
	for _, j := range f.jobs {
		if j.WorkflowCall != nil && j.WorkflowCall.Uses != nil {
			out = append(out, j.WorkflowCall.Uses)
		}
		for _, st := range j.Steps {
			if a := action(st); a != nil {
				out = append(out, a.Uses)
			}
		}
	}
	return out
}

func checkUnpinnedUses(f *file) {
	for _, s := range f.usesStrings() {
		u := parseUses(s.Value)
		switch {
		case u.local:
		case u.docker != "":
			if !strings.Contains(u.docker, "@sha256:") {
				f.add(s.Pos, "unpinned-uses", Error,
					fmt.Sprintf("pin the image's digest: uses: docker://%s@sha256:<digest> (docker buildx imagetools inspect %s prints it)", u.docker, u.docker),
					"%s runs whatever image the tag points at when the job starts", s.Value)
			}
		case u.ref == "":
			f.add(s.Pos, "unpinned-uses", Error, fmt.Sprintf("pin a release's commit: uses: %s@<40-hex commit> # <version>", s.Value),
				"%s names no version at all", s.Value)
		case sha40.MatchString(u.ref):
		default:
			base, _, _ := strings.Cut(s.Value, "@")
			msg := "%s follows the ref %q, which its owner, or anyone who takes the repository over, can move to other code"
			if shortSHA.MatchString(u.ref) {
				msg = "%s is pinned to a short commit prefix %q, which GitHub resolves ambiguously (a fork's commit can share it)"
			}
			f.add(s.Pos, "unpinned-uses", Error,
				fmt.Sprintf("pin the full commit %s points at and keep it as a comment: uses: %s@<40-hex commit> # %s (git ls-remote https://github.com/%s %s); dependabot's github-actions updates keep such pins fresh",
					u.ref, base, u.ref, u.repo, u.ref),
				msg, s.Value, u.ref)
		}
	}
}

func checkRefVersionMismatch(f *file) {
	if f.opts.pins == nil {
		return
	}
	for _, s := range f.usesStrings() {
		u := parseUses(s.Value)
		if u.repo == "" || !sha40.MatchString(u.ref) {
			continue
		}
		c, pos := f.comment(s)
		said := commentVersion(c)
		if said == "" {
			continue
		}
		is, ok := f.opts.pins(u.repo, u.ref)
		if !ok || sameVersion(said, is) {
			continue
		}
		f.add(pos, "ref-version-mismatch", Warning, fmt.Sprintf("correct the comment: # %s", is),
			"the comment says %s, but %s@%s is %s: whoever reads it, and dependabot, take the wrong version", said, u.repo, u.ref[:12], is)
	}
}

// commentVersion is the version a pin's comment names: "v4.2.2" of "# v4.2.2", "# tag=v4.2.2" or
// "# pin @v4.2.2".
func commentVersion(c string) string {
	for w := range strings.FieldsSeq(c) {
		w = strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(w, "tag="), "pin"), "@")
		if versionish.MatchString(w) {
			return w
		}
	}
	return ""
}

// sameVersion accepts a comment naming the version or its floating prefix (v4 for v4.2.2).
func sameVersion(said, is string) bool {
	said, is = strings.TrimPrefix(said, "v"), strings.TrimPrefix(is, "v")
	return said == is || strings.HasPrefix(is, said+".")
}

func checkExcessivePermissions(f *file) {
	const rule = "excessive-permissions"
	var bare []string // jobs that inherit the workflow's permissions
	for _, j := range f.jobs {
		if j.Permissions == nil {
			bare = append(bare, j.ID.Value)
		}
	}
	wp := f.wf.Permissions
	if wp == nil && len(bare) > 0 {
		f.addAt(1, 1, rule, Error, "add permissions: {} at the top of the workflow, and to each job only what it needs, e.g. permissions: {contents: read}",
			"the workflow sets no permissions: job(s) %s run with the repository's default token, which can be allowed to write contents, packages, deployments and more", strings.Join(bare, ", "))
	}
	checkAll := func(p *actionlint.Permissions, where string) {
		if p == nil || p.All == nil {
			return
		}
		switch strings.ToLower(strings.TrimSpace(p.All.Value)) {
		case "write-all":
			f.add(p.All.Pos, rule, Error, "name the scopes the steps use, e.g. permissions: {contents: read}",
				"%s grants write-all: a token that can push code, publish packages and change releases", where)
		case "read-all":
			f.add(p.All.Pos, rule, Warning, "name the scopes the steps read, e.g. permissions: {contents: read}",
				"%s grants read-all: read access to every scope, where one or two are used", where)
		}
	}
	checkAll(wp, "the workflow")
	for _, j := range f.jobs {
		checkAll(j.Permissions, "job "+j.ID.Value)
	}
	// Workflow-level write scopes reach every job without its own permissions: with two or more such
	// jobs, the grant belongs on the one that uses it. With one, it is that job's grant.
	if wp != nil && len(bare) >= 2 {
		for _, sc := range scopes(wp) {
			if isWrite(sc) {
				f.add(sc.Name.Pos, rule, Warning, fmt.Sprintf("move %s: write to the permissions of the job that uses it, and set permissions: {} here", sc.Name.Value),
					"%s: write at the top of the workflow is granted to every job that sets no permissions (%s)", sc.Name.Value, strings.Join(bare, ", "))
			}
		}
	}
	for _, j := range f.jobs {
		p := j.Permissions
		if p == nil && len(bare) == 1 {
			p = wp
		}
		if p == nil {
			continue
		}
		need, known := f.neededScopes(j)
		if !known {
			continue
		}
		for _, sc := range scopes(p) {
			if isWrite(sc) && !need[strings.ToLower(sc.Name.Value)] {
				f.add(sc.Name.Pos, rule, Warning, fmt.Sprintf("drop %s: write (read, or nothing, is enough for these steps)", sc.Name.Value),
					"job %s is granted %s: write, and none of its steps uses it", j.ID.Value, sc.Name.Value)
			}
		}
	}
}

func scopes(p *actionlint.Permissions) []*actionlint.PermissionScope {
	var out []*actionlint.PermissionScope
	for _, sc := range p.Scopes {
		if sc != nil && sc.Name != nil && sc.Name.Pos != nil {
			out = append(out, sc)
		}
	}
	slices.SortFunc(out, func(a, b *actionlint.PermissionScope) int { return comparePos(a.Name.Pos, b.Name.Pos) })
	return out
}

func isWrite(sc *actionlint.PermissionScope) bool {
	return strings.EqualFold(strings.TrimSpace(value(sc.Value)), "write")
}

// actionScopes are the token scopes known actions use. An action not listed may use any, and
// then no write scope of its job is called unneeded. packages is decided by the registry (ghcr.io).
var actionScopes = map[string][]string{
	"actions/checkout":                         {"contents"},
	"actions/setup-go":                         nil,
	"actions/setup-node":                       nil,
	"actions/setup-python":                     nil,
	"actions/setup-java":                       nil,
	"actions/setup-dotnet":                     nil,
	"actions/cache":                            nil,
	"actions/upload-artifact":                  nil,
	"actions/download-artifact":                {"actions"},
	"docker/login-action":                      nil,
	"docker/build-push-action":                 {"contents"},
	"docker/setup-buildx-action":               nil,
	"docker/setup-qemu-action":                 nil,
	"docker/metadata-action":                   nil,
	"azure/k8s-set-context":                    nil,
	"azure/k8s-deploy":                         {"actions"},
	"azure/setup-kubectl":                      nil,
	"azure/setup-helm":                         nil,
	"aws-actions/configure-aws-credentials":    {"id-token"},
	"aws-actions/amazon-ecr-login":             nil,
	"google-github-actions/auth":               {"id-token"},
	"azure/login":                              {"id-token"},
	"actions/attest-build-provenance":          {"id-token", "attestations", "contents"},
	"actions/attest":                           {"id-token", "attestations", "contents"},
	"sigstore/cosign-installer":                nil,
	"softprops/action-gh-release":              {"contents"},
	"ncipollo/release-action":                  {"contents"},
	"peter-evans/create-pull-request":          {"contents", "pull-requests"},
	"github/codeql-action":                     {"security-events", "actions", "contents"},
	"actions/deploy-pages":                     {"pages", "id-token"},
	"actions/configure-pages":                  {"pages"},
	"actions/upload-pages-artifact":            nil,
	"dorny/test-reporter":                      {"checks", "actions"},
	"mikepenz/action-junit-report":             {"checks"},
	"enricomi/publish-unit-test-result-action": {"checks", "pull-requests", "issues"},
	"pypa/gh-action-pypi-publish":              {"id-token"},
	"astral-sh/setup-uv":                       nil,
	"pnpm/action-setup":                        nil,
	"ruby/setup-ruby":                          nil,
	"swatinem/rust-cache":                      nil,
	"gradle/actions":                           nil,
}

var (
	tokenUse   = regexp.MustCompile(`\bgh\s|api\.github\.com|GITHUB_TOKEN|github\.token|ACTIONS_RUNTIME_TOKEN`)
	gitPush    = regexp.MustCompile(`\bgit\s+push\b`)
	oidcUse    = regexp.MustCompile(`ACTIONS_ID_TOKEN_REQUEST|\bcosign\s+(sign|attest)\b`)
	ghcr       = regexp.MustCompile(`(?i)\bghcr\.io\b`)
	deployment = []string{"deployments", "statuses", "id-token", "contents"}
)

// neededScopes is the token scopes a job's steps can use; known is false when a step may use any
// (an action we do not know, a script that calls the API, a reusable workflow).
func (f *file) neededScopes(j *actionlint.Job) (map[string]bool, bool) {
	need := map[string]bool{}
	if j.WorkflowCall != nil {
		return nil, false
	}
	for _, s := range f.factsOf(j).strs {
		if ghcr.MatchString(s.Value) {
			need["packages"] = true
		}
	}
	for _, st := range j.Steps {
		if s := script(st); s != nil {
			text := s.Value
			for _, e := range stringsIn(st.Env) {
				text += "\n" + e.Value
			}
			if tokenUse.MatchString(text) {
				return nil, false
			}
			if gitPush.MatchString(text) {
				need["contents"] = true
			}
			if oidcUse.MatchString(text) {
				need["id-token"] = true
			}
			continue
		}
		u := stepUses(st)
		if isDeployAction(u) {
			for _, sc := range deployment {
				need[sc] = true
			}
			continue
		}
		sc, ok := actionScopes[u.repo]
		if !ok || u.repo == "" {
			return nil, false
		}
		for _, s := range sc {
			need[s] = true
		}
	}
	return need, true
}

func checkArtipacked(f *file) {
	for _, j := range f.jobs {
		uploads := slices.ContainsFunc(j.Steps, func(st *actionlint.Step) bool {
			return stepUses(st).repo == "actions/upload-artifact"
		})
		for _, st := range j.Steps {
			if stepUses(st).repo != "actions/checkout" || input(st, "persist-credentials") != nil {
				continue
			}
			sev, more := Warning, ""
			if uploads {
				sev, more = Error, ", and this job uploads artifacts, which can carry it out"
			}
			f.add(action(st).Uses.Pos, "artipacked", sev,
				"add with: {persist-credentials: false}; a step that must push gets the token explicitly",
				"actions/checkout in job %s leaves the job's token on disk (.git/config, or $RUNNER_TEMP from v6), where every later step can read it%s", j.ID.Value, more)
		}
	}
}

func eventPos(e actionlint.Event) *actionlint.Pos {
	switch e := e.(type) {
	case *actionlint.WebhookEvent:
		return e.Pos
	case *actionlint.WorkflowDispatchEvent:
		return e.Pos
	case *actionlint.WorkflowCallEvent:
		return e.Pos
	case *actionlint.ScheduledEvent:
		return e.Pos
	case *actionlint.RepositoryDispatchEvent:
		return e.Pos
	}
	return nil
}

func checkDangerousTriggers(f *file) {
	for _, e := range f.wf.On {
		switch strings.ToLower(e.EventName()) {
		case "pull_request_target":
			f.add(eventPos(e), "dangerous-triggers", Error,
				"use pull_request (read-only token, no secrets for forks); if the run must write back, split it: a pull_request workflow that uploads results and a separate one that only posts them",
				"pull_request_target runs with the repository's secrets and a write token on a pull request from any fork; checking out or running its code hands those over")
		case "workflow_run":
			f.add(eventPos(e), "dangerous-triggers", Error,
				"call the workflow as a reusable one (workflow_call) from the first, or treat everything the triggering run produced (artifacts, branch names) as untrusted",
				"workflow_run runs with the repository's secrets and a write token after a workflow that a fork's pull request can trigger, on artifacts and names the fork controls")
		}
	}
}

// caches reports whether a step restores a cache, and the input that controls it.
func caches(st *actionlint.Step) (bool, *actionlint.String) {
	u := stepUses(st)
	switch u.repo {
	case "actions/cache":
		return u.path == "" || u.path == "restore", nil
	case "actions/setup-node", "actions/setup-python", "actions/setup-java":
		in := input(st, "cache")
		return in != nil && strings.TrimSpace(in.Value) != "", in
	case "actions/setup-go":
		in := input(st, "cache")
		return in == nil || !strings.EqualFold(strings.TrimSpace(in.Value), "false"), in
	case "actions/setup-dotnet":
		return isTrue(input(st, "cache")), input(st, "cache")
	case "ruby/setup-ruby":
		return isTrue(input(st, "bundler-cache")), input(st, "bundler-cache")
	case "astral-sh/setup-uv":
		return isTrue(input(st, "enable-cache")), input(st, "enable-cache")
	case "swatinem/rust-cache":
		return true, nil
	case "gradle/actions":
		return u.path == "setup-gradle" && !isTrue(input(st, "cache-disabled")), input(st, "cache-disabled")
	case "docker/build-push-action":
		in := input(st, "cache-from")
		return in != nil && strings.Contains(in.Value, "type=gha"), in
	}
	return false, nil
}

var refCondition = regexp.MustCompile(`github\.ref|github\.event_name|startsWith|refs/tags`)

func checkCachePoisoning(f *file) {
	if !f.releaseTriggered() {
		return
	}
	for _, j := range f.jobs {
		if !f.publishes(j) {
			continue
		}
		for _, st := range j.Steps {
			ok, in := caches(st)
			if !ok || (st.If != nil && refCondition.MatchString(st.If.Value)) || (in != nil && in.ContainsExpression()) {
				continue
			}
			f.add(action(st).Uses.Pos, "cache-poisoning", Error,
				"restore no cache in a job that publishes: drop it, turn the action's cache input off, or skip it on release runs with if: ${{ !startsWith(github.ref, 'refs/tags/') }}",
				"%s restores a cache in job %s, which publishes on tag or release runs: a cache any earlier run wrote (a pull request's too) goes into the release", stepUses(st).raw, j.ID.Value)
		}
	}
}

var inherit = regexp.MustCompile(`(?m)^\s*secrets:\s*inherit\b`)

func checkSecretsInherit(f *file) {
	for i, j := range f.jobs {
		if j.WorkflowCall == nil || !j.WorkflowCall.InheritSecrets {
			continue
		}
		start, end := f.offset(j.ID.Pos.Line, 1), len(f.src)
		if i+1 < len(f.jobs) {
			end = f.offset(f.jobs[i+1].ID.Pos.Line, 1)
		}
		pos := j.ID.Pos
		if loc := inherit.FindIndex(f.src[start:end]); loc != nil {
			l, c := f.lineCol(start + loc[0])
			pos = &actionlint.Pos{Line: l, Col: c + len(f.src[start+loc[0]:start+loc[1]]) - len(strings.TrimLeft(string(f.src[start+loc[0]:start+loc[1]]), " \t"))}
		}
		f.add(pos, "secrets-inherit", Warning, "pass the secrets the called workflow declares, by name: secrets: {NAME: ${{ secrets.NAME }}}",
			"job %s hands %s every secret of the repository with secrets: inherit", j.ID.Value, value(j.WorkflowCall.Uses))
	}
}

func checkSecretsOutsideEnv(f *file) {
	const fix = "keep the secret in a GitHub environment (Settings → Environments), not the repository, and add environment: <name> to the job"
	var bare []string
	for _, j := range f.jobs {
		if j.Environment != nil {
			continue
		}
		bare = append(bare, j.ID.Value)
		for _, u := range secretUses(f.factsOf(j).strs) {
			f.add(f.posIn(u.s, u.ref.offset), "secrets-outside-env", Warning, fix,
				"%s is read by job %s, which names no environment: every run of the workflow, on any branch, gets it", secretName(u.ref), j.ID.Value)
		}
	}
	if len(bare) == 0 || f.wf.Env == nil {
		return
	}
	for _, u := range secretUses(stringsIn(f.wf.Env)) {
		f.add(f.posIn(u.s, u.ref.offset), "secrets-outside-env", Warning, "move it to the env: of the job that uses it, and that job into an environment",
			"%s is read by the workflow's env, so job(s) %s get it without an environment", secretName(u.ref), strings.Join(bare, ", "))
	}
}

func secretName(r secretRef) string {
	if r.name == "" {
		return "the secrets context"
	}
	return "secrets." + r.name
}

func checkOverprovisionedSecrets(f *file) {
	for _, u := range secretUses(stringsIn(f.wf)) {
		if u.ref.name != "" {
			continue
		}
		f.add(f.posIn(u.s, u.ref.offset), "overprovisioned-secrets", Error, "name each secret the step needs: ${{ secrets.NAME }}",
			"the whole secrets context is read here (toJSON(secrets) or secrets[<expression>]): the runner hands the job every secret, not the one it needs")
	}
}

var dockerLoginPassword = regexp.MustCompile(`\bdocker\s+login\b.*\s(?:-p|--password)(?:\s+|=)(\S+)`)

func checkHardcodedContainerCredentials(f *file) {
	const rule = "hardcoded-container-credentials"
	const fix = "store the password as a secret and write password: ${{ secrets.REGISTRY_PASSWORD }}"
	for _, j := range f.jobs {
		for _, c := range containers(j) {
			if c.c.Credentials == nil || c.c.Credentials.Password == nil {
				continue
			}
			if p := c.c.Credentials.Password; strings.TrimSpace(p.Value) != "" && !p.ContainsExpression() {
				f.add(p.Pos, rule, Error, fix, "the registry password of %s in job %s is written into the workflow, readable by anyone who can read the repository", c.what, j.ID.Value)
			}
		}
		for _, st := range j.Steps {
			s := script(st)
			if s == nil {
				continue
			}
			for line, off := range scriptLines(s.Value) {
				m := dockerLoginPassword.FindStringSubmatchIndex(line)
				if m == nil {
					continue
				}
				if pw := strings.Trim(line[m[2]:m[3]], `'"`); pw != "" && !strings.HasPrefix(pw, "$") {
					f.add(f.posIn(s, off+m[2]), rule, Error, "log in with --password-stdin from a secret: echo \"$REGISTRY_PASSWORD\" | docker login --username <user> --password-stdin",
						"docker login in job %s has its password written into the script", j.ID.Value)
				}
			}
		}
	}
}

type namedContainer struct {
	what string
	c    *actionlint.Container
}

func containers(j *actionlint.Job) []namedContainer {
	var out []namedContainer
	if j.Container != nil {
		out = append(out, namedContainer{"the job container", j.Container})
	}
	if j.Services != nil {
		for _, s := range j.Services.Value {
			if s != nil && s.Container != nil && s.Name != nil {
				out = append(out, namedContainer{"service " + s.Name.Value, s.Container})
			}
		}
	}
	slices.SortFunc(out, func(a, b namedContainer) int { return strings.Compare(a.what, b.what) })
	return out
}

func checkUnpinnedImages(f *file) {
	for _, j := range f.jobs {
		for _, c := range containers(j) {
			img := c.c.Image
			if img == nil || img.Value == "" || img.ContainsExpression() {
				continue
			}
			ref, err := name.ParseReference(img.Value, name.WeakValidation)
			if err != nil {
				continue // actionlint and the runner report a malformed image
			}
			if _, ok := ref.(name.Digest); ok {
				continue
			}
			tag := ref.Identifier()
			msg := "%s of job %s runs %s by the tag %s, which can be pushed over: the job runs whatever it points at"
			if !explicitTag(img.Value) || tag == "latest" {
				msg = "%s of job %s runs %s by latest (or no tag), which changes under it from run to run"
			}
			f.add(img.Pos, "unpinned-images", Warning,
				fmt.Sprintf("pin the digest and keep the tag for readers: image: %s@sha256:<digest> (docker buildx imagetools inspect %s prints it)", img.Value, img.Value),
				msg, c.what, j.ID.Value, img.Value, tag)
		}
	}
}

func explicitTag(img string) bool {
	last := img[strings.LastIndexByte(img, '/')+1:]
	return strings.Contains(last, ":")
}

var envWrite = regexp.MustCompile(`GITHUB_(ENV|PATH)\b`)

func writesEnv(line string) bool {
	return envWrite.MatchString(line) && (strings.Contains(line, ">") || fileWrite.MatchString(line))
}

func checkGitHubEnv(f *file) {
	dangerous := f.dangerousTrigger()
	for _, j := range f.jobs {
		for _, st := range j.Steps {
			s := script(st)
			if s == nil {
				continue
			}
			var writes []int
			for line, off := range scriptLines(s.Value) {
				if writesEnv(line) {
					writes = append(writes, off+envWrite.FindStringIndex(line)[0])
				}
			}
			if len(writes) == 0 {
				continue
			}
			from, sev := untrustedSource(f, j, st, s)
			if dangerous != "" && from == "" {
				from, sev = "a workflow triggered by "+dangerous+", whose data a fork controls", Error
			}
			if from == "" {
				continue
			}
			for _, w := range writes {
				f.add(f.posIn(s, w), "github-env", sev,
					"pass values between steps through $GITHUB_OUTPUT and steps.<id>.outputs, or check the value against a strict pattern before writing it",
					"a step of job %s writes $GITHUB_ENV or $GITHUB_PATH from %s: a variable such as LD_PRELOAD, BASH_ENV or NODE_OPTIONS, or a PATH entry, runs code in every later step", j.ID.Value, from)
			}
		}
	}
}

// untrustedSource names the untrusted data a run step's script can see: an expression in it, or
// an environment variable set from one.
func untrustedSource(f *file, j *actionlint.Job, st *actionlint.Step, s *actionlint.String) (string, Severity) {
	for _, e := range exprsIn(s.Value) {
		if p, sev, ok := taint(e); ok {
			return p.String(), sev
		}
	}
	for _, env := range []*actionlint.Env{st.Env, j.Env, f.wf.Env} {
		if env == nil {
			continue
		}
		for _, v := range env.Vars {
			if v == nil || v.Name == nil || v.Value == nil {
				continue
			}
			for _, e := range exprsIn(v.Value.Value) {
				p, sev, ok := taint(e)
				if ok && regexp.MustCompile(`\$\{?`+regexp.QuoteMeta(v.Name.Value)+`\b`).MatchString(s.Value) {
					return fmt.Sprintf("$%s (set from %s)", v.Name.Value, p), sev
				}
			}
		}
	}
	return "", 0
}

var allowUnsecure = regexp.MustCompile(`ACTIONS_ALLOW_UNSECURE_COMMANDS\s*=\s*["']?true`)

func checkInsecureCommands(f *file) {
	const fix = "remove it; write to $GITHUB_ENV and $GITHUB_PATH instead of ::set-env and ::add-path"
	envs := []*actionlint.Env{f.wf.Env}
	for _, j := range f.jobs {
		envs = append(envs, j.Env)
		for _, st := range j.Steps {
			envs = append(envs, st.Env)
		}
	}
	for _, env := range envs {
		if env == nil {
			continue
		}
		if v := env.Vars["actions_allow_unsecure_commands"]; v != nil && v.Name != nil && !strings.EqualFold(strings.TrimSpace(value(v.Value)), "false") {
			f.add(v.Name.Pos, "insecure-commands", Error, fix,
				"ACTIONS_ALLOW_UNSECURE_COMMANDS turns ::set-env and ::add-path back on: any text a step prints (a log line, a test name) can set variables for later steps")
		}
	}
	for _, j := range f.jobs {
		for _, st := range j.Steps {
			if s := script(st); s != nil {
				for line, off := range scriptLines(s.Value) {
					if loc := allowUnsecure.FindStringIndex(line); loc != nil {
						f.add(f.posIn(s, off+loc[0]), "insecure-commands", Error, fix,
							"job %s sets ACTIONS_ALLOW_UNSECURE_COMMANDS, turning ::set-env and ::add-path back on for later steps", j.ID.Value)
					}
				}
			}
		}
	}
}

var perRun = regexp.MustCompile(`github\.(run_id|run_number|run_attempt|sha)\b`)

func checkConcurrencyLimits(f *file) {
	const rule = "concurrency-limits"
	for _, j := range f.deployJobs() {
		c, where := j.Concurrency, "job "+j.ID.Value
		if c == nil {
			c, where = f.wf.Concurrency, "the workflow"
		}
		switch {
		case c == nil:
			f.add(j.ID.Pos, rule, Warning, "add to the job: concurrency: {group: deploy-<environment>, cancel-in-progress: false}",
				"job %s deploys with no concurrency group: two runs can deploy at once, and the older one can finish last", j.ID.Value)
		case c.CancelInProgress != nil && c.CancelInProgress.Expression == nil && c.CancelInProgress.Value:
			f.add(c.CancelInProgress.Pos, rule, Warning, "set cancel-in-progress: false for deploys (queue them; cancel superseded test runs only)",
				"the concurrency of %s cancels a deploy in progress when a new run starts, leaving job %s's rollout half done", where, j.ID.Value)
		case c.Group != nil && perRun.MatchString(c.Group.Value):
			f.add(c.Group.Pos, rule, Warning, "name the group after what is deployed to: group: deploy-<environment>",
				"the concurrency group of %s is unique per run, so it keeps no two deploys of job %s apart", where, j.ID.Value)
		}
	}
}
