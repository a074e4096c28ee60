#!/usr/bin/env bash
# The association commands end to end on a real SQLite file: import CSVs
# (good and bad), ingest mail from several sources, explain, backfill,
# reassociate, history, report, and every SQL query of docs/reports.md.
. "$(dirname "$0")/../lib.sh"

BD=$BIN/bccdrop
if bd_backend_pg && ! bd_pg_ready; then not_ok "private PostgreSQL starts"; done_testing; exit; fi
DB=$(bd_db "$WORK/bccdrop.db")
CONF=$WORK/bccdrop.conf
cat >"$CONF" <<EOF
[store]
database = $DB
synchronous = normal
[assoc]
internal_domains = ourco.com
EOF
bd() { local cmd=$1; shift; "$BD" "$cmd" -c "$CONF" "$@"; }
q() { bd_dbsql "$DB" "$1"; }

# ---- CRM data ---------------------------------------------------------------
cat >"$WORK/users.csv" <<'EOF'
id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at
u1,alice@ourco.com,Alice,alice-drop@bcc.example,alice@oldco.example,public,,2026-01-01
u2,bob@sales.example,Bob,bob-drop@bcc.example,,private,,
EOF
printf '\xEF\xBB\xBFname,probability\r\nLost,0\r\nQualified,20\r\n' >"$WORK/stages.csv"
cat >"$WORK/contacts.csv" <<'EOF'
id,kind,name,emails,owner
c1,contact,Zed Newest,zn@client.example,u1
c2,contact,"Sev, Eral",sev@client.example,u1
c3,contact,All Zero,az@client.example,u1
c4,contact,No Deals,"nd@client.example;ND2@Client.Example",
EOF
cat >"$WORK/deals.csv" <<'EOF'
id,name,stage,probability,modified_at,contacts
d1,Newest Zero,Lost,,2026-03-10T00:00:00Z,c1
d2,Older Live,,50,2026-03-01T00:00:00Z,c1
d3,Newer 30,,30,2026-03-05,c2
d4,Older 60,,60,2026-03-01T00:00:00Z,c2
d5,Zero A,Lost,,2026-03-05T00:00:00Z,c3
EOF
for k in users stages contacts deals; do
	out=$(bd import $k "$WORK/$k.csv" 2>&1)
	like "import $k" "$out" "^imported [0-9]+ $k from "
done
is "deals imported" "$(q "SELECT group_concat(id || '=' || coalesce(CAST(probability AS TEXT), 's') || '@' || modified_at, ' ') FROM (SELECT * FROM deals ORDER BY id) d")" \
	"d1=s@2026-03-10T00:00:00Z d2=50@2026-03-01T00:00:00Z d3=30@2026-03-05T00:00:00Z d4=60@2026-03-01T00:00:00Z d5=s@2026-03-05T00:00:00Z"
is "contact addresses normalised" "$(q "SELECT group_concat(address_key, ' ') FROM (SELECT address_key FROM contact_addresses WHERE contact_id = 'c4' ORDER BY address_key) k")" \
	"nd2@client.example nd@client.example"

# ---- bad CSVs: the error names line and field, and nothing changes -----------
CRM_TABLES="users user_addresses stages contacts contact_addresses deals deal_contacts user_excluded_domains"
if bd_backend_pg; then
	# Without pg_dump's per-run \restrict key.
	snapshot() { "$PG_BIN/pg_dump" -a $(printf -- '-t %s ' $CRM_TABLES) -d "$DB" | grep -Ev '^\\(un)?restrict ' | md5sum; }
else
	snapshot() { sqlite3 "$DB" .dump | grep -E "^INSERT INTO (${CRM_TABLES// /|})" | md5sum; }
fi
before=$(snapshot)
bad() {	# name kind expected-error csv-text
	printf '%s' "$4" >"$WORK/$1"
	local out rc
	out=$(bd import "$2" "$WORK/$1" 2>&1); rc=$?
	if [ "$rc" -ne 0 ] && [[ "$out" == *"$3"* ]]; then ok "bad $1 rejected: $3"; else
		not_ok "bad $1 rejected"; diag "rc=$rc out=$out"; fi
	is "bad $1 changed nothing" "$(snapshot)" "$before"
}
bad deals-bad.csv deals "deals-bad.csv:3: field 'probability': 'abc' is not a number 0..100" \
	$'id,name,stage,probability,modified_at,contacts\nd9,Fine,,10,2026-01-01,c1\nd10,Broken,,abc,2026-01-01,c1\n'
bad deals-ref.csv deals "deals-ref.csv:2: field 'contacts': unknown contact id 'c99'" \
	$'id,name,stage,probability,modified_at,contacts\nd9,Fine,,10,2026-01-01,c99\n'
bad deals-date.csv deals "deals-date.csv:2: field 'modified_at': 'soon' is not an ISO 8601" \
	$'id,name,stage,probability,modified_at,contacts\nd9,Fine,,10,soon,c1\n'
bad contacts-dup.csv contacts "contacts-dup.csv:3: field 'id': duplicate 'c7'" \
	$'id,kind,name,emails,owner\nc7,contact,A,a@n.example,\nc7,lead,B,b@n.example,\n'
bad contacts-col.csv contacts "contacts-col.csv:1: missing column 'owner'" $'id,kind,name,emails\nc7,contact,A,a@n.example\n'
bad users-quote.csv users "users-quote.csv:3: quoted field opened on line 2 is never closed" \
	$'id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at\nu9,"x@y.example,X,,,,,\n'

# ---- mail -------------------------------------------------------------------
NOW_DATE=$(date -u -R)
mail() {	# file message-id from to [extra header]
	printf 'From: %s\r\nTo: %s\r\nSubject: about %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n%s\r\nHello.\r\n' \
		"$3" "$4" "$2" "$2" "$NOW_DATE" "${5:-}" >"$WORK/$1"
}
dropbox() {	# file owner-dropbox mail-from
	bd ingest --source bcc_dropbox --rcpt "$2" --mail-from "$3" "$WORK/$1" >"$WORK/ingest.out" 2>&1
}
mail offer-1.eml offer-1@sales.example "Alice <alice@ourco.com>" "Zed <zn@client.example>"
mail offer-2.eml offer-2@sales.example "alice@ourco.com" "sev@client.example, colleague@ourco.com"
mail offer-3.eml offer-3@sales.example "alice@ourco.com" "ND2@CLIENT.EXAMPLE"
mail private-1.eml private-1@sales.example "bob@sales.example" "nd@client.example"
mail late-1.eml late-1@sales.example "alice@ourco.com" "newcomer@late.example"
mail lost-1.eml lost-1@sales.example "alice@ourco.com" "someone@nowhere.example"
mail reply-1.eml reply-1@client.example "az@client.example" "alice@ourco.com" $'In-Reply-To: <offer-2@sales.example>\r\n'
for m in offer-1 offer-2 offer-3 late-1 lost-1; do
	check "ingest $m through alice's dropbox" dropbox $m.eml alice-drop@bcc.example alice@ourco.com
done
check "ingest private-1 through bob's dropbox" dropbox private-1.eml bob-drop@bcc.example bob@sales.example
check "ingest reply-1 as imap mail of u1" bd ingest --source imap --owner u1 "$WORK/reply-1.eml"

links() { q "SELECT group_concat(module || ':' || record_id || ':' || rule || ':' || visibility, ' ') FROM (SELECT * FROM email_links WHERE message_id = '$1' ORDER BY module, record_id) l"; }
is "offer-1: newest deal at 0, next non-zero" "$(links offer-1@sales.example)" "deal:d2:deal_next_nonzero:public"
is "offer-2: newest non-zero deal" "$(links offer-2@sales.example)" "deal:d3:deal_newest:public"
is "offer-3: second address, other case" "$(links offer-3@sales.example)" "contact:c4:contact_no_deals:public"
is "private-1: private owner" "$(links private-1@sales.example)" "contact:c4:contact_no_deals:private"
is "reply-1: imap reply follows the thread" "$(links reply-1@client.example)" "deal:d3:thread_reply:public"
is "late-1 unmatched" "$(q "SELECT count(*) FROM unmatched_emails WHERE message_id = 'late-1@sales.example'")" "1"

# ---- explain ----------------------------------------------------------------
out=$(bd explain offer-1@sales.example 2>&1)
like "explain: skipped 0% deal" "$out" "deal d1 \"Newest Zero\" stage Lost, probability 0% \(stage Lost\), modified 2026-03-10T00:00:00Z: skipped: probability is 0"
like "explain: winner and why" "$out" "deal d2 \"Older Live\", probability 50% \(deal's own\), modified 2026-03-01T00:00:00Z: WINS"
like "explain: user address" "$out" "participant from alice@ourco.com: CRM user u1's email address"
like "explain: visibility" "$out" "link deal d2 \(rule deal_next_nonzero\): public \(owner u1 shares publicly\)"
out=$(bd explain "<offer-2@sales.example>" 2>&1)
like "explain: internal domain" "$out" "colleague@ourco.com: internal domain ourco.com"
like "explain: lost deal" "$out" "deal d4 \"Older 60\", probability 60% \(deal's own\), modified 2026-03-01T00:00:00Z: lost: modified before deal d3"
out=$(bd explain late-1@sales.example 2>&1)
like "explain: unknown address" "$out" "newcomer@late.example: unknown: no contact or lead has this address"
like "explain: unmatched" "$out" "none: the message is unmatched"
out=$(bd explain nosuch@x 2>&1); rc=$?
like "explain: unknown Message-ID fails" "$rc:$out" "^1:.*no stored message has Message-ID"

# ---- backfill ---------------------------------------------------------------
printf 'id,kind,name,emails,owner\nc20,lead,Late Comer,Newcomer@Late.example,u1\n' >"$WORK/contacts2.csv"
out=$(bd import contacts "$WORK/contacts2.csv" 2>&1)
like "import triggers backfill" "$out" "backfill: 1 unmatched message re-examined, 1 now linked"
is "late-1 backfilled" "$(links late-1@sales.example)" "contact:c20:contact_no_deals:public"
out=$(bd history late-1@sales.example 2>&1)
like "history shows the backfill" "$out" "added   contact c20: rule - -> contact_no_deals, visibility - -> public \(backfill after import of contacts2.csv\)"
is "lost-1 still unmatched" "$(q "SELECT count(*) FROM unmatched_emails WHERE message_id = 'lost-1@sales.example'")" "1"

# ---- deal modified later: stored decision vs --now, reassociate -------------
printf 'id,name,stage,probability,modified_at,contacts\nd4,Older 60,,60,2026-04-01T00:00:00Z,c2\n' >"$WORK/deals2.csv"
check "import a modified deal" bd import deals "$WORK/deals2.csv"
is "offer-2 unchanged by the deal import" "$(links offer-2@sales.example)" "deal:d3:deal_newest:public"
out=$(bd explain --now offer-2@sales.example 2>&1)
like "explain shows the stored decision" "$out" "deal d3 \"Newer 30\", probability 30% \(deal's own\), modified 2026-03-05T00:00:00Z: WINS"
like "explain --now shows today's" "$out" "deal d4 \"Older 60\", probability 60% \(deal's own\), modified 2026-04-01T00:00:00Z: WINS"
like "explain --now lists the difference" "$out" "added deal d4 \(rule deal_newest, public\)"
out=$(bd reassociate --all --dry-run 2>&1)
like "dry run lists changes" "$out" "<offer-2@sales.example>: added deal d4"
like "dry run summary" "$out" "dry run, nothing written: 7 messages examined"
is "dry run wrote nothing" "$(links offer-2@sales.example)" "deal:d3:deal_newest:public"
out=$(bd reassociate --all 2>&1)
like "reassociate --all" "$out" "7 messages examined, 2 changed \(4 link changes\)"
is "offer-2 moved to d4" "$(links offer-2@sales.example)" "deal:d4:deal_newest:public"
out=$(bd history offer-2@sales.example 2>&1)
like "history: removed" "$out" "removed deal d3: rule deal_newest -> -, visibility public -> - \(reassociate --all\)"
out=$(bd reassociate 2>&1)
like "reassociate (unmatched) on the rest" "$out" "^1 message examined, 0 changed"

# ---- report -----------------------------------------------------------------
out=$(bd report --format csv 2>&1)
is "report csv rows" "$(wc -l <<<"$out" | tr -d ' ')" "7"
like "report csv header" "$out" "^date,source,module,record,owner,visibility,from,to,subject,message_id"
like "report csv quoting" "$out" ",BCC Dropbox,Deals,Older 60,Alice,public,alice@ourco.com,\"sev@client.example, colleague@ourco.com\",about offer-2"
out=$(bd report --source imap --format json 2>&1)
like "report json" "$out" "\"source\": \"IMAP\", \"module\": \"Deals\", \"record\": \"Older 60\""
if python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if len(d)==1 else 1)' <<<"$out"; then
	ok "report json parses"; else not_ok "report json parses"; fi
out=$(bd report --since 2099-01-01 2>&1)
like "report --since in the future: empty" "$out" "\(0 links\)"
out=$(bd report 2>&1)
like "report table" "$out" "Contacts  +Late Comer"
out=$(bd report --format xml 2>&1); rc=$?
is "report: bad format is a usage error (EX_USAGE)" "$rc" "64"

# ---- progress on a terminal for large files ---------------------------------
{ echo "id,kind,name,emails,owner"; for i in $(seq 2500); do echo "b$i,contact,Bulk $i,bulk$i@bulk.example,"; done; } >"$WORK/bulk.csv"
out=$(script -qec "$BD import contacts -c '$CONF' '$WORK/bulk.csv'" /dev/null 2>&1)
like "progress shown on a terminal" "$out" "importing .*bulk.csv: 2000 rows"
out=$(bd import contacts "$WORK/bulk.csv" 2>&1)
is "no progress when not a terminal" "$out" "imported 2500 contacts from $WORK/bulk.csv: 0 added, 0 updated, 2500 unchanged"

# ---- every query of docs/reports.md ----------------------------------------
# On PostgreSQL a query's ```postgresql form, where it has one, replaces it.
awk -v pg="$(bd_backend_pg && echo 1)" '
     /^```sql$/ { n++; f = sprintf("'"$WORK"'/query-%02d.sql", n); inblk = 1; next }
     /^```postgresql$/ { inblk = pg; if (pg) close(f); first = 1; next }
     /^```$/ { inblk = 0; next }
     inblk && first && pg { printf "" > f; first = 0 }
     inblk { print > f }' "$TOP/docs/reports.md"
nq=$(ls "$WORK"/query-*.sql 2>/dev/null | wc -l)
like "docs/reports.md has queries" "$nq" "^[1-9][0-9]*$"
for f in "$WORK"/query-*.sql; do
	if bd_dbsql "$DB" <"$f" >"${f%.sql}.out" 2>&1; then ok "docs query $(basename "$f") runs"; else
		not_ok "docs query $(basename "$f") runs"; sed 's/^/#   /' "${f%.sql}.out"; fi
done
res() { cat "$WORK/query-$1.out"; }
is "query 1: BCC Dropbox mail this month" "$(res 01 | wc -l | tr -d ' ')" "5"
is "query 2: emails per deal" "$(res 02)" "d4|Older 60|2
d2|Older Live|1"
is "query 3: emails per contact" "$(res 03)" "c4|No Deals|2
c20|Late Comer|1"
is "query 4: one message's links" "$(res 04)" "deal|d2|deal_next_nonzero|public"
is "query 5: unmatched by domain" "$(res 05)" "nowhere.example|1"
is "query 6: summary per source and owner" "$(res 06)" "BCC Dropbox|Alice|4|4
BCC Dropbox|Bob|1|1
IMAP|Alice|1|1"
is "query 7: private links" "$(res 07)" "private-1@sales.example|contact|c4|contact_no_deals"
like "query 8: history" "$(res 08)" "offer-2@sales.example\|.*\|removed\|deal\|d3\|deal_newest\|\|reassociate --all"
like "query 9: stored trace" "$(res 09)" "^linked\|"

done_testing
