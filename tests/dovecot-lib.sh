# A private Dovecot for the poller tests (source after tests/lib.sh).
# It listens on free 127.0.0.1 ports for IMAP, IMAPS, POP3 and POP3S, keeps
# everything under $WORK/dovecot, and is stopped by PID.
#
#   dovecot_setup          config, self-signed certificate, user alice
#   dovecot_start          start (again) and wait until it accepts connections
#   dovecot_stop [KILL]    stop the running instance by its PID
#   dovecot_deliver N [FROM]  write N messages into alice's INBOX (maildir)
#   dovecot_count          messages in alice's INBOX (maildir files)
#   bd_setup_poller        database, key, config for bccdrop (user u1 = alice)
DC=$WORK/dovecot
DC_USER=alice
DC_PASS='s3cret-pw'
DC_PID=
DC_MAILDIR=$DC/home/$DC_USER/Maildir

dovecot_setup() {
	# The poller and Dovecot's mail processes run as nobody: let them in.
	chmod 755 "$WORK"
	mkdir -p "$DC/run" "$DC/state" "$DC_MAILDIR"/{new,cur,tmp}
	DC_IMAP=$(free_port) DC_IMAPS=$(free_port) DC_POP3=$(free_port) DC_POP3S=$(free_port)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$DC/key.pem" -out "$DC/cert.pem" >/dev/null 2>&1
	chmod 644 "$DC/cert.pem"
	echo "$DC_USER:{PLAIN}$DC_PASS" >"$DC/passwd"
	cat >"$DC/dovecot.conf" <<EOC
base_dir = $DC/run
state_dir = $DC/state
log_path = $DC/dovecot.log
info_log_path = $DC/dovecot.log
protocols = imap pop3
# 127.0.0.2 (loopback too) reaches it by an address its certificate does
# not name: the host name check must refuse that.
listen = 127.0.0.1, 127.0.0.2
ssl = yes
ssl_cert = <$DC/cert.pem
ssl_key = <$DC/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DC/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DC/home/%u
}
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
service imap-login {
  inet_listener imap {
    port = $DC_IMAP
  }
  inet_listener imaps {
    port = $DC_IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $DC_POP3
  }
  inet_listener pop3s {
    port = $DC_POP3S
    ssl = yes
  }
}
EOC
	chown -R nobody:nogroup "$DC/home"
}

dovecot_start() {
	# Not in $(...): the PID must be our child (wait) and in BD_PIDS (cleanup).
	bd_spawn dovecot dovecot -c "$DC/dovecot.conf" -F >/dev/null
	DC_PID=${BD_PIDS[-1]}
	local p
	for p in "$DC_IMAP" "$DC_IMAPS" "$DC_POP3" "$DC_POP3S"; do
		if ! wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p"; then
			diag "dovecot does not listen on $p:"; sed 's/^/#   /' "$WORK/dovecot.log"; tail -n 5 "$DC/dovecot.log" | sed 's/^/#   /'
			return 1
		fi
	done
}

# PIDs whose parent is our Dovecot master (from /proc: no procps needed).
dovecot_children() {
	local st rest
	for st in /proc/[0-9]*/stat; do
		read -r rest <"$st" 2>/dev/null || continue
		rest=${rest##*) }	# after "pid (comm) "
		set -- $rest
		[ "$2" = "$DC_PID" ] && { st=${st#/proc/}; echo "${st%/stat}"; }
	done
}

dovecot_all_dead() {	# PID...
	local p st
	for p in "$@"; do
		read -r st <"/proc/$p/stat" 2>/dev/null || continue
		st=${st##*) }
		[ "${st%% *}" = Z ] || return 1
	done
}

dovecot_stop() {	# [KILL]: no clean shutdown (a crash)
	[ -n "$DC_PID" ] || return 0
	if [ "${1:-}" = KILL ]; then
		# The master and every process it started (imap, login, auth):
		# the whole server dies at once, connections included.
		local pids
		pids="$(dovecot_children) $DC_PID"
		kill -KILL $pids 2>/dev/null
		# Gone or zombie (nobody may reap them here): only then are their
		# sockets free for the next start.
		wait_for 10 dovecot_all_dead $pids
	else
		bd_stop_pid "$DC_PID"
	fi
	wait "$DC_PID" 2>/dev/null
	rm -f "$DC/run/master.pid"
	DC_PID=
}

# dovecot_deliver N [FIRST] [DIR] [LINES]: messages FIRST..FIRST+N-1 (default
# 1) into new/ (or DIR, e.g. cur with flags), LINES body lines of 65 bytes
# (default 20; every 100th message 50 times larger when LINES > 20).
# Each has a distinct Message-ID.
dovecot_deliver() {
	python3 - "$DC_MAILDIR" "$1" "${2:-1}" "${3:-new}" "${4:-20}" <<'EOP'
import os, sys, time
md, n, first, sub, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
pid = os.getpid()
for i in range(first, first + n):
    k = lines * 50 if lines > 20 and i % 100 == 0 else lines
    body = ("Line %d of a message body that is long enough to look like mail.\n" % i) * k
    msg = ("Return-Path: <c%d@customer.example>\n"
           "From: Customer %d <c%d@customer.example>\n"
           "To: Alice <alice@corp.example>\n"
           "Subject: Poll test message %d\n"
           "Date: Mon, 02 Nov 2026 10:%02d:%02d +0000\n"
           "Message-ID: <poll-%d@customer.example>\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s"
           % (i % 50, i % 50, i % 50, i, (i // 60) % 60, i % 60, i, body))
    name = "%d.M%dP%d.test" % (int(time.time()), i, pid)
    if sub == "cur":
        name += ":2,S" if i % 2 == 0 else ":2,"
    path = os.path.join(md, sub, name)
    with open(path + ".tmp", "w") as f:
        f.write(msg)
    os.rename(path + ".tmp", path)
    os.chown(path, 65534, 65534)
EOP
}

dovecot_count() {
	find "$DC_MAILDIR/new" "$DC_MAILDIR/cur" -type f | wc -l
}

# Logins Dovecot accepted or refused for alice so far.
dovecot_logins() { grep -c "Login: user=<$DC_USER>" "$DC/dovecot.log" 2>/dev/null || true; }
dovecot_auth_failures() { grep -cE "auth failed|Authentication failed|Aborted login \(auth failed" "$DC/dovecot.log" 2>/dev/null || true; }

# bd_setup_poller [EXTRA CONFIG LINES]: a database with CRM user u1, a key
# file, a config for bccdrop and bccdrop-poll, and a recording sendmail.
bd_setup_poller() {
	mkdir -p "$WORK/data" "$WORK/spool"
	chmod 777 "$WORK/spool"
	cat >"$WORK/sendmail" <<EOS
#!/bin/sh
{ echo "ARGS: \$*"; cat; } >>"$WORK/spool/sent.txt"
EOS
	chmod 755 "$WORK/sendmail"
	CONF=$WORK/bccdrop.conf
	if bd_backend_pg; then bd_pg_ready || return 1; fi
	BD_POLL_DB=$(bd_db "$WORK/data/bccdrop.db") || return 1
	cat >"$CONF" <<EOC
[store]
database = $BD_POLL_DB
synchronous = normal
[poll]
user = nobody
key_file = $WORK/secret.key
sendmail = $WORK/sendmail
confirmation_from = crm@corp.example
poll_interval = 5
idle_refresh = 10
backoff_max = 60
$*
EOC
	"$BIN/bccdrop" init -c "$CONF" >/dev/null
	bd_sql "INSERT INTO users(id, email, name, last_active_at) VALUES ('u1', 'alice@corp.example', 'Alice', '$(date -u +%Y-%m-%dT%H:%M:%SZ)');"
	printf '%s\n' "$DC_PASS" >"$WORK/password"
	chown -R nobody:nogroup "$WORK/data"
}

# bd_poll ARGS...: run bccdrop-poll with the test config (foreground).
bd_poll() { "$BIN/bccdrop-poll" -c "$CONF" -f "$@"; }
bd() { "$BIN/bccdrop" "$@" -c "$CONF"; }
# SQL against the test database (SQLite or PostgreSQL: tests/lib.sh).
bd_sql() { bd_dbsql "$BD_POLL_DB" "$@"; }
