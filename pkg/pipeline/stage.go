package pipeline

import (
	"strings"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// Stage names one step of a run. Stages always run in this order, whatever
// order they are listed in.
type Stage string

const (
	Build  Stage = "build"
	Test   Stage = "test"
	Push   Stage = "push"
	Deploy Stage = "deploy"
)

// order is the one direction values flow in.
var order = []Stage{Build, Test, Push, Deploy}

// ParseStages reads stages written as a list separated by commas, spaces or
// newlines. Errors are *field.Error of FieldStages.
func ParseStages(items []string) ([]Stage, error) {
	seen := map[Stage]bool{}
	for _, item := range items {
		for _, f := range textlist.Words(item) {
			s := Stage(strings.ToLower(f))
			if !known(s) {
				return nil, field.Errorf(FieldStages, "unknown stage %q; use a comma-separated list of %s", f, names())
			}
			seen[s] = true
		}
	}
	if len(seen) == 0 {
		return nil, field.Errorf(FieldStages, "no stage given; use a comma-separated list of %s", names())
	}
	var out []Stage
	for _, s := range order {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

func known(s Stage) bool {
	for _, k := range order {
		if k == s {
			return true
		}
	}
	return false
}

func names() string {
	n := make([]string, len(order))
	for i, s := range order {
		n[i] = string(s)
	}
	return strings.Join(n, ", ")
}

func has(stages []Stage, s Stage) bool {
	for _, x := range stages {
		if x == s {
			return true
		}
	}
	return false
}
