#!/usr/bin/env bash
# Runs every benchmark (bench/*/run.sh); each prints its figures and ratios.
set -uo pipefail
cd "$(dirname "$0")/.."
export BCCDROP_TOP=$PWD BCCDROP_BUILD=${BCCDROP_BUILD:-$PWD/build}
only=${1:-}
rc=0
for r in bench/*/run.sh; do
	name=$(basename "$(dirname "$r")")
	[ -n "$only" ] && [ "$name" != "$only" ] && continue
	echo "== bench/$name"
	bash "$r" || rc=1
done
exit $rc
