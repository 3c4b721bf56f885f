// Package rollout watches the workloads a deploy changed (Deployments,
// StatefulSets, DaemonSets, Jobs) and their pods until it knows the verdict:
// rolled out, or failed with a cause a person can act on, as soon as the cluster
// shows it rather than at a deadline.
package rollout
