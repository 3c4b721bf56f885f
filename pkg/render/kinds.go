package render

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// checkType says what is wrong with an object's apiVersion and kind, or returns
// "" when nothing is. Kinds of the groups Kubernetes itself serves (apps, batch,
// core, ...) are checked against client-go's scheme, so a typo such as
// "Deploymnet" is caught with its file and line before anything reaches a
// cluster. Other groups (CRDs, aggregated APIs) are left to the cluster, which
// alone knows what it serves.
func checkType(apiVersion, kind string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || gv.Version == "" {
		return fmt.Sprintf("apiVersion %q is not <group>/<version> or <version>%s", apiVersion, suggestAPIVersion(kind))
	}
	if !isKindName(kind) {
		return fmt.Sprintf("kind %q is not a kind name (a kind starts with a capital letter, e.g. Deployment)", kind)
	}
	if !scheme.Scheme.IsGroupRegistered(gv.Group) {
		if gv.Group == "" || !strings.Contains(gv.Group, ".") {
			// A group without a dot is reserved for Kubernetes' own APIs, so
			// "deployment/v1" or "app/v1" is a typo, not a CRD.
			return fmt.Sprintf("apiVersion %q names no API group that Kubernetes serves%s", apiVersion, suggestAPIVersion(kind))
		}
		return ""
	}
	if !scheme.Scheme.IsVersionRegistered(gv) {
		if gv.Group == "" {
			return fmt.Sprintf("apiVersion %q is not a version of the core API (v1)%s", apiVersion, suggestAPIVersion(kind))
		}
		return fmt.Sprintf("apiVersion %q: the %s group has no version %s; use %q", apiVersion, gv.Group, gv.Version, preferred(gv.Group))
	}
	if scheme.Scheme.Recognizes(gv.WithKind(kind)) {
		return ""
	}
	msg := fmt.Sprintf("kind %q is not served by apiVersion %q", kind, apiVersion)
	if s := closestKind(gv, kind); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	if s := suggestAPIVersion(kind); s != "" {
		return msg + s
	}
	return msg
}

func isKindName(kind string) bool {
	if kind == "" || kind[0] < 'A' || kind[0] > 'Z' {
		return false
	}
	for _, r := range kind {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// suggestAPIVersion returns "; Deployment is apps/v1" for a kind Kubernetes
// serves, or "" when it does not know the kind.
func suggestAPIVersion(kind string) string {
	if gv, ok := apiVersionOf(kind); ok {
		return fmt.Sprintf("; %s is %q", kind, gv.String())
	}
	return ""
}

// apiVersionOf finds the preferred group version serving kind.
func apiVersionOf(kind string) (schema.GroupVersion, bool) {
	if !isKindName(kind) {
		return schema.GroupVersion{}, false
	}
	for _, gv := range scheme.Scheme.PrioritizedVersionsAllGroups() {
		if scheme.Scheme.Recognizes(gv.WithKind(kind)) && !isMetaKind(kind) {
			return gv, true
		}
	}
	return schema.GroupVersion{}, false
}

// isMetaKind is true for the kinds every group version registers (options,
// events, status), which are never manifests.
func isMetaKind(kind string) bool {
	return strings.HasSuffix(kind, "Options") || kind == "WatchEvent" || kind == "Status" || kind == "List"
}

// preferred is the version of group that clusters serve first (apps/v1, not
// the long-removed apps/v1beta1 the scheme still knows).
func preferred(group string) string {
	if vs := scheme.Scheme.PrioritizedVersionsForGroup(group); len(vs) > 0 {
		return vs[0].String()
	}
	return group
}

// closestKind suggests the kind of gv nearest to kind: same letters in another
// case, or at most two edits away.
func closestKind(gv schema.GroupVersion, kind string) string {
	var known []string
	for k := range scheme.Scheme.KnownTypes(gv) {
		if !isMetaKind(k) && !strings.HasSuffix(k, "List") {
			known = append(known, k)
		}
	}
	sort.Strings(known)
	best, bestD := "", 3
	for _, k := range known {
		if strings.EqualFold(k, kind) {
			return k
		}
		if d := distance(strings.ToLower(k), strings.ToLower(kind)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
