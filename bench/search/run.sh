#!/usr/bin/env bash
# bench/search: store_search() latency p50/p99 for several query shapes over
# BENCH_SEARCH_MESSAGES (default 100000) synthetic messages written through
# store_put_message(). Reports only: the capture cost of the index is
# checked by bench/ingest. Builds nothing (`make bench` builds bench-search).
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${BCCDROP_BUILD:-$PWD/build}
BENCH=$B/bench/bench-search
[ -x "$BENCH" ] || { echo "bench/search: $BENCH is not built (run 'make bench')" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-search.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$BENCH" --dir "$WORK" --messages "${BENCH_SEARCH_MESSAGES:-100000}" --queries "${BENCH_SEARCH_QUERIES:-100}"
