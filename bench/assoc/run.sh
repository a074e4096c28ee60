#!/usr/bin/env bash
# bench/assoc: decision latency per message (p50, p99) with 10k and with 1M
# contacts (3 deals each), generated in the run. The 1M/10k p99 ratio must
# stay under 2: every query of a decision is index-backed. Builds nothing
# (`make bench` builds bench-assoc first).
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${BCCDROP_BUILD:-$PWD/build}
BENCH=$B/bench/bench-assoc
[ -x "$BENCH" ] || { echo "bench/assoc: $BENCH is not built (run 'make bench')" >&2; exit 1; }
SMALL=${BENCH_ASSOC_SMALL:-10000}
LARGE=${BENCH_ASSOC_LARGE:-1000000}
MESSAGES=${BENCH_ASSOC_MESSAGES:-2000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-assoc.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

run() {	# contacts -> prints the figures line, sets P99
	local out
	out=$("$BENCH" --db "$WORK/$1.db" --contacts "$1" --messages "$MESSAGES") || exit 1
	echo "$out"
	rm -f "$WORK/$1.db" "$WORK/$1.db-wal" "$WORK/$1.db-shm"
	P99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$out")
	P50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$out")
}
run "$SMALL"; small_p99=$P99; small_p50=$P50
run "$LARGE"; large_p99=$P99; large_p50=$P50
ratio=$(awk -v a="$large_p99" -v b="$small_p99" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
ratio50=$(awk -v a="$large_p50" -v b="$small_p50" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
echo "assoc decision p99 ratio ${LARGE}/${SMALL} contacts: $ratio (p50 ratio $ratio50; must be < 2)"
awk -v r="$ratio" 'BEGIN { exit !(r < 2) }' || { echo "bench/assoc: FAIL: p99 ratio $ratio >= 2"; exit 1; }
