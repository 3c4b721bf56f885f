#!/usr/bin/env bash
# The machine's busy CPU time, from /proc/stat: every process counts, the Docker engine
# and the containers too, which is where much of the tests' work happens.
#
# usage: hack/cpu.sh          prints the busy CPU time so far, in milliseconds
#        hack/cpu.sh SINCE    prints the CPU-seconds used since SINCE (an earlier output)
# Prints nothing where /proc/stat is missing (not Linux).
set -euo pipefail
[[ -r /proc/stat ]] || exit 0
now=$(awk -v hz="$(getconf CLK_TCK)" '
	# user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
	$1 == "cpu" { printf "%d\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz; exit }' /proc/stat)
if [[ $# -eq 0 ]]; then
	printf '%s\n' "$now"
elif [[ -n $1 ]]; then
	printf '%s\n' "$(((now - $1) / 1000))"
fi
