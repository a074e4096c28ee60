#!/usr/bin/env bash
# make fuzz: each libFuzzer target for FUZZ_SECONDS (default 300), keeping
# what it learns in $B/fuzz/work/corpus-NAME for the next run. Prints the
# executions and any crash per target; exits 1 when one crashed.
set -uo pipefail
cd "$(dirname "$0")/../.."
TOP=$PWD
B=${BCCDROP_BUILD:-$PWD/build}
source tests/fuzz/lib.sh
seconds=${FUZZ_SECONDS:-300}
dir=$B/fuzz/work
mkdir -p "$dir"
crashed=0
for name in $(fuzz_names); do
	rm -f "$dir/$name-"*
	fuzz_run "$name" "$seconds" "$dir"
	rc=$?
	if [ -n "$FUZZ_CRASH" ] || [ "$rc" -ne 0 ]; then
		crashed=1
		printf 'fuzz-%-8s %10s executions in %ss: CRASH (%s, log %s)\n' "$name" "${FUZZ_EXECS:-?}" "$seconds" \
			"${FUZZ_CRASH:-exit $rc}" "$dir/$name.log"
		grep -m1 -E '^SUMMARY|ERROR:' "$dir/$name.log" | sed 's/^/    /'
	else
		printf 'fuzz-%-8s %10s executions in %ss: no crash\n' "$name" "$FUZZ_EXECS" "$seconds"
	fi
done
exit $crashed
