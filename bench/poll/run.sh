#!/usr/bin/env bash
# Initial sync of 5,000 messages from a private Dovecot over IMAPS:
# bccdrop-poll --once (fetch, parse, associate, commit to SQLite) against
# mbsync (isync) downloading the same mailbox to a local maildir.
# Target: bccdrop-poll at most 1.5x mbsync's wall time.
#   bash bench/poll/run.sh [N]     (N messages, default 5000)
set -uo pipefail
TOP=${BCCDROP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib.sh"
. "$TOP/tests/dovecot-lib.sh"
N=${1:-5000}

now() { date +%s.%N; }
elapsed() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }

dovecot_setup
dovecot_start || { echo "bench/poll: dovecot did not start" >&2; exit 1; }
bd_setup_poller "ca_file = $DC/cert.pem
confirmation_email = false"
dovecot_deliver "$N" 1 new 60
size=$(du -sk "$DC_MAILDIR" | cut -f1)
# Durable commits, as in production (the tests use synchronous = normal).
sed -i 's/^synchronous = normal$/synchronous = full/' "$CONF"

mbsyncrc() {	# DIR [FSYNC]
	cat <<EOC
FSync ${2:-yes}

IMAPAccount bench
Host localhost
Port $DC_IMAPS
User $DC_USER
Pass $DC_PASS
SSLType IMAPS
CertificateFile $DC/cert.pem

IMAPStore remote
Account bench

MaildirStore local
Path $1/
Inbox $1/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
EOC
}
mkdir -p "$WORK/warm" "$WORK/mbsync" "$WORK/mbsync-nofsync"
mbsyncrc "$WORK/warm" >"$WORK/warm.rc"
mbsyncrc "$WORK/mbsync" yes >"$WORK/mbsync.rc"
mbsyncrc "$WORK/mbsync-nofsync" no >"$WORK/mbsync-nofsync.rc"
# Warm-up: Dovecot builds its index and the page cache holds the maildir,
# so neither measured run pays for that.
mbsync -q -c "$WORK/warm.rc" -a >"$WORK/warm.log" 2>&1 || { echo "bench/poll: mbsync warm-up failed:" >&2; cat "$WORK/warm.log" >&2; exit 1; }

t0=$(now)
mbsync -q -c "$WORK/mbsync.rc" -a >"$WORK/mbsync.log" 2>&1 || { cat "$WORK/mbsync.log" >&2; exit 1; }
t1=$(now)
mbsync -q -c "$WORK/mbsync-nofsync.rc" -a >"$WORK/mbsync2.log" 2>&1 || { cat "$WORK/mbsync2.log" >&2; exit 1; }
t1b=$(now)
got_mbsync=$(find "$WORK/mbsync/INBOX/cur" "$WORK/mbsync/INBOX/new" -type f | wc -l)
got_mbsync2=$(find "$WORK/mbsync-nofsync/INBOX/cur" "$WORK/mbsync-nofsync/INBOX/new" -type f | wc -l)

bd mailbox add --user u1 --protocol imap --host localhost --port "$DC_IMAPS" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" >/dev/null
t2=$(now)
bd_poll --once >"$WORK/poll.log" 2>&1 || { cat "$WORK/poll.log" >&2; exit 1; }
t3=$(now)
got_poll=$(bd_sql 'SELECT count(*) FROM messages')

m=$(elapsed "$t0" "$t1")
m2=$(elapsed "$t1" "$t1b")
p=$(elapsed "$t2" "$t3")
ratio=$(awk "BEGIN { printf \"%.2f\", $p / $m }")
ratio2=$(awk "BEGIN { printf \"%.2f\", $p / $m2 }")
echo "messages: $N (maildir ${size} kB), IMAPS to localhost (127.0.0.1)"
echo "mbsync, default FSync yes (download to maildir): ${m} s  ($got_mbsync messages)"
echo "mbsync, FSync no:                                ${m2} s  ($got_mbsync2 messages)"
echo "bccdrop-poll --once, synchronous=full (parse+associate+commit): ${p} s  ($got_poll messages)"
echo "ratio bccdrop-poll / mbsync:          ${ratio}x (target <= 1.5x)"
echo "ratio bccdrop-poll / mbsync FSync no: ${ratio2}x"
[ "$got_poll" -eq "$N" ] && [ "$got_mbsync" -eq "$N" ] && [ "$got_mbsync2" -eq "$N" ]
