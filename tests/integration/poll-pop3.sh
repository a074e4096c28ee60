#!/usr/bin/env bash
# bccdrop-poll against a real Dovecot over POP3S and POP3 STARTTLS: UIDL
# cursor, delete-after-retrieval only after the commit (a crash before the
# commit leaves the message on the server), re-runs add nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

dovecot_setup
dovecot_start || { not_ok "dovecot starts"; done_testing; exit 1; }
bd_setup_poller "ca_file = $DC/cert.pem"
dovecot_deliver 5 1 new

out=$(bd mailbox add --user u1 --protocol pop3 --host 127.0.0.1 --port "$DC_POP3S" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" --delete after-retrieval 2>&1)
like "mailbox add pop3" "$out" "mailbox 1 added: pop3"
like "mailbox test over POP3S" "$(bd mailbox test 1 2>&1)" "messages on the server: 5.*OK"

BCCDROP_POLL_CRASH_BEFORE_COMMIT=1 bd_poll --once >"$WORK/crash.log" 2>&1
is "fault hook: the poller exits before the commit" "$?" 70
is "nothing stored" "$(bd_sql 'SELECT count(*) FROM messages')" 0
is "all 5 messages still on the server" "$(dovecot_count)" 5
is "no UIDL recorded" "$(bd_sql 'SELECT count(*) FROM mailbox_pop3_uidls')" 0

bd_poll --once >"$WORK/once1.log" 2>&1
is "normal pass exits 0" "$?" 0
is "5 messages stored" "$(bd_sql 'SELECT count(*) FROM messages')" 5
is "5 pop3 sources with UIDLs" "$(bd_sql "SELECT count(*) FROM sources WHERE kind='pop3' AND uidl IS NOT NULL AND owner_user_id='u1'")" 5
is "deleted from the server after the commit" "$(dovecot_count)" 0
is "deletions recorded" "$(bd_sql 'SELECT count(*) FROM mailbox_pop3_uidls WHERE deleted_at IS NOT NULL')" 5
is "status completed" "$(bd_sql "SELECT status, done, total FROM mailbox_status")" "completed|5|5"

dovecot_deliver 2 6 new
bd_poll --once >"$WORK/once2.log" 2>&1
is "new mail picked up" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql 'SELECT count(*) FROM sources')" "7,7"

# POP3 with STARTTLS and delete never: UIDLs keep it from fetching twice.
bd mailbox deactivate 1 >/dev/null
out=$(bd mailbox add --user u1 --protocol pop3 --host 127.0.0.1 --port "$DC_POP3" --tls starttls \
	--username "$DC_USER" --password-file "$WORK/password" 2>&1)
bd mailbox activate 2 >/dev/null
dovecot_deliver 3 10 new
bd_poll --once >"$WORK/once3.log" 2>&1
bd_poll --once >>"$WORK/once3.log" 2>&1
is "STARTTLS mailbox: 3 new messages, stored once" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql 'SELECT count(*) FROM sources WHERE mailbox_id=2')" "10,3"
is "delete never: left on the server" "$(dovecot_count)" 3

# after-days:2: kept while young, deleted once retrieved more than 2 days ago.
bd mailbox add --user u1 --protocol pop3 --host 127.0.0.1 --port "$DC_POP3S" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" --delete after-days:2 >/dev/null
bd mailbox activate 3 >/dev/null
bd_poll --once >"$WORK/once4.log" 2>&1
is "after-days: retrieved (same messages: no new message rows), kept on the server" "$(bd_sql 'SELECT count(*) FROM messages'),$(dovecot_count)" "10,3"
BCCDROP_NOW=$(( $(date +%s) + 86400 )) bd_poll --once >>"$WORK/once4.log" 2>&1
is "after-days: one day later still kept" "$(dovecot_count)" 3
BCCDROP_NOW=$(( $(date +%s) + 3 * 86400 )) bd_poll --once >>"$WORK/once4.log" 2>&1
is "after-days: three days later deleted" "$(dovecot_count),$(bd_sql 'SELECT count(*) FROM mailbox_pop3_uidls WHERE mailbox_id=3 AND deleted_at IS NOT NULL')" "0,3"
# A user deactivated by a CRM users import: their mailbox sync stops (new
# mail stays on the server), and starts again when they are reactivated.
user_csv() { printf 'id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at,deactivated\nu1,alice@corp.example,Alice,,,,,,%s\n' "$1" >"$WORK/users.csv"; }
user_csv 1
like "users import deactivates u1" "$(bd import users "$WORK/users.csv" 2>&1)" "1 updated"
dovecot_deliver 2 20 new
bd_poll --once >"$WORK/once5.log" 2>&1
is "deactivated user: nothing fetched, mail left on the server" "$(bd_sql 'SELECT count(*) FROM messages'),$(dovecot_count)" "10,2"
user_csv 0
bd import users "$WORK/users.csv" >/dev/null 2>&1
bd_poll --once >>"$WORK/once5.log" 2>&1
is "reactivated: the new mail is fetched" "$(bd_sql 'SELECT count(*) FROM messages')" 12
done_testing
