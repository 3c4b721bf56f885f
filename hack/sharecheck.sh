#!/usr/bin/env bash
# Checks that the test control plane's module (e2e/cluster/kube) builds every module it
# shares with deploy-action at deploy-action's version. Then the packages both build
# (client-go, k8s.io/api, gRPC, protobuf, ...) compile once, for both: a cold `make test`
# compiles them in the control plane's build and finds them cached in `go vet`.
#
# usage: hack/sharecheck.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CGO_ENABLED=0
# modules: the modules a build compiles packages from, with the version it uses.
modules() {
	go list -deps -test -f '{{with .Module}}{{.Path}} {{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}{{end}}' "$@" |
		awk 'NF == 2' | sort -u
}
ours=$(modules ./...)
kube=$(cd e2e/cluster/kube && modules tool ./...)
shared=$(join <(printf '%s\n' "$ours") <(printf '%s\n' "$kube"))
bad=$(awk '$2 != $3' <<<"$shared")
if [[ -n $bad ]]; then
	printf 'sharecheck: e2e/cluster/kube builds these modules at other versions than go.mod (module, ours, kube):\n%s\n' "$bad" >&2
	echo 'sharecheck: run `go get module@version` in e2e/cluster/kube (or here, for the higher one), so both build the same' >&2
	exit 1
fi
printf 'sharecheck: %d modules shared with the control plane, all at the same version\n' \
	"$(wc -l <<<"$shared")"
