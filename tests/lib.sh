# Shared helpers for the integration scripts under tests/integration/.
# Each script sources this, prints TAP, and stops every process it started
# by PID (see bd_spawn / bd_cleanup).
set -uo pipefail
TOP=${BCCDROP_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${BCCDROP_BUILD:-$TOP/build}
BIN=$B/bin
CORPUS=${BCCDROP_CORPUS:-$TOP/../shared/corpus}
T_N=0
T_FAILED=0
BD_PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bccdrop-test.XXXXXX")

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $*"; }
diag() { echo "# $*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local d=$1; shift
	if "$@" >"$WORK/check.out" 2>&1; then ok "$d"; else
		not_ok "$d"; sed 's/^/#   /' "$WORK/check.out" | tail -n 20; fi
}
# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "  got:  '$2'"; diag "  want: '$3'"; fi
}
# like DESCRIPTION GOT REGEX
like() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1"; diag "  got:  '$2'"; diag "  want match: '$3'"; fi
}

# bd_spawn NAME COMMAND...: start in the background, remember the PID in
# BD_PIDS and BD_LAST_PID. Call it directly, never as $(bd_spawn ...): a
# command substitution is a subshell and the PID would not be remembered.
bd_spawn() {
	local name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	BD_LAST_PID=$!
	BD_PIDS+=("$BD_LAST_PID")
}
bd_stop_pid() {	# PID: TERM, then KILL after 5 s
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
}
BD_CLEANUPS=()
bd_on_exit() { BD_CLEANUPS+=("$*"); }
bd_cleanup() {
	local c p
	for c in "${BD_CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
	for p in "${BD_PIDS[@]}"; do bd_stop_pid "$p"; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap bd_cleanup EXIT

# wait_for SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
	local limit=$1 i; shift
	for i in $(seq $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }

# ---- the store backend under test -------------------------------------------
# BCCDROP_TEST_BACKEND=pg runs a suite on PostgreSQL: one private server per
# script (tests/pg-lib.sh), a fresh database on it for each bd_db. The
# suite's assertion queries go through bd_dbsql, which speaks sqlite3 or psql
# with the same output (fields joined by '|', NULL as empty, no header).
BD_BACKEND=${BCCDROP_TEST_BACKEND:-sqlite}
bd_backend_pg() { [ "$BD_BACKEND" = pg ]; }
# bd_pg_ready: the script's server, started on first use. Not in a
# subshell: the server must be stopped at exit.
bd_pg_ready() {
	[ -n "${PG_URI:-}" ] && return 0
	. "$TOP/tests/pg-lib.sh"
	pg_available || { echo "# PostgreSQL 15 server binaries not installed ($PG_BIN)"; return 1; }
	pg_start || return 1
	# Daemons that drop to nobody reach the socket too (trust, user bccdrop).
	chmod 711 "$PG_DIR" && chmod 755 "$PG_SOCK"
	# SQLite's group_concat for the suites' queries: in the test databases
	# only (template1), never in bccdrop's schema.
	pg_psql template1 >/dev/null <<'SQL'
CREATE FUNCTION bd_gc(acc text, v anyelement, sep text) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v::text ELSE acc || sep || v::text END $$;
CREATE FUNCTION bd_gc1(acc text, v anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT bd_gc(acc, v, ',') $$;
CREATE AGGREGATE group_concat(anyelement, text) (SFUNC = bd_gc, STYPE = text);
CREATE AGGREGATE group_concat(anyelement) (SFUNC = bd_gc1, STYPE = text);
SQL
}
# bd_db PATH: where a suite's store lives. SQLite: PATH itself. PostgreSQL:
# the URI of a new empty database (call bd_pg_ready first, in the script).
bd_db() {
	bd_backend_pg || { echo "$1"; return; }
	# Unique without state: bd_db runs in a command substitution.
	local name=bd_$$_$(date +%s%N)
	pg_psql postgres -c "CREATE DATABASE $name" >/dev/null || return 1
	echo "${PG_URI/\/postgres\?//$name?}"
}
# bd_dbsql DB SQL...: run SQL (argument or stdin) against DB, a SQLite file or
# a postgresql:// URI.
bd_dbsql() {
	local db=$1; shift
	case $db in
	postgres://* | postgresql://*) "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" ${1:+-c "$1"} ;;
	*) sqlite3 -batch -bail "$db" "$@" ;;
	esac
}
# bd_pg_skip WHY: a TAP skip of a SQLite-only check on PostgreSQL.
bd_pg_skip() { skip "SQLite only (on PostgreSQL: $*)"; }
# bd_sql_hex EXPR: SQL for EXPR's bytes as upper-case hex, on this backend.
bd_sql_hex() { if bd_backend_pg; then echo "upper(encode($1, 'hex'))"; else echo "hex($1)"; fi; }
# bd_dump DB: every row of DB as text (sqlite3 .dump, pg_dump --data-only).
bd_dump() {
	case $1 in
	postgres://* | postgresql://*) "$PG_BIN/pg_dump" -a -d "$1" ;;
	*) sqlite3 "$1" .dump ;;
	esac
}
