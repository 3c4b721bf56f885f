package manifestpolicy

import (
	"context"
	"fmt"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"
)

// The Pod Security Standards checks come from Kubernetes' own evaluator
// (k8s.io/pod-security-admission), the code the API server's admission runs.
// Each is called on its own, at its newest version, so that a finding says
// which level it belongs to.
var (
	psaOnce                    sync.Once
	psaBaseline, psaRestricted []psa.CheckPodFn
)

func podSecurityChecks() (baseline, restricted []psa.CheckPodFn) {
	psaOnce.Do(func() {
		for _, c := range psa.DefaultChecks() {
			if len(c.Versions) == 0 {
				continue
			}
			fn := c.Versions[len(c.Versions)-1].CheckPod
			switch c.Level {
			case psaapi.LevelBaseline:
				psaBaseline = append(psaBaseline, fn)
			case psaapi.LevelRestricted:
				psaRestricted = append(psaRestricted, fn)
			}
		}
	})
	return psaBaseline, psaRestricted
}

func checkBaseline(ctx context.Context, rel *release, cfg Config) ([]finding, error) {
	b, _ := podSecurityChecks()
	return podSecurity(rel, "baseline", b,
		"drop what the pod does not need: privileged, hostPath volumes, host namespaces and ports, added capabilities; "+
			"a node agent that needs them can opt out with its reason"), nil
}

func checkRestricted(ctx context.Context, rel *release, cfg Config) ([]finding, error) {
	_, r := podSecurityChecks()
	return podSecurity(rel, "restricted", r,
		"run as a non-root user (USER in the image) and set in securityContext: runAsNonRoot: true, allowPrivilegeEscalation: false, "+
			"capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}"), nil
}

func podSecurity(rel *release, level string, fns []psa.CheckPodFn, fix string) []finding {
	var out []finding
	for _, w := range rel.workloads {
		meta := &metav1.ObjectMeta{Labels: w.labels}
		var failed []string
		for _, fn := range fns {
			r := fn(meta, &w.spec)
			if r.Allowed {
				continue
			}
			s := r.ForbiddenReason
			if r.ForbiddenDetail != "" {
				s += " (" + r.ForbiddenDetail + ")"
			}
			failed = append(failed, s)
		}
		if len(failed) == 0 {
			continue
		}
		out = append(out, finding{obj: w.obj, line: line(rel.objects[w.obj].Node.YNode(), anyPath(w.specPath)...),
			msg: fmt.Sprintf("the pods break the Pod Security Standards' %s level, which a namespace enforcing it refuses: %s", level, strings.Join(failed, "; ")),
			fix: fix})
	}
	return out
}

func anyPath(p []string) []any {
	out := make([]any, len(p))
	for i, s := range p {
		out[i] = s
	}
	return out
}
