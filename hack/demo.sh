#!/usr/bin/env bash
# `make demo`: the whole pipeline on embedded defaults, on this machine.
#
# As root on Debian it first provisions what the demo needs, through the same scripts the
# tests use: hack/setup.sh (packages, the Docker engine, the base image) and, alongside it,
# e2e/cluster/build.sh (the test control plane). It says up front what the first run will
# build and about how long that takes. Elsewhere it provisions nothing: it runs what it can
# and the demo names each part it skipped with the command that enables it.
#
# One line per step, with its time. A second run takes well under a minute.
#
# Environment:
#   DEPLOY_ACTION_CACHE  the cache the setup and the control plane use (see those scripts)
#   DEMO_DIR             where the binaries, the cluster and the summary go (default .cache/demo)
#   GO                   the go command (default go)
#   DEMO_PROVISION       "no" provisions nothing, even as root on Debian (default: auto)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# cgo off and no debug information, as the Makefile and the control plane build: the
# same compiled packages.
# shellcheck source=hack/goenv.sh
source hack/goenv.sh
GO=${GO:-go}
DEMO_DIR=${DEMO_DIR:-.cache/demo}
DOCKER=/usr/bin/docker
BASE_IMAGE=debian:trixie-slim
POSTGRES_IMAGE=deploy-action-demo/postgres:17

t0=$SECONDS
step() { printf 'demo: %-16s %s\n' "$1" "$2"; }
die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}
command -v "$GO" >/dev/null || die "go is not installed (https://go.dev/dl)"
mkdir -p "$DEMO_DIR"

provision=false
if [[ ${DEMO_PROVISION:-auto} != no && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	provision=true
fi
engine=false
if [[ -x $DOCKER ]] && timeout 5 "$DOCKER" version >/dev/null 2>&1; then
	engine=true
fi

# What the first run has to build, said before it starts.
plan=()
missing=$(e2e/cluster/build.sh -c 2>/dev/null | awk '{print $1}' | paste -sd, -) || true
if [[ ! -x $DEMO_DIR/bin/deploy-action ]]; then
	if [[ -n $missing ]] && $provision; then
		plan+=("deploy-action itself (about 2 minutes with empty Go caches, after the control plane, which compiles most of its packages)")
	else
		plan+=("deploy-action itself (4 to 5 minutes with empty Go caches, seconds afterwards)")
	fi
fi
if $engine; then
	"$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 || plan+=("the base image $BASE_IMAGE with debootstrap (about 1 minute)")
elif $provision; then
	plan+=("the Docker engine from Debian's archive and the base image $BASE_IMAGE (about 2 minutes)")
fi
if $engine || $provision; then
	"$DOCKER" image inspect "$POSTGRES_IMAGE" >/dev/null 2>&1 ||
		plan+=("PostgreSQL for the shop's smoke run, and the shop (about a minute)")
fi
if [[ -n $missing ]] && $provision; then
	plan+=("the test control plane: $missing (about 15 minutes on two idle cores, once)")
fi
if ((${#plan[@]} > 0)); then
	step plan "this first run builds, once:"
	for p in "${plan[@]}"; do
		printf '        - %s\n' "$p"
	done
	step plan "then each run takes under a minute"
fi

cluster_pid=
if $provision; then
	if [[ -n $missing ]]; then
		# CPU-bound, while the setup waits on the network: side by side.
		step control-plane "building $missing in the background (log: $DEMO_DIR/cluster-build.log)"
		e2e/cluster/build.sh >"$DEMO_DIR/cluster-build.log" 2>&1 &
		cluster_pid=$!
	fi
	s=$SECONDS
	hack/setup.sh
	step setup "done ($((SECONDS - s))s)"
fi

# deploy-action shares most of its compiled packages with the control plane (client-go,
# k8s.io/api, gRPC, ...): compiled after it, they are found in the cache rather than
# compiled twice at once.
if [[ -n $cluster_pid ]]; then
	s=$SECONDS
	wait "$cluster_pid" || die "building the control plane failed; see $DEMO_DIR/cluster-build.log"
	step control-plane "built (waited $((SECONDS - s))s)"
fi

s=$SECONDS
"$GO" build -o "$DEMO_DIR/bin/" ./cmd/deploy-action ./e2e/kubetest/cmd/kubetest-cluster
step compile "deploy-action and the cluster launcher ($((SECONDS - s))s)"

args=(demo --summary-file "$DEMO_DIR/summary.md" --summary-file "$DEMO_DIR/summary.html")
if e2e/cluster/build.sh -c >/dev/null 2>&1; then
	s=$SECONDS
	"$DEMO_DIR/bin/kubetest-cluster" down -dir "$DEMO_DIR/cluster" >/dev/null 2>&1 || true
	"$DEMO_DIR/bin/kubetest-cluster" up -dir "$DEMO_DIR/cluster" -nodes 3 >"$DEMO_DIR/cluster-up.log" 2>&1 ||
		die "starting the control plane failed; see $DEMO_DIR/cluster-up.log"
	trap '"$DEMO_DIR/bin/kubetest-cluster" down -dir "$DEMO_DIR/cluster" >/dev/null 2>&1' EXIT
	step cluster "a control plane with 3 simulated nodes is up ($((SECONDS - s))s)"
	args+=(--kubeconfig-file "$DEMO_DIR/cluster/kubeconfig")
fi

s=$SECONDS
"$DEMO_DIR/bin/deploy-action" "${args[@]}"
step run "the demo took $((SECONDS - s))s; make demo took $((SECONDS - t0))s in all"
