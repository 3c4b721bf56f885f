#!/usr/bin/env bash
# Deploy-stage benchmark, side by side on the same control plane: the shop's
# manifests (Secret, Service, Deployment, migration Job) released with
#   deploy-action rollout   (render, pin, server-side dry run, apply, watch, and
#                            on failure the rollback, watched too)
# against the usual hand-written step
#   kubectl apply -f && kubectl rollout status && kubectl wait --for=condition=complete job
# for a healthy release and for one whose containers crash (kubectl has no
# verdict on that before the progress deadline and is cut off after
# BENCH_KUBECTL_TIMEOUT). Wall time per release, median of ROUNDS; ratios are
# kubectl's time over deploy-action's.
#
# Needs the test control plane's binaries (make cluster-build).
# Usage: bench/deploy.sh      Knobs: ROUNDS=3 BENCH_KUBECTL_TIMEOUT=60s
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
KTIMEOUT=${BENCH_KUBECTL_TIMEOUT:-60s}
cd "$ROOT"
WORK=$(mktemp -d)
DIR=$WORK/cluster
trap 'go run ./e2e/kubetest/cmd/kubetest-cluster down -dir "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

go run ./e2e/kubetest/cmd/kubetest-cluster up -dir "$DIR" -nodes 3 >/dev/null
export KUBECONFIG=$DIR/kubeconfig
KUBECTL=${KUBECTL:-$(ls "${DEPLOY_ACTION_CACHE:-/var/cache/deploy-action}"/kube/*/kubectl 2>/dev/null | tail -1)}
KUBECTL=${KUBECTL:-$(command -v kubectl)}
CGO_ENABLED=0 go build -o "$WORK/deploy-action" ./cmd/deploy-action
DA=$WORK/deploy-action
MANIFESTS=e2e/testdata/shop/k8s

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# pinned IMAGE > DIR: the manifests with the shop's image replaced, for kubectl.
pinned() {
	mkdir -p "$2"
	for f in "$MANIFESTS"/*.yaml; do sed "s#docker.io/acme/shop:latest#$1#" "$f" >"$2/$(basename "$f")"; done
}

release() { # TOOL NS IMAGE -> seconds
	local tool=$1 ns=$2 image=$3 start end
	start=$(now)
	if [ "$tool" = deploy-action ]; then
		"$DA" rollout --manifests "$MANIFESTS" --namespace "$ns" --rollout-grace 0s \
			--image-map "docker.io/acme/shop=$image" >"$WORK/out" 2>&1 || true
	else
		pinned "$image" "$WORK/k-$ns"
		{ "$KUBECTL" -n "$ns" apply -f "$WORK/k-$ns" &&
			"$KUBECTL" -n "$ns" rollout status deployment/shop --timeout="$KTIMEOUT" &&
			"$KUBECTL" -n "$ns" wait --for=condition=complete job/shop-migrate --timeout="$KTIMEOUT"; } >"$WORK/out" 2>&1 || true
	fi
	end=$(now)
	awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}'
}

digest() { printf 'sha256:%064d' "$1"; }

declare -A times
for round in $(seq 1 "$ROUNDS"); do
	for tool in deploy-action kubectl; do
		ns=bench-$tool-$round
		"$KUBECTL" create namespace "$ns" >/dev/null
		# The first release creates everything; the second updates the image;
		# the third crashes. A Job's template cannot change (kubectl apply
		# fails on it; deploy-action replaces a finished one): the Job is
		# deleted before each later release, for both tools alike.
		times[$tool-create]+="$(release $tool "$ns" "docker.io/acme/shop@$(digest 1)") "
		"$KUBECTL" -n "$ns" delete job shop-migrate --wait=true >/dev/null
		times[$tool-update]+="$(release $tool "$ns" "docker.io/acme/shop@$(digest 2)") "
		"$KUBECTL" -n "$ns" delete job shop-migrate --wait=true >/dev/null
		times[$tool-crash]+="$(release $tool "$ns" "example.com/crash@$(digest 3)") "
		if [ "$tool" = deploy-action ] && ! grep -q "rolled-back=true" "$WORK/out"; then
			echo "deploy.sh: the crash release was not rolled back:" >&2; cat "$WORK/out" >&2; exit 1
		fi
	done
done

printf '%-8s %16s %16s %8s\n' release deploy-action kubectl ratio
for kind in create update crash; do
	da=$(echo "${times[deploy-action-$kind]}" | tr ' ' '\n' | grep . | median)
	k=$(echo "${times[kubectl-$kind]}" | tr ' ' '\n' | grep . | median)
	note=""
	[ "$kind" = crash ] && note=" (kubectl: no verdict, cut off at $KTIMEOUT; deploy-action: cause + rollback)"
	printf '%-8s %15.2fs %15.2fs %7.2fx%s\n' "$kind" "$da" "$k" "$(awk -v a="$k" -v b="$da" 'BEGIN {print a / b}')" "$note"
done
