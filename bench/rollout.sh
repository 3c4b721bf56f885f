#!/usr/bin/env bash
# Rollout benchmark: on the same broken deploy in the same run, the time from
# the moment a pod's status first shows the cause (crash loop, failed pull, OOM
# kill) to deploy-action's verdict, against kubectl rollout status, which has
# no verdict on these before the Deployment's progress deadline (10 minutes by
# default) and is cut off after BENCH_KUBECTL_TIMEOUT; and the time from the
# Deployment being rolled out to each tool's success verdict. Ratios are
# kubectl's time over deploy-action's.
#
# Needs the test control plane's binaries (e2e/cluster/build.sh) and kubectl.
# Usage: bench/rollout.sh
# Knobs: BENCH_KUBECTL_TIMEOUT=60s COUNT=1 (iterations of each benchmark)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-1}
export BENCH_KUBECTL_TIMEOUT=${BENCH_KUBECTL_TIMEOUT:-60s}
command -v kubectl >/dev/null || { echo "rollout.sh: kubectl is missing" >&2; exit 1; }

cd "$ROOT"
go test -run '^$' -bench . -benchtime "${COUNT}x" -timeout 60m -v ./bench/rollout/ 2>&1 |
  grep -E '^(Benchmark|    rollout_bench_test|ok|FAIL|--- )|cause visible|rollout complete' || true
