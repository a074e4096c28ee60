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
MILTER_DROPBOX_DOMAINS=crm.example
milter_setup
milter_seed
check "milter starts and creates its socket" milter_start
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
like "removal without capture logged" "$(milter_log)" 'not filed for dropbox <alice-drop@crm\.example>: header From'

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

# DMARC required: only a pass from the trusted authserv-id lets mail in.
milter_stop
sed -i 's/^\[milter\]$/[milter]\nrequire_dmarc = true\ntrusted_authserv_id = mx.corp.example/' "$CONF"
check "milter starts with require_dmarc" milter_start
check "DMARC required (miltertest)" mt dmarc
is "DMARC pass from the trusted host: captured" \
	"$(q "SELECT count(*) FROM messages WHERE message_id='mt-dmarc-pass@corp.example'")" 1
is "DMARC pass from another host, or a DMARC failure: not captured" \
	"$(q "SELECT count(*) FROM messages WHERE message_id IN ('mt-dmarc-untrusted@corp.example', 'mt-dmarc-fail@corp.example')")" 0

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
