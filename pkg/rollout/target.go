package rollout

import (
	"fmt"
	"strings"
)

// Kind is a kind of workload the watch understands.
type Kind string

// The workloads a rollout can be watched for.
const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
	DaemonSet   Kind = "DaemonSet"
	Job         Kind = "Job"
)

// Kinds lists the kinds Watch accepts.
var Kinds = []Kind{Deployment, StatefulSet, DaemonSet, Job}

// ParseKind accepts a kind as Kubernetes and kubectl spell it: "Deployment",
// "deployment", "deploy", "sts", "ds"...
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "deployment", "deployments", "deploy":
		return Deployment, nil
	case "statefulset", "statefulsets", "sts":
		return StatefulSet, nil
	case "daemonset", "daemonsets", "ds":
		return DaemonSet, nil
	case "job", "jobs":
		return Job, nil
	}
	return "", fmt.Errorf("%q is not a workload kind a rollout can be watched for; use one of Deployment, StatefulSet, DaemonSet, Job", s)
}

// resource is the kind as kubectl names it in "kubectl rollout status deployment/web".
func (k Kind) resource() string { return strings.ToLower(string(k)) }

// Target is a workload a deploy changed.
type Target struct {
	Kind      Kind
	Namespace string
	Name      string
	// Generation is metadata.generation of the object the apply wrote. The
	// watch waits until the workload's controller has seen at least this
	// generation, so a status left over from the previous revision is never
	// taken for the new one. Zero takes the generation current when the watch
	// starts.
	Generation int64
}

// String names the target as kubectl does: "deployment/web in namespace shop".
func (t Target) String() string {
	return fmt.Sprintf("%s in namespace %s", t.Ref(), t.Namespace)
}

// Ref is "deployment/web", the form kubectl commands take.
func (t Target) Ref() string { return t.Kind.resource() + "/" + t.Name }

func (t Target) validate() error {
	known := false
	for _, k := range Kinds {
		known = known || t.Kind == k
	}
	switch {
	case !known:
		return fmt.Errorf("rollout: %q is not a workload kind a rollout can be watched for; use one of Deployment, StatefulSet, DaemonSet, Job", t.Kind)
	case t.Name == "":
		return fmt.Errorf("rollout: a %s target has no name", t.Kind)
	case t.Namespace == "":
		return fmt.Errorf("rollout: %s/%s has no namespace; give the namespace the apply wrote it to", t.Kind.resource(), t.Name)
	case t.Generation < 0:
		return fmt.Errorf("rollout: %s has a negative generation %d", t.Ref(), t.Generation)
	}
	return nil
}
