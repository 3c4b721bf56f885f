#!/usr/bin/env bash
# Makes the stand-ins for the public base images the generated Dockerfiles name
# (golang, node), on machines that cannot pull from a registry: each is
# debian:trixie-slim (hack/setup.sh makes it) plus the toolchain, tagged by its
# recipe, so that a changed recipe makes a new image and an unchanged one is reused.
# Each carries the machine's own CA bundle, so that it reaches the module proxy and
# the npm registry through whatever TLS proxy the machine itself trusts.
#
#   golang  deploy-action-standin/golang:<recipe>  the host's Go tree (GOROOT) at /usr/local/go
#   node    deploy-action-standin/node:<recipe>    Debian's nodejs and npm
#   python  deploy-action-standin/python:<recipe>  Debian's python3 and python3-venv
#
# usage: hack/standin-bases.sh golang|node|python...   prints one line per image: NAME IMAGE
set -euo pipefail

DOCKER=/usr/bin/docker
BASE=debian:trixie-slim
export DOCKER_BUILDKIT=1

die() {
	printf 'standin-bases: %s\n' "$*" >&2
	exit 1
}

"$DOCKER" image inspect "$BASE" >/dev/null 2>&1 || die "$BASE is missing; run hack/setup.sh"
CA=/etc/ssl/certs/ca-certificates.crt
[[ -f $CA ]] || die "$CA is missing; install ca-certificates"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$CA" "$ctx/ca-certificates.crt"

# make NAME CONTEXT INPUTS [PREPARE]: builds the Dockerfile on stdin, tagged by the
# hash of the Dockerfile, the base image's ID, the CA bundle and INPUTS; PREPARE
# fills the context, only when the image must be built.
make_image() {
	local name=$1 context=$2 inputs=$3 prepare=${4:-true} dockerfile recipe image
	dockerfile=$(cat)
	recipe=$({
		printf '%s\n' "$dockerfile" "$inputs"
		sha256sum "$CA"
		"$DOCKER" image inspect -f '{{.Id}}' "$BASE"
	} | sha256sum | cut -c1-12)
	image=deploy-action-standin/$name:$recipe
	if ! "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
		"$prepare"
		printf '%s\n' "$dockerfile" | "$DOCKER" build -q -t "$image" -f - "$context" >/dev/null ||
			die "building $image failed"
	fi
	printf '%s %s\n' "$name" "$image"
}

for name in "$@"; do
	case $name in
	golang)
		goroot=$(go env GOROOT)
		copy_goroot() { cp -a "$goroot" "$ctx/go"; }
		make_image golang "$ctx" "$(cat "$goroot/VERSION")" copy_goroot <<EOF2
FROM $BASE
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    GOTOOLCHAIN=local
EOF2
		;;
	node)
		make_image node "$ctx" "" <<EOF2
FROM $BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
EOF2
		;;
	python)
		make_image python "$ctx" "" <<EOF2
FROM $BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
EOF2
		;;
	*) die "unknown stand-in $name (want golang, node or python)" ;;
	esac
done
