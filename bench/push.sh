#!/usr/bin/env bash
# Push benchmark: the same image pushed to a local docker-registry (CNCF
# distribution 2.8) by deploy-action, crane and docker push; median wall times
# of the first push (every blob new) and of a second push (every blob present),
# with ratios against deploy-action.
#
# Every push goes to a registry with fresh, empty storage, so no tool profits
# from blobs or cross-repository mounts left by another. The image is layers of
# random data, so compression gains nothing and the registry receives the same
# bytes from every tool (docker push compresses the layers itself, while the
# other two upload the already compressed blobs of the layout).
#
# Usage: bench/push.sh            (from anywhere; idempotent)
# Knobs: ROUNDS=5 LAYERS=10 SIZE_MB=200 TOOLS="deploy-action crane docker"
#        REGISTRY_PORT=5055 BENCH_DIR=bench/.work
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-5}
LAYERS=${LAYERS:-10}
SIZE_MB=${SIZE_MB:-200}
TOOLS=${TOOLS:-deploy-action crane docker}
PORT=${REGISTRY_PORT:-5055}
WORK=${BENCH_DIR:-$ROOT/bench/.work}
CRANE_VERSION=v0.22.1
DOCKER=${DOCKER:-/usr/bin/docker}   # the Debian client; see docs on BuildKit
HOST=127.0.0.1:$PORT
BIN=$WORK/bin
IMAGE_DIR=$WORK/image-$LAYERS-$SIZE_MB
LAYOUT=$IMAGE_DIR/layout
LOG=$WORK/tools.log

die() { echo "push.sh: $*" >&2; exit 1; }
say() { echo "$*" >&2; }

mkdir -p "$WORK" "$BIN"
# The work directory ignores itself: nothing in it belongs in git.
echo '*' >"$WORK/.gitignore"
: >"$LOG"

# --- tools ---------------------------------------------------------------
command -v go >/dev/null || die "go is not installed"
command -v docker-registry >/dev/null || die "docker-registry is missing; apt-get install docker-registry"
command -v curl >/dev/null || die "curl is missing; apt-get install curl"

say "building deploy-action and mkimage"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$BIN/deploy-action" ./cmd/deploy-action && go build -o "$BIN/mkimage" ./bench/cmd/mkimage)

CRANE=""
if [[ " $TOOLS " == *" crane "* ]]; then
  gobin=$(go env GOBIN); gobin=${gobin:-$(go env GOPATH)/bin}
  CRANE=$gobin/crane
  if [[ ! -x $CRANE || $("$CRANE" version 2>/dev/null) != "$CRANE_VERSION" ]]; then
    say "installing crane $CRANE_VERSION into $gobin"
    (cd "$WORK" && GOFLAGS=-mod=mod go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION")
  fi
fi

if [[ " $TOOLS " == *" docker "* ]] && ! "$DOCKER" info >/dev/null 2>&1; then
  say "no Docker engine answers; leaving docker push out"
  TOOLS=${TOOLS//docker/}
fi

# --- the image -------------------------------------------------------------
stamp=$IMAGE_DIR/image.json
if [[ -f $stamp && -f $IMAGE_DIR/image.tar && -f $LAYOUT/index.json ]]; then
  say "reusing the image in $IMAGE_DIR"
else
  say "writing a $LAYERS-layer, $SIZE_MB MB image of random data"
  "$BIN/mkimage" -out "$IMAGE_DIR" -layers "$LAYERS" -mb "$SIZE_MB" >>"$LOG"
fi
digest=$(sed -n 's/.*"digest": "\(sha256:[0-9a-f]*\)".*/\1/p' "$stamp")
compressed=$(sed -n 's/.*"bytes": \([0-9]*\).*/\1/p' "$stamp")
[[ -n $digest && -n $compressed ]] || die "cannot read $stamp; delete $IMAGE_DIR and run again"

DOCKER_IMAGE=deploy-action-bench:${digest:7:12}
if [[ " $TOOLS " == *" docker "* ]] && ! "$DOCKER" image inspect "$DOCKER_IMAGE" >/dev/null 2>&1; then
  say "loading the image into Docker as $DOCKER_IMAGE"
  "$DOCKER" load -i "$IMAGE_DIR/image.tar" >>"$LOG"
  "$DOCKER" tag deploy-action-bench:latest "$DOCKER_IMAGE"
  "$DOCKER" rmi deploy-action-bench:latest >/dev/null
fi

# --- the registry ----------------------------------------------------------
REG_PID=""
stop_registry() {
  if [[ -n $REG_PID ]]; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
    REG_PID=""
  fi
}
start_registry() {
  stop_registry
  rm -rf "$WORK/registry"
  mkdir -p "$WORK/registry/storage"
  cat >"$WORK/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry/storage
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $HOST
  secret: push-benchmark
EOF
  docker-registry serve "$WORK/registry/config.yml" >>"$WORK/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do
    curl -fs -o /dev/null "http://$HOST/v2/" && return 0
    kill -0 "$REG_PID" 2>/dev/null || die "docker-registry exited; see $WORK/registry.log"
    sleep 0.1
  done
  die "docker-registry did not answer on $HOST; see $WORK/registry.log"
}
PUSHED_TAGS=()
cleanup() {
  stop_registry
  for t in "${PUSHED_TAGS[@]}"; do "$DOCKER" rmi "$t" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if (: <"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "port $PORT is taken; set REGISTRY_PORT to a free port"
fi
: >"$WORK/registry.log"

# --- pushes ------------------------------------------------------------------
# Each prints nothing on success; its output goes to $LOG.
push_deploy-action() { "$BIN/deploy-action" push --from "oci:$LAYOUT" --images "$1" --raw-tags v1 --tags "" >/dev/null; }
push_crane() { "$CRANE" push "$LAYOUT" "$1:v1"; }
push_docker() { "$DOCKER" push "$1:v1"; }

secs() { awk -v ms="$1" 'BEGIN { printf "%.2fs", ms / 1000 }'; }

# timed CMD... runs CMD and prints its wall time in milliseconds.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >>"$LOG" 2>&1 || die "failed: $*; see $LOG"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}

read -r -a tools <<<"$TOOLS"
results=$WORK/results.tsv
printf 'tool\tround\tfirst_ms\tsecond_ms\n' >"$results"
say "pushing $ROUNDS rounds of: ${tools[*]}"
for round in $(seq "$ROUNDS"); do
  line="round $round/$ROUNDS:"
  # Rotate the order each round, so no tool always runs first or last.
  n=${#tools[@]}
  for i in $(seq 0 $((n - 1))); do
    tool=${tools[$(((i + round) % n))]}
    repo=$HOST/bench/$tool-r$round
    start_registry
    if [[ $tool == docker ]]; then
      "$DOCKER" tag "$DOCKER_IMAGE" "$repo:v1"
      PUSHED_TAGS+=("$repo:v1")
    fi
    first=$(timed "push_$tool" "$repo")
    second=$(timed "push_$tool" "$repo")
    stop_registry
    if [[ $tool == docker ]]; then "$DOCKER" rmi "$repo:v1" >/dev/null; fi
    printf '%s\t%s\t%s\t%s\n' "$tool" "$round" "$first" "$second" >>"$results"
    line+=" $tool $(secs "$first")/$(secs "$second")"
  done
  say "$line"
done

# --- the table -----------------------------------------------------------------
# stats TOOL COLUMN prints "median min max" in milliseconds.
stats() {
  awk -F'\t' -v t="$1" -v c="$2" 'NR > 1 && $1 == t { print $c }' "$results" | sort -n |
    awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[1], a[NR] }'
}
read -r base1 _ _ <<<"$(stats deploy-action 3)"
read -r base2 _ _ <<<"$(stats deploy-action 4)"
docker_version=$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo "?")
{
  echo
  printf 'push benchmark: %d layers, %d MB of random data (%.0f MB compressed), %d rounds, median wall time\n' \
    "$LAYERS" "$SIZE_MB" "$(awk -v b="$compressed" 'BEGIN { print b / 1e6 }')" "$ROUNDS"
  printf 'registry: docker-registry (distribution 2.8) on %s, fresh storage for every tool and round\n' "$HOST"
  printf 'tools: deploy-action push, crane %s, docker push %s\n' "$CRANE_VERSION" "$docker_version"
  printf 'machine: %s, %s cores, load %s\n' "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  printf '%-14s | %-36s | %-36s\n' "" "first push (every blob new)" "second push (every blob present)"
  printf '%-14s | %9s %17s %8s | %9s %17s %8s\n' tool median "min-max" ratio median "min-max" ratio
  printf '%-14s-+-%36s-+-%36s\n' "--------------" "------------------------------------" "------------------------------------"
  for tool in "${tools[@]}"; do
    read -r m1 lo1 hi1 <<<"$(stats "$tool" 3)"
    read -r m2 lo2 hi2 <<<"$(stats "$tool" 4)"
    awk -v t="$tool" -v m1="$m1" -v lo1="$lo1" -v hi1="$hi1" -v b1="${base1:-0}" \
        -v m2="$m2" -v lo2="$lo2" -v hi2="$hi2" -v b2="${base2:-0}" 'BEGIN {
      r1 = b1 > 0 ? sprintf("%.2fx", m1 / b1) : "-"
      r2 = b2 > 0 ? sprintf("%.2fx", m2 / b2) : "-"
      printf "%-14s | %8.2fs %8.2f-%6.2fs %8s | %8.3fs %8.3f-%6.3fs %8s\n", t, m1/1000, lo1/1000, hi1/1000, r1, m2/1000, lo2/1000, hi2/1000, r2
    }'
  done
  echo
  echo "ratio: the tool's median over deploy-action's (above 1.00x: slower than deploy-action)"
  echo "raw times: $results"
} | tee "$WORK/results.txt"
