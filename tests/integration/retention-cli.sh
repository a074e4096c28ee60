#!/usr/bin/env bash
# bccdrop retention run [--dry-run] and bccdrop hold: a dry run changes
# nothing and shows what is held by which hold; the real run deletes
# everything of the unheld old messages, logs each in the append-only
# retention_log, and keeps every kind of hold's mail; --until expires;
# released holds stop holding.
. "$(dirname "$0")/../lib.sh"

BD=$BIN/bccdrop
DB=$WORK/bccdrop.db
CONF=$WORK/bccdrop.conf
write_conf() {	# keep_days
	printf '[store]\ndatabase = %s\nsynchronous = normal\n[retention]\nkeep_days = %s\n' "$DB" "$1" >"$CONF"
}
write_conf 0
bd() { local cmd=$1; shift; "$BD" "$cmd" -c "$CONF" "$@"; }
q() { sqlite3 "$DB" "$1"; }
fails() {	# description expected-rc expected-text command...
	local d=$1 want_rc=$2 want=$3 out rc; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want_rc" ] && [[ "$out" == *"$want"* ]]; then ok "$d"; else
		not_ok "$d"; diag "rc=$rc out=$out"; fi
}
check "init" bd init

cat >"$WORK/users.csv" <<'EOC'
id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at
u1,alice@ourco.com,Alice,alice-drop@bcc.example,,public,,
u2,bob@ourco.com,Bob,bob-drop@bcc.example,,public,,
EOC
cat >"$WORK/contacts.csv" <<'EOC'
id,kind,name,emails,owner
c1,contact,Carol,carol@client.example,u1
c2,contact,Dave,dave@client.example,u1
c3,contact,Erin,erin@client.example,u1
EOC
cat >"$WORK/deals.csv" <<'EOC'
id,name,stage,probability,modified_at,contacts
d1,Carol's deal,,50,2026-01-01T00:00:00Z,c1
d2,Dave's deal,,50,2026-01-01T00:00:00Z,c2
EOC
check "import users" bd import users "$WORK/users.csv"
check "import contacts" bd import contacts "$WORK/contacts.csv"
check "import deals" bd import deals "$WORK/deals.csv"

mail() {	# ID TO DATE
	printf 'From: alice@ourco.com\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b\r\nContent-Type: application/pdf; name=q.pdf\r\nContent-Disposition: attachment; filename=q.pdf\r\n\r\n%%PDF\r\n--b--\r\n' \
		"$2" "$1" "$1" "$3" >"$WORK/$1"
}
OLD="Tue, 10 Mar 2020 12:00:00 +0000"
NEWD=$(date -u -R)
mail free@x other@else.example "$OLD"
mail user@x other@else.example "$OLD"
mail contact@x carol@client.example "$OLD"
mail contactaddr@x erin@client.example "$OLD"
mail deal@x dave@client.example "$OLD"
mail msg@x other@else.example "$OLD"
mail expiring@x other@else.example "$OLD"
mail released@x other@else.example "$OLD"
mail recent@x other@else.example "$NEWD"
for m in free contact contactaddr deal msg expiring released recent; do
	bd ingest "$WORK/$m@x" >/dev/null || not_ok "ingest $m"
done
check "ingest bob's dropbox copy" bd ingest --source bcc_dropbox --owner u2 "$WORK/user@x"
is "nine messages stored" "$(q 'SELECT count(*) FROM messages')" 9

# ---- keep forever by default; bad input ----------------------------------------
is "keep_days 0: nothing to do" "$(bd retention run 2>&1)" \
	"[retention] keep_days is 0: mail is kept forever, nothing to delete"
write_conf 30
fails "hold add without a target" 64 "give exactly one of --user U" bd hold add --reason x
fails "hold add with two targets" 64 "give exactly one of" bd hold add --user u1 --deal d1 --reason x
fails "hold add without a reason" 64 "--reason TEXT is required" bd hold add --deal d1
fails "hold add: unknown deal" 1 "no deal 'd9' is stored: nothing to hold" bd hold add --deal d9 --reason x
fails "hold add: unknown message" 1 "no message 'nope@x' is stored" bd hold add --message nope@x --reason x
fails "hold add: --until in the past" 64 "is not in the future" bd hold add --deal d1 --reason x --until 2020-01-01
fails "hold add: --until not a date" 64 "is not a date" bd hold add --deal d1 --reason x --until soon
is "bad input added no hold" "$(q 'SELECT count(*) FROM holds')" 0

# ---- holds of every kind -------------------------------------------------------
like "hold --user" "$(bd hold add --user u2 --reason 'audit 2026')" '^hold 1 added on user u2$'
check "hold --contact" bd hold add --contact c1 --reason "dispute with Carol"
check "hold --contact (by address)" bd hold add --contact c3 --reason "Erin"
check "hold --deal" bd hold add --deal d2 --reason "deal dispute"
check "hold --message (brackets accepted)" bd hold add --message "<msg@x>" --reason "one mail"
check "hold --until in 2 seconds" bd hold add --message expiring@x --reason short \
	--until "$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)"
check "hold to release" bd hold add --message released@x --reason "to release"
check "hold release 7" bd hold release 7
fails "hold release twice" 1 "no hold 7 that is not released already" bd hold release 7
fails "hold release: not an id" 64 "is not a hold id" bd hold release x
list=$(bd hold list)
like "hold list: header" "$list" 'ID +KIND +TARGET +STATUS +UNTIL +MESSAGES +REASON'
like "hold list: user hold holds one message" "$list" '1 +user +u2 +active +- +1  audit 2026'
like "hold list: released" "$list" '7 +message +released@x +released'
is "retention_status: held_by for the contact-linked message" \
	"$(q "SELECT held_by FROM retention_status WHERE message_id = 'contact@x'")" 2
sleep 3
like "hold list: --until passed: expired" "$(bd hold list)" '6 +message +expiring@x +expired'

# ---- dry run -------------------------------------------------------------------
dry=$(bd retention run --dry-run)
like "dry run: free message would go" "$dry" 'would delete  <free@x> 2020-03-10T12:00:00Z'
like "dry run: expired hold no longer holds" "$dry" 'would delete  <expiring@x>'
like "dry run: released hold no longer holds" "$dry" 'would delete  <released@x>'
like "dry run: held by user hold" "$dry" 'held          <user@x> 2020-03-10T12:00:00Z \(hold 1\)'
like "dry run: held by contact hold (deal link)" "$dry" 'held          <contact@x> .*\(hold 2\)'
like "dry run: held by contact hold (address)" "$dry" 'held          <contactaddr@x> .*\(hold 3\)'
like "dry run: held by deal hold" "$dry" 'held          <deal@x> .*\(hold 4\)'
like "dry run: held by message hold" "$dry" 'held          <msg@x> .*\(hold 5\)'
like "dry run: summary" "$dry" 'dry run: 3 would be deleted, 5 held'
[[ "$dry" != *recent@x* ]] && ok "dry run: recent mail not listed" || not_ok "dry run: recent mail not listed"
is "dry run: nothing deleted" "$(q 'SELECT count(*) FROM messages')" 9
is "dry run: nothing logged" "$(q 'SELECT count(*) FROM retention_log')" 0

# ---- the real run --------------------------------------------------------------
ids=$(q "SELECT group_concat(id) FROM messages WHERE message_id IN ('free@x','expiring@x','released@x')")
like "run" "$(bd retention run)" '^deleted 3 message\(s\) older than 30 days \(logged in retention_log\); 5 held$'
is "run: the same three gone" "$(q "SELECT group_concat(message_id) FROM (SELECT message_id FROM messages WHERE message_id IN ('free@x','expiring@x','released@x'))")" ""
is "run: held and recent kept" "$(q 'SELECT count(*) FROM messages')" 6
for t in raw_messages attachments participants sources links link_history decisions message_references; do
	is "run: nothing left in $t" "$(q "SELECT count(*) FROM $t WHERE message IN ($ids)")" 0
done
is "run: logged with fingerprint and reason" \
	"$(q "SELECT message_id || '|' || length(fingerprint) || '|' || date || '|' || reason FROM retention_log ORDER BY message_id")" \
	"expiring@x|64|2020-03-10T12:00:00Z|older than [retention] keep_days = 30
free@x|64|2020-03-10T12:00:00Z|older than [retention] keep_days = 30
released@x|64|2020-03-10T12:00:00Z|older than [retention] keep_days = 30"
fails "retention_log: UPDATE refused" 19 "retention_log is append-only" q "UPDATE retention_log SET reason = 'x'"
fails "retention_log: DELETE refused" 19 "retention_log is append-only" q "DELETE FROM retention_log"
is "retention_log: still three rows" "$(q 'SELECT count(*) FROM retention_log')" 3
like "run again: nothing more" "$(bd retention run)" '^deleted 0 message\(s\).*; 5 held$'

# ---- releasing a hold lets its mail go -----------------------------------------
check "release the deal hold" bd hold release 4
like "run after release" "$(bd retention run)" '^deleted 1 message'
is "deal mail gone" "$(q "SELECT count(*) FROM messages WHERE message_id = 'deal@x'")" 0
done_testing
