#!/usr/bin/env bash
# `make` builds the programs (not only the library), and `make install`
# lays out programs, units, tmpfiles.d, man pages and docs so that the
# units name the installed programs, for PREFIX=/usr and the default.
source "$(dirname "$0")/../lib.sh"
mk() { make -C "$TOP" --no-print-directory B="$B" "$@"; }
plan=$(mk -n -B 2>&1)
like "make (the default goal) links bccdrop-milter" "$plan" "-o $B/bin/bccdrop-milter "
like "  and bccdrop" "$plan" "-o $B/bin/bccdrop "

root=$WORK/usr
check "make install PREFIX=/usr DESTDIR=..." mk install PREFIX=/usr DESTDIR="$root"
for f in usr/bin/bccdrop usr/sbin/bccdrop-milter usr/sbin/bccdrop-poll etc/bccdrop/bccdrop.conf \
	lib/systemd/system/bccdrop-milter.service lib/systemd/system/bccdrop-poll.service \
	usr/lib/tmpfiles.d/bccdrop.conf usr/share/man/man1/bccdrop.1 usr/share/man/man5/bccdrop.conf.5 \
	usr/share/man/man8/bccdrop-milter.8 usr/share/man/man8/bccdrop-poll.8 \
	usr/share/doc/bccdrop/poller.md usr/share/bccdrop/contrib/postfix/main.cf.snippet; do
	check "installs /$f" test -s "$root/$f"
done
is "the milter unit runs /usr/sbin/bccdrop-milter" \
	"$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root/lib/systemd/system/bccdrop-milter.service")" /usr/sbin/bccdrop-milter
is "the poll unit runs /usr/sbin/bccdrop-poll" \
	"$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root/lib/systemd/system/bccdrop-poll.service")" /usr/sbin/bccdrop-poll
is "no unit names a file that is not installed" \
	"$(grep -h '^Documentation=' "$root"/lib/systemd/system/*.service | grep -c 'file:')" 0

root=$WORK/local
check "make install (PREFIX /usr/local)" mk install DESTDIR="$root"
is "  the unit runs /usr/local/sbin/bccdrop-milter" \
	"$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root/usr/local/lib/systemd/system/bccdrop-milter.service")" \
	/usr/local/sbin/bccdrop-milter
done_testing
