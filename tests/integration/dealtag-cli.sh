#!/usr/bin/env bash
# bccdrop dropbox-address end to end: print a deal's signed address, check
# it (and tampered ones), rotate the key with its grace, refuse a key file
# others can read, and the recipient_delimiter setting.
. "$(dirname "$0")/../lib.sh"

BD=$BIN/bccdrop
if bd_backend_pg && ! bd_pg_ready; then not_ok "private PostgreSQL starts"; done_testing; exit; fi
DB=$(bd_db "$WORK/bccdrop.db")
KEY=$WORK/keys/tag.key
CONF=$WORK/bccdrop.conf
mkdir -p "$WORK/keys"
write_conf() {	# recipient_delimiter
	cat >"$CONF" <<-EOC
	[store]
	database = $DB
	synchronous = normal
	[dropbox]
	tag_key_file = $KEY
	tag_grace_days = 30
	recipient_delimiter = $1
	EOC
}
write_conf +
bd() { local cmd=$1; shift; "$BD" "$cmd" -c "$CONF" "$@"; }
NOW=$(date +%s)
DAY=86400

cat >"$WORK/users.csv" <<'EOC'
id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at
u1,alice@ourco.com,Alice,Alice-Drop@bcc.example,,public,,
u2,bob@ourco.com,Bob,bob-drop@bcc.example,,private,,
u3,carol@ourco.com,Carol,,,public,,
EOC
cat >"$WORK/deals.csv" <<'EOC'
id,name,stage,probability,modified_at,contacts
d1,Renewal 2027,,50,2026-03-10T00:00:00Z,
D.2,Über Deal,,50,2026-03-10T00:00:00Z,
EOC
check "import users" bd import users "$WORK/users.csv"
check "import deals" bd import deals "$WORK/deals.csv"

# ---- printing -----------------------------------------------------------------
a1=$(bd dropbox-address --user u1 --deal d1 2>"$WORK/err"); rc=$?
is "address printed" "$rc" 0
like "address form" "$a1" '^alice-drop\+d-renewal-2027\.d1\.[a-z2-7]{8}@bcc\.example$'
like "first use says the key file was created" "$(cat "$WORK/err")" "created key file $KEY \(mode 0600\)"
is "key file created 0600" "$(stat -c %a "$KEY")" 600
is "the same address again" "$(bd dropbox-address --user u1 --deal d1 2>&1)" "$a1"
a2=$(bd dropbox-address --user u1 --deal D.2)
like "odd deal id encoded" "$a2" '^alice-drop\+d-uber-deal\.=[a-z2-7]+\.[a-z2-7]{8}@bcc\.example$'
b1=$(bd dropbox-address --user u2 --deal d1)
like "another user's address" "$b1" '^bob-drop\+d-renewal-2027\.d1\.[a-z2-7]{8}@bcc\.example$'
[ "${a1#*.d1.}" != "${b1#*.d1.}" ] && ok "tag differs per user" || not_ok "tag differs per user"

fails() {	# description expected-rc expected-text command...
	local d=$1 want_rc=$2 want=$3 out rc; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want_rc" ] && [[ "$out" == *"$want"* ]]; then ok "$d"; else
		not_ok "$d"; diag "rc=$rc out=$out"; fi
}
fails "unknown user" 1 "no user has id 'u9'" bd dropbox-address --user u9 --deal d1
fails "unknown deal" 1 "no deal has id 'd9'" bd dropbox-address --user u1 --deal d9
fails "user without a dropbox" 1 "user u3 has no dropbox address" bd dropbox-address --user u3 --deal d1
fails "--user without --deal" 64 "expects --user U --deal D" bd dropbox-address --user u1

# ---- checking -----------------------------------------------------------------
is "check: valid" "$(bd dropbox-address check "$a1" 2>&1)" "$a1: valid: user u1, deal d1"
is "check: upper case is the same address" "$(bd dropbox-address check "${a1^^}" 2>&1)" "${a1^^}: valid: user u1, deal d1"
is "check: encoded deal id" "$(bd dropbox-address check "$a2" 2>&1)" "$a2: valid: user u1, deal D.2"
tag=${a1#*.d1.}; tag=${tag%@*}
swap=${tag:0:7}$([ "${tag:7:1}" = a ] && echo b || echo a)
fails "check: tampered tag refused" 1 "refused: the tag does not verify for user u1 and deal d1" \
	bd dropbox-address check "${a1/$tag/$swap}"
fails "check: another user's tag refused" 1 "refused: the tag does not verify for user u2" \
	bd dropbox-address check "bob-drop+d-renewal-2027.d1.$tag@bcc.example"
id2=${a2#*.}; id2=${id2%%.*}
fails "check: another deal refused" 1 "refused: the tag does not verify for user u1 and deal D.2" \
	bd dropbox-address check "${a1/.d1./.$id2.}"
fails "check: deal that does not exist" 1 "refused: no deal has id 'd7'" bd dropbox-address check "${a1/.d1./.d7.}"
fails "check: not a dropbox" 1 "refused: nobody@bcc.example is no user's dropbox" \
	bd dropbox-address check "nobody+d-x.d1.$tag@bcc.example"
fails "check: plain address is not per-deal" 1 "not a per-deal address" bd dropbox-address check alice-drop@bcc.example
is "check: renamed slug still valid (cosmetic)" "$(bd dropbox-address check "${a1/renewal-2027/whatever}" 2>&1)" \
	"${a1/renewal-2027/whatever}: valid: user u1, deal d1"

# ---- rotation -----------------------------------------------------------------
out=$(BCCDROP_NOW=$NOW bd dropbox-address rotate-key 2>&1)
like "rotate-key" "$out" "^new key in $KEY; addresses printed before verify until [0-9T:-]+Z"
is "key file still 0600" "$(stat -c %a "$KEY")" 600
is "key file: one current, one retired" "$(cut -d' ' -f1 "$KEY" | grep -v '^#' | tr '\n' ' ')" "current retired "
n1=$(bd dropbox-address --user u1 --deal d1)
[ "$n1" != "$a1" ] && ok "new key, new address" || not_ok "new key, new address"
is "old address within grace" "$(BCCDROP_NOW=$((NOW + 29 * DAY)) bd dropbox-address check "$a1" 2>&1)" \
	"$a1: valid: user u1, deal d1"
BCCDROP_NOW=$((NOW + 31 * DAY)) fails "old address after grace refused" 1 "retired more than 30 days ago" \
	bd dropbox-address check "$a1"
is "new address long after" "$(BCCDROP_NOW=$((NOW + 400 * DAY)) bd dropbox-address check "$n1" 2>&1)" \
	"$n1: valid: user u1, deal d1"

# ---- the key file's mode ------------------------------------------------------
chmod 0640 "$KEY"
fails "group-readable key file refused" 1 "key file $KEY must be a regular file readable by its owner only (chmod 0600)" \
	bd dropbox-address --user u1 --deal d1
fails "rotate-key refuses it too" 1 "chmod 0600" bd dropbox-address rotate-key
chmod 0604 "$KEY"
fails "world-readable key file refused" 1 "chmod 0600" bd dropbox-address check "$n1"
chmod 0600 "$KEY"
is "0600 accepted again" "$(bd dropbox-address --user u1 --deal d1 2>&1)" "$n1"

# ---- recipient_delimiter ------------------------------------------------------
write_conf -
d1=$(bd dropbox-address --user u1 --deal d1)
like "delimiter -" "$d1" '^alice-drop-d-renewal_2027\.d1\.[a-z2-7]{8}@bcc\.example$'
is "delimiter -: checks" "$(bd dropbox-address check "$d1" 2>&1)" "$d1: valid: user u1, deal d1"
write_conf +-
is "delimiter +-: the - form checks" "$(bd dropbox-address check "$d1" 2>&1)" "$d1: valid: user u1, deal d1"
p1=$(bd dropbox-address --user u1 --deal d1)
like "delimiter +-: printed with +" "$p1" '^alice-drop\+d-renewal_2027\.d1\.'
write_conf .
fails "delimiter . refused by the configuration" 78 "[dropbox] recipient_delimiter: '.' must be one or more of" \
	bd dropbox-address --user u1 --deal d1

# ---- bccdrop ingest --source bcc_dropbox: the milter's check ------------------
write_conf +
mail() { printf 'From: alice@ourco.com\r\nTo: x@client.example\r\nSubject: s\r\nMessage-ID: <%s>\r\nDate: Tue, 10 Mar 2026 12:00:00 +0000\r\n\r\nbody\r\n' "$1"; }
q() { sqlite3 "$DB" "$1"; }
links_of() { q "SELECT group_concat(l.module || ':' || l.record_id || ':' || l.rule) FROM links l JOIN messages m ON m.id = l.message WHERE m.message_id = '$1'"; }
mail i1@ourco.com >"$WORK/i1"
check "ingest to a per-deal address" bd ingest --source bcc_dropbox --mail-from alice@ourco.com --rcpt "$n1" "$WORK/i1"
is "ingest: linked to its deal, rule deal_address" "$(links_of i1@ourco.com)" deal:d1:deal_address
is "ingest: owner from the dropbox behind it" "$(q "SELECT owner_user_id || ' ' || deal_id FROM sources")" "u1 d1"
ntag=${n1%@*}; ntag=${ntag##*.}
mail i2@ourco.com >"$WORK/i2"
fails "ingest: tampered tag refused" 1 "refused: the per-deal address does not verify" \
	bd ingest --source bcc_dropbox --rcpt "${n1/.$ntag@/.${ntag:0:7}$([ "${ntag:7:1}" = a ] && echo b || echo a)@}" "$WORK/i2"
fails "ingest: another user's tag refused" 1 "refused: the per-deal address does not verify" \
	bd ingest --source bcc_dropbox --rcpt "bob-drop+d-x.d1.$ntag@bcc.example" "$WORK/i2"
is "ingest: nothing stored when refused" "$(q "SELECT count(*) FROM messages WHERE message_id = 'i2@ourco.com'")" 0
mail i3@ourco.com >"$WORK/i3"
check "ingest to the plain dropbox" bd ingest --source bcc_dropbox --rcpt Alice-Drop@bcc.example "$WORK/i3"
is "plain dropbox: no deal on the source" "$(q "SELECT coalesce(s.deal_id, 'none') FROM sources s JOIN messages m ON m.id = s.message WHERE m.message_id = 'i3@ourco.com'")" none

done_testing
