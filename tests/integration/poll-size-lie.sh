#!/usr/bin/env bash
# The poller's memory is bounded by the bytes that actually arrive, not by
# the RFC822.SIZE a server declares: a fake server (tests/poll/fake-imap.py,
# mode liar) declares 100 bytes for a 48 MB message. With [poll]
# memory_limit = 256k the body must stream to the spool file, so the
# poller stores it under a 32 MB limit on its private writable memory
# (RLIMIT_DATA; the spool file is mapped read-only and does not count).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"
for t in python3 openssl prlimit; do
	command -v "$t" >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }
done
chmod 755 "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
chmod 644 "$WORK/cert.pem"
bd_setup_poller "ca_file = $WORK/cert.pem
memory_limit = 256k"
LIAR_MB=48 bd_spawn fake python3 "$TOP/tests/poll/fake-imap.py" "$WORK/port" "$WORK/cert.pem" "$WORK/key.pem" liar
check "fake server up" wait_for 10 test -s "$WORK/port"
bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$(cat "$WORK/port")" --tls starttls \
	--username "$DC_USER" --password-file "$WORK/password" >/dev/null
# timeout(1) stops the poller by its PID should it hang.
timeout 120 prlimit --data=$((32 * 1024 * 1024)) "$BIN/bccdrop-poll" -c "$CONF" -f --once >"$WORK/once.log" 2>&1
is "poll --once succeeds within 32 MB of private memory" "$?" 0
grep -iE 'warning|error' "$WORK/once.log" | head -n 3 | sed 's/^/# /'
is "the 48 MB message is stored" "$(bd_sql "SELECT count(*) FROM messages WHERE message_id='liar@client.example'")" 1
like "... whole (raw size)" "$(bd_sql "SELECT raw_size FROM messages WHERE message_id='liar@client.example'")" '^[5-9][0-9]{7}$'
done_testing
