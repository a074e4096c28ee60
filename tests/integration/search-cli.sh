#!/usr/bin/env bash
# bccdrop search end to end on a real SQLite file: ranking, every filter,
# link visibility (private mail only for its owner), snippets that cannot
# drive a terminal or a spreadsheet, a deleted message leaving the index,
# query errors and the three formats.
. "$(dirname "$0")/../lib.sh"

BD=$BIN/bccdrop
DB=$WORK/bccdrop.db
CONF=$WORK/bccdrop.conf
printf '[store]\ndatabase = %s\nsynchronous = normal\n' "$DB" >"$CONF"
bd() { local cmd=$1; shift; "$BD" "$cmd" -c "$CONF" "$@"; }
q() { sqlite3 -batch "$DB" "$1"; }

cat >"$WORK/users.csv" <<'EOF2'
id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at
u1,alice@ourco.com,Alice,alice-drop@bcc.example,,public,,
u2,bob@ourco.com,Bob,bob-drop@bcc.example,,private,,
EOF2
cat >"$WORK/contacts.csv" <<'EOF2'
id,kind,name,emails,owner
c1,contact,Zed Client,zed@client.example,u1
c2,contact,Pat Client,pat@client.example,u2
EOF2
cat >"$WORK/deals.csv" <<'EOF2'
id,name,stage,probability,modified_at,contacts
d1,Zed renewal,,50,2026-01-01T00:00:00Z,c1
d2,Pat renewal,,50,2026-01-01T00:00:00Z,c2
EOF2
for k in users contacts deals; do check "import $k" bd import $k "$WORK/$k.csv"; done

mail() {	# name from to subject date body [extra headers]
	printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\nDate: %s\r\n%s\r\n%s\r\n' \
		"$2" "$3" "$4" "$1" "$5" "${7:-}" "$6" >"$WORK/$1.eml"
}
via() {	# name dropbox mail-from
	check "ingest $1" bd ingest --source bcc_dropbox --rcpt "$2" --mail-from "$3" "$WORK/$1.eml"
}
MAR='Mon, 2 Mar 2026 10:00:00 +0000'
mail subj 'Alice <alice@ourco.com>' 'Zed <zed@client.example>' 'Renewal price for 2026' "$MAR" 'Numbers inside.'
mail body 'alice@ourco.com' 'zed@client.example' 'Catching up' 'Tue, 3 Mar 2026 10:00:00 +0000' \
	'Long mail about many things; the renewal came up once near the end of a long paragraph.'
mail old 'alice@ourco.com' 'pat-old@elsewhere.example, zed@client.example' 'Old renewal thread' \
	'Wed, 1 Jan 2025 10:00:00 +0000' 'Last year.'
mail priv 'bob@ourco.com' 'pat@client.example' 'Renewal discount, confidential' "$MAR" 'Private numbers.'
mail orphan 'alice@ourco.com' 'nobody@nowhere.example' 'Renewal for a stranger' "$MAR" 'Nobody in the CRM.'
mail att 'alice@ourco.com' 'zed@client.example' 'Paperwork' "$MAR" \
	$'--b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="quote-zeta-2026.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--' \
	$'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n'
# Control characters a terminal would obey: ESC (CSI colour, OSC title), a
# C1 CSI (U+009B), BEL; and a subject a spreadsheet would run.
mail evil 'alice@ourco.com' 'zed@client.example' '=HYPERLINK("http://x.example") evilword' "$MAR" \
	$'Click \x1b[31m bodyword \x1b[0m now \x1b]0;owned\x07 and \xc2\x9b2J here.'
for m in subj body old att evil orphan; do via $m alice-drop@bcc.example alice@ourco.com; done
via priv bob-drop@bcc.example bob@ourco.com
is "priv is linked privately" "$(q "SELECT visibility FROM email_links WHERE message_id = 'priv@test'")" "private"

ids() { sed -n 's/^   <\(.*\)@test>$/\1/p' | tr '\n' ' ' | sed 's/ $//'; }

# ---- ranking: subject words first, then body ---------------------------------
is "ranking: subject before body, older last by score" "$(bd search renewal | ids)" "subj old body"
like "snippet marks the match" "$(bd search 'came up once')" "the renewal \[came\] \[up\] \[once\] near"
is "a participant's name" "$(bd search Zed | ids | tr ' ' '\n' | sort | tr '\n' ' ')" "att body evil old subj "
is "a participant's address" "$(bd search pat-old@elsewhere.example | ids)" "old"
is "an attachment name" "$(bd search quote-zeta-2026.pdf | ids)" "att"
is "a prefix" "$(bd search 'paperw*' | ids)" "att"
is "a phrase" "$(bd search '"renewal came"' | ids)" "body"
is "a phrase in the wrong order finds nothing" "$(bd search '"came renewal"' | ids)" ""
is "all words required" "$(bd search 'renewal numbers' | ids)" "subj"
is "FTS5 operators are plain words" "$(bd search 'renewal OR paperwork' | ids)" ""
is "punctuation alone is ignored" "$(bd search 'renewal - ( :' | ids)" "subj old body"

# ---- filters ------------------------------------------------------------------
is "--since" "$(bd search renewal --since 2026-01-01 | ids)" "subj body"
is "--deal d1" "$(bd search renewal --deal d1 | ids)" "subj old body"
is "--deal d2 without its owner: nothing (private)" "$(bd search renewal --deal d2 | ids)" ""
is "--contact c1" "$(bd search paperwork --contact c1 | ids)" "att"
is "--contact c2 as bob" "$(bd search renewal --contact c2 --user u2 | ids)" "priv"
out=$(bd search renewal --deal nosuch 2>&1); rc=$?
like "unknown deal: an error, not an empty result" "$rc:$out" "^1:bccdrop: search: no CRM deal has id 'nosuch'"
out=$(bd search renewal --user nobody 2>&1); rc=$?
like "unknown user: an error" "$rc:$out" "^1:bccdrop: search: no CRM user has id 'nobody'"

# ---- visibility -----------------------------------------------------------------
is "private mail hidden from everyone" "$(bd search confidential | ids)" ""
is "private mail hidden from another user" "$(bd search confidential --user u1 | ids)" ""
is "private mail shown to its owner" "$(bd search confidential --user u2 | ids)" "priv"
is "unmatched mail hidden without its owner" "$(bd search stranger | ids)" ""
is "unmatched mail shown to its owner" "$(bd search stranger --user u1 | ids)" "orphan"

# ---- nothing from a message reaches the terminal raw ------------------------------
# (CSV rows end in CR LF by RFC 4180: those CRs are the format's own.)
out=$(for w in evilword bodyword; do bd search $w; bd search $w --format csv | sed 's/\r$//'; bd search $w --format json; done)
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' <<<"$out"; then
	not_ok "no control character in any format"; diag "$(od -c <<<"$out" | head -20)"
else ok "no control character in any format"; fi
like "snippet keeps the text around the controls" "$(bd search bodyword)" "Click �\[31m \[bodyword\] �\[0m now �\]0;owned� and �2J here"
like "CSV: a formula-looking cell is defused" "$(bd search evilword --format csv)" $'"\'=HYPERLINK\\(""http://x.example""\\) evilword"'
like "CSV: header" "$(bd search evilword --format csv | head -1)" $'^rank,date,from,subject,message_id,snippet\r$'
json=$(bd search renewal --format json)
like "JSON: an array of hits" "$json" '^\[
 \{"rank": 1, "date": "2026-03-02T10:00:00Z", "from": "Alice <alice@ourco.com>", "subject": "Renewal price for 2026", "message_id": "subj@test", "snippet": "'
if command -v python3 >/dev/null; then
	check "JSON parses" python3 -c 'import json,sys; assert len(json.load(sys.stdin)) == 3' <<<"$json"
	check "JSON with controls parses" python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$(bd search evilword --format json)"
else skip "python3 absent: JSON not parsed"; skip "python3 absent"; fi
out=$(bd search renewal --format xml 2>&1); rc=$?
like "unknown format" "$rc:$out" "^64:.*--format must be table, csv or json"

# ---- query errors -------------------------------------------------------------------
out=$(bd search 'renewal "price' 2>&1); rc=$?
like "unclosed quote: usage error naming it" "$rc:$out" "^64:bccdrop: search query: the double quote at character 9 is never closed"
out=$(bd search ' - ' 2>&1); rc=$?
like "no words" "$rc:$out" "^64:bccdrop: search query: no words to search for"
out=$(bd search renewal price 2>&1); rc=$?
like "two arguments: usage" "$rc:$out" "^64:.*quote a query of several words"

# ---- a deleted message leaves the index --------------------------------------------------
check "plain DELETE of a message" q "PRAGMA foreign_keys=ON; DELETE FROM messages WHERE message_id = 'subj@test'"
is "deleted message no longer found" "$(bd search renewal | ids)" "old body"
is "its terms are gone from the index" "$(q "SELECT count(*) FROM message_search WHERE message_search MATCH 'numbers'")" "1"
check "index consistent with messages" q "INSERT INTO message_search(message_search) VALUES ('integrity-check')"
