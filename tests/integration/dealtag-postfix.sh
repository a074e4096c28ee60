#!/usr/bin/env bash
# Per-deal addresses through a real, private Postfix: a valid one files the
# mail onto its deal (rule deal_address, even at probability 0), a tampered
# one or one naming a deal that is gone is refused at RCPT with 550 5.7.1
# while the other recipients are still delivered. The milter reads the key
# file as its own user after dropping root.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/postfix-lib.sh"
pf_require

KEY=$WORK/tag.key
MILTER_DROPBOX_DOMAINS=crm.example
MILTER_CONF_EXTRA="[dropbox]
tag_key_file = $KEY"
milter_setup
milter_seed
q() { sqlite3 "$DB" "$1"; }
q "INSERT INTO deals(id, name, modified_at) VALUES ('d-gone', 'Gone', '2026-01-01T00:00:00Z')"
good=$("$BIN/bccdrop" dropbox-address -c "$CONF" --user u-alice --deal d-new 2>/dev/null)
gone=$("$BIN/bccdrop" dropbox-address -c "$CONF" --user u-alice --deal d-gone 2>/dev/null)
q "DELETE FROM deals WHERE id = 'd-gone'"
[ "$(id -u)" = 0 ] && chown nobody "$KEY"
tag=${good%@*}; tag=${tag##*.}
bad=${good/.$tag@/.${tag:0:7}$([ "${tag:7:1}" = a ] && echo b || echo a)@}

check "milter starts" milter_start
check "smtp-sink starts" pf_sink_start
pf_setup main
check "private Postfix starts" pf_start main
PORT=${PF_PORT[main]}
SEND=$TOP/tests/milter/smtp-send.py
settle() { pf_wait_empty main 60 || diag "queue not empty"; }
msg() {	# FILE ID
	printf 'From: alice@corp.example\r\nTo: carol@client.example\r\nSubject: Renewal\r\nMessage-ID: <%s>\r\nDate: Tue, 10 Mar 2026 12:00:00 +0000\r\n\r\nHello Carol.\r\n' \
		"$2" >"$1"
}

msg "$WORK/m1" tag-1@corp.example
check "valid per-deal address accepted" "$SEND" "$PORT" alice@corp.example "carol@client.example,$good" "$WORK/m1" --login alice@corp.example
settle
is "valid: filed onto the chosen deal (at 0%), rule deal_address" \
	"$(q "SELECT group_concat(l.record_id || ':' || l.rule) FROM links l JOIN messages m ON m.id = l.message WHERE m.message_id = 'tag-1@corp.example' AND l.module = 'deal'")" \
	d-new:deal_address
is "valid: source records the deal" \
	"$(q "SELECT s.deal_id FROM sources s JOIN messages m ON m.id = s.message WHERE m.message_id = 'tag-1@corp.example'")" d-new
like "valid: trace says the sender chose it" \
	"$(q "SELECT d.trace FROM decisions d JOIN messages m ON m.id = d.message WHERE m.message_id = 'tag-1@corp.example'")" \
	'the sender chose deal d-new'
is "valid: the per-deal copy is not delivered" "$(grep -il "X-Rcpt-Args: <${good%@*}" "$SINK_DIR"/m.* 2>/dev/null | wc -l | tr -d ' ')" 0

msg "$WORK/m2" tag-2@corp.example
out=$("$SEND" "$PORT" alice@corp.example "carol@client.example,$bad" "$WORK/m2" --login alice@corp.example)
like "tampered tag: 550 5.7.1 with the reason" "$out" "rcpt [^ ]*\.${tag:0:7}[^ ]* 550 5\.7\.1 bccdrop: the per-deal address does not verify"
msg "$WORK/m3" tag-3@corp.example
out=$("$SEND" "$PORT" alice@corp.example "carol@client.example,$gone" "$WORK/m3" --login alice@corp.example)
like "deal gone: 550 5.7.1 with the reason" "$out" "rcpt [^ ]*d-gone[^ ]* 550 5\.7\.1 bccdrop: the deal of this per-deal address does not exist"
settle
is "refused: nothing captured" "$(q "SELECT count(*) FROM messages WHERE message_id IN ('tag-2@corp.example', 'tag-3@corp.example')")" 0
is "refused: the other recipient still delivered" "$(sink_count 'tag-[23]@corp\.example')" 2
is "nothing bounced" "$(grep -c 'status=bounced' "${PF_DIR[main]}/maillog")" 0

milter_stop
is "no sanitizer report or critical error from the milter" \
	"$(milter_log | grep -cE 'Sanitizer|runtime error|LeakSanitizer|critical|CRITICAL')" 0
done_testing
