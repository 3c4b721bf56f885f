// Package rollback puts a failed release back as it was: the objects it
// created are deleted, the ones it changed get back what the field manager had
// applied before, and each workload, last, its previous revision (a
// Deployment's previous ReplicaSet template, a StatefulSet's or DaemonSet's
// previous ControllerRevision, else the template the apply recorded), watched
// to its own verdict.
package rollback
