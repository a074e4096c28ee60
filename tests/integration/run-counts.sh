#!/usr/bin/env bash
# tests/run.sh itself: a script that skips as a whole ("1..0 # SKIP") counts
# as one skipped test, so a non-root run cannot hide skipped suites.
source "$(dirname "$0")/../lib.sh"
mkdir -p "$WORK/tree/tests/integration" "$WORK/build/tests" "$WORK/build/asan/tests"
cp "$TOP/tests/run.sh" "$WORK/tree/tests/run.sh"
printf '#!/bin/sh\necho "1..0 # SKIP needs root"\n' >"$WORK/tree/tests/integration/a-skipped.sh"
printf '#!/bin/sh\necho "ok 1 - fine"\necho "ok 2 # SKIP not here"\necho "1..2"\n' \
	>"$WORK/tree/tests/integration/b-mixed.sh"
chmod +x "$WORK/tree/tests/integration/"*.sh
out=$(BCCDROP_BUILD="$WORK/build" "$WORK/tree/tests/run.sh" 2>&1)
is "run.sh exits 0" "$?" 0
like "the skipped script is listed as one skip" "$out" 'integration/a-skipped +0 passed +0 failed +1 skipped'
like "a partly skipped script counts its cases" "$out" 'integration/b-mixed +1 passed +0 failed +1 skipped'
like "the total counts the whole-script skip" "$out" '1 passed, 0 failed, 2 skipped'
done_testing
