package rollout

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Outcome is the verdict on a whole rollout.
type Outcome string

const (
	// Succeeded: every workload rolled out.
	Succeeded Outcome = "succeeded"
	// Failed: at least one workload failed, or the deadline passed first.
	Failed Outcome = "failed"
)

// State is where one workload stood when the verdict came.
type State string

const (
	// Ready: the workload rolled out (a Job: completed).
	Ready State = "ready"
	// Broken: the workload failed; its Cause says why.
	Broken State = "failed"
	// Pending: still rolling out when another workload failed.
	Pending State = "pending"
)

// Reason classifies why a workload failed.
type Reason string

// The causes a watch recognises. Each comes with a message naming what failed
// (the image, the exit code, the missing Secret, the probe...) and a fix.
const (
	ImagePull        Reason = "ImagePull"        // ErrImagePull, ImagePullBackOff, InvalidImageName
	CrashLoop        Reason = "CrashLoop"        // a container exits and restarts
	OOMKilled        Reason = "OOMKilled"        // a container was killed for memory
	ConfigError      Reason = "ConfigError"      // a missing Secret, ConfigMap or key; a volume that cannot mount
	ContainerStart   Reason = "ContainerStart"   // CreateContainerError, RunContainerError
	Unschedulable    Reason = "Unschedulable"    // no node fits the pod
	ReadinessProbe   Reason = "ReadinessProbe"   // running but never ready
	LivenessProbe    Reason = "LivenessProbe"    // restarted by its liveness or startup probe
	QuotaExceeded    Reason = "QuotaExceeded"    // a ResourceQuota refuses the pods
	FailedCreate     Reason = "FailedCreate"     // the API server refuses the pods for another reason
	ProgressDeadline Reason = "ProgressDeadline" // the Deployment's progressDeadlineSeconds passed
	JobFailed        Reason = "JobFailed"        // the Job failed (backoff limit, active deadline)
	Evicted          Reason = "Evicted"          // a pod was evicted by its node
	Paused           Reason = "Paused"           // the Deployment is paused, nothing rolls out
	Deleted          Reason = "Deleted"          // the workload was deleted during the watch
	DeadlineExceeded Reason = "DeadlineExceeded" // the watch's own deadline passed with no other cause
)

// Verdict is the result of a watch.
type Verdict struct {
	Outcome Outcome
	// Workloads has one entry per target, in the order given.
	Workloads []Workload
	// Started is when the watch began; Duration how long it took to the verdict.
	Started  time.Time
	Duration time.Duration
}

// Workload is what became of one target.
type Workload struct {
	Target
	State State
	// Images pairs each container's image before and after the deploy. Old is
	// empty when there was no previous revision.
	Images []ImageChange
	// Replicas as the workload's status last reported them.
	Replicas Replicas
	// TimeToReady is from the start of the watch to the moment the workload was
	// seen rolled out; zero when it was not.
	TimeToReady time.Duration
	// Cause says why the workload failed; nil unless State is Broken.
	Cause *Cause
	// Commands are the kubectl commands a person would run next.
	Commands []string
}

// ImageChange is one container's image before and after.
type ImageChange struct {
	Container string
	Old, New  string
}

// Replicas counts a workload's pods. For a Job, Desired is its completions and
// Ready the pods that succeeded.
type Replicas struct {
	Desired, Updated, Ready, Available int32
}

// Cause explains a failure.
type Cause struct {
	Reason Reason
	// Message says what failed, naming the pod, container, image, code or object.
	Message string
	// Fix is the likely remedy.
	Fix string
	// Pods are the pods that show the cause; Container the container in them.
	Pods      []string
	Container string
	// Events are the warnings the cluster recorded about the failing objects,
	// newest last.
	Events []Event
	// Logs are the last lines the failing container wrote, for crashes; empty
	// when the cluster has none (NoLogs is then in Message).
	Logs []string
}

// NoLogs is said when a crashed container's logs cannot be had.
const NoLogs = "no logs available"

// Event is a Kubernetes event, reduced to what a person reads.
type Event struct {
	// Object is "pod/web-7d9c-abcde".
	Object  string
	Type    string
	Reason  string
	Message string
	Count   int32
}

func (e Event) String() string {
	s := fmt.Sprintf("%s %s: %s", e.Object, e.Reason, e.Message)
	if e.Count > 1 {
		s += fmt.Sprintf(" (x%d)", e.Count)
	}
	return s
}

// Failed reports whether the rollout failed.
func (v *Verdict) Failed() bool { return v.Outcome != Succeeded }

// Broken returns the workloads that failed, in order.
func (v *Verdict) Broken() []Workload {
	var out []Workload
	for _, w := range v.Workloads {
		if w.State == Broken {
			out = append(out, w)
		}
	}
	return out
}

// Err is nil when the rollout succeeded, and otherwise an error that says which
// workload failed and why, with the fix.
func (v *Verdict) Err() error {
	if !v.Failed() {
		return nil
	}
	var errs []error
	for _, w := range v.Broken() {
		errs = append(errs, &FailureError{Workload: w})
	}
	if len(errs) == 0 {
		return errors.New("rollout failed")
	}
	return errors.Join(errs...)
}

// FailureError is a workload's failure as an error.
type FailureError struct{ Workload Workload }

func (e *FailureError) Error() string {
	w := e.Workload
	if w.Cause == nil {
		return fmt.Sprintf("%s failed", w.Target)
	}
	msg := fmt.Sprintf("%s: %s: %s", w.Target, w.Cause.Reason, w.Cause.Message)
	if w.Cause.Fix != "" {
		msg += "; " + w.Cause.Fix
	}
	return msg
}

// ImageSummary returns "old → new" for a workload's images, one per container,
// "new" alone for a first deploy.
func (w Workload) ImageSummary() string {
	var parts []string
	for _, c := range w.Images {
		prefix := ""
		if len(w.Images) > 1 {
			prefix = c.Container + ": "
		}
		switch {
		case c.Old == "" || c.Old == c.New:
			parts = append(parts, prefix+c.New)
		default:
			parts = append(parts, prefix+c.Old+" → "+c.New)
		}
	}
	return strings.Join(parts, "\n")
}
