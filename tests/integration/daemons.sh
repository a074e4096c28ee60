#!/usr/bin/env bash
# Both daemons without -f: they detach, write their --pid-file, run, and
# stop on TERM. The milter opens its database only after detaching (an
# SQLite connection must never cross a fork): the detached process starts
# with no descriptor on the database, and opens its own for the first mail.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/postfix-lib.sh"
source "$TOP/tests/dovecot-lib.sh"
db_fds() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c "$2" || true; }
started() {	# PIDFILE: the daemon wrote it and runs
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# ---- bccdrop-milter ----
MILTER_DROPBOX_DOMAINS=crm.example
MILTER_OWNER_PROOF=auth-or-sender
milter_setup
milter_seed
pidfile=$MDIR/milter.pid
check "milter without -f returns at once" "$BIN/bccdrop-milter" -c "$CONF" --pid-file "$pidfile"
check "milter wrote its pid file" wait_for 10 started "$pidfile"
pid=$(cat "$pidfile" 2>/dev/null)
[ -n "$pid" ] && bd_on_exit bd_stop_pid "$pid"
check "milter socket exists" wait_for 10 test -S "$SOCK"
is "the detached milter has no session (setsid)" "$(ps -o sid= -p "$pid" | tr -d ' ')" "$pid"
is "no database descriptor carried into the daemon" "$(db_fds "$pid" "$DB")" 0
if command -v miltertest >/dev/null; then
	check "mail through the detached milter (miltertest)" \
		miltertest -D "sock=unix:$SOCK" -D "dir=$TOP/tests/milter" -s "$TOP/tests/milter/rcpt-deleted.lua"
	is "captured" "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE message_id='mt-deleted@corp.example'")" 1
	like "the daemon opened the database itself" "$(db_fds "$pid" "$DB")" '^[1-9]'
else
	skip "miltertest is not installed"
fi
kill -TERM "$pid"
check "milter stops on TERM" wait_for 20 pid_gone "$pid"
is "socket removed" "$(test -e "$SOCK" && echo present || echo gone)" gone

# ---- bccdrop-poll ----
bd_setup_poller
# A mailbox on a port nothing listens on: the key file gets created, and
# the daemon has something (failing) to do.
bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$(free_port)" --tls implicit \
	--username alice --password-file "$WORK/password" >/dev/null
ppid_file=$WORK/data/poll.pid
check "poller without -f returns at once" "$BIN/bccdrop-poll" -c "$CONF" --pid-file "$ppid_file"
check "poller wrote its pid file" wait_for 10 started "$ppid_file"
ppid=$(cat "$ppid_file" 2>/dev/null)
[ -n "$ppid" ] && bd_on_exit bd_stop_pid "$ppid"
check "the poller tried the mailbox" wait_for 20 bash -c \
	"[ \"\$(sqlite3 '$WORK/data/bccdrop.db' 'SELECT status FROM mailbox_status WHERE mailbox_id=1')\" = failed ]"
kill -TERM "$ppid"
check "poller stops on TERM" wait_for 20 pid_gone "$ppid"
done_testing
