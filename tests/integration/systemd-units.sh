#!/usr/bin/env bash
# The shipped systemd units, with the install path filled in the way
# `make install` does, pass `systemd-analyze verify` without a warning. The
# installed units (with their man pages) are verified again by deb-package.sh.
source "$(dirname "$0")/../lib.sh"
if ! command -v systemd-analyze >/dev/null; then
	echo "1..0 # SKIP systemd-analyze is not installed (Debian package systemd)"
	exit 0
fi
mkdir -p "$WORK/units" "$WORK/sbin"
# The install layout: the programs and the crm-sync script in one SBINDIR.
ln -s "$BIN"/bccdrop-* "$WORK/sbin/"
ln -s "$TOP/contrib/bccdrop-crm-sync" "$WORK/sbin/bccdrop-crm-sync"
SBIN=$WORK/sbin
for u in "$TOP"/contrib/systemd/*.service.in; do
	sed "s|@SBINDIR@|$SBIN|g" "$u" >"$WORK/units/$(basename "$u" .in)"
done
cp "$TOP"/contrib/systemd/*.timer "$WORK/units/"
for u in "$WORK"/units/*.timer; do
	name=$(basename "$u")
	out=$(cd "$WORK/units" && systemd-analyze verify --man=no "$u" 2>&1)
	rc=$?
	is "$name: systemd-analyze verify passes" "$rc" 0
	is "$name: and says nothing" "$out" ""
	check "$name: starts a shipped service" test -e "$WORK/units/$(sed -n 's/^Unit=//p' "$u")"
done
is "bccdrop-crm-sync.service: a oneshot as the bccdrop user" \
	"$(grep -E '^(Type|User)=' "$WORK/units/bccdrop-crm-sync.service" | tr '\n' ' ')" "Type=oneshot User=bccdrop "
for u in "$WORK"/units/*.service; do
	name=$(basename "$u")
	out=$(systemd-analyze verify --man=no "$u" 2>&1)
	rc=$?
	is "$name: systemd-analyze verify passes" "$rc" 0
	is "$name: and says nothing" "$out" ""
	like "$name: runs the installed program" "$(grep '^ExecStart=' "$u")" "^ExecStart=$SBIN/bccdrop-"
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
