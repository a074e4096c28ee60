#!/usr/bin/env bash
# The shipped systemd units, with the install path filled in the way
# `make install` does, pass `systemd-analyze verify` without a warning. The
# installed units (with their man pages) are verified again by deb-package.sh.
source "$(dirname "$0")/../lib.sh"
if ! command -v systemd-analyze >/dev/null; then
	echo "1..0 # SKIP systemd-analyze is not installed (Debian package systemd)"
	exit 0
fi
mkdir -p "$WORK/units"
for u in "$TOP"/contrib/systemd/*.service.in; do
	sed "s|@SBINDIR@|$BIN|g" "$u" >"$WORK/units/$(basename "$u" .in)"
done
for u in "$WORK"/units/*.service; do
	name=$(basename "$u")
	out=$(systemd-analyze verify --man=no "$u" 2>&1)
	rc=$?
	is "$name: systemd-analyze verify passes" "$rc" 0
	is "$name: and says nothing" "$out" ""
	like "$name: runs the installed program" "$(grep '^ExecStart=' "$u")" "^ExecStart=$BIN/bccdrop-"
	# The daemons drop privileges themselves; a root-owned RuntimeDirectory
	# or StateDirectory would lock the bccdrop user out (issue 10).
	is "$name: no root-owned RuntimeDirectory/StateDirectory" \
		"$(grep -cE '^(RuntimeDirectory|StateDirectory)=' "$u")" 0
done
# The check itself catches a broken unit.
sed 's/^ExecStart=/ExecStartx=/' "$WORK/units/bccdrop-poll.service" >"$WORK/units/broken.service"
out=$(systemd-analyze verify --man=no "$WORK/units/broken.service" 2>&1)
like "a unit without ExecStart= is reported" "$out" "Unknown key|no ExecStart"
like "tmpfiles.d gives /var/lib/bccdrop to bccdrop, mode 0750" \
	"$(grep ' /var/lib/bccdrop ' "$TOP/contrib/systemd/tmpfiles.conf")" '^d /var/lib/bccdrop +0750 bccdrop bccdrop'
done_testing
