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

mbsyncrc() {	# DIR
	cat <<EOC
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
mkdir -p "$WORK/warm" "$WORK/mbsync"
mbsyncrc "$WORK/warm" >"$WORK/warm.rc"
mbsyncrc "$WORK/mbsync" >"$WORK/mbsync.rc"
# Warm-up: Dovecot builds its index and the page cache holds the maildir,
# so neither measured run pays for that.
mbsync -q -c "$WORK/warm.rc" -a >"$WORK/warm.log" 2>&1 || { echo "bench/poll: mbsync warm-up failed:" >&2; cat "$WORK/warm.log" >&2; exit 1; }

t0=$(now)
mbsync -q -c "$WORK/mbsync.rc" -a >"$WORK/mbsync.log" 2>&1 || { cat "$WORK/mbsync.log" >&2; exit 1; }
t1=$(now)
got_mbsync=$(find "$WORK/mbsync/INBOX" -type f | wc -l)

bd mailbox add --user u1 --protocol imap --host localhost --port "$DC_IMAPS" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" >/dev/null
t2=$(now)
bd_poll --once >"$WORK/poll.log" 2>&1 || { cat "$WORK/poll.log" >&2; exit 1; }
t3=$(now)
got_poll=$(bd_sql 'SELECT count(*) FROM messages')

m=$(elapsed "$t0" "$t1")
p=$(elapsed "$t2" "$t3")
ratio=$(awk "BEGIN { printf \"%.2f\", $p / $m }")
echo "messages: $N (maildir ${size} kB), IMAPS to localhost (127.0.0.1)"
echo "mbsync (download to maildir):                 ${m} s  ($got_mbsync messages)"
echo "bccdrop-poll --once (parse+associate+commit): ${p} s  ($got_poll messages)"
echo "ratio bccdrop-poll / mbsync: ${ratio}x (target <= 1.5x)"
[ "$got_poll" -eq "$N" ] && [ "$got_mbsync" -eq "$N" ]
