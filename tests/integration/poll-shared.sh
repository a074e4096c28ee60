#!/usr/bin/env bash
# Two bccdrop-poll processes sharing one store's 20 mailboxes on one Dovecot
# through leases ([poll] max_mailboxes, lease_time): disjoint workers, one
# kill -9ed, the other takes its mailboxes over when the leases expire;
# 0 lost, 0 duplicated, no \Seen set on the server. A poller that crashed
# on this host loses its leases at once: poll-pop3.sh (fault hook, --once).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dovecot-lib.sh"

N_BOX=20 PER_BOX=15 LEASE=10
dovecot_setup
boxes=()
for i in $(seq -w 1 $N_BOX); do
	boxes+=("box$i")
	echo "box$i:{PLAIN}$DC_PASS" >>"$DC/passwd"
	mkdir -p "$DC/home/box$i/Maildir"/{new,cur,tmp}
done
chown -R nobody:nogroup "$DC/home"
dovecot_start || { not_ok "dovecot starts"; done_testing; exit 1; }
bd_setup_poller "ca_file = $DC/cert.pem
max_mailboxes = 12
lease_time = $LEASE"
# Poller B: the same store, no cap.
CONF_B=$WORK/bccdrop-b.conf
sed 's/^max_mailboxes = .*/max_mailboxes = 0/' "$CONF" >"$CONF_B"

deliver() {	# N FIRST DIR: into every mailbox, distinct Message-IDs
	local k=0 b
	for b in "${boxes[@]}"; do
		k=$((k + 1))
		DC_MAILDIR=$DC/home/$b/Maildir dovecot_deliver "$1" $((k * 1000 + $2)) "$3" 5
	done
}
flags() {	# of every message on the server
	local b
	for b in "${boxes[@]}"; do doveadm -c "$DC/dovecot.conf" fetch -u "$b" 'uid flags' mailbox INBOX all; done | md5sum
}
seen() {	# how many are \Seen
	local b
	for b in "${boxes[@]}"; do doveadm -c "$DC/dovecot.conf" search -u "$b" mailbox INBOX seen; done | wc -l
}
deliver $PER_BOX 1 cur
seen_before=$(seen)

k=0
for b in "${boxes[@]}"; do
	k=$((k + 1))
	bd_sql "INSERT INTO users(id, email, last_active_at) VALUES ('p$k', '$b@corp.example', strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
	bd mailbox add --user "p$k" --protocol imap --host 127.0.0.1 --port "$DC_IMAPS" --tls implicit \
		--username "$b" --password-file "$WORK/password" >/dev/null 2>&1 || not_ok "mailbox add $b"
done
is "20 active mailboxes" "$(bd_sql 'SELECT count(*) FROM mailboxes WHERE active = 1')" $N_BOX

reclaim_log() { grep "process is gone" "$WORK/poller-b.log"; }
held() { bd_sql "SELECT count(*) FROM mailbox_leases WHERE holder LIKE '%:$1:%'"; }
stored() { bd_sql 'SELECT count(*) FROM messages'; }
# A runs under another host name (its own UTS namespace): B cannot see
# that A died, as with a poller on another host, and must wait for the
# lease to expire. (On one host a dead poller's leases go at once.)
bd_spawn poller-a unshare -u sh -c "hostname poller-a.test && exec '$BIN/bccdrop-poll' -c '$CONF' -f"
PID_A=$BD_LAST_PID
wait_for 20 bash -c "[ \$(sqlite3 '$WORK/data/bccdrop.db' \"SELECT count(*) FROM mailbox_leases WHERE holder LIKE '%:$PID_A:%'\") = 12 ]"
is "poller A holds max_mailboxes (12)" "$(held "$PID_A")" 12
bd_spawn poller-b "$BIN/bccdrop-poll" -c "$CONF_B" -f
PID_B=$BD_LAST_PID
wait_for 20 bash -c "[ \$(sqlite3 '$WORK/data/bccdrop.db' \"SELECT count(*) FROM mailbox_leases WHERE holder LIKE '%:$PID_B:%'\") = 8 ]"
is "poller B holds the other 8" "$(held "$PID_B")" 8
total=$((N_BOX * PER_BOX))
wait_for 60 bash -c "[ \$(sqlite3 '$WORK/data/bccdrop.db' 'SELECT count(*) FROM messages') = $total ]"
is "every message of the 20 mailboxes stored" "$(stored)" $total

workers() { grep -o 'mailbox [0-9]* ([^)]*): worker started' "$WORK/$1.log" | awk '{ print $2 }' | sort -n | uniq; }
both=$(comm -12 <(workers poller-a | sort) <(workers poller-b | sort) | wc -l)
is "no mailbox has a worker in both pollers" "$both" 0
is "between them every mailbox has a worker" "$(sort -u <(workers poller-a) <(workers poller-b) | wc -l)" $N_BOX

# New mail everywhere, then A dies without a word: B takes its 12 over
# within the lease time (plus one renewal round).
deliver 5 500 new
flags_before=$(flags)
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null
t0=$(date +%s)
wait_for $((LEASE + 15)) bash -c "[ \$(sqlite3 '$WORK/data/bccdrop.db' \"SELECT count(*) FROM mailbox_leases WHERE holder LIKE '%:$PID_B:%'\") = $N_BOX ]"
took=$(( $(date +%s) - t0 ))
is "after kill -9 of A, B holds all 20 mailboxes" "$(held "$PID_B")" $N_BOX
like "A's leases were taken over at expiry, not released" "$(reclaim_log)" "^$"
if [ "$took" -ge $((LEASE - 4)) ] && [ "$took" -le $((LEASE + 5)) ]; then ok "taken over in ${took} s (lease_time $LEASE)"; else not_ok "taken over in ${took} s (lease_time $LEASE)"; fi
total=$((N_BOX * (PER_BOX + 5)))
wait_for 60 bash -c "[ \$(sqlite3 '$WORK/data/bccdrop.db' 'SELECT count(*) FROM messages') = $total ]"
is "0 lost, 0 duplicated (messages, sources, Message-IDs)" \
	"$(stored),$(bd_sql 'SELECT count(*) FROM sources'),$(bd_sql 'SELECT count(DISTINCT message_id) FROM messages')" \
	"$total,$total,$total"
is "every mailbox's cursor at its last message" \
	"$(bd_sql "SELECT count(*) FROM mailbox_folders WHERE last_uid = $((PER_BOX + 5))")" $N_BOX
is "flags on the server untouched" "$(flags)" "$flags_before"
is "no \\Seen set by the pollers" "$(seen)" "$seen_before"
bd_stop_pid "$PID_B"
wait "$PID_B" 2>/dev/null
is "B's leases released at a clean stop" "$(held "$PID_B")" 0
done_testing
