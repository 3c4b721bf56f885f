#!/usr/bin/env bash
# Makes the runner image that act runs the generated workflow's jobs in, from
# e2e/testdata/act/runner/Dockerfile on the local base image debian:trixie-slim
# (hack/setup.sh makes it). The image is tagged by its recipe: the Dockerfile and the
# base image's ID. An image of the same recipe is reused at once; a changed recipe
# makes a new one. Needs the Docker engine (hack/setup.sh starts it).
#
# usage: e2e/act/runner-image.sh [-q|-n]
#   -q  print nothing but errors
#   -n  make nothing: print the image's name when it exists, or fail
# Prints the image's name.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
context=$here/../testdata/act/runner
DOCKER=${DOCKER:-/usr/bin/docker}
BASE_IMAGE=debian:trixie-slim
REPO=deploy-action/act-runner

quiet=false
check=false
case ${1:-} in
-q) quiet=true ;;
-n) check=true ;;
esac
log() { $quiet || printf '%s\n' "$*" >&2; }
die() {
	printf 'e2e/act/runner-image.sh: %s\n' "$*" >&2
	exit 1
}

base=$("$DOCKER" image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null) ||
	die "no $BASE_IMAGE image in the engine; run hack/setup.sh, which makes it"
recipe=$({
	cat "$context/Dockerfile"
	printf '%s\n' "$base"
} | sha256sum | cut -c1-16)
image=$REPO:$recipe
if "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
	$quiet || printf '%s\n' "$image"
	exit 0
fi
$check && die "the runner image $image is not made; run \`make act\` (e2e/act/runner-image.sh)"

start=$SECONDS
log "making the act runner image $image (cold: a minute or two)"
logfile=$(mktemp)
trap 'rm -f "$logfile"' EXIT
if ! DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain --build-arg "BASE_IMAGE=$BASE_IMAGE" \
	--label "org.opencontainers.image.title=deploy-action act runner" -t "$image" "$context" >"$logfile" 2>&1; then
	tail -n 40 "$logfile" >&2
	die "building the runner image failed"
fi
log "made $image in $((SECONDS - start))s"
$quiet || printf '%s\n' "$image"
