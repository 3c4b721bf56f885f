package generate

import (
	"fmt"
	"regexp"
	"sort"
)

// Pin is an action at one release, pinned by the commit its tag points to.
type Pin struct {
	// Repo is the action's repository, "owner/name".
	Repo string `yaml:"repository"`
	// Version is the release tag, "v4.2.2".
	Version string `yaml:"version"`
	// SHA is the full commit the tag points to (the tag dereferenced).
	SHA string `yaml:"sha"`
}

// Uses is the pin as a step's uses: value, without the version comment.
func (p Pin) Uses() string { return p.Repo + "@" + p.SHA }

// Pins maps an action's repository to its pin.
type Pins map[string]Pin

// The actions the workflow templates use.
const (
	Checkout    = "actions/checkout"
	SetupPython = "actions/setup-python"
	SetupGo     = "actions/setup-go"
	SetupNode   = "actions/setup-node"
	SetupJava   = "actions/setup-java"
)

// DefaultPins are the actions the templates use, each at its newest release
// when this table was written. Every SHA was read from the action's own
// repository with `git rev-parse <tag>^{commit}`; `generate --refresh-pins`
// resolves newer ones through the GitHub API.
func DefaultPins() Pins {
	return Pins{
		Checkout:    {Repo: Checkout, Version: "v7.0.1", SHA: "3d3c42e5aac5ba805825da76410c181273ba90b1"},
		SetupPython: {Repo: SetupPython, Version: "v7.0.0", SHA: "5fda3b95a4ea91299a34e894583c3862153e4b97"},
		SetupGo:     {Repo: SetupGo, Version: "v7.0.0", SHA: "b7ad1dad31e06c5925ef5d2fc7ad053ef454303e"},
		SetupNode:   {Repo: SetupNode, Version: "v7.0.0", SHA: "820762786026740c76f36085b0efc47a31fe5020"},
		SetupJava:   {Repo: SetupJava, Version: "v5.7.0", SHA: "b6effb05e454b25005698d916606bdc6ffcbf961"},
	}
}

// Sorted returns the pins ordered by repository.
func (p Pins) Sorted() []Pin {
	out := make([]Pin, 0, len(p))
	for _, v := range p {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Repo < out[j].Repo })
	return out
}

var (
	shaRe     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	repoRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)
	versionRe = regexp.MustCompile(`^v[0-9]+(\.[0-9]+){0,2}([-+][0-9A-Za-z.-]+)?$`)
)

// Validate says what is wrong with a pin, naming field as the place it came
// from (a flag or a config key).
func (p Pin) Validate(field string) error {
	switch {
	case !repoRe.MatchString(p.Repo):
		return &InputError{Field: field + ".repository", Value: p.Repo, Problem: "is not an owner/name repository", Fix: "use e.g. deploy-action/deploy-action"}
	case !versionRe.MatchString(p.Version):
		return &InputError{Field: field + ".version", Value: p.Version, Problem: "is not a release tag", Fix: "use the tag the SHA is, e.g. v1.2.3"}
	case !shaRe.MatchString(p.SHA):
		return &InputError{Field: field + ".sha", Value: p.SHA, Problem: "is not a full 40-hex commit SHA", Fix: fmt.Sprintf("use `git rev-parse %s^{commit}` in %s", p.Version, p.Repo)}
	}
	return nil
}
