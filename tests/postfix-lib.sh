# Helpers for tests that run bccdrop-milter behind a private Postfix on
# 127.0.0.1. Source after tests/lib.sh. Everything lives under $WORK; each
# process started is stopped by PID at exit (bd_spawn / bd_on_exit).
#
#   pf_require                  skip the whole script (TAP) unless root + Postfix
#   milter_setup                database, config and socket paths under $WORK
#                               (the socket inside the queue directory of the
#                               first Postfix set up, as on Debian)
#   milter_start / milter_stop  the milter in the foreground (-f), by PID
#   pf_sink_start               smtp-sink on a free port: the final destination
#   pf_setup NAME [postconf...] a Postfix instance (smtpd on PF_PORT[NAME]),
#                               in Debian's layout: smtpd chrooted into the
#                               queue directory, cleanup not, and the milter
#                               lines of contrib/postfix/main.cf.snippet
#   pf_start NAME / pf_stop NAME
#   pf_wait_empty NAME SECS     until the queue is empty
#   sink_count REGEX            delivered messages whose dump matches REGEX

PF_DAEMON_DIR=$(postconf -h daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)
declare -A PF_PORT PF_DIR

pf_require() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root: Postfix's master runs as root and drops to the postfix user"
		exit 0
	fi
	local t
	for t in postfix postconf smtp-sink smtp-source sqlite3; do
		if ! command -v "$t" >/dev/null; then echo "1..0 # SKIP $t is not installed"; exit 0; fi
	done
	# Postfix's daemons (user postfix) and the milter (user nobody) must
	# reach their files under $WORK.
	chmod 0711 "$WORK"
}

# Database, config, socket; MILTER_CONF_EXTRA lines are appended to [milter].
# MILTER_OWNER_PROOF / MILTER_DROPBOX_ANYWHERE set those keys when given
# (a test that relies on a mode says so instead of inheriting the default).
# The socket lives where the package puts it, in a directory of the Postfix
# queue (PF_SPOOL, used by the first pf_setup), owned by the milter's user
# and the postfix group.
PF_SPOOL=${PF_SPOOL:-$WORK/spool}
PF_SPOOL_USED=
milter_setup() {
	MDIR=$WORK/milter
	mkdir -p "$MDIR" "$PF_SPOOL/bccdrop"
	if [ "$(id -u)" = 0 ]; then
		chmod 0711 "$WORK"
		chown nobody:postfix "$MDIR" "$PF_SPOOL/bccdrop"
		chmod 0750 "$MDIR" "$PF_SPOOL/bccdrop"
	fi
	if bd_backend_pg; then bd_pg_ready || return 1; fi
	DB=$(bd_db "$MDIR/bccdrop.db") || return 1
	SOCK=$PF_SPOOL/bccdrop/milter.sock
	CONF=$WORK/bccdrop.conf
	cat >"$CONF" <<CONF
[store]
database = $DB
synchronous = ${MILTER_SYNC:-normal}
busy_timeout_ms = 20000

[milter]
socket = unix:$SOCK
socket_group = $( [ "$(id -u)" = 0 ] && echo postfix )
user = nobody
memory_limit = ${MILTER_MEMORY_LIMIT:-256k}
dropbox_domains = ${MILTER_DROPBOX_DOMAINS:-}
${MILTER_DROPBOX_ANYWHERE:+dropbox_anywhere = $MILTER_DROPBOX_ANYWHERE}
${MILTER_OWNER_PROOF:+owner_proof = $MILTER_OWNER_PROOF}
workers = ${MILTER_WORKERS:-4}
${MILTER_CONF_EXTRA:-}

[log]
level = info
CONF
	"$BIN/bccdrop" init -c "$CONF" --db "$DB" >/dev/null
	[ "$(id -u)" = 0 ] && ! bd_backend_pg && chown nobody "$DB"*
	return 0
}

# The CRM data every milter test uses. Alice owns dropbox
# alice-drop@crm.example and writes from alice@corp.example (alias
# a.smith@corp.example); bob owns bob-drop@crm.example.
milter_seed() {
	{ bd_backend_pg || echo 'PRAGMA foreign_keys=ON;'; cat; } <<'SQL' | bd_dbsql "$DB"
INSERT INTO users(id, email, name, dropbox) VALUES
  ('u-alice', 'alice@corp.example', 'Alice Smith', 'alice-drop@crm.example'),
  ('u-bob', 'bob@corp.example', 'Bob Jones', 'bob-drop@crm.example');
INSERT INTO user_addresses(address_key, user_id, kind) VALUES
  ('alice@corp.example', 'u-alice', 'email'),
  ('a.smith@corp.example', 'u-alice', 'alias'),
  ('bob@corp.example', 'u-bob', 'email');
INSERT INTO stages(name, probability) VALUES ('Lost', 0), ('Proposal', 60);
INSERT INTO contacts(id, kind, name, owner_id) VALUES ('c-carol', 'contact', 'Carol Client', 'u-alice');
INSERT INTO contact_addresses(contact_id, address, address_key) VALUES
  ('c-carol', 'carol@client.example', 'carol@client.example');
INSERT INTO deals(id, name, stage, probability, modified_at) VALUES
  ('d-old', 'Older live deal', 'Proposal', 60, '2026-01-10T10:00:00Z'),
  ('d-new', 'Newest deal, lost', 'Lost', 0, '2026-03-10T10:00:00Z');
INSERT INTO deal_contacts(deal_id, contact_id) VALUES ('d-old', 'c-carol'), ('d-new', 'c-carol');
SQL
}

MILTER_PID=
milter_start() {
	local bin=${MILTER_BIN:-$BIN/bccdrop-milter}
	rm -f "$SOCK"
	MILTER_STARTS=$((MILTER_STARTS + 1))
	bd_spawn "milter.$MILTER_STARTS" "$bin" -f -c "$CONF" >/dev/null
	MILTER_PID=${BD_PIDS[-1]}
	wait_for 10 test -S "$SOCK" || { diag "the milter did not create $SOCK"; return 1; }
	# The database is checked after the socket exists: give it a moment.
	sleep 0.3
	kill -0 "$MILTER_PID" 2>/dev/null || { diag "the milter exited: $(tail -n 3 "$WORK/milter.$MILTER_STARTS.log")"; return 1; }
}
MILTER_STARTS=0
# PID has exited (a zombie not yet reaped by wait counts as gone).
pid_gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# TERM, and wait for the clean exit: libmilter's listener notices the stop
# at its next poll timeout, a few seconds later.
milter_stop() {
	[ -n "$MILTER_PID" ] || return 0
	kill -TERM "$MILTER_PID" 2>/dev/null
	wait_for 15 pid_gone "$MILTER_PID" || kill -KILL "$MILTER_PID" 2>/dev/null
	wait "$MILTER_PID" 2>/dev/null
	MILTER_PID=
}
milter_log() { cat "$WORK"/milter.*.log 2>/dev/null; }

SINK_DIR=
pf_sink_start() {
	SINK_DIR=$WORK/sink
	mkdir -p "$SINK_DIR"
	chown nobody "$SINK_DIR"
	SINK_PORT=$(free_port)
	bd_spawn sink smtp-sink -u nobody -d "$SINK_DIR/m." "127.0.0.1:$SINK_PORT" 256 >/dev/null
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SINK_PORT"
}
sink_count() {	# REGEX: how many delivered messages match it (grep -E, per file)
	grep -lE -- "$1" "$SINK_DIR"/m.* 2>/dev/null | wc -l | tr -d ' '
}

# pf_setup NAME [key=value ...]: a Postfix whose smtpd listens on a free
# port, runs the milter in smtpd and for sendmail(1) submissions, and relays
# everything to the sink.
# The shipped snippet's milter lines: the tests run what the docs tell admins
# (PF_SNIPPET: another copy of it, e.g. the installed package's).
pf_snippet_milters() {
	grep -E '^(smtpd_milters|non_smtpd_milters) *=' "${PF_SNIPPET:-$TOP/contrib/postfix/main.cf.snippet}"
}

pf_setup() {
	local name=$1; shift
	local dir=$WORK/pf-$name port queue
	port=$(free_port)
	PF_DIR[$name]=$dir
	PF_PORT[$name]=$port
	mkdir -p "$dir/etc" "$dir/data"
	# The first instance owns PF_SPOOL (and so the milter's socket);
	# $dir/queue names it either way.
	if [ -z "$PF_SPOOL_USED" ]; then
		PF_SPOOL_USED=$name
		mkdir -p "$PF_SPOOL"
		ln -s "$PF_SPOOL" "$dir/queue"
		queue=$PF_SPOOL
	else
		mkdir -p "$dir/queue"
		queue=$dir/queue
	fi
	chown postfix "$dir/data"
	cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $queue
data_directory = $dir/data
daemon_directory = $PF_DAEMON_DIR
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = test.example
mydestination =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_authorized_xclient_hosts = 127.0.0.0/8
relayhost = [127.0.0.1]:${SINK_PORT:-25}
smtp_dns_support_level = disabled
smtp_host_lookup = native
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
message_size_limit = 30000000
$(pf_snippet_milters)
milter_default_action = tempfail
milter_protocol = 6
biff = no
smtputf8_enable = yes
CF
	cat >"$dir/etc/master.cf" <<CF
127.0.0.1:$port inet n - y - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
	local kv
	for kv in "$@"; do postconf -c "$dir/etc" -e "$kv"; done
}

# pf_service NAME LINE: append a master.cf service (e.g. a second smtpd).
pf_service() { echo "$2" >>"${PF_DIR[$1]}/etc/master.cf"; }

pf_start() {
	local dir=${PF_DIR[$1]}
	postfix -c "$dir/etc" check >"$dir/check.log" 2>&1
	postfix -c "$dir/etc" start >"$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; return 1; }
	bd_on_exit "pf_stop $1"
	wait_for 10 test -s "$dir/queue/pid/master.pid" || return 1
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/${PF_PORT[$1]}"
}
pf_stop() {
	local dir=${PF_DIR[$1]} pid
	[ -d "$dir" ] || return 0
	pid=$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null)
	postfix -c "$dir/etc" stop >/dev/null 2>&1
	# stop waits for nothing: make sure the master (and so its children) is gone.
	[ -n "$pid" ] && bd_stop_pid "$pid"
	return 0
}
pf_queue_count() {	# NAME: messages still in any queue
	local n
	n=$(find "${PF_DIR[$1]}/queue/"{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | wc -l)
	echo "$n" | tr -d ' '
}
pf_queue_empty() { [ "$(pf_queue_count "$1")" = 0 ]; }
pf_wait_empty() {	# NAME SECONDS
	wait_for "$2" pf_queue_empty "$1"
}
pf_log() { cat "${PF_DIR[$1]}/maillog" 2>/dev/null; }
# pf_sendmail NAME ARGS... < message: local submission (non_smtpd_milters).
pf_sendmail() {
	local name=$1; shift
	sendmail -C "${PF_DIR[$name]}/etc" "$@"
}
