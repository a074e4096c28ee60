#!/usr/bin/env bash
# A short libFuzzer pass over every target (about 30 s in all; make fuzz
# runs them longer): no crash, no leak, no sanitizer report.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/fuzz/lib.sh"
names=$(fuzz_names)
for name in $names; do
	if [ ! -x "$B/fuzz/fuzz-$name" ]; then
		echo "1..0 # SKIP the libFuzzer targets are not built (clang missing; make tests builds them)"
		exit 0
	fi
done
[ -d "$FUZZ_CORPUS" ] || diag "no shared corpus at $FUZZ_CORPUS: the parser starts from its own seeds"
seconds=$(( ${FUZZ_SMOKE_SECONDS:-30} / $(echo "$names" | wc -w) ))
for name in $names; do
	if fuzz_run "$name" "$seconds" "$WORK" && [ -z "$FUZZ_CRASH" ]; then
		ok "fuzz-$name: $FUZZ_EXECS executions in ${seconds}s, no crash"
	else
		not_ok "fuzz-$name crashed after ${FUZZ_EXECS:-?} executions"
		grep -m3 -E '^SUMMARY|ERROR:|Test unit written' "$WORK/$name.log" | sed 's/^/# /'
		[ -n "$FUZZ_CRASH" ] && diag "input (base64): $(base64 -w0 "$FUZZ_CRASH" | head -c 2000)"
	fi
done
done_testing
