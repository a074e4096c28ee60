/* The PostgreSQL connection: URI and password handling, session settings,
 * the prepared-statement cache, SQLSTATE mapping and reconnection. */
#include "store/pg/pg.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>


PgStore *
pg_store_cast(Store *store)
{
	PgStore *pg = (PgStore *)store;
	g_return_val_if_fail(pg && pg->base.backend == &store_pg_backend, NULL);
	return pg;
}

/* ---- parameters ---- */

static void
pg_params_add(PgParams *p, const char *value, int length, int format, char *owned)
{
	g_return_if_fail(p->n < PG_PARAMS_MAX);
	p->values[p->n] = value;
	p->lengths[p->n] = length;
	p->formats[p->n] = format;
	p->owned[p->n] = owned;
	p->n++;
}

void
pg_params_text(PgParams *p, const char *s)
{
	pg_params_add(p, s, 0, 0, NULL);
}

void
pg_params_int(PgParams *p, gint64 v)
{
	char *s = g_strdup_printf("%" G_GINT64_FORMAT, v);
	pg_params_add(p, s, 0, 0, s);
}

void
pg_params_bytes(PgParams *p, const void *data, gsize len)
{
	g_return_if_fail(len <= G_MAXINT);
	/* A zero-length binary value still needs a non-NULL pointer: NULL
	 * would send SQL NULL. */
	pg_params_add(p, data ? data : "", (int)len, 1, NULL);
}

void
pg_params_clear(PgParams *p)
{
	for (int i = 0; i < p->n; i++)
		g_free(p->owned[i]);
	memset(p, 0, sizeof *p);
}

/* ---- URIs and passwords ---- */

gboolean
pg_store_is_uri(const char *text)
{
	return text && (g_str_has_prefix(text, "postgresql://") || g_str_has_prefix(text, "postgres://"));
}

static char *
pg_regex_replace(const char *text, const char *pattern, const char *replacement)
{
	g_autoptr(GRegex) re = g_regex_new(pattern, G_REGEX_CASELESS, 0, NULL);
	g_assert(re);
	return g_regex_replace(re, text, -1, 0, replacement, 0, NULL);
}

char *
pg_store_redact_uri(const char *uri)
{
	if (!uri)
		return NULL;
	/* user:PASSWORD@ in the authority (libpq ends it at '@' or '/'). */
	g_autofree char *a = pg_regex_replace(uri, "^(postgres(?:ql)?://[^:@/?]*):[^@/?]*@", "\\1:***@");
	/* password=... as a URI query parameter or a conninfo keyword. */
	return pg_regex_replace(a, "(^|[?&\\s])(password\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'|[^&\\s]*)", "\\1\\2***");
}

/* A password written into the URI would sit in the configuration and show in
 * ps and logs: refuse it and say where it belongs. */
static gboolean
pg_check_uri(PgStore *pg, GError **error)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(pg->uri, &msg);
	if (!opts) {
		/* libpq's message quotes only the offending part, never the rest. */
		g_autofree char *m = pg_store_redact_uri(msg ? msg : "out of memory");
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "%s: not a valid PostgreSQL URI: %s", pg->redacted,
			    g_strstrip(m));
		PQfreemem(msg);
		return FALSE;
	}
	gboolean has_password = FALSE;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		has_password |= !strcmp(o->keyword, "password") && o->val && *o->val;
	PQconninfoFree(opts);
	if (has_password)
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN,
			    "%s: the URI holds a password, which would show in the configuration, in logs and in ps; "
			    "put it in ~/.pgpass, a passfile= parameter or the file named by [store] password_file",
			    pg->redacted);
	return !has_password;
}

static gboolean
pg_read_password(PgStore *pg, const char *path, GError **error)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "password file %s: %s", path, g_strerror(errno));
		return FALSE;
	}
	if (sb.st_mode & 077) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN,
			    "password file %s is readable by others (mode %03o); chmod 600 it", path,
			    (unsigned)(sb.st_mode & 0777));
		return FALSE;
	}
	g_autoptr(GError) e = NULL;
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, &e)) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "password file: %s", e->message);
		return FALSE;
	}
	text[strcspn(text, "\r\n")] = '\0';
	pg->password = text;
	if (*text)
		return TRUE;
	g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "password file %s is empty", path);
	return FALSE;
}

/* ---- errors ---- */

StoreError
pg_store_error_code(const char *sqlstate)
{
	if (!sqlstate || g_str_has_prefix(sqlstate, "08") || g_str_has_prefix(sqlstate, "57P"))
		return STORE_ERROR_BUSY; /* connection lost, server shutting down or starting */
	static const struct {
		const char *state;
		StoreError code;
	} map[] = {
		{ "40001", STORE_ERROR_BUSY },	   /* serialization failure: retry */
		{ "40P01", STORE_ERROR_BUSY },	   /* deadlock detected: retry */
		{ "55P03", STORE_ERROR_BUSY },	   /* lock_timeout: another writer */
		{ "25006", STORE_ERROR_READONLY }, /* a standby after failover */
		{ "42501", STORE_ERROR_READONLY }, /* not allowed to write */
		{ "53100", STORE_ERROR_FULL },
		{ "3D000", STORE_ERROR_OPEN },	   /* no such database */
	};
	for (guint i = 0; i < G_N_ELEMENTS(map); i++)
		if (!strcmp(sqlstate, map[i].state))
			return map[i].code;
	if (g_str_has_prefix(sqlstate, "23"))
		return STORE_ERROR_INVALID; /* 23505 unique violation and the other constraints */
	return STORE_ERROR_FAILED;
}

/* The connection broke: this operation fails as BUSY (retry later), the next
 * one resets the connection first. A transaction it was in is gone. */
static void
pg_mark_broken(PgStore *pg)
{
	pg->must_reset = TRUE;
	pg->txn_lost = pg->in_txn;
}

static gboolean
pg_fail(PgStore *pg, PGresult *res, const char *context, GError **error)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	if (!msg || !*msg)
		msg = PQerrorMessage(pg->conn);
	gboolean broken = PQstatus(pg->conn) == CONNECTION_BAD;
	if (broken)
		pg_mark_broken(pg);
	g_autofree char *m = g_strstrip(g_strdup(msg));
	g_autofree char *suffix = state ? g_strdup_printf(" (SQLSTATE %s)", state) : g_strdup("");
	g_set_error(error, STORE_ERROR, broken ? STORE_ERROR_BUSY : pg_store_error_code(state), "%s: %s: %s%s",
		    pg->redacted, context, m, suffix);
	PQclear(res);
	return FALSE;
}

static PGresult *
pg_checked(PgStore *pg, PGresult *res, const char *context, GError **error)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	pg_fail(pg, res, context, error);
	return NULL;
}

/* ---- statements ---- */

static const char *
pg_prepared_name(PgStore *pg, const char *sql, const char *context, GError **error)
{
	const char *name = g_hash_table_lookup(pg->prepared, sql);
	if (name)
		return name;
	char *n = g_strdup_printf("bccdrop_%u", ++pg->next_statement);
	PGresult *res = pg_checked(pg, PQprepare(pg->conn, n, sql, 0, NULL), context, error);
	if (!res) {
		g_free(n);
		return NULL;
	}
	PQclear(res);
	g_hash_table_insert(pg->prepared, g_strdup(sql), n);
	return n;
}

static PGresult *
pg_run(PgStore *pg, const char *sql, const PgParams *params, int result_format, const char *context,
       GError **error)
{
	const char *name = pg_prepared_name(pg, sql, context, error);
	if (!name)
		return NULL;
	const PgParams none = { 0 };
	const PgParams *p = params ? params : &none;
	PGresult *res = PQexecPrepared(pg->conn, name, p->n, p->values, p->lengths, p->formats, result_format);
	return pg_checked(pg, res, context, error);
}

/* Session settings, again after every reconnection. synchronous_commit is
 * forced on: a commit is on disk (and, with synchronous standbys, on them)
 * before the milter answers the MTA. lock_timeout plays the part of
 * SQLite's busy timeout. */
static gboolean
pg_session_setup(PgStore *pg, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, pg->options.busy_timeout_ms);
	pg_params_text(&p, pg->options.readonly ? "on" : "off");
	PGresult *res = pg_run(pg,
			       "SELECT set_config('synchronous_commit', 'on', false), set_config('lock_timeout', $1, false), "
			       "set_config('default_transaction_read_only', $2, false)",
			       &p, 0, "configuring the session", error);
	gboolean ok = res != NULL;
	PQclear(res);
	return ok;
}

/* A broken connection is reset once per operation; while the server stays
 * away every operation fails as BUSY and tries again. */
static gboolean
pg_ensure_connected(PgStore *pg, GError **error)
{
	if (pg->txn_lost) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_BUSY,
			    "%s: the connection was lost inside a transaction; roll back and retry", pg->redacted);
		return FALSE;
	}
	if (!pg->must_reset && PQstatus(pg->conn) == CONNECTION_OK)
		return TRUE;
	PQreset(pg->conn);
	g_hash_table_remove_all(pg->prepared); /* they died with the old session */
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg->must_reset = TRUE;
		return pg_fail(pg, NULL, "reconnecting", error);
	}
	pg->must_reset = FALSE;
	if (!pg_session_setup(pg, error))
		return FALSE;
	g_message("%s: reconnected", pg->redacted);
	return TRUE;
}

PGresult *
pg_store_query(PgStore *pg, const char *sql, const PgParams *params, int result_format, const char *context,
	       GError **error)
{
	if (!pg_ensure_connected(pg, error))
		return NULL;
	return pg_run(pg, sql, params, result_format, context, error);
}

gboolean
pg_store_exec(PgStore *pg, const char *sql, const char *context, GError **error)
{
	if (!pg_ensure_connected(pg, error))
		return FALSE;
	PGresult *res = pg_checked(pg, PQexec(pg->conn, sql), context, error);
	gboolean ok = res != NULL;
	PQclear(res);
	return ok;
}

/* ---- batches ---- */

PgParams *
pg_batch_add(PgBatch *batch, const char *sql)
{
	if (!batch->jobs)
		batch->jobs = g_array_new(FALSE, TRUE, sizeof(PgJob));
	PgJob job = { .sql = sql };
	g_array_append_val(batch->jobs, job);
	return &g_array_index(batch->jobs, PgJob, batch->jobs->len - 1).params;
}

void
pg_batch_clear(PgBatch *batch)
{
	for (guint i = 0; batch->jobs && i < batch->jobs->len; i++)
		pg_params_clear(&g_array_index(batch->jobs, PgJob, i).params);
	if (batch->jobs)
		g_array_unref(batch->jobs);
	batch->jobs = NULL;
}

static gboolean
pg_batch_send(PgStore *pg, const PgBatch *batch, const char *context, GError **error)
{
	for (guint i = 0; i < batch->jobs->len; i++) {
		const PgJob *j = &g_array_index(batch->jobs, PgJob, i);
		const char *name = g_hash_table_lookup(pg->prepared, j->sql);
		const PgParams *p = &j->params;
		if (!PQsendQueryPrepared(pg->conn, name, p->n, p->values, p->lengths, p->formats, 0))
			return pg_fail(pg, NULL, context, error);
	}
	if (!PQpipelineSync(pg->conn))
		return pg_fail(pg, NULL, context, error);
	return TRUE;
}

/* Every job's result and the sync point; the first failure is ERROR. Jobs
 * after a failure come back PGRES_PIPELINE_ABORTED. RESULTS (may be NULL)
 * keeps each job's result, in order. */
static gboolean
pg_batch_receive(PgStore *pg, guint n_jobs, GPtrArray *results, const char *context, GError **error)
{
	gboolean ok = TRUE;
	for (guint i = 0; i < n_jobs; i++) {
		PGresult *res = PQgetResult(pg->conn);
		if (!res)
			return pg_fail(pg, NULL, context, error); /* the connection went away */
		ExecStatusType st = PQresultStatus(res);
		if (ok && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED)
			ok = pg_fail(pg, g_steal_pointer(&res), context, error);
		if (results && res)
			g_ptr_array_add(results, g_steal_pointer(&res));
		PQclear(res);
		PQclear(PQgetResult(pg->conn)); /* the NULL that ends each job */
	}
	PGresult *sync = PQgetResult(pg->conn);
	if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
		ok = ok ? pg_fail(pg, g_steal_pointer(&sync), context, error) : FALSE;
	PQclear(sync);
	return ok;
}

static gboolean
pg_batch_run(PgStore *pg, const PgBatch *batch, GPtrArray *results, const char *context, GError **error)
{
	if (!batch->jobs || !batch->jobs->len)
		return TRUE;
	if (!pg_ensure_connected(pg, error))
		return FALSE;
	/* Statements are prepared (once per connection) before the pipeline. */
	for (guint i = 0; i < batch->jobs->len; i++)
		if (!pg_prepared_name(pg, g_array_index(batch->jobs, PgJob, i).sql, context, error))
			return FALSE;
	if (!PQenterPipelineMode(pg->conn))
		return pg_fail(pg, NULL, context, error);
	gboolean ok = pg_batch_send(pg, batch, context, error) &&
		      pg_batch_receive(pg, batch->jobs->len, results, context, error);
	if (!PQexitPipelineMode(pg->conn) && ok)
		ok = pg_fail(pg, NULL, context, error);
	return ok;
}

gboolean
pg_store_run_batch(PgStore *pg, const PgBatch *batch, const char *context, GError **error)
{
	return pg_batch_run(pg, batch, NULL, context, error);
}

GPtrArray *
pg_store_run_batch_results(PgStore *pg, const PgBatch *batch, const char *context, GError **error)
{
	GPtrArray *results = g_ptr_array_new_with_free_func((GDestroyNotify)PQclear);
	if (pg_batch_run(pg, batch, results, context, error) && results->len == batch->jobs->len)
		return results;
	g_ptr_array_unref(results);
	return NULL;
}

gint64
pg_store_value_int(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

GArray *
pg_store_result_ids(PGresult *res)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (int i = 0; i < PQntuples(res); i++) {
		gint64 v = pg_store_value_int(res, i, 0);
		g_array_append_val(out, v);
	}
	PQclear(res);
	return out;
}

/* ---- open and close ---- */

/* Server notices (NOTICE, WARNING) would go to stderr: log them instead. */
static void
pg_notice(void *data, const char *message)
{
	PgStore *pg = data;
	g_autofree char *m = g_strstrip(g_strdup(message));
	g_debug("%s: %s", pg->redacted, m);
}

static gboolean
pg_connect(PgStore *pg, GError **error)
{
	/* Keywords before dbname are defaults the URI may override; the
	 * password after it wins. It never enters a string that is logged. */
	const char *keys[] = { "connect_timeout", "application_name", "client_encoding", "dbname", "password", NULL };
	const char *values[] = { "10", "bccdrop", "UTF8", pg->uri, pg->password, NULL };
	pg->conn = PQconnectdbParams(keys, values, 1);
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
		PQsetNoticeProcessor(pg->conn, pg_notice, pg);
		return TRUE;
	}
	g_autofree char *m = g_strstrip(g_strdup(pg->conn ? PQerrorMessage(pg->conn) : "out of memory"));
	g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "%s: cannot connect: %s", pg->redacted, m);
	return FALSE;
}

Store *
pg_store_open(const char *uri, const StoreOptions *options, GError **error)
{
	PgStore *pg = g_new0(PgStore, 1);
	pg->base.backend = &store_pg_backend;
	const char *password_file = options ? options->password_file : NULL;
	pg->uri = g_strdup(uri);
	pg->redacted = pg_store_redact_uri(uri);
	pg->options = options ? *options : STORE_OPTIONS_DEFAULT;
	pg->prepared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	Store *store = (Store *)pg;
	if (!pg_store_is_uri(uri)) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN,
			    "%s: not a PostgreSQL URI (postgresql://... or postgres://...)", pg->redacted);
		pg_store_close(store);
		return NULL;
	}
	if (!pg_check_uri(pg, error) || (password_file && !pg_read_password(pg, password_file, error)) ||
	    !pg_connect(pg, error) || !pg_session_setup(pg, error) || !pg_store_migrate(pg, error)) {
		pg_store_close(store);
		return NULL;
	}
	return store;
}

void
pg_store_close(Store *store)
{
	PgStore *pg = (PgStore *)store;
	if (!pg)
		return;
	if (pg->conn) {
		pg_store_rollback(store);
		PQfinish(pg->conn);
	}
	if (pg->password) {
		memset(pg->password, 0, strlen(pg->password));
		g_free(pg->password);
	}
	if (pg->prepared)
		g_hash_table_destroy(pg->prepared);
	g_free(pg->uri);
	g_free(pg->redacted);
	g_free(pg);
}

const char *
pg_store_path(Store *store)
{
	return pg_store_cast(store)->redacted;
}

/* ---- results ---- */

char *
pg_store_value_dup(const PGresult *res, int row, int col, const char *if_null)
{
	if (PQgetisnull(res, row, col))
		return g_strdup(if_null);
	return g_strdup(PQgetvalue(res, row, col));
}

gboolean
pg_store_do(PgStore *pg, const char *sql, const PgParams *params, gint64 *n_rows, const char *context,
	    GError **error)
{
	PGresult *res = pg_store_query(pg, sql, params, 0, context, error);
	if (!res)
		return FALSE;
	if (n_rows)
		*n_rows = g_ascii_strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return TRUE;
}

GPtrArray *
pg_store_collect(PgStore *pg, const char *sql, const PgParams *params, PgRowFunc row, GDestroyNotify free_func,
		 const char *context, GError **error)
{
	PGresult *res = pg_store_query(pg, sql, params, 0, context, error);
	if (!res)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(free_func);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(out, row(res, i));
	PQclear(res);
	return out;
}

gpointer
pg_store_row_text(const PGresult *res, int row)
{
	return pg_store_value_dup(res, row, 0, NULL);
}

GArray *
pg_store_collect_ids(PgStore *pg, const char *sql, const PgParams *params, const char *context, GError **error)
{
	PGresult *res = pg_store_query(pg, sql, params, 0, context, error);
	if (!res)
		return NULL;
	GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (int i = 0; i < PQntuples(res); i++) {
		gint64 v = pg_store_value_int(res, i, 0);
		g_array_append_val(out, v);
	}
	PQclear(res);
	return out;
}

/* Run FUNC inside a transaction unless the caller already holds one. */
gboolean
pg_store_in_txn(Store *store, PgTxnFunc func, gpointer data, GError **error)
{
	if (pg_store_in_transaction(store))
		return func(store, data, error);
	if (!pg_store_begin(store, error))
		return FALSE;
	if (!func(store, data, error)) {
		pg_store_rollback(store);
		return FALSE;
	}
	return pg_store_commit(store, error);
}

/* A text[] parameter: the array literal {"a","b"}, each element quoted and
 * its quotes and backslashes escaped. */
void
pg_params_text_array(PgParams *p, GPtrArray *items)
{
	GString *s = g_string_new("{");
	for (guint i = 0; items && i < items->len; i++) {
		g_string_append(s, i ? ",\"" : "\"");
		for (const char *c = items->pdata[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				g_string_append_c(s, '\\');
			g_string_append_c(s, *c);
		}
		g_string_append_c(s, '"');
	}
	g_string_append_c(s, '}');
	char *text = g_string_free(s, FALSE);
	pg_params_add(p, text, 0, 0, text);
}
