#!/usr/bin/env bash
# bccdrop-poll against a real Dovecot over IMAPS: initial sync of 1,000
# messages, flags untouched, confirmation mail, re-run is a no-op,
# UIDVALIDITY change, server killed mid-fetch, IDLE delivery within 2 s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

dovecot_setup
dovecot_start || { not_ok "dovecot starts"; done_testing; exit 1; }
bd_setup_poller "ca_file = $DC/cert.pem"

# 1,000 messages, every other one already \Seen by the user.
dovecot_deliver 1000 1 cur
flags() { doveadm -c "$DC/dovecot.conf" fetch -u "$DC_USER" 'uid flags' mailbox INBOX | grep -v '^$' | md5sum; }
flags_before=$(flags)

out=$(bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$DC_IMAPS" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" 2>&1)
like "mailbox add" "$out" "mailbox 1 added.*active"

start=$(date +%s.%N)
bd_poll --once >"$WORK/once1.log" 2>&1
rc=$?
end=$(date +%s.%N)
is "bccdrop-poll --once exits 0" "$rc" 0
diag "initial sync of 1000 messages: $(awk "BEGIN { print $end - $start }") s"
is "1000 messages stored" "$(bd_sql 'SELECT count(*) FROM messages')" 1000
is "1000 imap sources" "$(bd_sql "SELECT count(*) FROM sources WHERE kind='imap' AND owner_user_id='u1' AND mailbox_id=1")" 1000
is "status completed in the view" "$(bd_sql "SELECT status, done, total FROM mailbox_status WHERE mailbox_id=1")" "completed|1000|1000"
is "folder cursor at UID 1000" "$(bd_sql "SELECT last_uid FROM mailbox_folders WHERE mailbox_id=1 AND name='INBOX'")" 1000
is "flags on the server untouched (no \\Seen set)" "$(flags)" "$flags_before"
# A byte search in the raw message: instr on a BLOB, position in a BYTEA.
find_in_raw="instr(r.bytes, CAST('Message-ID: <poll-' AS BLOB))"
bd_backend_pg && find_in_raw="position('Message-ID: <poll-'::bytea in r.bytes)"
raw_ok=$(bd_sql "SELECT count(*) FROM messages m JOIN raw_messages r ON r.message=m.id WHERE length(r.bytes)=m.raw_size AND $find_in_raw > 0")
is "raw bytes stored" "$raw_ok" 1000
like "confirmation mail sent through sendmail" "$(cat "$WORK/spool/sent.txt" 2>/dev/null)" "ARGS: -i -f crm@corp.example -- alice@corp.example.*Subject: Your mailbox is now connected.*1000 messages"
like "mailbox list shows the status" "$(bd mailbox list)" "127.0.0.1:$DC_IMAPS.*yes +completed"

bd_poll --once >"$WORK/once2.log" 2>&1
is "second pass: nothing new, nothing duplicated" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql 'SELECT count(*) FROM sources')" "1000,1000"
is "one confirmation only" "$(grep -c '^ARGS:' "$WORK/spool/sent.txt")" 1

# UIDVALIDITY change: Dovecot forgets its UID list and numbers everything anew.
old_validity=$(bd_sql "SELECT uidvalidity FROM mailbox_folders WHERE mailbox_id=1")
dovecot_stop
rm -f "$DC_MAILDIR"/dovecot-uidlist "$DC_MAILDIR"/dovecot.index*
sleep 1	# UIDVALIDITY is a timestamp
dovecot_start
bd_poll --once >"$WORK/once3.log" 2>&1
new_validity=$(bd_sql "SELECT uidvalidity FROM mailbox_folders WHERE mailbox_id=1")
if [ "$new_validity" != "$old_validity" ]; then ok "UIDVALIDITY changed ($old_validity -> $new_validity)"; else not_ok "UIDVALIDITY changed"; fi
like "resync logged" "$(cat "$WORK/once3.log")" "UIDVALIDITY changed"
is "after UIDVALIDITY change: no duplicate" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql 'SELECT count(*) FROM sources')" "1000,1000"
is "sources follow the new UIDVALIDITY" "$(bd_sql "SELECT count(*) FROM sources WHERE uidvalidity=$new_validity")" 1000

# Server killed mid-fetch, then restarted: no loss, no duplicate. Larger
# messages (about 80 kB; every 100th 4 MB, streamed through a temporary
# file) so that the kill lands mid-way.
dovecot_deliver 1000 1001 new 1200
bd_poll --once >"$WORK/once4.log" 2>&1 &
ppid=$!
more_than_1000() { [ "$(bd_sql 'SELECT count(*) FROM messages')" -gt 1000 ]; }
wait_for 30 more_than_1000
dovecot_stop KILL
wait "$ppid"
rc=$?
mid=$(bd_sql 'SELECT count(*) FROM messages')
if [ "$mid" -lt 2000 ]; then
	ok "killed mid-fetch ($mid of 2000 stored)"
	is "the poller reports the failure (exit 1, no crash)" "$rc" 1
else
	skip "the sync finished before the kill"; skip "exit status after the kill"
fi
like "status failed with a reason" "$(bd_sql "SELECT status || ': ' || coalesce(reason, '') FROM mailbox_status WHERE mailbox_id=1")" "^(failed: .+|completed: )"
dovecot_start
bd_poll --once >"$WORK/once5.log" 2>&1 || sed 's/^/# once5: /' "$WORK/once5.log"
is "after restart: all 2000 stored once" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql 'SELECT count(*) FROM sources'),$(bd_sql 'SELECT count(DISTINCT message_id) FROM messages')" "2000,2000,2000"
is "status completed again" "$(bd_sql "SELECT status FROM mailbox_status WHERE mailbox_id=1")" completed

# IDLE: the daemon waits in IDLE; a new message is stored within 2 seconds.
bd_spawn poller "$BIN/bccdrop-poll" -c "$CONF" -f >/dev/null
wait_for 20 grep -q "worker started" "$WORK/poller.log"
sleep 2	# the first pass (nothing new) and the IDLE command
dovecot_deliver 1 5000 new
t0=$(date +%s%N)
idle_stored() { [ "$(bd_sql "SELECT count(*) FROM messages WHERE message_id='poll-5000@customer.example'")" = 1 ]; }
if wait_for 5 idle_stored; then
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	if [ "$ms" -le 2000 ]; then ok "message delivered during IDLE stored in ${ms} ms"; else not_ok "IDLE delivery took ${ms} ms (> 2000)"; fi
else
	not_ok "message delivered during IDLE stored"; tail -n 20 "$WORK/poller.log" | sed 's/^/#   /'
fi
done_testing
