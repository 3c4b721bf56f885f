// Package rollback puts back the revision each workload ran before a failed
// deploy (a Deployment's previous ReplicaSet template, a StatefulSet's or
// DaemonSet's previous ControllerRevision), then watches that restore to its
// own verdict.
package rollback
