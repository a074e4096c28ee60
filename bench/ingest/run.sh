#!/usr/bin/env bash
# bench/ingest: ingest_parse() + store_put_message() (fresh SQLite file per
# pass, 200 messages per transaction, bccdrop's default synchronous=FULL)
# against GMime alone parsing the same corpus bytes, walking every part and
# decoding its content. The ratio ingest+store / parse-only (messages per
# second) must be at least 0.5, and ingest+store with the full-text search
# index at least 0.9 of the same without it (passes alternate in one run).
# Builds nothing (`make bench` builds bench-ingest first). BENCH_INGEST_SECONDS sets the time per kind of pass.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${BCCDROP_BUILD:-$PWD/build}
BENCH=$B/bench/bench-ingest
TARGET=0.5
[ -x "$BENCH" ] || { echo "bench/ingest: $BENCH is not built (run 'make bench')" >&2; exit 1; }
CORPUS=${BCCDROP_CORPUS:-$PWD/../shared/corpus}
if [ ! -f "$CORPUS/MANIFEST.tsv" ]; then
	echo "bench/ingest: skipped: corpus not found at $CORPUS"
	exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-ingest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

out=$("$BENCH" --corpus "$CORPUS" --dir "$WORK" --seconds "${BENCH_INGEST_SECONDS:-4}") || exit 1
echo "$out"
ratio=$(sed -n 's/.*; ratio \([0-9.]*\).*/\1/p' <<<"$out")
index_ratio=$(sed -n 's/.* index ratio \([0-9.]*\).*/\1/p' <<<"$out")
INDEX_TARGET=0.9
echo "with / without search index ratio: $index_ratio (must be >= $INDEX_TARGET)"
awk -v r="$index_ratio" -v t="$INDEX_TARGET" 'BEGIN { exit !(r >= t) }' ||
	{ echo "bench/ingest: FAIL: search index ratio $index_ratio < $INDEX_TARGET"; exit 1; }
echo "ingest+store / parse-only ratio: $ratio (must be >= $TARGET)"
awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r >= t) }' ||
	{ echo "bench/ingest: FAIL: ratio $ratio < $TARGET"; exit 1; }
