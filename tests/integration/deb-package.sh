#!/usr/bin/env bash
# The Debian package on this machine: `make deb`, `dpkg -i`, then the user,
# modes and owners it creates; the installed milter started the way its unit
# starts it (root, dropping to bccdrop, socket in /var/spool/postfix/bccdrop);
# one message through a private Postfix configured by the installed snippet;
# `dpkg -r` keeps the data, `dpkg --purge` removes configuration, state and
# user. Needs root (dpkg -i); skips otherwise.
source "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root: it installs the package with dpkg -i"; exit 0; fi
for t in dpkg-deb dh fakeroot lintian; do
	command -v "$t" >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }
done
# Two trees running this test at once would install over each other.
exec 9>/run/lock/bccdrop-deb-package-test.lock
flock -w 300 9 || { echo "1..0 # SKIP another deb-package test holds the lock"; exit 0; }
MARK=/var/lib/bccdrop/.installed-by-deb-package-test
if dpkg-query -W -f '${Status}' bccdrop 2>/dev/null | grep -q installed; then
	# Only a run of this test that was killed may be cleaned up after.
	[ -e "$MARK" ] || { echo "1..0 # SKIP bccdrop is installed on this machine and not by this test"; exit 0; }
	dpkg --purge bccdrop >/dev/null 2>&1
fi
PF_SPOOL=/var/spool/postfix
source "$TOP/tests/postfix-lib.sh"
pf_require	# Postfix's tools, and $WORK reachable by its daemons

version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$TOP/debian/changelog")
arch=$(dpkg --print-architecture)
start=$SECONDS
check "make deb builds the package" make -C "$TOP" --no-print-directory deb DEB_DIR="$WORK"
DEB=$WORK/bccdrop_${version}_$arch.deb
diag "make deb: $((SECONDS - start)) s"
check "  named bccdrop_VERSION_ARCH.deb" test -s "$DEB"
lint=$(lintian "$DEB" 2>&1 | grep -v "running with root privileges")
is "lintian reports no error" "$(echo "$lint" | grep -c '^E:')" 0
[ -n "$lint" ] && echo "$lint" | sed 's/^/#   lintian: /'

bd_on_exit "dpkg --purge bccdrop"
check "dpkg -i installs it" dpkg -i "$DEB"
touch "$MARK"
owner() { stat -c '%U:%G %a' "$1" 2>&1; }
pw=$(getent passwd bccdrop)
like "system user bccdrop" "$pw" '^bccdrop:x:[0-9]{1,3}:[0-9]+:[^:]*:/var/lib/bccdrop:/usr/sbin/nologin$'
is "group bccdrop" "$(getent group bccdrop | cut -d: -f1)" bccdrop
is "/var/lib/bccdrop bccdrop:bccdrop 0750" "$(owner /var/lib/bccdrop)" "bccdrop:bccdrop 750"
is "/etc/bccdrop root:bccdrop 0750" "$(owner /etc/bccdrop)" "root:bccdrop 750"
is "/etc/bccdrop/bccdrop.conf root:bccdrop 0640" "$(owner /etc/bccdrop/bccdrop.conf)" "root:bccdrop 640"
is "  a conffile" "$(dpkg-query -W -f '${Conffiles}' bccdrop | awk '{ print $1 }')" /etc/bccdrop/bccdrop.conf
if getent group postfix >/dev/null; then
	is "/var/spool/postfix/bccdrop bccdrop:postfix 0750" "$(owner /var/spool/postfix/bccdrop)" "bccdrop:postfix 750"
else
	skip "no postfix group: no socket directory"
fi
if command -v systemd-tmpfiles >/dev/null; then
	is "/run/bccdrop (tmpfiles.d) bccdrop:bccdrop 0755" "$(owner /run/bccdrop)" "bccdrop:bccdrop 755"
else
	skip "systemd-tmpfiles is not installed"
fi
UNIT=/lib/systemd/system/bccdrop-milter.service
is "the milter unit runs /usr/sbin/bccdrop-milter" "$(sed -n 's/^ExecStart=//p' "$UNIT" | cut -d' ' -f1)" \
	/usr/sbin/bccdrop-milter
check "both units are enabled" test -L /etc/systemd/system/multi-user.target.wants/bccdrop-milter.service \
	-a -L /etc/systemd/system/multi-user.target.wants/bccdrop-poll.service
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify /lib/systemd/system/bccdrop-milter.service \
		/lib/systemd/system/bccdrop-poll.service 2>&1)
	is "systemd-analyze verify: the installed units, man pages included" "$out" ""
else
	skip "systemd-analyze is not installed"
fi
for m in man1/bccdrop.1 man5/bccdrop.conf.5 man8/bccdrop-milter.8 man8/bccdrop-poll.8; do
	check "man page $m installed" test -s "/usr/share/man/$m.gz"
done
is "installed bccdrop --version" "$(/usr/bin/bccdrop --version)" "bccdrop $version"

# Set up as the docs tell an admin: a dropbox domain, the database, CRM data.
sed -i 's/^#dropbox_domains = .*/dropbox_domains = crm.example/' /etc/bccdrop/bccdrop.conf
DB=/var/lib/bccdrop/bccdrop.db
as_bccdrop() { runuser -u bccdrop -- "$@"; }
check "bccdrop init as the bccdrop user" as_bccdrop bccdrop init
check "CRM users imported" as_bccdrop bccdrop import users /usr/share/bccdrop/contrib/demo/users.csv
echo secret >"$WORK/pw"
check "mailbox add as root" bccdrop mailbox add --user u-alice --preset gmail --username alice \
	--password-file "$WORK/pw"
is "  created /etc/bccdrop/secret.key root 0600" "$(owner /etc/bccdrop/secret.key)" "root:root 600"

# The system Postfix's queue is used by a private master: only when it is
# neither running nor holding mail.
busy=
[ -s /var/spool/postfix/pid/master.pid ] && kill -0 "$(tr -d ' ' </var/spool/postfix/pid/master.pid)" 2>/dev/null &&
	busy="the system Postfix is running"
[ -z "$busy" ] && [ -n "$(find /var/spool/postfix/{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | head -1)" ] &&
	busy="the system Postfix queue holds mail"
if [ -n "$busy" ]; then
	for i in 1 2 3 4 5 6; do skip "mail through Postfix: $busy"; done
else
	read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$UNIT")"
	SOCK=/var/spool/postfix/bccdrop/milter.sock
	bd_spawn milter "${exec_start[@]}"
	MILTER_PID=$BD_LAST_PID
	check "the milter starts as its unit starts it" wait_for 10 test -S "$SOCK"
	sleep 0.3
	is "  runs as bccdrop" "$(ps -o user= -p "$MILTER_PID")" bccdrop
	is "  socket bccdrop:postfix 0660" "$(owner "$SOCK")" "bccdrop:postfix 660"
	pf_sink_start
	PF_SNIPPET=/usr/share/bccdrop/contrib/postfix/main.cf.snippet
	pf_setup pkg
	check "private Postfix on the system spool starts" pf_start pkg
	printf 'From: Alice Smith <alice@corp.example>\r\nTo: carol@client.example\r\nSubject: Package\r\nMessage-ID: <deb-1@corp.example>\r\n\r\nHello.\r\n' >"$WORK/m1"
	"$TOP/tests/milter/smtp-send.py" "${PF_PORT[pkg]}" alice@corp.example \
		carol@client.example,alice-drop@crm.example "$WORK/m1" --login alice@corp.example \
		>"$WORK/send.out" 2>&1
	pf_wait_empty pkg 30
	is "the message is captured into /var/lib/bccdrop/bccdrop.db" \
		"$(as_bccdrop sqlite3 "$DB" "SELECT count(*) FROM messages WHERE message_id='deb-1@corp.example'")" 1
	is "  and the contact's copy delivered" "$(sink_count 'deb-1@corp\.example')" 1
	milter_stop
	pf_stop pkg
	# The system spool keeps no trace of the private instance's listener.
	rm -f "/var/spool/postfix/pid/inet.127.0.0.1:${PF_PORT[pkg]}"
fi

out=$(dpkg -r bccdrop 2>&1)
check "dpkg -r removes it" test ! -e /usr/sbin/bccdrop-milter
check "  keeps the database" test -s "$DB"
check "  keeps the configuration and the key" test -s /etc/bccdrop/bccdrop.conf -a -s /etc/bccdrop/secret.key
check "  keeps the user" getent passwd bccdrop
out=$(dpkg --purge bccdrop 2>&1)
like "dpkg --purge says what it deletes" "$out" 'purge: deleting /etc/bccdrop .* /var/lib/bccdrop'
check "  deletes /etc/bccdrop" test ! -e /etc/bccdrop
check "  deletes /var/lib/bccdrop" test ! -e /var/lib/bccdrop
check "  deletes /var/spool/postfix/bccdrop" test ! -e /var/spool/postfix/bccdrop
check "  deletes the user and group" bash -c '! getent passwd bccdrop && ! getent group bccdrop'
is "  leaves no stat override" "$(dpkg-statoverride --list | grep -c bccdrop)" 0
diag "total: $((SECONDS - start)) s"
done_testing
