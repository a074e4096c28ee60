#!/usr/bin/env bash
# Throughput of a private Postfix with and without bccdrop-milter, measured
# with Postfix's own smtp-source (client) and smtp-sink (final destination),
# and the milter's peak memory under 50 concurrent 10 MB messages.
#
#   (a) no milter                       (smtpd service on port A)
#   (b) milter, 10% of mail to a dropbox (port B)
#   (c) milter, 100% dropbox mail       (port B), durable commits
# The milter runs with [store] synchronous = full (every capture fsynced
# before the MTA gets its answer). Runs alternate a,b,c ROUNDS times; each
# run sends MESSAGES messages over 10 sessions and is timed until the last
# message was accepted; the queue is drained (untimed) between runs.
#
# Env: MESSAGES (2000), ROUNDS (3), SIZE (4000 bytes), RSS_MESSAGES (50),
#      RSS_SIZE (10000000), MILTER_MEMORY_LIMIT (1M), SMTP_SOURCE_OPTS (e.g.
#      -d: keep each session's connection for all its messages; by default
#      every message is a new SMTP connection, hence a new milter
#      connection, the harder case). Needs root (Postfix).
set -uo pipefail
cd "$(dirname "$0")/../.."
export BCCDROP_TOP=$PWD BCCDROP_BUILD=${BCCDROP_BUILD:-$PWD/build}
source tests/lib.sh
source tests/postfix-lib.sh
if [ "$(id -u)" != 0 ]; then echo "bench/postfix: SKIP (needs root for Postfix)"; exit 0; fi
pf_require >/dev/null
MESSAGES=${MESSAGES:-2000}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-4000}
SESSIONS=10

MILTER_SYNC=full
MILTER_MEMORY_LIMIT=${MILTER_MEMORY_LIMIT:-1M}
# smtp-source cannot AUTH and the recipients share no dropbox domain.
MILTER_DROPBOX_ANYWHERE=true
MILTER_OWNER_PROOF=auth-or-sender
milter_setup
milter_seed
milter_start || { milter_log; exit 1; }
pf_sink_start || exit 1
pf_setup bench default_destination_concurrency_limit=20 smtpd_client_connection_count_limit=0 \
	smtpd_client_message_rate_limit=0 smtpd_client_connection_rate_limit=0 in_flow_delay=0
PORT_A=$(free_port)
pf_service bench "127.0.0.1:$PORT_A inet n - n - - smtpd -o smtpd_milters="
pf_start bench || { pf_log bench; exit 1; }
PORT_B=${PF_PORT[bench]}

now() { date +%s.%N; }
# run PORT DROPBOX_PERCENT: seconds to hand MESSAGES messages to smtpd.
run() {
	local port=$1 pct=$2 t0 t1 nd no pids=()
	nd=$((MESSAGES * pct / 100)); no=$((MESSAGES - nd))
	t0=$(now)
	# Dropbox mail: To the contact-like numbered address and the dropbox;
	# other mail: one ordinary recipient. Sessions are shared out by volume.
	local sd=$(( (SESSIONS * pct + 50) / 100 )); [ "$nd" -gt 0 ] && [ "$sd" -lt 1 ] && sd=1
	local so=$((SESSIONS - sd))
	[ "$nd" -gt 0 ] && { smtp-source ${SMTP_SOURCE_OPTS:-} -s "$sd" -m "$nd" -l "$SIZE" -r 2 -f alice@corp.example \
		-t alice-drop@crm.example "127.0.0.1:$port" & pids+=($!); }
	[ "$no" -gt 0 ] && { smtp-source ${SMTP_SOURCE_OPTS:-} -s "$so" -m "$no" -l "$SIZE" -f alice@corp.example \
		-t carol@client.example "127.0.0.1:$port" & pids+=($!); }
	wait "${pids[@]}"
	t1=$(now)
	pf_wait_empty bench 300 >/dev/null
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

# CPU seconds the milter used so far (user + system).
milter_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$MILTER_PID/stat"; }
declare -A total=([a]=0 [b]=0 [c]=0) best=([a]=999999 [b]=999999 [c]=999999)
echo "bench/postfix: $MESSAGES messages x $ROUNDS rounds, $SESSIONS sessions, ${SIZE} B each, milter synchronous=full${SMTP_SOURCE_OPTS:+, smtp-source $SMTP_SOURCE_OPTS}"
for r in $(seq "$ROUNDS"); do
	for v in a b c; do
		cpu0=$(milter_cpu)
		case $v in
		a) s=$(run "$PORT_A" 10) ;;
		b) s=$(run "$PORT_B" 10) ;;
		c) s=$(run "$PORT_B" 100) ;;
		esac
		printf '  round %d (%s): %6.2f s  %8.1f msg/s   milter CPU %5.2f s\n' "$r" "$v" "$s" \
			"$(echo "$MESSAGES $s" | awk '{print $1/$2}')" "$(echo "$(milter_cpu) $cpu0" | awk '{print $1 - $2}')"
		total[$v]=$(echo "${total[$v]} $s" | awk '{print $1 + $2}')
		best[$v]=$(echo "${best[$v]} $s" | awk '{print ($2 < $1) ? $2 : $1}')
	done
done
rate() { echo "$MESSAGES $ROUNDS ${total[$1]}" | awk '{ printf "%.1f", $1 * $2 / $3 }'; }
ra=$(rate a) rb=$(rate b) rc=$(rate c)
# The fastest run of each kind is the least disturbed by anything else on
# the machine: its ratios are printed too.
brate() { echo "$MESSAGES ${best[$1]}" | awk '{ printf "%.1f", $1 / $2 }'; }
ba=$(brate a) bb=$(brate b) bc=$(brate c)
stored=$(sqlite3 "$DB" "SELECT count(*) FROM messages")
echo "(a) no milter:                 $ra msg/s"
echo "(b) milter, 10% dropbox:       $rb msg/s   b/a = $(echo "$rb $ra" | awk '{printf "%.2f", $1/$2}')  (target >= 0.9)"
echo "(c) milter, 100% dropbox:      $rc msg/s   c/a = $(echo "$rc $ra" | awk '{printf "%.2f", $1/$2}')  (target >= 0.7)"
echo "fastest runs: (a) $ba  (b) $bb  (c) $bc msg/s   b/a = $(echo "$bb $ba" | awk '{printf "%.2f", $1/$2}')" \
	" c/a = $(echo "$bc $ba" | awk '{printf "%.2f", $1/$2}')"
echo "messages captured: $stored"

# Peak memory: RSS_MESSAGES concurrent messages of RSS_SIZE bytes, all to
# the dropbox, on a freshly started milter.
milter_stop
milter_start || exit 1
RSS_MESSAGES=${RSS_MESSAGES:-50}
[ "$RSS_MESSAGES" -gt 0 ] || exit 0
RSS_SIZE=${RSS_SIZE:-10000000}
t0=$(now)
smtp-source -s "$RSS_MESSAGES" -m "$RSS_MESSAGES" -l "$RSS_SIZE" -r 2 -f alice@corp.example \
	-t alice-drop@crm.example "127.0.0.1:$PORT_B"
t1=$(now)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
after=$(sqlite3 "$DB" "SELECT count(*) FROM messages")
echo "peak RSS (VmHWM) of bccdrop-milter, $RSS_MESSAGES concurrent $((RSS_SIZE / 1000000)) MB messages:" \
	"$((hwm / 1024)) MB (target < 64 MB; memory_limit $MILTER_MEMORY_LIMIT; $((after - stored)) stored in" \
	"$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') s)"
pf_wait_empty bench 300 >/dev/null
