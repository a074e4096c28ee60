#!/usr/bin/env bash
# OAuth2 (SASL XOAUTH2) against Dovecot's oauth2 passdb, whose token
# introspection endpoint is a small local HTTP server: IMAP (libetpan) and
# POP3 (curl) log in with the token printed by --oauth2-token-command.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

dovecot_setup
OP=$(free_port)
cat >"$WORK/introspect.py" <<'EOP'
import http.server, json, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        tok = urllib.parse.parse_qs(self.rfile.read(n).decode()).get("token", [""])[0]
        body = json.dumps({"active": tok == "tok-alice-1", "username": "alice"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOP
bd_spawn introspect python3 "$WORK/introspect.py" "$OP" >/dev/null
cat >"$DC/oauth2.conf.ext" <<EOC
introspection_mode = post
introspection_url = http://127.0.0.1:$OP/introspect
username_attribute = username
active_attribute = active
active_value = true
EOC
sed -i 's/^auth_mechanisms = plain login$/auth_mechanisms = plain login xoauth2/' "$DC/dovecot.conf"
cat >>"$DC/dovecot.conf" <<EOC
passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = $DC/oauth2.conf.ext
}
EOC
dovecot_start || { not_ok "dovecot starts"; done_testing; exit 1; }
bd_setup_poller "ca_file = $DC/cert.pem"
dovecot_deliver 3 1 new
# The token command is a secret too: stored encrypted, run at each login.
printf '#!/bin/sh\necho tok-alice-1\n' >"$WORK/token.sh"
chmod 755 "$WORK/token.sh"
bd mailbox add --user u1 --protocol imap --host 127.0.0.1 --port "$DC_IMAPS" --tls implicit \
	--username "$DC_USER" --oauth2-token-command "$WORK/token.sh" >/dev/null
like "IMAP XOAUTH2 login" "$(bd mailbox test 1 2>&1)" "logged in as alice.*OK"
bd_poll --once >"$WORK/once1.log" 2>&1
is "synced over XOAUTH2" "$(bd_sql 'SELECT count(*) FROM messages')" 3
is "Dovecot saw XOAUTH2" "$(grep -c 'Login: user=<alice>, method=XOAUTH2' "$DC/dovecot.log")" 2
is "token command not in clear text in the database" "$(bd_dump "$BD_POLL_DB" | grep -c token.sh)" 0
bd mailbox add --user u1 --protocol pop3 --host 127.0.0.1 --port "$DC_POP3S" --tls implicit \
	--username "$DC_USER" --oauth2-token-command "$WORK/token.sh" >/dev/null
like "POP3 XOAUTH2 login" "$(bd mailbox test 2 2>&1)" "messages on the server: 3.*OK"
bd mailbox set-password 1 --oauth2-token-command "echo expired-token" >/dev/null
like "a refused token is an authentication failure" "$(bd mailbox test 1 2>&1)" "FAILED \(authentication\)"
# No shell runs the command: a shell builtin is not a program.
bd mailbox set-password 1 --oauth2-token-command "false" >/dev/null
like "a failing token command is named" "$(bd mailbox test 1 2>&1)" "FAILED \(secret\): the OAuth2 token command failed \(exit status 1\)"
bd_poll --once >"$WORK/once2.log" 2>&1
is "a failing token command is a failure with backoff, not auth_failed" "$(bd_sql 'SELECT status, failures FROM mailbox_status WHERE mailbox_id=1')" "failed|1"
done_testing
