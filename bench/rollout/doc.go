// Package rolloutbench measures how soon a rollout verdict comes, against
// kubectl rollout status on the same deploy in the same run: from the moment a
// broken pod's status shows the cause, and from the moment a Deployment is
// available. Run it with bench/rollout.sh.
package rolloutbench
