#!/usr/bin/env bash
# Fault test: kill -9 of the milter while 1,000 dropbox messages flow, then
# restart it. Every message must be stored exactly once, every contact copy
# delivered exactly once, and Postfix's queue must drain.
#
# The MTA has to keep the message when the milter dies, so mail enters on a
# front smtpd without milter and reaches the milter's smtpd as an after-queue
# content filter (relay to 127.0.0.1:BACK): a tempfail there defers the
# queued message, which Postfix retries.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/postfix-lib.sh"
pf_require

N=${MILTER_KILL_MESSAGES:-1000}
# No dropbox domains (the second recipient below must be an ordinary
# address), and smtp-source cannot AUTH: the sender alone proves ownership.
MILTER_DROPBOX_ANYWHERE=true
MILTER_OWNER_PROOF=auth-or-sender
milter_setup
milter_seed
check "milter starts" milter_start
check "smtp-sink starts" pf_sink_start
pf_setup kill queue_run_delay=1s minimal_backoff_time=1s maximal_backoff_time=2s \
	smtp_connection_cache_on_demand=no default_destination_concurrency_limit=10
BACK=$(free_port)
dir=${PF_DIR[kill]}
# The front smtpd (generated first line) gets no milter and the filter.
sed -i "1s|\$| -o smtpd_milters= -o content_filter=relay:[127.0.0.1]:$BACK|" "$dir/etc/master.cf"
pf_service kill "127.0.0.1:$BACK inet n - n - - smtpd -o content_filter= -o smtpd_authorized_xclient_hosts="
check "private Postfix starts" pf_start kill
FRONT=${PF_PORT[kill]}

# smtp-source: 10 sessions; each message to alice-drop@crm.example and a
# second, numbered recipient 2alice-drop@crm.example (an ordinary address:
# no dropbox domains are configured here) that stands for the contact.
bd_spawn source smtp-source -s 10 -m "$N" -r 2 -f alice@corp.example -t alice-drop@crm.example \
	-S "kill test" -l 2000 "127.0.0.1:$FRONT" >/dev/null
stored() { bd_dbsql "$DB" "SELECT count(*) FROM messages" 2>/dev/null || echo 0; }
over() { [ "$(stored)" -ge "$1" ]; }
wait_for 120 over $((N / 5))
diag "killing the milter with $(stored) messages stored"
kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=
sleep 2
check "milter restarts after kill -9" milter_start
all_delivered() { [ "$(find "$SINK_DIR" -name 'm.*' | wc -l)" -ge "$N" ] && pf_queue_empty kill; }
for i in 1 2 3 4 5 6; do
	wait_for 30 all_delivered && break
	postqueue -c "$dir/etc" -f >/dev/null 2>&1
done

deferred=$(grep -c 'status=deferred' "$dir/maillog")
diag "deliveries deferred while the milter was down: $deferred"
is "every message stored" "$(stored)" "$N"
is "each stored exactly once (distinct Message-IDs)" "$(bd_dbsql "$DB" "SELECT count(DISTINCT message_id) FROM messages")" "$N"
is "one dropbox source per message" "$(bd_dbsql "$DB" "SELECT count(*) FROM sources WHERE kind='bcc_dropbox' AND owner_user_id='u-alice'")" "$N"
is "contact copies delivered" "$(find "$SINK_DIR" -name 'm.*' | wc -l | tr -d ' ')" "$N"
is "each contact copy exactly once" \
	"$(grep -h -i '^Message-Id:' "$SINK_DIR"/m.* | sort -u | wc -l | tr -d ' ')" "$N"
is "no dropbox copy delivered" "$(grep -l -i '^X-Rcpt-Args: <alice-drop@' "$SINK_DIR"/m.* | wc -l | tr -d ' ')" 0
is "deferred queue empty after retries" "$(find "$dir/queue/deferred" -type f | wc -l | tr -d ' ')" 0
is "nothing bounced" "$(grep -c 'status=bounced' "$dir/maillog")" 0
check "the kill interrupted deliveries (they were deferred)" test "$deferred" -gt 0

# MILTER_BIN=$B/asan/bin/bccdrop-milter runs all of the above under ASan/UBSan.
milter_stop
is "no sanitizer report or critical error from the milter" \
	"$(milter_log | grep -cE 'Sanitizer|runtime error|LeakSanitizer|critical|CRITICAL')" 0

done_testing
