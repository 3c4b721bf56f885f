package metadata

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// Fields of Tags, as a *field.Error or a field.Names names them.
const (
	FieldPolicies = "metadata.Tags.policies"
	FieldVersion  = "metadata.Tags.version"
	FieldRawTags  = "metadata.Tags.explicit"
)

// Policies lists the tag policies in the order their help text gives them.
var Policies = []string{"auto", "version", "latest", "run", "sha", "semver", "branch", "pr"}

// tagPattern is the tag grammar of the OCI distribution spec.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

const tagRule = "a tag is 1 to 128 of A-Z a-z 0-9 _ . - and starts with neither . nor -"

// ValidTag reports whether s may be used as an image tag.
func ValidTag(s string) bool { return tagPattern.MatchString(s) }

// Tags computes the tags of an image from the tag policies (items of the
// "tags" input; an item may itself hold a comma- or newline-separated list),
// the release version and explicit tags (the "raw-tags" input). The result
// is sorted and free of duplicates.
//
// A policy that does not apply to the event (semver on a branch push, pr on
// a push) gives nothing; one that cannot work without a value the run lacks
// (version without a version, run without a run number) is an error, as is
// an empty result. Errors are *field.Error of the argument at fault, and
// name the other arguments through names.
func Tags(c Context, policies []string, version string, explicit []string, names field.Names) ([]string, error) {
	var tags, used []string
	for _, p := range textlist.Split(policies...) {
		p = strings.ToLower(p)
		got, err := policyTags(c, p, version, names)
		if err != nil {
			return nil, err
		}
		used = append(used, p)
		tags = append(tags, got...)
	}
	for _, t := range textlist.Split(explicit...) {
		if !ValidTag(t) {
			return nil, field.Errorf(FieldRawTags, `%q is not a valid tag; %s`, t, tagRule)
		}
		tags = append(tags, t)
	}
	if len(tags) == 0 && len(used) == 0 {
		return nil, fmt.Errorf(`%s and %s are empty, so the image gets no tag; list tag policies, e.g. "auto"`,
			names.Of(FieldPolicies), names.Of(FieldRawTags))
	}
	if len(tags) == 0 {
		return nil, field.Errorf(FieldPolicies, `%s gave no tag for %s; add "sha", set %s with the "version" policy, or list tags in %s`,
			describePolicies(used), c.describe(), names.Of(FieldVersion), names.Of(FieldRawTags))
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

func policyTags(c Context, policy, version string, names field.Names) ([]string, error) {
	switch policy {
	case "auto":
		var tags []string
		if len(c.SHA) >= 7 {
			t, err := shaTag(c)
			if err != nil {
				return nil, err
			}
			tags = append(tags, t)
		}
		sv, err := semverTags(c)
		if err != nil {
			return nil, err
		}
		tags = append(tags, sv...)
		if b := SanitizeTag(c.branch()); b != "" {
			tags = append(tags, b)
		}
		if c.PRNumber > 0 {
			tags = append(tags, prTag(c))
		}
		if version != "" {
			t, err := versionTag(version)
			if err != nil {
				return nil, err
			}
			tags = append(tags, t)
		}
		return tags, nil
	case "version":
		if version == "" {
			return nil, field.Errorf(FieldPolicies, `tag policy "version" needs a version; set %s, e.g. "1.4.0"`, names.Of(FieldVersion))
		}
		t, err := versionTag(version)
		if err != nil {
			return nil, err
		}
		return []string{t}, nil
	case "latest":
		return []string{"latest"}, nil
	case "run":
		if c.RunNumber <= 0 {
			return nil, field.Errorf(FieldPolicies, `tag policy "run" needs the workflow run number (GITHUB_RUN_NUMBER), which is not set; drop "run" outside GitHub Actions`)
		}
		return []string{"v" + strconv.FormatInt(c.RunNumber, 10)}, nil
	case "sha":
		t, err := shaTag(c)
		if err != nil {
			return nil, err
		}
		return []string{t}, nil
	case "semver":
		return semverTags(c)
	case "branch":
		if b := SanitizeTag(c.branch()); b != "" {
			return []string{b}, nil
		}
		return nil, nil
	case "pr":
		if c.PRNumber > 0 {
			return []string{prTag(c)}, nil
		}
		return nil, nil
	}
	return nil, field.Errorf(FieldPolicies, `unknown tag policy %q; use one of %s`, policy, strings.Join(Policies, ", "))
}

func versionTag(version string) (string, error) {
	if !ValidTag(version) {
		return "", field.Errorf(FieldVersion, `%q is not a valid tag; %s`, version, tagRule)
	}
	return version, nil
}

func shaTag(c Context) (string, error) {
	sha := strings.ToLower(c.SHA)
	if len(sha) < 7 || strings.Trim(sha, "0123456789abcdef") != "" {
		return "", field.Errorf(FieldPolicies, `tag policy "sha" needs the commit SHA (GITHUB_SHA), and %q is none; run in GitHub Actions or drop "sha"`, c.SHA)
	}
	return "sha-" + sha[:7], nil
}

func prTag(c Context) string { return "pr-" + strconv.Itoa(c.PRNumber) }

// semverTags gives, for a push of git tag v1.2.3 (or 1.2.3), the tags 1.2.3,
// 1.2 and 1. A pre-release or a build gives only itself: 1.2 must not move to
// a release candidate. A 0.y.z version gets no bare "0" tag, since semver
// promises nothing across 0.y minor versions. Other refs give nothing.
func semverTags(c Context) ([]string, error) {
	tag := c.gitTag()
	if tag == "" {
		return nil, nil
	}
	v, ok := parseSemver(tag)
	if !ok {
		return nil, nil
	}
	if v.Prerelease() != "" || v.Metadata() != "" {
		// '+' is not allowed in a tag; OCI registries and Helm write it as '_'.
		t := strings.ReplaceAll(v.String(), "+", "_")
		if !ValidTag(t) {
			return nil, fmt.Errorf(`git tag %q gives %q, which is not a valid image tag (%s); shorten the pre-release or build part`, tag, t, tagRule)
		}
		return []string{t}, nil
	}
	tags := []string{
		fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()),
		fmt.Sprintf("%d.%d", v.Major(), v.Minor()),
	}
	if v.Major() > 0 {
		tags = append(tags, strconv.FormatUint(v.Major(), 10))
	}
	return tags, nil
}

// parseSemver accepts a full semantic version with an optional leading v,
// and nothing looser: "v1.2" or "1.02.3" are not releases.
func parseSemver(s string) (*semver.Version, bool) {
	s = strings.TrimPrefix(s, "v")
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, false
	}
	return v, true
}

// SanitizeTag turns a branch name (or any text) into a valid tag, or "" when
// nothing of it can be kept: characters outside the grammar become '-',
// leading '.' and '-' go, and the result is cut to 128 bytes.
// "feature/Login" becomes "feature-Login".
func SanitizeTag(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	t := strings.TrimLeft(b.String(), ".-")
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

func describePolicies(p []string) string {
	switch len(p) {
	case 1:
		return fmt.Sprintf("the policy %q", p[0])
	}
	return "the policies " + strings.Join(p, ", ")
}

func (c Context) describe() string {
	ev := c.EventName
	if ev == "" {
		ev = "a run outside GitHub Actions"
	} else {
		ev = "this " + ev + " event"
	}
	if c.Ref != "" {
		ev += " on " + c.Ref
	}
	return ev
}
