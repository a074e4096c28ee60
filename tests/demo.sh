#!/usr/bin/env bash
# make demo: bccdrop-milter behind a private Postfix on 127.0.0.1, on the
# embedded defaults plus the few settings a demo needs (a SQLite file under
# ./demo/, a socket, the unprivileged user "nobody"). It imports the sample
# CRM in contrib/demo/, sends three mails through Postfix, prints the
# email_report view and an explain, and stops everything.
#
# Needs root: Postfix's master starts as root (it drops to the postfix
# user), and so does the milter (it drops to "nobody"). Packages: postfix,
# sqlite3, python3 (make deps installs them).
set -uo pipefail
cd "$(dirname "$0")/.."
export BCCDROP_TOP=$PWD BCCDROP_BUILD=${BCCDROP_BUILD:-$PWD/build}
if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: it starts a private Postfix (its master runs as root) on 127.0.0.1." >&2
	echo "Run: sudo make demo" >&2
	exit 1
fi
for t in postfix smtp-sink sqlite3 python3; do
	command -v "$t" >/dev/null || { echo "make demo: $t is missing (run 'make deps' as root)" >&2; exit 1; }
done
source tests/lib.sh
source tests/postfix-lib.sh
pf_require >/dev/null
start=$SECONDS
step() { printf '\n== %s\n' "$*"; }

# The database lives in ./demo/ when the unprivileged milter user can reach
# it there; a checkout under /root cannot be, so the milter then writes in a
# temporary directory and the file is copied into ./demo/ at the end.
mkdir -p demo
chown nobody demo 2>/dev/null
rm -f demo/bccdrop.db demo/bccdrop.db-wal demo/bccdrop.db-shm
MILTER_DROPBOX_DOMAINS=crm.example
MILTER_SYNC=full
# Alice proves she is the owner with SMTP AUTH (set through XCLIENT below);
# owner_proof = auth accepts nothing else, the safest mode.
MILTER_OWNER_PROOF=auth
milter_setup
if runuser -u nobody -- test -w "$PWD/demo" 2>/dev/null; then
	rm -f "$DB"
	DB=$PWD/demo/bccdrop.db
	sed -i "s|^database = .*|database = $DB|" "$CONF"
	"$BIN/bccdrop" init -c "$CONF" --db "$DB" >/dev/null
fi
DEMO_DB=$PWD/demo/bccdrop.db
rm -f demo/bccdrop.conf

step "configuration: the embedded defaults, plus these settings"
grep -vE '^(#|$)|= *$' "$CONF"
echo "(owner_proof = auth: only mail sent with SMTP AUTH as the dropbox owner is filed; the demo logs in"
echo " through Postfix's XCLIENT, which this private Postfix allows from 127.0.0.1)"

step "importing the sample CRM (contrib/demo/)"
for kind in users stages contacts deals; do
	"$BIN/bccdrop" import -c "$CONF" --db "$DB" "$kind" "contrib/demo/$kind.csv" || exit 1
done
chown nobody "$DB"*

step "starting bccdrop-milter, smtp-sink (the outside world) and Postfix on 127.0.0.1"
milter_start || { milter_log; exit 1; }
pf_sink_start || exit 1
pf_setup demo
pf_start demo || { pf_log demo; exit 1; }
PORT=${PF_PORT[demo]}
echo "milter: $SOCK   postfix smtpd: 127.0.0.1:$PORT   sink: 127.0.0.1:$SINK_PORT"

mail() {	# FILE FROM TO ID SUBJECT BODY
	printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n\r\n%s\r\n' \
		"$2" "$3" "$5" "$4" "$(date -R)" "$6" >"$1"
}
SEND=tests/milter/smtp-send.py

step "1. Alice writes to Carol, BCC her dropbox (Carol's newest deal is lost, an older one is live)"
mail "$WORK/1" "Alice Smith <alice@corp.example>" "Carol Client <carol@client.example>" \
	demo-1@corp.example "Renewal quote" "Hi Carol, the renewal quote is attached in spirit."
$SEND "$PORT" alice@corp.example carol@client.example,alice-drop@crm.example "$WORK/1" --login alice@corp.example

step "2. Alice writes to someone the CRM does not know, BCC her dropbox"
mail "$WORK/2" "Alice Smith <alice@corp.example>" "erin@unknown.example" \
	demo-2@corp.example "Conference intro" "Hi Erin, nice meeting you."
$SEND "$PORT" alice@corp.example erin@unknown.example,alice-drop@crm.example "$WORK/2" --login alice@corp.example

step "3. A stranger, without SMTP AUTH, tries to file mail into Alice's dropbox"
mail "$WORK/3" "Mallory <mallory@evil.example>" "carol@client.example" \
	demo-3@evil.example "Invoice overdue" "Please pay."
$SEND "$PORT" mallory@evil.example carol@client.example,alice-drop@crm.example "$WORK/3"

pf_wait_empty demo 30
step "delivered by Postfix to the outside world (the sink)"
for f in "$SINK_DIR"/m.*; do
	printf '%s -> %s\n' "$(grep -m1 -i '^Message-Id:' "$f")" "$(grep -i '^X-Rcpt-Args:' "$f" | cut -d' ' -f2 | tr '\n' ' ')"
done
echo "(the dropbox address alice-drop@crm.example never appears: captured, not delivered)"

step "the milter's log"
milter_log | grep -v '^$'

step "sqlite3 demo/bccdrop.db 'SELECT ... FROM email_report'"
sqlite3 -header -column "$DB" \
	"SELECT message_id, subject, source, module, record, owner, rule FROM email_report ORDER BY date"
step "sqlite3 demo/bccdrop.db 'SELECT ... FROM unmatched_emails'"
sqlite3 -header -column "$DB" "SELECT message_id, subject, \"from\" FROM unmatched_emails"

step "bccdrop explain demo-1@corp.example"
"$BIN/bccdrop" explain -c "$CONF" --db "$DB" demo-1@corp.example

step "stopping everything"
milter_stop
pf_stop demo
if [ "$DB" != "$DEMO_DB" ]; then
	sqlite3 "$DB" ".backup '$DEMO_DB'"
	echo "(the database was copied to demo/bccdrop.db: the milter user cannot reach ./demo from here)"
fi
echo "done in $((SECONDS - start)) s. Explore: sqlite3 demo/bccdrop.db 'SELECT * FROM email_report'"
