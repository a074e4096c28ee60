#!/usr/bin/env bash
# bccdrop init / ingest / show through the real binary and a real SQLite file,
# then the whole corpus, checked with SQL queries (on SQLite or, with
# BCCDROP_TEST_BACKEND=pg, PostgreSQL).
. "$(dirname "$0")/../lib.sh"

if bd_backend_pg && ! bd_pg_ready; then not_ok "private PostgreSQL starts"; done_testing; exit; fi
DB=$(bd_db "$WORK/t.db")
BD() { "$BIN/bccdrop" "$@"; }
q() { bd_dbsql "$DB" "$1"; }

out=$(BD init --db "$DB")
like "init reports the schema version" "$out" "schema version [0-9]+"
is "init is idempotent" "$(BD init --db "$DB")" "$out"

cat >"$WORK/a.eml" <<'EOF'
From: Ann Seller <ann@example.com>
To: "Bob Buyer" <Bob@Customer.EXAMPLE>, carol@customer.example
Cc: =?UTF-8?B?RMOpbMOoY2U=?= <delece@customer.example>
Subject: =?UTF-8?Q?Proposition_commerciale_=E2=80=93_Q3?=
Date: Tue, 05 Mar 2024 10:00:00 +0100
Message-ID: <offer-1@example.com>
References: <older@example.com>
In-Reply-To: <older@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Here is the offer.
--b1
Content-Type: application/pdf; name="offer.pdf"
Content-Disposition: attachment; filename="offer.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
EOF

out=$(BD ingest --db "$DB" "$WORK/a.eml"); rc=$?
is "a new message is stored" "$out" "$WORK/a.eml: stored <offer-1@example.com>"
is "exit 0 when all stored" "$rc" 0
is "subject decoded" "$(q "SELECT subject FROM messages")" "Proposition commerciale – Q3"
is "date in UTC" "$(q "SELECT date FROM messages")" "2024-03-05T09:00:00Z"
is "participants with roles and keys" "$(q "SELECT role || ' ' || address_key FROM participants ORDER BY role, position" | tr '\n' ',')" \
	"cc delece@customer.example,from ann@example.com,to bob@customer.example,to carol@customer.example,"
is "display name decoded" "$(q "SELECT name FROM participants WHERE role='cc'")" "Délèce"
is "attachment decoded size and hash" "$(q "SELECT filename || ' ' || content_type || ' ' || size || ' ' || sha256 FROM attachments")" \
	"offer.pdf application/pdf 9 $(printf '%%PDF-1.4\n' | sha256sum | cut -d' ' -f1)"
is "raw bytes kept exactly" "$(q "SELECT $(bd_sql_hex bytes) FROM raw_messages")" "$(od -An -tx1 -v "$WORK/a.eml" | tr -d ' \n' | tr a-f A-F)"
is "source recorded" "$(q "SELECT kind || ' ' || file_name FROM sources")" "file $WORK/a.eml"

out=$(BD ingest --db "$DB" "$WORK/a.eml")
is "same file again: duplicate, nothing added" "$out" "$WORK/a.eml: duplicate <offer-1@example.com>: already stored from this source"
cp "$WORK/a.eml" "$WORK/copy.eml"
out=$(BD ingest --db "$DB" "$WORK/copy.eml")
is "same message from another file: a source row only" "$out" "$WORK/copy.eml: duplicate <offer-1@example.com>: already stored, source added"
is "still one message" "$(q "SELECT count(*) FROM messages")" 1
is "two sources" "$(q "SELECT count(*) FROM sources")" 2

# Through the MTA the message gains Received headers and CRLF line ends: still the same message.
{ printf 'Received: from mx.example.com by crm.example; Tue, 5 Mar 2024 10:00:01 +0100\r\n'; sed 's/$/\r/' "$WORK/a.eml"; } >"$WORK/relayed.eml"
out=$(BD ingest --db "$DB" --source bcc_dropbox --mail-from ann@example.com --rcpt drop@crm.example "$WORK/relayed.eml")
like "relayed copy is recognised as the same message" "$out" "duplicate <offer-1@example.com>: already stored, source added"
is "reported as BCC Dropbox once a copy came through a dropbox" "$(q "SELECT source FROM unmatched_emails WHERE message_id='offer-1@example.com'")" "bcc_dropbox"

# Same Message-ID, different content: a collision, kept apart.
sed 's/Here is the offer./Here is a different offer./' "$WORK/a.eml" >"$WORK/b.eml"
out=$(BD ingest --db "$DB" "$WORK/b.eml" 2>"$WORK/err")
like "collision stored separately" "$out" "stored <offer-1@example.com> \(Message-ID collision"
like "collision logged" "$(cat "$WORK/err")" "collision"
is "two messages share the Message-ID" "$(q "SELECT count(*) FROM messages WHERE message_id='offer-1@example.com'")" 2

# Not a message at all: rejected with a reason, exit 1, nothing stored.
head -c 3000 /dev/urandom | tr -d 'A-Za-z:\n' >"$WORK/garbage.bin"
before=$(q "SELECT count(*) FROM messages")
out=$(BD ingest --db "$DB" "$WORK/garbage.bin"); rc=$?
like "garbage rejected with a reason" "$out" "^$WORK/garbage.bin: rejected: .+"
is "exit 1 when rejected" "$rc" 1
is "nothing stored for garbage" "$(q "SELECT count(*) FROM messages")" "$before"

# A missing file: one line naming it.
err=$(BD ingest --db "$DB" "$WORK/nope.eml" 2>&1 >/dev/null); rc=$?
like "missing file named in one line" "$err" "^bccdrop: $WORK/nope.eml: .*No such file"
is "missing file: exit 1" "$rc" 1

# mbox with two messages, one of them ">From "-quoted, from standard input.
printf 'From ann@example.com Tue Mar  5 10:00:00 2024\nFrom: ann@example.com\nSubject: one\nMessage-ID: <m1@example.com>\n\nbody\n>From the start\n\nFrom ann@example.com Tue Mar  5 10:01:00 2024\nFrom: ann@example.com\nSubject: two\nMessage-ID: <m2@example.com>\n\nsecond\n' >"$WORK/box.mbox"
out=$(BD ingest --db "$DB" - <"$WORK/box.mbox" 2>/dev/null)
is "mbox messages numbered" "$(echo "$out" | cut -d' ' -f1-3 | tr '\n' ',')" "-#1: stored <m1@example.com>,-#2: stored <m2@example.com>,"

out=$(BD show --db "$DB" '<offer-1@example.com>' 2>&1)
like "show prints the subject" "$out" "Subject: +Proposition commerciale – Q3"
like "show prints the attachment" "$out" "Attachment: +offer.pdf application/pdf 9 bytes"
like "show notes the collision" "$out" "2 different messages share Message-ID"
out=$(BD show --db "$DB" '<missing@example.com>' 2>&1); rc=$?
like "show of an unknown Message-ID" "$out" "no stored message has Message-ID"
is "show unknown: exit 1" "$rc" 1

# A database from a newer bccdrop is refused and left alone.
# (SQLite: user_version; PostgreSQL: a row of bccdrop_schema.)
NEWER=$(bd_db "$WORK/newer.db")
if bd_backend_pg; then
	BD init --db "$NEWER" >/dev/null
	bd_dbsql "$NEWER" "INSERT INTO bccdrop_schema(version, applied_at) VALUES (999, 'later')"
	newer_version() { bd_dbsql "$NEWER" 'SELECT max(version) FROM bccdrop_schema'; }
else
	cp "$DB" "$NEWER"
	sqlite3 "$NEWER" "PRAGMA user_version = 999"
	newer_version() { sqlite3 "$NEWER" 'PRAGMA user_version'; }
fi
err=$(BD ingest --db "$NEWER" "$WORK/a.eml" 2>&1); rc=$?
like "newer schema refused" "$err" "schema version 999 is newer"
is "newer schema untouched" "$(newer_version)" 999

# The whole corpus, through the manifest.
if [ ! -f "$CORPUS/MANIFEST.tsv" ]; then
	skip "corpus not found at $CORPUS"
else
	C=$(bd_db "$WORK/corpus.db")
	files=()
	while IFS=$'\t' read -r f _; do files+=("$CORPUS/$f"); done < <(tail -n +2 "$CORPUS/MANIFEST.tsv")
	BD ingest --db "$C" "${files[@]}" >"$WORK/corpus.out" 2>"$WORK/corpus.err"
	stored=$(grep -c ': stored <' "$WORK/corpus.out")
	rejected=$(grep -c ': rejected: ' "$WORK/corpus.out")
	diag "corpus: ${#files[@]} files, $stored stored, $rejected rejected"
	check "every corpus file accounted for" test "$(grep -cE ': (stored|duplicate|rejected)' "$WORK/corpus.out")" -ge "${#files[@]}"
	dups=$(grep -c ': duplicate <' "$WORK/corpus.out")
	is "stored + duplicate + rejected = every message" "$((stored + dups + rejected))" "$(grep -c . "$WORK/corpus.out")"
	check "nearly all of the corpus is stored" test "$stored" -ge 420
	is "only the one non-message is rejected" "$(grep ': rejected: ' "$WORK/corpus.out" | sed 's|.*/||; s|: rejected.*||')" "cpython__Lib_test_test_email_data_msg_19.txt"
	# The same bounce saved with LF and with CR-only line ends is one message.
	like "CR-only copy is the same message as the CRLF one" "$(grep 'sisimai__maildir_mac_lhost-yandex-01.eml' "$WORK/corpus.out")" ": duplicate <20141206171228.AFAB29E13A0@forward1h.mail.yandex.net>"
	is "corpus messages in the database" "$(bd_dbsql "$C" 'SELECT count(*) FROM messages')" "$stored"
	if bd_backend_pg; then bd_pg_skip "TEXT in a UTF8 database is valid UTF-8 text by construction"
	else is "every stored subject is valid UTF-8 text" "$(sqlite3 "$C" "SELECT count(*) FROM messages WHERE typeof(subject) <> 'text'")" 0; fi
	check "attachments found in the corpus" test "$(bd_dbsql "$C" 'SELECT count(*) FROM attachments')" -ge 100
	BD ingest --db "$C" "${files[@]}" >"$WORK/corpus2.out" 2>/dev/null
	is "re-ingest of the corpus stores nothing new" "$(grep -c ': stored <' "$WORK/corpus2.out")" 0
	is "message count unchanged after re-ingest" "$(bd_dbsql "$C" 'SELECT count(*) FROM messages')" "$stored"
fi

done_testing
