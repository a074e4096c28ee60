#!/usr/bin/env bash
# bccdrop-milter behind a real, private Postfix on 127.0.0.1 that relays
# every delivered copy to an smtp-sink: BCC capture over SMTP and through
# sendmail(1), 8-bit and 10 MB messages, refused strangers.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/postfix-lib.sh"
pf_require

MILTER_DROPBOX_DOMAINS=crm.example
# Most cases below mean sender-based ownership (no SASL here); the default,
# auth-or-dmarc, is tested by milter-miltertest.sh.
MILTER_OWNER_PROOF=auth-or-sender
milter_setup
milter_seed
check "milter starts" milter_start
check "smtp-sink starts" pf_sink_start
pf_setup main
check "private Postfix starts" pf_start main
PORT=${PF_PORT[main]}
SEND=$TOP/tests/milter/smtp-send.py
q() { bd_dbsql "$DB" "$1"; }
# settle: every queue empty (delivered, discarded or bounced).
settle() { pf_wait_empty main 60 || { diag "queue not empty:"; postqueue -c "${PF_DIR[main]}/etc" -p | head -20 | sed 's/^/#  /'; }; }
msg() {	# FILE FROM TO ID SUBJECT [BODY]
	printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Tue, 10 Mar 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n' \
		"$2" "$3" "$5" "$4" "${6:-Hello Carol.}" >"$1"
}

# 1. To a contact + BCC the dropbox over SMTP.
msg "$WORK/m1" "Alice Smith <alice@corp.example>" "Carol <carol@client.example>" pf-1@corp.example "Proposal"
check "SMTP: contact + BCC dropbox accepted" "$SEND" "$PORT" alice@corp.example \
	"carol@client.example,Alice-Drop@crm.example" "$WORK/m1"
settle
is "SMTP: stored once" "$(q "SELECT count(*) FROM messages WHERE message_id='pf-1@corp.example'")" 1
is "SMTP: linked to the older live deal (newest is at 0%)" \
	"$(q "SELECT group_concat(record_id) FROM links l JOIN messages m ON m.id = l.message WHERE m.message_id='pf-1@corp.example' AND l.module='deal'")" \
	d-old
is "SMTP: contact's copy delivered once" "$(sink_count 'pf-1@corp\.example')" 1
is "SMTP: dropbox copy not delivered" "$(grep -il 'X-Rcpt-Args: <alice-drop@' "$SINK_DIR"/m.* | wc -l | tr -d ' ')" 0

# 1b. What is stored is what the MTA passed to the milter: header order,
# folding and the space after the colon (or its absence) as received, and
# the body byte for byte. The same message, relayed to the sink by
# Postfix, must end with exactly the stored bytes.
{
	printf 'From: Alice Smith <alice@corp.example>\r\nTo: carol@client.example\r\n'
	printf 'Subject: A folded\r\n\tsubject line\r\nX-No-Space:tight\r\nX-Two-Spaces:  wide\r\n'
	printf 'Message-ID: <pf-raw@corp.example>\r\nDate: Tue, 10 Mar 2026 12:00:00 +0000\r\n\r\n'
	printf 'Body line one\r\n  indented \tline with trailing space \r\n\r\n\r\nlast\r\n'
} >"$WORK/mraw"
check "raw: accepted" "$SEND" "$PORT" alice@corp.example carol@client.example,alice-drop@crm.example "$WORK/mraw"
settle
q "SELECT writefile('$WORK/mraw.stored', r.bytes) FROM raw_messages r JOIN messages m ON m.id = r.message WHERE m.message_id='pf-raw@corp.example'" >/dev/null
# The sink's dump: its X-* preamble, the Received headers Postfix and the
# sink added on the way, LF line ends and a blank line at the end.
sink_message() {
	python3 - "$1" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
while lines and lines[0].startswith(b"X-"):
    lines.pop(0)
while lines and lines[0].startswith(b"Received:"):
    lines.pop(0)
    while lines and lines[0][:1] in (b" ", b"\t"):
        lines.pop(0)
del lines[-2:]
sys.stdout.buffer.write(b"".join(l + b"\r\n" for l in lines))
PY
}
sink_message "$(grep -l 'pf-raw@corp\.example' "$SINK_DIR"/m.* | head -n 1)" >"$WORK/mraw.sunk"
diag "stored $(stat -c %s "$WORK/mraw.stored") bytes, the sink received $(stat -c %s "$WORK/mraw.sunk")"
is "raw: stored bytes = what the sink received (headers as written, body exact)" \
	"$(sha256sum <"$WORK/mraw.stored" | cut -d' ' -f1)" "$(sha256sum <"$WORK/mraw.sunk" | cut -d' ' -f1)"
is "raw: ... = what the client sent (Postfix passes the milter no Received of its own)" \
	"$(sha256sum <"$WORK/mraw.stored" | cut -d' ' -f1)" "$(sha256sum <"$WORK/mraw" | cut -d' ' -f1)"

# 2. Local submission through sendmail(1): non_smtpd_milters.
msg "$WORK/m2" "alice@corp.example" "carol@client.example" pf-2@corp.example "Submitted locally"
check "sendmail(1): submitted" pf_sendmail main -f alice@corp.example carol@client.example alice-drop@crm.example <"$WORK/m2"
settle
is "sendmail(1): stored once" "$(q "SELECT count(*) FROM messages WHERE message_id='pf-2@corp.example'")" 1
is "sendmail(1): contact's copy delivered" "$(sink_count 'pf-2@corp\.example')" 1

# 3. Only the dropbox: captured, neither delivered nor bounced.
msg "$WORK/m3" "alice@corp.example" "carol@client.example" pf-3@corp.example "Only BCC"
check "SMTP: dropbox-only accepted" "$SEND" "$PORT" alice@corp.example alice-drop@crm.example "$WORK/m3"
settle
is "dropbox-only: stored" "$(q "SELECT count(*) FROM messages WHERE message_id='pf-3@corp.example'")" 1
is "dropbox-only: nothing delivered" "$(sink_count 'pf-3@corp\.example')" 0
like "dropbox-only: Postfix discarded it" "$(pf_log main)" 'milter-discard'

# 4. 8-bit UTF-8 body.
msg "$WORK/m4" "alice@corp.example" "carol@client.example" pf-4@corp.example "Grüße" "Grüße aus Köln – 価格は 120 €."
check "8-bit: accepted" "$SEND" "$PORT" alice@corp.example carol@client.example,alice-drop@crm.example "$WORK/m4"
settle
like "8-bit: body stored as UTF-8" "$(q "SELECT body_text FROM messages WHERE message_id='pf-4@corp.example'")" 'Grüße aus Köln – 価格は 120 €'
is "8-bit: delivered" "$(sink_count 'pf-4@corp\.example')" 1

# 5. A 10 MB message (spilled to the temporary file).
{
	printf 'From: alice@corp.example\r\nTo: carol@client.example\r\nSubject: Big\r\nMessage-ID: <pf-5@corp.example>\r\n'
	printf 'Date: Tue, 10 Mar 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'
	printf -- '--b\r\nContent-Type: text/plain\r\n\r\nThe data.\r\n--b\r\nContent-Type: application/octet-stream; name=data.bin\r\n'
	printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=data.bin\r\n\r\n'
	head -c 7600000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
	printf -- '--b--\r\n'
} >"$WORK/m5"
check "10 MB: accepted" "$SEND" "$PORT" alice@corp.example carol@client.example,alice-drop@crm.example "$WORK/m5"
settle
size=$(q "SELECT raw_size FROM messages WHERE message_id='pf-5@corp.example'")
like "10 MB: stored whole (raw_size $size)" "$size" '^1[0-9]{7}$'
is "10 MB: attachment recorded" "$(q "SELECT a.filename FROM attachments a JOIN messages m ON m.id = a.message WHERE m.message_id='pf-5@corp.example'")" data.bin
is "10 MB: delivered" "$(sink_count 'pf-5@corp\.example')" 1

# 6. Strangers.
msg "$WORK/m6" "Mallory <mallory@evil.example>" "carol@client.example" pf-6@evil.example "Invoice"
out=$("$SEND" "$PORT" mallory@evil.example carol@client.example,alice-drop@crm.example "$WORK/m6")
like "spoofed sender: dropbox refused with 550 5.7.1" "$out" 'rcpt alice-drop@crm.example 550 5\.7\.1'
settle
is "spoofed sender: not captured" "$(q "SELECT count(*) FROM messages WHERE message_id='pf-6@evil.example'")" 0
is "spoofed sender: other recipient still delivered" "$(sink_count 'pf-6@evil\.example')" 1

msg "$WORK/m7" "alice@corp.example" "carol@client.example" pf-7@corp.example "Forged From"
out=$("$SEND" "$PORT" alice@corp.example carol@client.example,alice-drop@crm.example "$WORK/m7" --login bob@corp.example)
like "other user's AUTH: dropbox refused with 550 5.7.1" "$out" 'rcpt alice-drop@crm.example 550 5\.7\.1'

msg "$WORK/m8" "Alice at home <alice@home.example>" "carol@client.example" pf-8@corp.example "From home, authenticated"
check "owner's AUTH (XCLIENT LOGIN): accepted" "$SEND" "$PORT" alice@home.example \
	carol@client.example,alice-drop@crm.example "$WORK/m8" --login alice@corp.example
settle
is "owner's AUTH: captured" "$(q "SELECT count(*) FROM messages WHERE message_id='pf-8@corp.example'")" 1

out=$("$SEND" "$PORT" alice@corp.example carol@client.example,nobody@crm.example "$WORK/m1")
like "unknown dropbox: 550 5.1.1" "$out" 'rcpt nobody@crm.example 550 5\.1\.1'

settle
is "nothing left in the queue" "$(pf_queue_count main)" 0
is "nothing bounced" "$(grep -c 'status=bounced' "${PF_DIR[main]}/maillog")" 0

# MILTER_BIN=$B/asan/bin/bccdrop-milter runs all of the above under ASan/UBSan.
milter_stop
is "no sanitizer report or critical error from the milter" \
	"$(milter_log | grep -cE 'Sanitizer|runtime error|LeakSanitizer|critical|CRITICAL')" 0

done_testing
