#!/usr/bin/env bash
# CRM data that stays true (issue 12): every shipped mapping through
# `bccdrop import --format` into a real store; full sync with retire, the
# --max-retire guard, a merge and un-retire; stage probability changes;
# deactivated users; bad input naming file, line, column and value.
. "$(dirname "$0")/../lib.sh"
if ! command -v sqlite3 >/dev/null; then
	echo "1..0 # SKIP sqlite3 is not installed"; exit 0
fi
export BCCDROP_DATADIR=$TOP
BD=$BIN/bccdrop
SAMPLES=$TOP/contrib/crm/samples
q() { sqlite3 -batch "$DB" "$1"; }
newdb() {	# NAME: a fresh store and its config
	DB=$WORK/$1.db
	CONF=$WORK/$1.conf
	printf '[store]\ndatabase = %s\nsynchronous = normal\n[assoc]\ninternal_domains = ourco.com\n' "$DB" >"$CONF"
}
bd() { local cmd=$1; shift; "$BD" "$cmd" -c "$CONF" "$@"; }
imp() {	# DESCRIPTION ARGS...: an import that must succeed
	local what=$1; shift
	local out
	if out=$(bd import "$@" 2>&1); then ok "$what"; else not_ok "$what"; diag "$out"; fi
}
# Zoho, HubSpot and Pipedrive ship no stage export mapping: the admin's own
# stages file names the stages their deals samples use.
stages() { printf 'name,probability\n'; printf '%s,50\n' "$@"; }

# ---- every shipped mapping into a real store ---------------------------------
newdb zoho
stages "Proposal/Price Quote" "Closed Lost" Qualification >"$WORK/zoho-stages.csv"
imp "zoho stages (bccdrop CSV)" stages "$WORK/zoho-stages.csv"
imp "zoho-users" --format zoho-users users "$SAMPLES/zoho-users.csv"
imp "zoho-contacts" --format zoho-contacts contacts "$SAMPLES/zoho-contacts.csv"
imp "zoho-leads" --format zoho-leads contacts "$SAMPLES/zoho-leads.csv"
imp "zoho-deals" --format zoho-deals deals "$SAMPLES/zoho-deals.csv"
is "zoho: contacts and leads" "$(q "SELECT kind || '=' || count(*) FROM contacts GROUP BY kind ORDER BY kind")" \
	"$(printf 'contact=2\nlead=2')"
is "zoho: Status Deactive marks the user deactivated" \
	"$(q "SELECT group_concat(id || '=' || deactivated, ' ') FROM (SELECT * FROM users ORDER BY id)")" \
	"zcrm_5000000000001=0 zcrm_5000000000002=0 zcrm_5000000000003=1"
is "zoho: deals" "$(q "SELECT count(*) FROM deals")" "$(($(wc -l <"$TOP/tests/data/crm/zoho-deals.csv") - 1))"

newdb hubspot
stages "Contract Sent" "Closed Lost" "Appointment Scheduled" >"$WORK/hubspot-stages.csv"
imp "hubspot stages (bccdrop CSV)" stages "$WORK/hubspot-stages.csv"
imp "hubspot-contacts" --format hubspot-contacts contacts "$SAMPLES/hubspot-contacts.csv"
imp "hubspot-deals" --format hubspot-deals deals "$SAMPLES/hubspot-deals.csv"
is "hubspot: deal contacts" "$(q "SELECT count(*) FROM deal_contacts")" \
	"$(tail -n +2 "$TOP/tests/data/crm/hubspot-deals.csv" | cut -d, -f6 | tr ';' '\n' | grep -c .)"

newdb salesforce
imp "salesforce-opportunitystage" --format salesforce-opportunitystage stages "$SAMPLES/salesforce-opportunitystage.csv"
imp "salesforce-contact" --format salesforce-contact contacts "$SAMPLES/salesforce-contact.csv"
imp "salesforce-opportunity --links salesforce-opportunitycontactrole" --format salesforce-opportunity \
	--links "$SAMPLES/salesforce-opportunitycontactrole.csv" deals "$SAMPLES/salesforce-opportunity.csv"
is "salesforce: contacts from the OpportunityContactRole file" "$(q "SELECT count(*) FROM deal_contacts")" 4

newdb pipedrive
stages "Proposal Made" "Negotiations Started" Qualified >"$WORK/pipedrive-stages.csv"
imp "pipedrive stages (bccdrop CSV)" stages "$WORK/pipedrive-stages.csv"
imp "pipedrive-persons" --format pipedrive-persons contacts "$SAMPLES/pipedrive-persons.csv"
imp "pipedrive-deals" --format pipedrive-deals deals "$SAMPLES/pipedrive-deals.csv"
is "pipedrive: deals" "$(q "SELECT count(*) FROM deals")" "$(($(wc -l <"$TOP/tests/data/crm/pipedrive-deals.csv") - 1))"

out=$(bd import --format no-such-crm deals "$SAMPLES/zoho-deals.csv" 2>&1)
like "--format names only shipped mappings" "$out" "'no-such-crm' is not a shipped mapping \(.*zoho-deals"
out=$(bd import --map "$TOP/contrib/crm/zoho-deals.map" --format zoho-deals deals "$SAMPLES/zoho-deals.csv" 2>&1)
like "--map and --format together refused" "$out" "give one"

# ---- full sync ---------------------------------------------------------------
newdb sync
cat >"$WORK/users.csv" <<'EOF'
id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at
u1,alice@ourco.com,Alice,alice-drop@bcc.example,,public,,
u2,bob@ourco.com,Bob,bob-drop@bcc.example,,public,,
EOF
printf 'name,probability\nProposal,60\nLost,0\n' >"$WORK/stages.csv"
{ echo "id,kind,name,emails,owner"; for i in $(seq 10); do echo "c$i,contact,C $i,c$i@client.example,u1"; done; } >"$WORK/contacts.csv"
# d5 takes its probability from its stage and is c5's newest deal; d6 is older.
deals_row() { echo "d$1,Deal $1,,50,2026-03-0$(( $1 % 9 + 1 ))T00:00:00Z,c$1"; }
{ echo "id,name,stage,probability,modified_at,contacts"
  for i in 1 2 3 4 7 8 9; do deals_row $i; done
  echo "d5,Deal 5,Proposal,,2026-03-20T00:00:00Z,c5"
  echo "d6,Deal 6,,50,2026-03-10T00:00:00Z,c5"
  echo "d10,Deal 10,,50,2026-03-01T00:00:00Z,c10"; } >"$WORK/deals.csv"
for k in users stages contacts deals; do imp "sync: import $k" --full $k "$WORK/$k.csv"; done

mail() {	# ID FROM TO: a message file
	printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nHi.\r\n' \
		"$2" "$3" "$1" "$1" >"$WORK/$1.eml"
	echo "$WORK/$1.eml"
}
links_of() { q "SELECT group_concat(l.module || ':' || l.record_id, ' ') FROM (SELECT l.* FROM links l JOIN messages m ON m.id = l.message WHERE m.message_id = '$1' ORDER BY l.module, l.record_id) l"; }
bd ingest "$(mail m-c1@x alice@ourco.com c1@client.example)" >/dev/null
bd ingest "$(mail m-c5@x alice@ourco.com c5@client.example)" >/dev/null
is "before: c1's mail links d1" "$(links_of m-c1@x)" "deal:d1"
is "before: c5's mail links d5, its newest deal (probability 60 from its stage)" "$(links_of m-c5@x)" "deal:d5"

out=$(bd import --full deals "$WORK/deals.csv" 2>&1)
is "same file again: all unchanged" "$(head -1 <<<"$out")" \
	"imported 10 deals from $WORK/deals.csv: 0 added, 0 updated, 10 unchanged, 0 retired"

grep -v '^d1,' "$WORK/deals.csv" >"$WORK/deals-9.csv"
out=$(bd import --full --export-date 2026-04-01 deals "$WORK/deals-9.csv" 2>&1)
is "a deal absent from the export is retired (10% is not over the guard)" "$(head -1 <<<"$out")" \
	"imported 9 deals from $WORK/deals-9.csv: 0 added, 0 updated, 9 unchanged, 1 retired"
is "retired, not erased" "$(q "SELECT count(*) FROM deals WHERE id = 'd1' AND retired_at IS NOT NULL")" 1
is "its link stays" "$(links_of m-c1@x)" "deal:d1"
is "link_history records the retirement" \
	"$(q "SELECT action || ' ' || record_id || ' ' || old_rule || '=' || new_rule || ' ' || reason FROM link_history WHERE reason LIKE 'retired%'")" \
	"changed d1 deal_newest=deal_newest retired in CRM export of 2026-04-01"
bd ingest "$(mail m-c1-new@x alice@ourco.com c1@client.example)" >/dev/null
is "new mail no longer matches the retired deal" "$(links_of m-c1-new@x)" "contact:c1"

snapshot() { sqlite3 "$DB" .dump | grep -E '^INSERT INTO (users|user_addresses|stages|contacts|contact_addresses|deals|deal_contacts|link_history)' | md5sum; }
before=$(snapshot)
head -6 "$WORK/deals-9.csv" >"$WORK/deals-5.csv"
out=$(bd import --full deals "$WORK/deals-5.csv" 2>&1); rc=$?
is "guard: over --max-retire fails" "$rc" 1
like "guard: says how many would go" "$out" "would retire 4 of 9 deals, more than --max-retire 10%: nothing was changed"
is "guard: nothing changed" "$(snapshot)" "$before"
out=$(bd import --full --max-retire 50 deals "$WORK/deals-5.csv" 2>&1)
like "guard raised: retires" "$out" "5 unchanged, 4 retired"

out=$(bd import --full deals "$WORK/deals.csv" 2>&1)
like "records that reappear are un-retired (counted as updated)" "$out" "0 added, 5 updated, 5 unchanged, 0 retired"
is "nothing retired now" "$(q "SELECT count(*) FROM deals WHERE retired_at IS NOT NULL")" 0

# Stage probability: d5 takes its probability from Proposal. Past mail keeps
# its capture-time link; new mail follows the new probability.
printf 'name,probability\nProposal,0\nLost,0\n' >"$WORK/stages-0.csv"
out=$(bd import --full stages "$WORK/stages-0.csv" 2>&1)
like "stage probability change" "$out" "0 added, 1 updated, 1 unchanged, 0 retired"
bd ingest "$(mail m-c5-new@x alice@ourco.com c5@client.example)" >/dev/null
is "new mail: d5 now has probability 0 from its stage, d6 wins" "$(links_of m-c5-new@x)" "deal:d6"
is "past mail keeps its capture-time link" "$(links_of m-c5@x)" "deal:d5"
like "the stored trace says why it was linked then" "$(bd explain m-c5@x 2>&1)" "d5"
out=$(bd reassociate --since 2026-03-01 2>&1)
like "reassociate --since re-decides on purpose" "$out" "changed"
is "after reassociate --since: d6" "$(links_of m-c5@x)" "deal:d6"

# Merge: c2 merged into c3 (the export names the survivor).
sed 's/^c2,contact,C 2,c2@client.example,u1$/c2,contact,C 2,c2@client.example,u1,c3/; 1s/$/,merged_into/; s/^\(c[0-9]*,contact,C [0-9]*,c[0-9]*@client.example,u1\)$/\1,/' \
	"$WORK/contacts.csv" >"$WORK/contacts-merged.csv"
out=$(bd import --full contacts "$WORK/contacts-merged.csv" 2>&1)
like "merge: summary" "$out" ", 1 merged"
is "merge: c2's address now belongs to c3" "$(q "SELECT group_concat(address_key, ' ') FROM (SELECT address_key FROM contact_addresses WHERE contact_id = 'c3' ORDER BY 1)")" \
	"c2@client.example c3@client.example"
is "merge: c2 retired, naming its survivor" "$(q "SELECT merged_into FROM contacts WHERE id = 'c2' AND retired_at IS NOT NULL")" c3
is "merge: c2's deal moved to c3" "$(q "SELECT group_concat(deal_id, ' ') FROM (SELECT deal_id FROM deal_contacts WHERE contact_id = 'c3' ORDER BY 1)")" "d2 d3"
bd ingest "$(mail m-c2@x alice@ourco.com c2@client.example)" >/dev/null
is "merge: mail to the old address matches the survivor's deals" "$(links_of m-c2@x)" "deal:d3"

# ---- deactivated users -------------------------------------------------------
bd ingest --source bcc_dropbox --mail-from bob@ourco.com --rcpt bob-drop@bcc.example "$(mail m-bob@x bob@ourco.com c4@client.example)" >/dev/null
{ head -2 "$WORK/users.csv" | sed '1s/$/,deactivated/; 2s/$/,0/'; sed -n 3p "$WORK/users.csv" | sed 's/$/,1/'; } >"$WORK/users-deact.csv"
imp "users import marks bob deactivated" --full users "$WORK/users-deact.csv"
is "bob deactivated" "$(q "SELECT deactivated FROM users WHERE id = 'u2'")" 1
out=$(bd ingest --source bcc_dropbox --mail-from bob@ourco.com --rcpt bob-drop@bcc.example "$(mail m-bob2@x bob@ourco.com c4@client.example)" 2>&1); rc=$?
is "ingest --source bcc_dropbox refuses a deactivated user's dropbox" "$rc" 1
like "with a clear text" "$out" "550 5.1.1.*u2 is deactivated in the CRM"
out=$(bd ingest --source bcc_dropbox --owner u2 --rcpt bob-drop@bcc.example "$WORK/m-bob2@x.eml" 2>&1); rc=$?
is "--owner of a deactivated user: refused too" "$rc,$(grep -c 'u2 is deactivated in the CRM' <<<"$out")" "1,1"
is "nothing stored" "$(q "SELECT count(*) FROM messages WHERE message_id = 'm-bob2@x'")" 0
like "export --user still backs up everything" "$(bd export --user u2)" "Message-ID: <m-bob@x>"
is "links stay" "$(links_of m-bob@x)" "deal:d4"

# ---- bad input: one line naming file, line, column and value; nothing changed
before=$(snapshot)
bad() {	# WHAT EXPECTED ARGS...
	local what=$1 want=$2; shift 2
	local out rc
	out=$(bd import "$@" 2>&1); rc=$?
	if [ "$rc" -ne 0 ] && [[ "$out" == *"$want"* ]] && [ "$(wc -l <<<"$out")" -eq 1 ]; then ok "bad: $what"; else
		not_ok "bad: $what"; diag "rc=$rc out=$out"; fi
	is "bad: $what: nothing changed" "$(snapshot)" "$before"
}
cat >"$WORK/deals.map" <<'EOF'
[deals]
id = Id
name = Title
stage = Stage
probability = Prob
modified_at = Changed
date_format = %Y-%m-%d %H:%M
time_zone = UTC
EOF
export_of() { printf 'Id,Title,Stage,Prob,Changed\n%s\n' "$1" >"$WORK/export.csv"; echo "$WORK/export.csv"; }
bad "wrong date format" "export.csv:2: column 'Changed': '03/01/2026' is not a date" \
	--map "$WORK/deals.map" deals "$(export_of 'd1,T,,5,03/01/2026')"
bad "probability over 100" "export.csv:2: column 'Prob': '150' is over 100" \
	--map "$WORK/deals.map" deals "$(export_of 'd1,T,,150,2026-03-01 10:00')"
bad "unknown stage" "export.csv (record numbers, via $WORK/deals.map):2: column 'Stage' (field stage): unknown stage 'Nope'" \
	--map "$WORK/deals.map" deals "$(export_of 'd1,T,Nope,5,2026-03-01 10:00')"
bad "duplicate id" "export.csv:3: column 'Id': 'd1' is a duplicate id" \
	--map "$WORK/deals.map" deals "$(export_of "$(printf 'd1,T,,5,2026-03-01 10:00\nd1,T,,5,2026-03-01 10:00')")"
printf 'Id,Title,Stage,Prob\nd1,T,,5\n' >"$WORK/export-nocol.csv"
bad "missing required column" "export-nocol.csv:1: column 'Changed' is not in the header" \
	--map "$WORK/deals.map" deals "$WORK/export-nocol.csv"
sed 's/^name = Title/name = Headline/' "$WORK/deals.map" >"$WORK/deals-bad.map"
bad "mapping naming a missing column" "column 'Headline' is not in the header (deals-bad.map maps [deals] name to it)" \
	--map "$WORK/deals-bad.map" deals "$(export_of 'd1,T,,5,2026-03-01 10:00')"
printf 'id,name,stage,probability,modified_at,contacts\nd1,T,,101,2026-03-01T00:00:00Z,\n' >"$WORK/own.csv"
bad "bccdrop CSV: probability over 100" "own.csv:2: field 'probability': '101' is not a number 0..100" deals "$WORK/own.csv"
printf 'id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at,deactivated\nu9,z@ourco.com,Z,,,,,,maybe\n' >"$WORK/own-users.csv"
bad "deactivated flag" "own-users.csv:2: field 'deactivated': 'maybe' is not one of" users "$WORK/own-users.csv"

# ---- the timer's command: bccdrop-crm-sync on a drop folder -----------------
SYNC=$TOP/contrib/bccdrop-crm-sync
DROP=$WORK/drop
mkdir -p "$DROP"
export BCCDROP=$BD
cp "$WORK/deals-9.csv" "$DROP/deals.csv"
# Run twice at once: the first waits for the fresh file to be stable (2 s)
# holding the lock; the second, started once the lock is held, exits 0 at
# once, doing nothing.
"$SYNC" --config "$CONF" --stable 2 "$DROP" >"$WORK/sync1.out" 2>&1 & first=$!
wait_for 10 bash -c "! flock -n '$DROP/.bccdrop-crm-sync.lock' true"
out=$("$SYNC" --config "$CONF" --stable 1 "$DROP" 2>&1); rc=$?
is "second run at once: exits 0" "$rc" 0
like "second run at once: says the first holds the lock" "$out" "another run holds .*: nothing done"
wait "$first"; rc=$?
is "first run: exits 0" "$rc" 0
like "first run: full sync with the summary" "$(cat "$WORK/sync1.out")" "imported 9 deals from $DROP/deals.csv: .*1 retired"
check "imported file moved to done/" test -f "$DROP"/done/*.deals.csv -a ! -e "$DROP/deals.csv"
# A file still being written (appended to every 0.1 s while the run waits
# for 2 s of quiet) is left alone.
cp "$WORK/deals.csv" "$DROP/deals.csv"
( i=100; while :; do i=$((i + 1)); echo "d$i,Late,,5,2026-03-01T00:00:00Z," >>"$DROP/deals.csv"; sleep 0.1; done ) & writer=$!
out=$("$SYNC" --config "$CONF" --stable 2 "$DROP" 2>&1); rc=$?
kill "$writer"; wait "$writer" 2>/dev/null
is "half-written file: run exits 0" "$rc" 0
like "half-written file: left for the next run" "$out" "still being written: left for the next run"
check "half-written file: still in the drop folder" test -f "$DROP/deals.csv"
# With --marker, only a file whose marker exists is imported.
out=$("$SYNC" --config "$CONF" --marker .done "$DROP" 2>&1)
like "no marker yet: left" "$out" "still being written"
touch "$DROP/deals.csv.done"
out=$("$SYNC" --config "$CONF" --marker .done "$DROP" 2>&1)
like "with its marker: imported (d1 back, the late rows added)" "$out" " [1-9][0-9]* added, 1 updated, 9 unchanged, 0 retired"
check "marker removed" test ! -e "$DROP/deals.csv.done" -a ! -e "$DROP/deals.csv"

done_testing
