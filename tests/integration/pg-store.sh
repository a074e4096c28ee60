#!/usr/bin/env bash
# The PostgreSQL backend on a private PostgreSQL 15 with a hot standby: the
# test-pg unit tests (plain and under ASan, including a real server stop and
# restart), then the same captured data in SQLite and PostgreSQL giving
# identical output for the four views and every ready query of
# docs/reports.md.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg-lib.sh"

if ! pg_available; then
	skip "PostgreSQL 15 server binaries not installed ($PG_BIN)"
	done_testing; exit
fi
if ! pg_start; then
	not_ok "private PostgreSQL starts"
	done_testing; exit
fi
ok "private PostgreSQL $PG_PORT starts (pid $PG_PID)"
if pg_start_standby; then ok "a hot standby of it starts on $PG_STANDBY_PORT"; export BCCDROP_PG_STANDBY_URI=$PG_STANDBY_URI
else not_ok "a hot standby of it starts"; fi

export BCCDROP_PG_URI=$PG_URI BCCDROP_PG_TCP_URI=$PG_TCP_URI BCCDROP_PG_PASSWORD_FILE=$PG_PASSWORD_FILE \
	BCCDROP_PG_SSL_CA=$PG_SSL_CA BCCDROP_PG_SSL_OTHER_CA=$PG_SSL_OTHER_CA
# For /pg/server-stopped: pg_ctl signals the postmaster by the PID in its pid
# file; pg_stop (at exit) reads the PID of whichever server is running.
pg_ctl_cmd() { printf '%q ' setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	export BCCDROP_PG_STOP="$(pg_ctl_cmd -m fast stop)"
	export BCCDROP_PG_START="$(pg_ctl_cmd -l "$PG_DIR/server.log" -o "$PG_OPTS" start)"
fi

# run_unit BINARY LABEL: its TAP results, renumbered into ours.
run_unit() {
	local out=$WORK/${2//\//-}.tap rc
	"$1" --tap >"$out" 2>&1; rc=$?
	while IFS= read -r line; do
		case $line in
		"not ok "*) not_ok "$2 ${line#not ok [0-9]* }" ;;
		"ok "*"# SKIP"*) skip "$2 ${line#ok [0-9]* }" ;;
		"ok "*) ok "$2 ${line#ok [0-9]* }" ;;
		esac
	done <"$out"
	if [ "$rc" -ne 0 ]; then
		not_ok "$2 exits 0 (got $rc)"; grep -v '^ok' "$out" | tail -n 25 | sed 's/^/#   /'
	fi
}
run_unit "$B/tests/test-pg" test-pg
run_unit "$B/asan/tests/test-pg" asan/test-pg

# ---- docs/reports.md on both backends -----------------------------------------
# A SQLite store filled by the bccdrop commands, copied row for row into a
# PostgreSQL store (BLOBs as hex); every query must print the same.
BD=$BIN/bccdrop
DB=$WORK/bccdrop.db
CONF=$WORK/bccdrop.conf
printf '[store]\ndatabase = %s\nsynchronous = normal\n[assoc]\ninternal_domains = ourco.com\n' "$DB" >"$CONF"
bd() { local cmd=$1; shift; "$BD" "$cmd" -c "$CONF" "$@"; }
cat >"$WORK/users.csv" <<'EOF'
id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at
u1,alice@ourco.com,Alice,alice-drop@bcc.example,alice@oldco.example,public,,2026-01-01
u2,bob@sales.example,Bob,bob-drop@bcc.example,,private,,
EOF
printf 'name,probability\nLost,0\nQualified,20\n' >"$WORK/stages.csv"
cat >"$WORK/contacts.csv" <<'EOF'
id,kind,name,emails,owner
c1,contact,Zed Newest,zn@client.example,u1
c2,contact,"Sev, Eral",sev@client.example,u1
c4,contact,No Deals,"nd@client.example;ND2@Client.Example",
EOF
cat >"$WORK/deals.csv" <<'EOF'
id,name,stage,probability,modified_at,contacts
d1,Newest Zero,Lost,,2026-03-10T00:00:00Z,c1
d2,Older Live,,50,2026-03-01T00:00:00Z,c1
d3,Newer 30,,30,2026-03-05,c2
EOF
for k in users stages contacts deals; do check "import $k" bd import $k "$WORK/$k.csv"; done
NOW_DATE=$(date -u -R)
mail() {	# file message-id from to
	printf 'From: %s\r\nTo: %s\r\nSubject: about %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n\r\nHello.\r\n' \
		"$3" "$4" "$2" "$2" "$NOW_DATE" >"$WORK/$1"
}
mail offer-1.eml offer-1@sales.example "Alice <alice@ourco.com>" "Zed <zn@client.example>"
mail offer-2.eml offer-2@sales.example "alice@ourco.com" "sev@client.example, colleague@ourco.com"
mail offer-3.eml offer-3@sales.example "alice@ourco.com" "ND2@CLIENT.EXAMPLE"
mail private-1.eml private-1@sales.example "bob@sales.example" "nd@client.example"
mail lost-1.eml lost-1@sales.example "alice@ourco.com" "someone@nowhere.example"
for m in offer-1 offer-2 offer-3 lost-1; do
	check "ingest $m" bd ingest --source bcc_dropbox --rcpt alice-drop@bcc.example --mail-from alice@ourco.com "$WORK/$m.eml"
done
check "ingest private-1" bd ingest --source bcc_dropbox --rcpt bob-drop@bcc.example --mail-from bob@sales.example "$WORK/private-1.eml"
check "ingest offer-1 again over imap" bd ingest --source imap --owner u1 "$WORK/offer-1.eml"

# A mailbox with a sync row, today's budget, a cursor and a UIDL, for
# mailbox_status (written directly: the view only reads them).
sqlite3 "$DB" "INSERT INTO mailboxes(user_id, protocol, host, port, tls, username, auth, secret, folders, active,
	created_at, config_changed_at) VALUES ('u1', 'imap', '127.0.0.1', 993, 'implicit', 'alice', 'password',
	X'00FF10', 'INBOX,Sent', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
	INSERT INTO mailbox_sync(mailbox_id, status, done, total, updated_at) VALUES (1, 'completed', 3, 3, '2026-01-01T00:00:00Z');
	INSERT INTO mailbox_budget VALUES (1, strftime('%Y-%m-%d', 'now'), 12345);
	INSERT INTO mailbox_folders VALUES (1, 'INBOX', 7, 42, '2026-01-01T00:00:00Z');
	INSERT INTO mailbox_pop3_uidls VALUES (1, 'uidl-1', '2026-01-01T00:00:00Z', NULL);
	UPDATE sources SET mailbox_id = 1, folder = 'INBOX' WHERE kind = 'imap';"

PGDB_URI=${PG_URI/\/\/\/postgres\?/\/\/\/bccdrop_reports?}
pg_psql postgres -c "CREATE DATABASE bccdrop_reports"
check "the backend creates the schema" "$B/tests/test-pg" --open "$PGDB_URI"
copy_table() {	# table: its rows from SQLite into PostgreSQL, BLOBs as hex
	local cols sel
	cols=$(sqlite3 "$DB" "SELECT group_concat(name, ',') FROM pragma_table_info('$1')")
	sel=$(sqlite3 "$DB" "SELECT group_concat(CASE WHEN upper(type) = 'BLOB' THEN '''\\x'' || hex(' || name || ')' ELSE name END, ',') FROM pragma_table_info('$1')")
	sqlite3 -csv "$DB" "SELECT $sel FROM $1" | pg_psql bccdrop_reports -c "\\copy $1($cols) FROM STDIN WITH (FORMAT csv)"
}
copied=0
for t in users user_addresses user_excluded_domains stages contacts contact_addresses deals deal_contacts \
	messages message_references participants sources attachments raw_messages links link_history decisions \
	mailboxes mailbox_folders mailbox_pop3_uidls mailbox_sync mailbox_budget; do
	if copy_table "$t" >"$WORK/copy.out" 2>&1; then copied=$((copied + 1)); else sed 's/^/#   /' "$WORK/copy.out"; fi
done
is "every table copied into PostgreSQL" "$copied" 22
is "raw bytes copied intact" \
	"$(pg_psql bccdrop_reports -At -c "SELECT string_agg(upper(encode(bytes, 'hex')), ',' ORDER BY message) FROM raw_messages")" \
	"$(sqlite3 "$DB" "SELECT group_concat(h, ',') FROM (SELECT hex(bytes) AS h FROM raw_messages ORDER BY message)")"

is "BYTEA secret copied intact" "$(pg_psql bccdrop_reports -At -c "SELECT upper(encode(secret, 'hex')) FROM mailboxes")" "00FF10"

# The four views, whole, on both backends.
for v in "email_links ORDER BY message_id, module, record_id" "email_report ORDER BY message_id, module, record_id" \
	"unmatched_emails ORDER BY message_id" "mailbox_status ORDER BY mailbox_id"; do
	lite=$(sqlite3 -batch "$DB" "SELECT * FROM $v" 2>&1)
	is "view ${v%% *} ($(wc -l <<<"$lite" | tr -d ' ') rows) is the same on PostgreSQL" \
		"$(pg_psql bccdrop_reports -A -t -F '|' -c "SELECT * FROM $v" 2>&1)" "$lite"
done

# Each ```sql block of docs/reports.md, with the ```postgresql block that
# follows it (when the SQL has to differ) as its PostgreSQL form.
awk '/^```sql$/ { n++; f = sprintf("'"$WORK"'/query-%02d.sql", n); inblk = 1; next }
     /^```postgresql$/ { f = sprintf("'"$WORK"'/query-%02d.pgsql", n); inblk = 1; next }
     /^```$/ { inblk = 0; next }
     inblk { print > f }' "$TOP/docs/reports.md"
for f in "$WORK"/query-*.sql; do
	q=$(basename "$f" .sql); pgq=${f%.sql}.pgsql form="its PostgreSQL form"
	[ -e "$pgq" ] || { pgq=$f; form="the same SQL"; }
	sqlite3 -batch -bail "$DB" <"$f" >"$WORK/$q.lite" 2>&1
	pg_psql bccdrop_reports -A -t -F '|' <"$pgq" >"$WORK/$q.pg" 2>&1
	rows=$(wc -l <"$WORK/$q.lite" | tr -d ' ')
	is "docs $q ($rows rows) prints the same with $form" "$(cat "$WORK/$q.pg")" "$(cat "$WORK/$q.lite")"
done

done_testing
