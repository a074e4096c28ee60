#!/usr/bin/env bash
# Runs every test (unit tests plain and under ASan+UBSan, then the integration
# scripts) and ends with the line "N passed, N failed, N skipped".
# Every test speaks TAP; this script only counts.
set -uo pipefail
cd "$(dirname "$0")/.."
export BCCDROP_TOP=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export G_SLICE=always-malloc G_DEBUG=gc-friendly
only=${1:-}

passed=0 failed=0 skipped=0
failures=()
B=${BCCDROP_BUILD:-$PWD/build}
logdir=$B/test-logs
mkdir -p "$logdir"

run_one() {	# name, command...
	local name=$1; shift
	[ -n "$only" ] && [[ "$name" != *"$only"* ]] && return
	local log="$logdir/${name//\//_}.log"
	local start=$SECONDS
	timeout --kill-after=10 "${BCCDROP_TEST_TIMEOUT:-900}" "$@" >"$log" 2>&1
	local rc=$?
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# *(SKIP|skip)' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	# A whole script skipped ("1..0 # SKIP why") is one skipped test, so a
	# non-root run cannot hide its Postfix suites behind "0 skipped".
	if [ "$p" -eq 0 ] && [ "$s" -eq 0 ] && grep -qiE '^1\.\.0 *# *skip' "$log"; then
		s=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# died without saying which case: count the binary itself
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-44s %4d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - start))
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		grep -E '^not ok' "$log" | sed 's/^/    /'
		echo "    --- last lines of $log ---"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
}

# test-pg needs a PostgreSQL server: integration/pg-store starts one and
# runs it (plain and under ASan) there, not here.
for t in "$B"/tests/test-*; do
	[ -x "$t" ] && [ "${t##*/}" != test-pg ] && run_one "unit/$(basename "$t")" "$t" --tap
done
for t in "$B"/asan/tests/test-*; do
	[ -x "$t" ] && [ "${t##*/}" != test-pg ] && run_one "asan/$(basename "$t")" "$t" --tap
done
for t in tests/integration/*.sh; do
	[ -x "$t" ] && run_one "integration/$(basename "$t" .sh)" "$t"
done

# The suites that exercise the store again on PostgreSQL (tests/lib.sh,
# BCCDROP_TEST_BACKEND=pg): each on a private server of its own. Off by
# default until the operations still stubbed in store/pg/unimplemented.c
# (CRM full sync, deactivation, retention, search) are written: the CRM
# import and the recipient check these suites drive need them. Run them
# with BCCDROP_PG_SUITES="assoc-cli dealtag-cli ingest-cli milter-postfix
# milter-kill poll-imap poll-pop3 poll-export poll-limits poll-oauth2".
PG_SUITES=${BCCDROP_PG_SUITES:-}
for t in $PG_SUITES; do
	[ -x "tests/integration/$t.sh" ] && run_one "integration/pg-$t" env BCCDROP_TEST_BACKEND=pg "tests/integration/$t.sh"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
