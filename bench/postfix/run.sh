#!/usr/bin/env bash
# Throughput of a private Postfix with and without bccdrop-milter, measured
# with Postfix's own smtp-source (client) and smtp-sink (final destination),
# and the milter's peak memory under 50 concurrent 10 MB messages.
#
#   (a) no milter                       10% dropbox mail (port A)
#   (n) null milter, 10% dropbox mail   (port N)
#   (b) bccdrop-milter, 10% dropbox     (port B)
#   (m) null milter, 100% dropbox mail  (port N)
#   (c) bccdrop-milter, 100% dropbox    (port B), durable commits
# The null milter (bench/postfix/null-milter.c) takes part in the same
# protocol steps and deletes the dropbox recipient, storing nothing: the
# least any capture milter costs. bccdrop-milter runs with [store]
# synchronous = full (every capture fsynced before the MTA gets its answer).
# Runs alternate a,n,b,m,c ROUNDS times, so that load from anything else on
# the machine hits every kind alike; each run sends MESSAGES messages over 10
# sessions and is timed until the last message was accepted; the queue is
# drained (untimed) between runs. Rates are of each kind's median run.
# Targets (exit 1 when one is missed): b/n >= 1.0, c/m >= 0.95, b/a >= 0.9,
# c/a >= 0.7, peak RSS < 64 MB.
#
# Env: MESSAGES (2000), ROUNDS (3), SIZE (4000 bytes), RSS_MESSAGES (50),
#      RSS_SIZE (10000000), MILTER_MEMORY_LIMIT (1M), SMTP_SOURCE_OPTS (e.g.
#      -d: keep each session's connection for all its messages; by default
#      every message is a new SMTP connection, hence a new milter
#      connection, the harder case), PERF_MILTER (see perf_start). Needs
#      root (Postfix).
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
DROPBOX=alice-drop@crm.example
NULL_MILTER=$BCCDROP_BUILD/bench/null-milter
[ -x "$NULL_MILTER" ] || { echo "bench/postfix: $NULL_MILTER is not built (run 'make bench')" >&2; exit 1; }
# smtp-source cannot AUTH and the recipients share no dropbox domain.
MILTER_DROPBOX_ANYWHERE=true
MILTER_OWNER_PROOF=auth-or-sender
milter_setup
milter_seed
milter_start || { milter_log; exit 1; }
NULL_SOCK=$WORK/null-milter.sock
bd_spawn null-milter "$NULL_MILTER" "unix:$NULL_SOCK" "$DROPBOX"
wait_for 10 test -S "$NULL_SOCK" || { echo "bench/postfix: the null milter did not start"; cat "$WORK/null-milter.log"; exit 1; }
pf_sink_start || exit 1
pf_setup bench default_destination_concurrency_limit=20 smtpd_client_connection_count_limit=0 \
	smtpd_client_message_rate_limit=0 smtpd_client_connection_rate_limit=0 in_flow_delay=0
PORT_A=$(free_port)
pf_service bench "127.0.0.1:$PORT_A inet n - n - - smtpd -o smtpd_milters="
PORT_N=$(free_port)
pf_service bench "127.0.0.1:$PORT_N inet n - n - - smtpd -o smtpd_milters=unix:$NULL_SOCK"
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
		-t "$DROPBOX" "127.0.0.1:$port" & pids+=($!); }
	[ "$no" -gt 0 ] && { smtp-source ${SMTP_SOURCE_OPTS:-} -s "$so" -m "$no" -l "$SIZE" -f alice@corp.example \
		-t carol@client.example "127.0.0.1:$port" & pids+=($!); }
	wait "${pids[@]}"
	t1=$(now)
	pf_wait_empty bench 300 >/dev/null
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

# CPU seconds the milter used so far (user + system).
milter_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$MILTER_PID/stat"; }
# One untimed run per port first: Postfix starts its smtpd and delivery
# processes, the milters their first threads.
for port in "$PORT_A" "$PORT_N" "$PORT_B"; do run "$port" 0 >/dev/null; done
# PERF_MILTER=FILE: perf record (call graphs) of bccdrop-milter during the
# (c) runs, into FILE.ROUND (read it with perf report -i FILE.ROUND), and the
# number of fdatasync calls (durable commits: one per group commit batch).
PERF_PIDS=()
perf_start() {
	[ -n "${PERF_MILTER:-}" ] || return 0
	perf record -q --call-graph dwarf,16384 -F 499 -p "$MILTER_PID" -o "$PERF_MILTER.$r" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
	perf stat -e syscalls:sys_enter_fdatasync -p "$MILTER_PID" -o "$PERF_MILTER.$r.stat" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
	sleep 0.5
}
perf_stop() {
	[ "${#PERF_PIDS[@]}" -gt 0 ] || return 0
	kill -INT "${PERF_PIDS[@]}"
	wait "${PERF_PIDS[@]}" 2>/dev/null
	PERF_PIDS=()
	echo "  (c) round $r: $(awk '/fdatasync/ { print $1 }' "$PERF_MILTER.$r.stat") fdatasync calls for $MESSAGES messages" >&2
}
KINDS="a n b m c"
declare -A times=([a]= [n]= [b]= [m]= [c]=)
echo "bench/postfix: $MESSAGES messages x $ROUNDS rounds, $SESSIONS sessions, ${SIZE} B each, milter synchronous=full${SMTP_SOURCE_OPTS:+, smtp-source $SMTP_SOURCE_OPTS}"
for r in $(seq "$ROUNDS"); do
	for v in $KINDS; do
		cpu0=$(milter_cpu)
		case $v in
		a) s=$(run "$PORT_A" 10) ;;
		n) s=$(run "$PORT_N" 10) ;;
		b) s=$(run "$PORT_B" 10) ;;
		m) s=$(run "$PORT_N" 100) ;;
		c) perf_start; s=$(run "$PORT_B" 100); perf_stop ;;
		esac
		printf '  round %d (%s): %6.2f s  %8.1f msg/s   milter CPU %5.2f s\n' "$r" "$v" "$s" \
			"$(echo "$MESSAGES $s" | awk '{print $1/$2}')" "$(echo "$(milter_cpu) $cpu0" | awk '{print $1 - $2}')"
		times[$v]+="$s "
	done
done
# Messages per second of a kind's median run (the middle of ROUNDS, or the
# mean of the two middle ones), and of its fastest run.
median_s() { tr ' ' '\n' <<<"${times[$1]}" | grep . | sort -g |
	awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { awk -v n="$MESSAGES" -v s="$(median_s "$1")" 'BEGIN { printf "%.1f", n / s }'; }
brate() { tr ' ' '\n' <<<"${times[$1]}" | grep . | sort -g | head -n 1 |
	awk -v n="$MESSAGES" '{ printf "%.1f", n / $1 }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
declare -A R B
for v in $KINDS; do R[$v]=$(rate "$v"); B[$v]=$(brate "$v"); done
stored=$(sqlite3 "$DB" "SELECT count(*) FROM messages")
fail=0
# target NAME RATIO MIN: prints the check, remembers a miss.
target() {
	if awk -v r="$2" -v t="$3" 'BEGIN { exit !(r >= t) }'; then echo "  $1 = $2 (target >= $3) ok"
	else echo "  $1 = $2 (target >= $3) MISSED"; fail=1; fi
}
echo "median runs:"
echo "(a) no milter, 10% dropbox:          ${R[a]} msg/s"
echo "(n) null milter, 10% dropbox:        ${R[n]} msg/s"
echo "(b) bccdrop-milter, 10% dropbox:     ${R[b]} msg/s"
echo "(m) null milter, 100% dropbox:       ${R[m]} msg/s"
echo "(c) bccdrop-milter, 100% dropbox:    ${R[c]} msg/s (durable)"
target "b/n" "$(ratio "${R[b]}" "${R[n]}")" 1.0
target "c/m" "$(ratio "${R[c]}" "${R[m]}")" 0.95
target "b/a" "$(ratio "${R[b]}" "${R[a]}")" 0.9
target "c/a" "$(ratio "${R[c]}" "${R[a]}")" 0.7
echo "  n/a = $(ratio "${R[n]}" "${R[a]}")  m/a = $(ratio "${R[m]}" "${R[a]}")  (the null milter against no milter)"
# The fastest run of each kind is the least disturbed by anything else on
# the machine: its ratios are printed too (not checked).
echo "fastest runs: (a) ${B[a]}  (n) ${B[n]}  (b) ${B[b]}  (m) ${B[m]}  (c) ${B[c]} msg/s" \
	"  b/n = $(ratio "${B[b]}" "${B[n]}")  c/m = $(ratio "${B[c]}" "${B[m]}")" \
	"  b/a = $(ratio "${B[b]}" "${B[a]}")  c/a = $(ratio "${B[c]}" "${B[a]}")"
echo "messages captured: $stored"
# Only the runs without a milter may deliver a dropbox copy: any other means
# a milter did not delete the dropbox recipient, and its run did less work.
copies=$(grep -c "to=<$DROPBOX>.*status=sent" "${PF_DIR[bench]}/maillog")
want=$((ROUNDS * (MESSAGES * 10 / 100)))
echo "dropbox copies delivered: $copies (expected $want, those of the (a) runs)"
[ "$copies" = "$want" ] || { echo "  dropbox copies MISSED"; fail=1; }

# Peak memory: RSS_MESSAGES concurrent messages of RSS_SIZE bytes, all to
# the dropbox, on a freshly started milter.
milter_stop
milter_start || exit 1
RSS_MESSAGES=${RSS_MESSAGES:-50}
[ "$RSS_MESSAGES" -gt 0 ] || exit "$fail"
RSS_SIZE=${RSS_SIZE:-10000000}
t0=$(now)
smtp-source -s "$RSS_MESSAGES" -m "$RSS_MESSAGES" -l "$RSS_SIZE" -r 2 -f alice@corp.example \
	-t "$DROPBOX" "127.0.0.1:$PORT_B"
t1=$(now)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
after=$(sqlite3 "$DB" "SELECT count(*) FROM messages")
echo "peak RSS (VmHWM) of bccdrop-milter, $RSS_MESSAGES concurrent $((RSS_SIZE / 1000000)) MB messages:" \
	"$((hwm / 1024)) MB (target < 64 MB; memory_limit $MILTER_MEMORY_LIMIT; $((after - stored)) stored in" \
	"$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') s)"
pf_wait_empty bench 300 >/dev/null
[ "$((hwm / 1024))" -lt 64 ] || { echo "  peak RSS MISSED"; fail=1; }
[ "$fail" = 0 ] || echo "bench/postfix: FAIL: a target was missed (see MISSED above)"
exit "$fail"
