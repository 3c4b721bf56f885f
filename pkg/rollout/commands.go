package rollout

import (
	"fmt"
	"regexp"
	"strings"
)

// commands are what a person would run next, after the verdict: to see for
// themselves, then to act.
func commands(t Target, s status, c *Cause) []string {
	k := "kubectl -n " + shellQuote(t.Namespace) + " "
	var out []string
	add := func(format string, args ...any) { out = append(out, k+fmt.Sprintf(format, args...)) }
	pod := ""
	if c != nil && len(c.Pods) > 0 {
		pod = c.Pods[0]
	} else if len(s.pods) > 0 {
		pod = s.pods[0]
	}
	if c == nil {
		if t.Kind == Job {
			add("get %s", t.Ref())
		} else {
			add("rollout status %s", t.Ref())
		}
		if s.selector != "" {
			add("get pods -l %s", shellQuote(s.selector))
		}
		return out
	}
	if pod != "" {
		add("describe pod %s", pod)
	} else {
		add("describe %s", t.Ref())
	}
	switch c.Reason {
	case CrashLoop, OOMKilled, LivenessProbe, JobFailed:
		if pod != "" {
			container := ""
			if c.Container != "" {
				container = " -c " + shellQuote(c.Container)
			}
			previous := " --previous"
			if t.Kind == Job {
				previous = ""
			}
			add("logs %s%s%s", pod, container, previous)
		}
	case ConfigError:
		if m := missingObject.FindStringSubmatch(c.Message); m != nil {
			add("get %s %s", strings.ToLower(m[1]), shellQuote(m[2]))
		} else if m := missingKey.FindStringSubmatch(c.Message); m != nil {
			add("describe %s %s", strings.ToLower(m[2]), shellQuote(m[4]))
		}
	case Unschedulable:
		out = append(out, "kubectl describe nodes", `kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints,CPU:.status.allocatable.cpu,MEMORY:.status.allocatable.memory`)
	case QuotaExceeded:
		add("describe resourcequota")
	case ReadinessProbe:
		if s.selector != "" {
			add("get pods -l %s", shellQuote(s.selector))
		}
	}
	if pod != "" {
		add("get events --field-selector involvedObject.name=%s --sort-by=.lastTimestamp", pod)
	} else {
		add("get events --field-selector involvedObject.name=%s --sort-by=.lastTimestamp", t.Name)
	}
	if t.Kind != Job {
		add("rollout history %s", t.Ref())
	}
	return out
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9._/:=@,-]+$`)

// shellQuote quotes a word for a POSIX shell when it needs it, so that a
// command can be pasted as it is printed.
func shellQuote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
