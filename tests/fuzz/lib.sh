# Shared by tests/fuzz/run.sh (make fuzz) and the smoke pass in make check
# (tests/integration/fuzz-smoke.sh). Needs $TOP and $B.
FUZZ_CORPUS=${BCCDROP_CORPUS:-$TOP/../shared/corpus}

# The seed directories of fuzzer NAME: its own under tests/fuzz/seeds, and
# for the parser the shared mail corpus when present (read, never copied).
fuzz_seeds() {
	local name=$1
	[ -d "$TOP/tests/fuzz/seeds/$name" ] && echo "$TOP/tests/fuzz/seeds/$name"
	[ "$name" = ingest ] && [ -d "$FUZZ_CORPUS" ] && echo "$FUZZ_CORPUS"
	return 0
}

# fuzz_run NAME SECONDS DIR: run fuzzer NAME for SECONDS, new inputs and any
# crash written under DIR. Sets FUZZ_EXECS (executions) and FUZZ_CRASH (the
# crashing input, or empty); returns the fuzzer's status.
fuzz_run() {
	local name=$1 seconds=$2 dir=$3 rc
	mkdir -p "$dir/corpus-$name"
	# shellcheck disable=SC2046
	ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	LSAN_OPTIONS=suppressions=$TOP/tests/lsan.supp:print_suppressions=0 \
	"$B/fuzz/fuzz-$name" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/$name-" "$dir/corpus-$name" $(fuzz_seeds "$name") >"$dir/$name.log" 2>&1
	rc=$?
	FUZZ_EXECS=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$name.log" | tail -n 1)
	FUZZ_CRASH=$(ls "$dir/$name-"* 2>/dev/null | head -n 1)
	return $rc
}

fuzz_names() {
	local f
	for f in "$TOP"/tests/fuzz/fuzz-*.c; do f=${f##*/fuzz-}; echo "${f%.c}"; done
}
