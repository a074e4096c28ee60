#!/usr/bin/env bash
# STARTTLS against a misbehaving server (tests/poll/fake-imap.py): data sent
# in clear text after the STARTTLS response is refused rather than read as
# if it came over TLS, and capabilities seen before TLS are forgotten. Our
# own checks, whatever libetpan's distribution patches do.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"
if ! command -v python3 >/dev/null || ! command -v openssl >/dev/null; then
	echo "1..0 # SKIP python3 or openssl is not installed"; exit 0
fi
chmod 755 "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
chmod 644 "$WORK/cert.pem"
bd_setup_poller "ca_file = $WORK/cert.pem"
fake() {	# MODE: start the fake server (in this shell, so that its PID is kept), PORT=its port
	bd_spawn "fake-$1" python3 "$TOP/tests/poll/fake-imap.py" "$WORK/port-$1" "$WORK/cert.pem" "$WORK/key.pem" "$1"
	wait_for 10 test -s "$WORK/port-$1"
	PORT=$(cat "$WORK/port-$1")
}
add() {	# PORT: a STARTTLS mailbox there, print its id
	bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$1" --tls starttls \
		--username "$DC_USER" --password-file "$WORK/password" 2>&1 | sed -n 's/^mailbox \([0-9]*\) added.*/\1/p'
}

fake inject
port=$PORT
out=$(bd mailbox test "$(add "$port")" 2>&1)
like "data injected after the STARTTLS response: refused" "$out" "FAILED \(TLS\): 127\.0\.0\.1 port $port sent data after its STARTTLS response"
unlike() { if [[ "$2" =~ $3 ]]; then not_ok "$1"; diag "got: '$2'"; else ok "$1"; fi; }
unlike "... and never logged in" "$out" "logged in"

fake caps
out=$(bd mailbox test "$(add "$PORT")" 2>&1)
like "a clean STARTTLS server: logged in" "$out" "certificate verified.*logged in as alice"
unlike "IDLE advertised only before TLS is not believed" "$out" "server offers IDLE"
done_testing
