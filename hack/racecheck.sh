#!/usr/bin/env bash
# Checks that every package with concurrent code of its own (goroutines, errgroups, a
# mutex, a channel) is either run under the race detector or named as exempt, so that
# the Makefile's RACE_PKGS stays true as the code changes.
#
# usage: hack/racecheck.sh RACED... -- EXEMPT...   (directories relative to the module)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
declare -A listed
side=raced
for a in "$@"; do
	if [[ $a == -- ]]; then
		side=exempt
		continue
	fi
	listed[$a]=$side
done
bad=0
while read -r dir; do
	dir=${dir#./}
	mapfile -t files < <(find "$dir" -maxdepth 1 -name '*.go' ! -name '*_test.go')
	((${#files[@]} > 0)) || continue
	if grep -qE 'go func|errgroup\.|sync\.(Mutex|RWMutex|WaitGroup)|make\(chan ' "${files[@]}"; then
		if [[ -z ${listed[$dir]:-} ]]; then
			echo "racecheck: $dir has concurrent code; add it to RACE_PKGS in the Makefile, or to NORACE_CONCURRENT with the reason" >&2
			bad=1
		fi
	fi
done < <(find . -name '*.go' ! -path './e2e/*' ! -path './.cache/*' -printf '%h\n' | sort -u)
exit "$bad"
