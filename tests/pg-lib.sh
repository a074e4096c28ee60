# A private PostgreSQL 15 for one integration script (source after lib.sh).
#
#   pg_start     initdb into a temp dir and start the server on a private
#                unix-socket directory and a free 127.0.0.1 port. Sets
#                PG_SOCK, PG_PORT, PG_URI (socket, trust), PG_TCP_URI
#                (loopback, password) and PG_PASSWORD_FILE (0600).
#   pg_stop      fast shutdown of that server, by its PID (also at exit).
#   pg_restart   stop, then start the same cluster again (same port).
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
}

pg_launch() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-k $PG_SOCK -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || {
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
pg_stop() {
	local i
	[ -n "$PG_PID" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null
	for i in $(seq 100); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PG_PID" 2>/dev/null
	PG_PID=
}

pg_restart() { pg_stop && pg_launch; }

pg_cleanup() {
	pg_stop
	[ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
}

pg_psql() {
	local db=$1; shift
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}
