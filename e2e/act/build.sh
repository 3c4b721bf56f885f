#!/usr/bin/env bash
# Builds act (github.com/nektos/act), the local runner of GitHub Actions workflows
# that the generated-workflow test drives, from the Go module proxy at a pinned
# version, and caches the binary by version and Go toolchain. A cached binary is
# reused at once; a build happens in a scratch directory and is renamed into place
# only when complete, so an interrupted build is never mistaken for a finished one.
#
# usage: e2e/act/build.sh [-q|-n]
#   -q  print nothing but errors
#   -n  build nothing: print the cached binary's path, or fail when there is none
# environment:
#   DEPLOY_ACTION_CACHE  cache root (default /var/cache/deploy-action, or
#                        ${XDG_CACHE_HOME:-~/.cache}/deploy-action when that is not writable)
# Prints the path of the binary.
set -euo pipefail

# Bump with care: the test relies on act's --local-repository mapping and its
# handling of service containers and job outputs.
ACT_VERSION=v0.2.89

quiet=false
check=false
case ${1:-} in
-q) quiet=true ;;
-n) check=true ;;
esac
log() { $quiet || printf '%s\n' "$*" >&2; }
die() {
	printf 'e2e/act/build.sh: %s\n' "$*" >&2
	exit 1
}

# shellcheck source=hack/cache-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../hack/cache-root.sh"

command -v go >/dev/null || die "go is not installed"
bindir=$(cache_root)/bin
mkdir -p "$bindir"
dest=$bindir/act-$ACT_VERSION-$(go env GOVERSION)
if [[ -x $dest ]]; then
	$quiet || printf '%s\n' "$dest"
	exit 0
fi
$check && die "act $ACT_VERSION is not built; run \`make act\` (e2e/act/build.sh)"

exec {lock}>"$bindir/.act.lock"
flock "$lock"
if [[ ! -x $dest ]]; then
	tmp=$(mktemp -d "$bindir/.building-act.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	start=$SECONDS
	log "building act $ACT_VERSION (cold: a few minutes)"
	# Stripped (-s -w), so no debug information is compiled either (-dwarf=false).
	GOBIN=$tmp GOFLAGS="-trimpath -gcflags=all=-dwarf=false" go install -ldflags "-s -w -X main.version=${ACT_VERSION#v}" \
		"github.com/nektos/act@$ACT_VERSION" || die "building act $ACT_VERSION failed"
	mv "$tmp/act" "$dest"
	log "built act $ACT_VERSION in $((SECONDS - start))s"
fi
$quiet || printf '%s\n' "$dest"
