#!/usr/bin/env bash
# Prepares a Debian machine (root) for deploy-action's tests: the packages they call,
# a running Docker engine, and the base image debian:trixie-slim made locally with
# debootstrap, for machines that cannot pull from any registry.
#
# Idempotent: a second run only checks, in seconds. One line per step, with timings.
#
# Environment:
#   DEPLOY_ACTION_CACHE   where the debootstrap tree is kept (default /var/cache/deploy-action)
#   DEBIAN_MIRROR         the Debian archive (default http://deb.debian.org/debian)
#   DOCKERD_LOG           dockerd's log when this script starts it (default /var/log/dockerd.log)
set -euo pipefail

CACHE_DIR=${DEPLOY_ACTION_CACHE:-/var/cache/deploy-action}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
# The Debian client: the other docker client some machines carry on PATH has no buildx,
# and BuildKit builds fail with it.
DOCKER=/usr/bin/docker
BASE_IMAGE=debian:trixie-slim
SUITE=trixie
# Bump when the recipe of the base image changes: images made by an older recipe are
# remade; an image pulled from a registry is never touched.
# The recipe is recorded in the image's comment, not a label, which images built FROM it
# would inherit.
BASE_RECIPE="deploy-action base recipe 2"

PACKAGES=(
	ca-certificates
	make
	docker.io
	docker-registry # tests start their own registries on free ports
	skopeo
	debootstrap
	apache2-utils # htpasswd
	gcc           # go test -race needs cgo
	libc6-dev
	prometheus # promtool: the generated rules are checked and unit-tested with it
)

export DEBIAN_FRONTEND=noninteractive

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { printf 'setup: %-14s %s\n' "$1" "$2"; }
die() {
	printf 'setup: error: %s\n' "$*" >&2
	exit 1
}

require_root() {
	[[ $(id -u) == 0 ]] || die "must run as root (apt-get, dockerd, debootstrap); run: sudo $0"
	command -v apt-get >/dev/null || die "needs a Debian-based machine with apt-get"
}

installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

step_packages() {
	local t missing=() p
	t=$(now)
	for p in "${PACKAGES[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		log packages "all ${#PACKAGES[@]} present ($(took "$t"))"
		return
	fi
	log packages "installing ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	quiet_registry_service
	log packages "installed ${#missing[@]} ($(took "$t"))"
}

# The docker-registry package starts its own registry on :5000 where an init system
# runs it. Tests start their own on free ports; keep the package's one out of the way.
quiet_registry_service() {
	if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
		systemctl disable --now docker-registry >/dev/null 2>&1 || true
	elif [[ -x /etc/init.d/docker-registry ]] && command -v service >/dev/null; then
		service docker-registry stop >/dev/null 2>&1 || true
	fi
}

docker_answers() {
	timeout 5 "$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null
}

step_dockerd() {
	local t v i
	t=$(now)
	if v=$(docker_answers); then
		log dockerd "running, engine $v ($(took "$t"))"
		return
	fi
	if [[ -d /run/systemd/system ]]; then
		systemctl start docker
	else
		# setsid: the engine outlives this script and the shell that called it.
		setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
	fi
	for ((i = 0; i < 120; i++)); do
		if v=$(docker_answers); then
			log dockerd "started, engine $v ($(took "$t"))"
			return
		fi
		sleep 0.5
	done
	die "dockerd did not answer on /var/run/docker.sock within 60s; see $DOCKERD_LOG"
}

# unmount_under removes mounts left inside a tree by an interrupted debootstrap
# (proc, sys), so that deleting the tree never reaches the host's.
unmount_under() {
	local dir=$1 m
	while read -r m; do
		umount -l "$m" || true
	done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
}

step_tree() {
	local t tree=$CACHE_DIR/$SUITE tmp
	t=$(now)
	if [[ -x $tree/usr/bin/apt-get && -f $tree/etc/debian_version ]]; then
		log base-tree "$tree present ($(took "$t"))"
		return
	fi
	mkdir -p "$CACHE_DIR"
	# Build aside and rename when complete: a tree in the cache is never a partial one.
	for tmp in "$CACHE_DIR/.$SUITE".tmp.*; do
		[[ -e $tmp ]] || continue
		unmount_under "$tmp"
		rm -rf --one-file-system "$tmp"
	done
	tmp=$(mktemp -d "$CACHE_DIR/.$SUITE.tmp.XXXXXX")
	log base-tree "debootstrap $SUITE (about a minute)"
	if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1; then
		unmount_under "$tmp"
		die "debootstrap $SUITE failed; see $CACHE_DIR/debootstrap.log"
	fi
	unmount_under "$tmp"
	rm -rf --one-file-system "$tree"
	mv "$tmp" "$tree"
	log base-tree "made $tree ($(took "$t"))"
}

# slim makes the tree match the published debian:*-slim images, so that Dockerfiles
# behave the same here and on machines that pull: the same apt and dpkg configuration
# (docker-clean included), the same sources, no docs, man pages or locales.
slim() {
	local root=$1
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
	echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
	echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
	echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
	echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
	rm -rf "$root"/usr/share/{info,linda,man}/* "$root"/usr/share/lintian/overrides/*
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
		"$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
	# apt in a RUN step needs a resolver; the engine bind-mounts its own over this file.
	cp /etc/resolv.conf "$root/etc/resolv.conf"
}

step_image() {
	local t tree=$CACHE_DIR/$SUITE recipe digests
	t=$(now)
	if recipe=$("$DOCKER" image inspect -f '{{.Comment}}' "$BASE_IMAGE" 2>/dev/null); then
		digests=$("$DOCKER" image inspect -f '{{len .RepoDigests}}' "$BASE_IMAGE")
		if [[ $digests != 0 || $recipe == "$BASE_RECIPE" ]]; then
			log base-image "$BASE_IMAGE present ($(took "$t"))"
			return
		fi
		log base-image "$BASE_IMAGE was made by an older recipe; remaking it"
	fi
	step_tree
	t=$(now)
	slim "$tree"
	tar -C "$tree" --numeric-owner -c . | "$DOCKER" import \
		--message "$BASE_RECIPE" \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		- "$BASE_IMAGE" >/dev/null
	log base-image "imported $BASE_IMAGE, $("$DOCKER" image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }') ($(took "$t"))"
}

main() {
	local t0
	t0=$(now)
	require_root
	step_packages
	step_dockerd
	step_image
	log "done" "($(took "$t0"))"
}

main "$@"
