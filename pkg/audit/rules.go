package audit

import (
	"slices"
	"strings"
)

// rule is one check. Each reports its findings on the file with their own severity.
type rule struct {
	name  string
	doc   string
	check func(*file)
}

// RuleInfo describes a rule for listings and documentation.
type RuleInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// allRules is every rule, by name. The first group follows the workflow-security linters of the
// field (zizmor's audits of the same names); the second is about delivery, which none of them checks.
var allRules = sortRules([]rule{
	{"template-injection", "an attacker-controlled ${{ }} expression (issue or pull request text, a branch name) expanded inside run: or github-script's script:", checkTemplateInjection},
	{"unpinned-uses", "an action or reusable workflow referenced by tag or branch instead of a full commit SHA, or a docker:// action without a digest", checkUnpinnedUses},
	{"ref-version-mismatch", "a commit-pinned action whose version comment names another version (needs WithPins)", checkRefVersionMismatch},
	{"excessive-permissions", "no top-level permissions, write-all, or write scopes no step needs", checkExcessivePermissions},
	{"artipacked", "actions/checkout leaving the token on disk (persist-credentials not false), worse in a job that uploads artifacts", checkArtipacked},
	{"dangerous-triggers", "pull_request_target or workflow_run: privileged runs that a fork can start", checkDangerousTriggers},
	{"cache-poisoning", "a cache restored in a job that publishes on tag or release runs", checkCachePoisoning},
	{"secrets-inherit", "secrets: inherit hands a reusable workflow every secret", checkSecretsInherit},
	{"secrets-outside-env", "secrets read by a job that names no environment, so no protection rule guards them", checkSecretsOutsideEnv},
	{"overprovisioned-secrets", "the whole secrets context exposed (toJSON(secrets), secrets[expr])", checkOverprovisionedSecrets},
	{"hardcoded-container-credentials", "a registry password written into the workflow (container, services, docker login)", checkHardcodedContainerCredentials},
	{"unpinned-images", "a container or service image without a digest", checkUnpinnedImages},
	{"github-env", "untrusted data written to $GITHUB_ENV or $GITHUB_PATH, or any write under a dangerous trigger", checkGitHubEnv},
	{"insecure-commands", "ACTIONS_ALLOW_UNSECURE_COMMANDS turns set-env and add-path back on", checkInsecureCommands},
	{"concurrency-limits", "a deploy with no concurrency group, one that cancels deploys in progress, or a group unique per run", checkConcurrencyLimits},
	{"long-lived-cloud-keys", "static cloud keys (AWS, GCP, Azure) where OIDC would do, or a whole kubeconfig written to the runner or read outside an environment", checkLongLivedCloudKeys},
	{"deploy-without-test", "a deploy that no test runs before, in its job or in the jobs it needs", checkDeployWithoutTest},
	{"mutable-tag-deployed", "a deploy by tag (latest, v<run number>) rather than by digest", checkMutableTagDeployed},
	{"no-rollback", "a deploy with nothing that undoes it when the rollout fails", checkNoRollback},
	{"production-without-environment", "a production deploy in a job without environment:, so no approval stands before it", checkProductionWithoutEnvironment},
})

func sortRules(rs []rule) []rule {
	slices.SortFunc(rs, func(a, b rule) int { return strings.Compare(a.name, b.name) })
	return rs
}

// Rules lists every rule, by name.
func Rules() []RuleInfo {
	out := make([]RuleInfo, len(allRules))
	for i, r := range allRules {
		out[i] = RuleInfo{Name: r.name, Description: r.doc}
	}
	return out
}

// RuleNames lists every rule's name, sorted.
func RuleNames() []string {
	out := make([]string, len(allRules))
	for i, r := range allRules {
		out[i] = r.name
	}
	return out
}
