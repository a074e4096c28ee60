# A private PostgreSQL 15 for one integration script (source after lib.sh).
#
#   pg_start     initdb into a temp dir and start the server on a private
#                unix-socket directory and a free 127.0.0.1 port. Sets
#                PG_SOCK, PG_PORT, PG_URI (socket, trust), PG_TCP_URI
#                (loopback, password), PG_PASSWORD_FILE (0600) and PG_SSL_CA
#                (the CA of the server's certificate, for IP 127.0.0.1).
#   pg_stop      fast shutdown of that server, by its PID (also at exit).
#   pg_restart   stop, then start the same cluster again (same port).
#   pg_start_standby  a streaming-replication hot standby of it (pg_basebackup)
#                on another port: PG_STANDBY_URI (socket, trust).
#   pg_psql DB   psql on the socket, as the test superuser.
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# system user `postgres` (from the Debian package). fsync is off: these tests
# check behaviour, not durability across power loss.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=bccdrop
PG_PID=

pg_available() { [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]; }

# pg_as COMMAND...: run as the cluster's owner.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups --reset-env "$@"
	else
		"$@"
	fi
}

pg_init() {
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bccdrop-pg.XXXXXX")
	PG_SOCK=$PG_DIR/sock
	mkdir -p "$PG_SOCK"
	printf 'pg-test-%s\n' "$RANDOM$RANDOM" >"$PG_DIR/pw"
	[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$PG_DIR"
	# C.UTF-8: text sorts by code point, as in SQLite, so reports match.
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --pwfile="$PG_DIR/pw" -E UTF8 \
		--locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 || {
		sed 's/^/# /' "$PG_DIR/initdb.log"; return 1; }
	PG_PASSWORD_FILE=$WORK/pg-password
	cp "$PG_DIR/pw" "$PG_PASSWORD_FILE" && chmod 600 "$PG_PASSWORD_FILE"
	PG_PORT=$(free_port)
	pg_make_certs || return 1
	PG_OPTS="-k $PG_SOCK -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on"
	PG_OPTS+=" -c ssl_cert_file=$PG_DIR/server.crt -c ssl_key_file=$PG_DIR/server.key"
}

# A private CA and a server certificate for IP 127.0.0.1 signed by it, so
# that sslmode=verify-full can be tested; a second CA that signed nothing.
pg_make_certs() {
	local d=$PG_DIR c
	for c in ca other-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bccdrop test $c" \
			-keyout "$d/$c.key" -out "$d/$c.crt" >"$d/openssl.log" 2>&1 || return 1
	done
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" \
		>>"$d/openssl.log" 2>&1 &&
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$d/server.crt" >>"$d/openssl.log" 2>&1 ||
		{ sed 's/^/# /' "$d/openssl.log"; return 1; }
	chmod 600 "$d/server.key"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$d/server.key" "$d/server.crt"
	PG_SSL_CA=$d/ca.crt PG_SSL_OTHER_CA=$d/other-ca.crt
}

pg_launch() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "$PG_OPTS" start >/dev/null || {
		sed 's/^/# /' "$PG_DIR/server.log" | tail -n 20; return 1; }
	PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
}

pg_start() {
	pg_init && pg_launch || return 1
	PG_URI="postgresql:///postgres?host=$PG_SOCK&port=$PG_PORT&user=$PG_USER"
	PG_TCP_URI="postgresql://$PG_USER@127.0.0.1:$PG_PORT/postgres"
	bd_on_exit pg_cleanup
}

# SIGINT is PostgreSQL's fast shutdown: clients are disconnected at once.
# pg_stop_dir DATADIR: the server running on DATADIR, by the PID in its pid
# file (a test may have restarted it since pg_start).
pg_stop_dir() {
	local i pid
	[ -e "$1/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$1/postmaster.pid")
	kill -INT "$pid" 2>/dev/null
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
}
pg_stop() { pg_stop_dir "$PG_DIR/data"; PG_PID=; }

pg_start_standby() {
	PG_STANDBY_PORT=$(free_port)
	pg_as "$PG_BIN/pg_basebackup" -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" -D "$PG_DIR/standby" -R -X stream \
		>"$PG_DIR/basebackup.log" 2>&1 &&
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/standby" -l "$PG_DIR/standby.log" -w -t 60 \
		-o "-k $PG_SOCK -p $PG_STANDBY_PORT -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || {
		sed 's/^/# /' "$PG_DIR/basebackup.log" "$PG_DIR/standby.log" 2>/dev/null | tail -n 20; return 1; }
	PG_STANDBY_URI="postgresql:///postgres?host=$PG_SOCK&port=$PG_STANDBY_PORT&user=$PG_USER"
}

pg_restart() { pg_stop && pg_launch; }

pg_cleanup() {
	pg_stop_dir "$PG_DIR/standby"
	pg_stop
	[ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
}

pg_psql() {
	local db=$1; shift
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}
