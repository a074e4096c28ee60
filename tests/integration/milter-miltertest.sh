#!/usr/bin/env bash
# bccdrop-milter driven by miltertest(8) Lua scripts (tests/milter/*.lua):
# recipient deleted, discard, read-only database, spoofed senders, no body
# for mail without a dropbox. The database is checked after each script.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/postfix-lib.sh"
if ! command -v miltertest >/dev/null || ! command -v sqlite3 >/dev/null; then
	echo "1..0 # SKIP miltertest or sqlite3 is not installed"; exit 0
fi

# The sanitizer build when there is one (make tests builds it): these
# scripts walk every callback path, including the failure ones.
[ -x "$B/asan/bin/bccdrop-milter" ] && MILTER_BIN=${MILTER_BIN:-$B/asan/bin/bccdrop-milter}
diag "milter binary: ${MILTER_BIN:-$BIN/bccdrop-milter}"
# No dropbox domains and no dropbox_anywhere: the milter refuses to start.
milter_setup
out=$("${MILTER_BIN:-$BIN/bccdrop-milter}" -f -c "$CONF" 2>&1)
is "no dropbox_domains: the milter refuses to start" "$?" 1
like "... naming the key" "$out" 'dropbox_domains is empty.*dropbox_anywhere'
is "... and creates no socket" "$(test -e "$SOCK" && echo yes || echo no)" no

# The first scripts mean sender-based ownership, which must be asked for.
MILTER_DROPBOX_DOMAINS=crm.example
MILTER_OWNER_PROOF=auth-or-sender
milter_setup
milter_seed
check "milter starts and creates its socket" milter_start
like "auth-or-sender is a warning at start-up" "$(milter_log)" 'warning: .*owner_proof = auth-or-sender'
if [ "$(id -u)" = 0 ]; then
	is "socket mode 0660" "$(stat -c %a "$SOCK")" 660
	is "socket group is the MTA's" "$(stat -c %G "$SOCK")" postfix
	is "milter runs unprivileged" "$(ps -o user= -p "$MILTER_PID" | tr -d ' ')" nobody
fi

mt() {	# SCRIPT: run one miltertest script against the running milter
	miltertest -D "sock=unix:$SOCK" -D "dir=$TOP/tests/milter" -s "$TOP/tests/milter/$1.lua"
}
q() { sqlite3 "$DB" "$1"; }

check "recipient deleted (miltertest)" mt rcpt-deleted
is "captured message stored once" "$(q "SELECT count(*) FROM messages WHERE message_id='mt-deleted@corp.example'")" 1
is "source is alice's dropbox" \
	"$(q "SELECT kind, owner_user_id, dropbox FROM sources JOIN messages m ON m.id = sources.message WHERE m.message_id='mt-deleted@corp.example'")" \
	"bcc_dropbox|u-alice|alice-drop@crm.example"
like "envelope recorded" "$(q "SELECT envelope_from || ' ' || envelope_rcpts FROM sources")" \
	'alice@corp\.example.*carol@client\.example.*Alice-Drop@CRM\.Example'

check "re-delivery of the same message (miltertest)" mt rcpt-deleted
is "re-delivery is deduplicated" \
	"$(q "SELECT count(*) FROM sources JOIN messages m ON m.id = sources.message WHERE m.message_id='mt-deleted@corp.example'")" 1

check "discard when only the dropbox (miltertest)" mt discard
is "dropbox-only message stored for its owner" \
	"$(q "SELECT owner_user_id FROM sources JOIN messages m ON m.id = sources.message WHERE m.message_id='mt-discard@corp.example'")" \
	u-alice

check "no body requested without a dropbox recipient (miltertest)" mt no-body

check "spoofed senders refused or removed (miltertest)" mt spoofed
is "spoofed message not captured" "$(q "SELECT count(*) FROM messages WHERE message_id='mt-spoofed@evil.example'")" 0
like "refusals logged" "$(milter_log)" 'refused dropbox <alice-drop@crm\.example>.*mallory@evil\.example'
like "unknown dropbox logged" "$(milter_log)" 'refused <nobody-drop@crm\.example>: no user has this dropbox'
like "removal without capture logged" "$(milter_log)" 'not filed for dropbox <alice-drop@crm\.example> \(user u-alice\): no SMTP AUTH .*header From'

# A user deactivated in the CRM (bccdrop import): the dropbox refuses.
q "UPDATE users SET deactivated = 1 WHERE id = 'u-bob'"
check "deactivated user's dropbox refused (miltertest)" mt deactivated
like "deactivated refusal logged" "$(milter_log)" 'refused dropbox <bob-drop@crm\.example>: user u-bob is deactivated in the CRM'
q "UPDATE users SET deactivated = 0 WHERE id = 'u-bob'"

# Read-only database: the milter still answers, with a temporary failure.
milter_stop
before=$(q "SELECT count(*) FROM messages")
chmod 0444 "$DB"
check "milter starts on a read-only database" milter_start
check "temp failure when the database is read-only (miltertest)" mt readonly
is "nothing stored from a read-only database" "$(q "SELECT count(*) FROM messages")" "$before"
like "storage failure logged" "$(milter_log)" 'storing the message failed, answering 451'
check "milter still running after the failure" kill -0 "$MILTER_PID"
chmod 0644 "$DB"

# The default owner_proof, auth-or-dmarc: only a pass from the trusted
# authserv-id's topmost header, for the From domain, lets mail in.
milter_stop
sed -i -e '/^owner_proof = /d' -e 's/^\[milter\]$/[milter]\ntrusted_authserv_id = mx.corp.example/' "$CONF"
check "milter starts with the default owner_proof" milter_start
like "the default owner_proof is auth-or-dmarc" "$(milter_log)" 'listening on .*owner_proof auth-or-dmarc'
check "DMARC required (miltertest)" mt dmarc
is "DMARC pass from the trusted host (topmost header): captured" \
	"$(q "SELECT group_concat(message_id, ' ') FROM (SELECT message_id FROM messages WHERE message_id LIKE 'mt-dmarc-%' ORDER BY message_id)")" \
	"mt-dmarc-auth@corp.example mt-dmarc-pass@corp.example mt-dmarc-top@corp.example"
is "forged envelope and header From without DMARC: not captured" \
	"$(q "SELECT count(*) FROM messages WHERE message_id='mt-forged-both@corp.example'")" 0
like "... and refused with the proof that was missing" "$(milter_log)" \
	'not filed for dropbox <alice-drop@crm\.example> \(user u-alice\): no SMTP AUTH as the dropbox owner, and no trusted DMARC pass'

# owner_proof = auth: the owner's addresses alone are refused at RCPT.
milter_stop
sed -i 's/^\[milter\]$/[milter]\nowner_proof = auth/' "$CONF"
check "milter starts with owner_proof = auth" milter_start
check "AUTH required (miltertest)" mt auth-only
is "AUTH: captured" "$(q "SELECT count(*) FROM messages WHERE message_id='mt-auth-only@corp.example'")" 1

# Clean shutdown on TERM: exit status 0, socket removed.
kill -TERM "$MILTER_PID"
wait "$MILTER_PID"
is "TERM stops the milter cleanly" "$?" 0
MILTER_PID=

# MILTER_BIN=$B/asan/bin/bccdrop-milter runs all of the above under ASan/UBSan.
milter_stop
is "no sanitizer report or critical error from the milter" \
	"$(milter_log | grep -cE 'Sanitizer|runtime error|LeakSanitizer|critical|CRITICAL')" 0

done_testing
