#!/usr/bin/env bash
# Builds the test control plane from the Go module proxy and caches it by version:
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (k8s.io/kubernetes),
# etcd and the kwok controller, all six from one module and one `go build`, so the
# packages they share (client-go, apimachinery, gRPC, protobuf, ...) compile once;
# then kubeconform, and the JSON schemas kubeconform validates against.
#
# The kube module pins every module it shares with deploy-action's own go.mod at the
# same version, and builds as the tests do (cgo off, no -trimpath), so the packages the
# two share (about 43 MB of source: client-go, k8s.io/api, gRPC, ...) compile once for
# both, whichever comes first. `make test` builds this first, beside the setup.
#
# A cached component of the right version and inputs is reused at once; a component is
# built in a scratch directory and renamed into place only when complete, so an
# interrupted build is never mistaken for a finished one.
#
# usage: e2e/cluster/build.sh [-q] [component...]
#   components: kube kubeconform schemas (default: all, side by side)
#   -q          print nothing but errors
#   -c          build nothing: print the components that are not built yet, and exit 1
#               if there is one
# environment:
#   DEPLOY_ACTION_CACHE  cache root (default /var/cache/deploy-action, or
#                        ${XDG_CACHE_HOME:-~/.cache}/deploy-action when that is not writable)
# Prints one line per component: name, version, directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
quiet=false
check=false
while [[ ${1:-} == -* ]]; do
	case $1 in
	-q) quiet=true ;;
	-c) check=true ;;
	*) die "unknown option $1 (want -q or -c)" ;;
	esac
	shift
done

log() { $quiet || printf '%s\n' "$*" >&2; }
die() {
	printf 'e2e/cluster/build.sh: %s\n' "$*" >&2
	exit 1
}

# shellcheck source=hack/cache-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../hack/cache-root.sh"
# As the Makefile builds and tests deploy-action: the compiles they share are cached once.
# shellcheck source=hack/goenv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../hack/goenv.sh"

command -v go >/dev/null || die "go is not installed"
root=$(cache_root)
mkdir -p "$root"

# Each component: the wrapper module it builds from, the module whose version keys
# the cache, and the packages it builds.
declare -A moddir module pkgs
moddir[kube]=kube
module[kube]=k8s.io/kubernetes
# kubectl too: the same release as the server (Debian has none, and a client more than
# one minor version away from the server is outside Kubernetes' skew policy).
pkgs[kube]="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./etcd sigs.k8s.io/kwok/cmd/kwok"
moddir[kubeconform]=kubeconform
module[kubeconform]=github.com/yannh/kubeconform
pkgs[kubeconform]=github.com/yannh/kubeconform/cmd/kubeconform
moddir[schemas]=kube
module[schemas]=k8s.io/kubernetes
pkgs[schemas]=./schemagen

# version prints the version the wrapper module pins for a component.
version() {
	local c=$1
	(cd "$here/${moddir[$c]}" && go list -m -f '{{.Version}}' "${module[$c]}")
}

# ldflags stamps the versions into the binaries, as their release builds do; without
# it the control plane reports v0.0.0-master and kubectl warns about skew.
ldflags() {
	local c=$1 v=$2
	local flags="-s -w"
	if [[ $c == kube ]]; then
		local minor=${v#v1.}
		minor=${minor%%.*}
		flags+=" -X k8s.io/component-base/version.gitVersion=$v"
		flags+=" -X k8s.io/component-base/version.gitMajor=1"
		flags+=" -X k8s.io/component-base/version.gitMinor=$minor"
		flags+=" -X k8s.io/component-base/version.gitTreeState=clean"
	fi
	if [[ $c == kubeconform ]]; then
		flags+=" -X main.version=$v"
	fi
	printf '%s\n' "$flags"
}

# stamp identifies everything a build depends on; a cached build with another stamp
# is rebuilt.
stamp() {
	local c=$1 v=$2
	local dir="$here/${moddir[$c]}"
	{
		printf 'component %s\nversion %s\npackages %s\n' "$c" "$v" "${pkgs[$c]}"
		go env GOVERSION GOOS GOARCH CGO_ENABLED GOFLAGS
		ldflags "$c" "$v"
		cat "$dir/go.mod" "$dir/go.sum"
		case $c in
		schemas) cat "$dir/schemagen/"*.go ;;
		kube) cat "$dir/etcd/"*.go ;;
		esac
	} | sha256sum | cut -c1-16
}

# cpu_ms sets REPLY to the CPU time (user and system) this script's finished children
# have used, in milliseconds. `times` runs in this shell: a subshell counts only its own.
cpu_ms() {
	local f
	f=$(mktemp)
	times >"$f"
	REPLY=$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
		printf "%d\n", t * 1000
	}' "$f")
	rm -f "$f"
}

build_one() {
	local c=$1
	[[ -n ${moddir[$c]:-} ]] || die "unknown component $c (want: kube kubeconform schemas)"
	local v dest s
	v=$(version "$c") || die "cannot read the version of ${module[$c]} from $here/${moddir[$c]}/go.mod"
	dest="$root/$c/$v"
	s=$(stamp "$c" "$v")
	if [[ -f $dest/.complete && $(<"$dest/.complete") == "$s" ]]; then
		$quiet || $check || printf '%s %s %s\n' "$c" "$v" "$dest"
		return
	fi
	if $check; then
		printf '%s %s\n' "$c" "$v"
		return 1
	fi

	mkdir -p "$root/$c"
	# One builder per component at a time; others wait, then find it cached.
	exec {lock}>"$root/$c/.lock"
	flock "$lock"
	if [[ -f $dest/.complete && $(<"$dest/.complete") == "$s" ]]; then
		exec {lock}>&-
		$quiet || printf '%s %s %s\n' "$c" "$v" "$dest"
		return
	fi

	# Scratch directories of builds that were killed; no other builder runs now.
	rm -rf "$root/$c"/.building-*
	local tmp
	tmp=$(mktemp -d "$root/$c/.building-$v.XXXXXX")
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	local start=$SECONDS cpu0
	cpu_ms
	cpu0=$REPLY
	log "building $c $v (cold: minutes; kube about 15 on two idle cores)"
	(
		cd "$here/${moddir[$c]}"
		export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
		if [[ $c == schemas ]]; then
			go run ./schemagen -out "$tmp"
		else
			# shellcheck disable=SC2086 # pkgs is a list of package paths
			go build -ldflags "$(ldflags "$c" "$v")" -o "$tmp/" ${pkgs[$c]}
		fi
	) || die "building $c $v failed"
	printf '%s' "$s" >"$tmp/.complete"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	trap - EXIT
	exec {lock}>&-
	cpu_ms
	log "built $c $v in $((SECONDS - start))s ($(((REPLY - cpu0) / 1000)) CPU-s)"
	$quiet || printf '%s %s %s\n' "$c" "$v" "$dest"
}

components=("$@")
if [[ ${#components[@]} -eq 0 ]]; then
	components=(kube kubeconform schemas)
fi
if $check; then
	missing=0
	for c in "${components[@]}"; do
		build_one "$c" || missing=1
	done
	exit "$missing"
fi
# kube and kubeconform build side by side: they share almost no packages, and a
# build's single-threaded phases (module downloads, the link of a big binary) leave
# a core idle that the other fills. The schemas come from kube's module and wait for
# it: two go commands compiling the same packages at once would both compile them.
chain() {
	local c
	for c in "$@"; do
		build_one "$c" || return
	done
}
declare -a chains=()
after_kube=()
for c in "${components[@]}"; do
	case $c in
	kube) ;;
	schemas) after_kube+=(schemas) ;;
	*) chains+=("$c") ;;
	esac
done
pids=()
if [[ " ${components[*]} " == *" kube "* ]]; then
	chain kube "${after_kube[@]}" &
	pids+=($!)
elif ((${#after_kube[@]} > 0)); then
	chains+=("${after_kube[@]}")
fi
for c in "${chains[@]}"; do
	chain "$c" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=1
done
exit "$failed"
