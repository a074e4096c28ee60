#!/usr/bin/env bash
# TLS verification (self-signed refused without a CA file, accepted with
# it; STARTTLS too), `bccdrop mailbox test` naming what fails, a wrong
# password -> auth_failed without a retry storm, secrets unreadable in the
# database, and the one-active-mailbox rule.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

dovecot_setup
dovecot_start || { not_ok "dovecot starts"; # Host name mismatch: the trusted certificate (localhost, 127.0.0.1)
# reached as 127.0.0.2, over implicit TLS and over STARTTLS.
for tls in implicit:$DC_IMAPS starttls:$DC_IMAP; do
	id=$(add 127.0.0.2 "${tls#*:}" "${tls%%:*}" | sed -n 's/^mailbox \([0-9]*\) added.*/\1/p')
	out=$(bd mailbox test "$id" 2>&1)
	like "host name mismatch refused (${tls%%:*})" "$out" "FAILED \(TLS\): TLS certificate of 127\.0\.0\.2 port ${tls#*:} refused: subject 'CN=localhost'"
	like "... saying it names another host (${tls%%:*})" "$out" "does not match|host ?name|not for"
done
done_testing; exit 1; }
bd_setup_poller	# no ca_file: the system CA store, which does not know our cert
dovecot_deliver 3 1 new
add() { bd mailbox add --user u1 --protocol imap --host "$1" --port "$2" --tls "$3" \
	--username "$DC_USER" --password-file "${4:-$WORK/password}" 2>&1; }

add 127.0.0.1 "$DC_IMAPS" implicit >/dev/null
out=$(bd mailbox test 1 2>&1)
like "self-signed certificate refused without a CA file" "$out" "FAILED \(TLS\): TLS certificate of 127.0.0.1 port $DC_IMAPS refused: subject 'CN=localhost'"
like "the reason is named" "$out" "not trusted|issuer|signer"
bd_poll --once >"$WORK/once1.log" 2>&1
like "sync refused too: status failed with the TLS reason" "$(bd_sql 'SELECT status, reason FROM mailbox_status WHERE mailbox_id=1')" "^failed\|TLS certificate .*CN=localhost"
is "nothing stored over an unverified connection" "$(bd_sql 'SELECT count(*) FROM messages')" 0
# Exponential backoff (30 s, 60 s, ...) capped at backoff_max (60 s here).
# Seconds until the next attempt, to the nearest 10.
seconds_left="(julianday(next_attempt_at) - julianday('now')) * 86400"
bd_backend_pg && seconds_left="extract(epoch from (next_attempt_at::timestamptz - now()))"
delay() { bd_sql "SELECT failures || ':' || CAST(round($seconds_left / 10) * 10 AS INTEGER) FROM mailbox_status WHERE mailbox_id=1"; }
is "first failure: retry in 30 s" "$(delay)" "1:30"
bd_poll --once >/dev/null 2>&1
is "second failure: 60 s" "$(delay)" "2:60"
bd_poll --once >/dev/null 2>&1
is "third failure: capped at backoff_max" "$(delay)" "3:60"

bd mailbox add --user u1 --protocol pop3 --host 127.0.0.1 --port "$DC_POP3S" --tls implicit \
	--username "$DC_USER" --password-file "$WORK/password" >/dev/null	# mailbox 2
like "POP3S: self-signed certificate refused, subject named" "$(bd mailbox test 2 2>&1)" "FAILED \(TLS\): TLS certificate of 127.0.0.1 port $DC_POP3S refused: subject 'CN=localhost'"
echo "ca_file = $DC/cert.pem" >>"$CONF"
like "POP3S: accepted with the CA file" "$(bd mailbox test 2 2>&1)" "messages on the server: [0-9]+.*OK"
bd mailbox remove 2 >/dev/null
like "accepted with the CA file" "$(bd mailbox test 1 2>&1)" "certificate verified.*logged in as alice.*folders: INBOX.*OK"
bd_poll --once >"$WORK/once2.log" 2>&1
is "sync over verified TLS" "$(bd_sql 'SELECT count(*) FROM messages'),$(bd_sql "SELECT status FROM mailbox_status WHERE mailbox_id=1")" "3,completed"

# Host name check: the certificate is for localhost and 127.0.0.1 only.
add localhost "$DC_IMAP" starttls >/dev/null
like "STARTTLS verified (host name localhost)" "$(bd mailbox test 2 2>&1)" "certificate verified.*OK"

# Precise failures.
nothing=$(free_port)
add 127.0.0.1 "$nothing" implicit >/dev/null
like "connection refused, with the usual ports" "$(bd mailbox test 3 2>&1)" "FAILED \(connection\): connection to 127.0.0.1 port $nothing failed: connection refused.*993.*143"
add no-such-host.invalid 993 implicit >/dev/null
like "name resolution" "$(bd mailbox test 4 2>&1)" "FAILED \(name resolution\): cannot resolve host name 'no-such-host.invalid'"
printf 'wrong-password\n' >"$WORK/wrong"
add 127.0.0.1 "$DC_IMAPS" implicit "$WORK/wrong" >/dev/null
like "authentication, with the app-password hint" "$(bd mailbox test 5 2>&1)" "FAILED \(authentication\): authentication as 'alice' at 127.0.0.1 failed.*app-specific password"

# Secrets: the database holds no password in clear text.
is "password not readable in the database" "$(bd_dump "$BD_POLL_DB" | grep -c "$DC_PASS")" 0
is "the view does not even show the secret column" "$(bd_sql "SELECT count(*) FROM pragma_table_info('mailbox_status') WHERE name='secret'")" 0
is "key file mode 0600" "$(stat -c %a "$WORK/secret.key")" 600
chmod 644 "$WORK/secret.key"
like "group/other-readable key file refused" "$(bd_poll --once 2>&1)" "must be a regular file readable by its owner only"
chmod 600 "$WORK/secret.key"

# One active mailbox per user.
bd mailbox activate 5 >/dev/null
is "activating one deactivates the others" "$(bd_sql 'SELECT group_concat(id) FROM mailboxes WHERE active=1')" 5
bd_sql "UPDATE mailboxes SET active=1 WHERE id=1" 2>"$WORK/sql.err"
like "the schema refuses a second active mailbox" "$(cat "$WORK/sql.err")" "UNIQUE constraint failed"

# Wrong password: auth_failed, and no retry storm from the daemon.
before=$(dovecot_auth_failures)
bd_spawn poller "$BIN/bccdrop-poll" -c "$CONF" -f >/dev/null
status5_is() { [ "$(bd_sql 'SELECT status FROM mailbox_status WHERE mailbox_id=5')" = "$1" ]; }
wait_for 15 status5_is auth_failed
is "status auth_failed" "$(bd_sql 'SELECT status FROM mailbox_status WHERE mailbox_id=5')" auth_failed
sleep 12	# more than two poll intervals (5 s)
is "one failed login only: no retry storm" "$(( $(dovecot_auth_failures) - before ))" 1
like "mailbox list shows why" "$(bd mailbox list)" "auth_failed: authentication as 'alice'"
# A new password is a configuration change: syncing resumes.
bd mailbox set-password 5 --password-file "$WORK/password" >/dev/null
if wait_for 20 status5_is completed; then
	ok "after set-password the daemon syncs again"
else
	not_ok "after set-password the daemon syncs again"; tail -n 5 "$WORK/poller.log" | sed 's/^/#   /'
fi
# Host name mismatch: the trusted certificate (localhost, 127.0.0.1)
# reached as 127.0.0.2, over implicit TLS and over STARTTLS.
for tls in implicit:$DC_IMAPS starttls:$DC_IMAP; do
	id=$(add 127.0.0.2 "${tls#*:}" "${tls%%:*}" | sed -n 's/^mailbox \([0-9]*\) added.*/\1/p')
	out=$(bd mailbox test "$id" 2>&1)
	like "host name mismatch refused (${tls%%:*})" "$out" "FAILED \(TLS\): TLS certificate of 127\.0\.0\.2 port ${tls#*:} refused: subject 'CN=localhost'"
	like "... saying it names another host (${tls%%:*})" "$out" "does not match|host ?name|not for"
done
done_testing
