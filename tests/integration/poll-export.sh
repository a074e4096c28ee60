#!/usr/bin/env bash
# `bccdrop export --user ID [--since DATE]`: every stored raw message of a
# user (mailbox and dropbox) as mboxrd; re-imported with `bccdrop ingest`
# into a fresh database it gives byte-identical messages.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

dovecot_setup
dovecot_start || { not_ok "dovecot starts"; done_testing; exit 1; }
bd_setup_poller "ca_file = $DC/cert.pem"
dovecot_deliver 20 1 new
# Bodies that mboxrd must quote and unquote exactly: "From " and ">From ".
python3 - "$DC_MAILDIR/new" <<'EOP'
import os, sys
msgs = {
  "q1": b"From: a@customer.example\nTo: alice@corp.example\nSubject: quoting\nMessage-ID: <q1@customer.example>\nDate: Tue, 03 Nov 2026 09:00:00 +0000\n\nFrom the start of a line\n>From already quoted\n>>From twice\nlast line\n",
  "q2": b"From: b@customer.example\r\nTo: alice@corp.example\r\nSubject: crlf\r\nMessage-ID: <q2@customer.example>\r\nDate: Tue, 03 Nov 2026 09:01:00 +0000\r\n\r\nCRLF body\r\nFrom here\r\n\r\n",
}
for name, data in msgs.items():
    p = os.path.join(sys.argv[1], "1700000000.%s.test" % name)
    open(p, "wb").write(data)
    os.chown(p, 65534, 65534)
EOP
# A Sent folder: one message of its own, one identical to an INBOX message.
mkdir -p "$DC_MAILDIR/.Sent/"{new,cur,tmp}
cp "$DC_MAILDIR/new/1700000000.q1.test" "$DC_MAILDIR/.Sent/new/1700000001.dup.test"
printf 'From: Alice <alice@corp.example>\nTo: c1@customer.example\nSubject: sent\nMessage-ID: <sent1@corp.example>\nDate: Tue, 03 Nov 2026 10:00:00 +0000\n\nour reply\n' >"$DC_MAILDIR/.Sent/new/1700000002.sent.test"
chown -R nobody:nogroup "$DC_MAILDIR/.Sent"
bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$DC_IMAPS" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" --folders INBOX,Sent >/dev/null
bd_poll --once >"$WORK/once.log" 2>&1
is "23 messages synced from INBOX and Sent" "$(bd_sql 'SELECT count(*) FROM messages')" 23
is "the copy in Sent is a second source of the same message" "$(bd_sql "SELECT count(*) FROM sources WHERE folder='Sent'"),$(bd_sql "SELECT count(*) FROM sources s JOIN messages m ON m.id=s.message WHERE m.message_id='q1@customer.example'")" "2,2"
is "a cursor per folder" "$(bd_sql "SELECT group_concat(name || ':' || last_uid, ' ') FROM (SELECT * FROM mailbox_folders ORDER BY name) f")" "INBOX:22 Sent:2"
# A dropbox message of the same user is part of the export too.
printf 'From: c@customer.example\nTo: x@corp.example\nSubject: bcc\nMessage-ID: <bcc1@customer.example>\nDate: Wed, 04 Nov 2026 08:00:00 +0000\n\nbcc body\n' >"$WORK/bcc.eml"
bd ingest --source bcc_dropbox --owner u1 "$WORK/bcc.eml" >/dev/null 2>&1
is "dropbox message stored for u1" "$(bd_sql "SELECT count(DISTINCT message) FROM sources WHERE owner_user_id='u1'")" 24

bd export --user u1 >"$WORK/u1.mbox"
is "export exits 0" "$?" 0
is "24 entries in the mbox (each message once)" "$(grep -c '^From ' "$WORK/u1.mbox")" 24
like "From_ lines in body are quoted (mboxrd)" "$(grep -c '^>From the start' "$WORK/u1.mbox"),$(grep -c '^>>From already' "$WORK/u1.mbox"),$(grep -c '^>>>From twice' "$WORK/u1.mbox")" "^1,1,1$"

# Re-import into a fresh database.
DB2=$(bd_db "$WORK/data/second.db")
"$BIN/bccdrop" init -c "$CONF" --db "$DB2" >/dev/null
out=$("$BIN/bccdrop" ingest -c "$CONF" --db "$DB2" "$WORK/u1.mbox" 2>&1)
is "re-import stores 24 messages" "$(bd_dbsql "$DB2" 'SELECT count(*) FROM messages')" 24
digest() { bd_dbsql "$1" "SELECT m.fingerprint || ' ' || $(bd_sql_hex r.bytes) FROM messages m JOIN raw_messages r ON r.message = m.id ORDER BY m.fingerprint" | sha256sum; }
is "identical messages, byte for byte" "$(digest "$DB2")" "$(digest "$BD_POLL_DB")"


bd export --user u1 --since 2999-01-01 >"$WORK/none.mbox"
is "--since in the future: empty export" "$(wc -c <"$WORK/none.mbox")" 0
bd export --user nobody-here >"$WORK/other.mbox"
is "another user's export holds none of u1's mail" "$(wc -c <"$WORK/other.mbox")" 0
done_testing
