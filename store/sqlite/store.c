/* Connection, migrations, transactions and the statement cache. */
#include "store/sqlite/sqlite.h"

#include <errno.h>
#include <string.h>

#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite.h"

/* 'BCDR': lets us tell our database from any other SQLite file. */
#define STORE_APPLICATION_ID 0x42434452

/* Page size of a new database. Raw messages (tens of KB each) are most of
 * what is written: larger pages mean fewer overflow pages, WAL frames and
 * checkpoint copies per message. 8 KiB, not more, because a one-message
 * commit (the milter's) writes a whole page per B-tree it touches: in
 * bench-ingest, 16 KiB was faster at 200 messages per commit but slower at
 * one, 8 KiB at least as fast as 4 KiB at both. An existing database keeps
 * its size: in WAL mode SQLite cannot change it. */
#define STORE_PAGE_SIZE 8192

typedef struct {
	Store base;
	sqlite3 *db;
	char *path;
	GHashTable *stmts; /* SQL text -> sqlite3_stmt* */
	gboolean in_txn;
	/* Messages stored in this transaction, to index at commit
	 * (sq_search_index); 0: none. */
	gint64 search_first, search_last;
	gboolean search_disabled; /* bench only: see sq_search_disable */
} SqStore;
#define SQ(store) ((SqStore *)(store))

static void
store_stmt_free(gpointer st)
{
	sqlite3_finalize(st);
}

static StoreError
store_error_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_ERROR_BUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return STORE_ERROR_READONLY;
	case SQLITE_FULL:
		return STORE_ERROR_FULL;
	case SQLITE_CONSTRAINT:
		return STORE_ERROR_INVALID;
	case SQLITE_CANTOPEN:
		return STORE_ERROR_OPEN;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return STORE_ERROR_SCHEMA;
	default:
		return STORE_ERROR_FAILED;
	}
}

gboolean
sq_fail(Store *store, GError **error, const char *context)
{
	int rc = sqlite3_extended_errcode(SQ(store)->db);
	g_set_error(error, STORE_ERROR, store_error_code(rc), "%s: %s: %s", SQ(store)->path, context,
		    sqlite3_errmsg(SQ(store)->db));
	return FALSE;
}

sqlite3 *
sq_handle(Store *store)
{
	return SQ(store)->db;
}

const char *
sq_path(Store *store)
{
	return SQ(store)->path;
}

gboolean
sq_exec(Store *store, const char *sql, GError **error)
{
	char *msg = NULL;
	int rc = sqlite3_exec(SQ(store)->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		g_set_error(error, STORE_ERROR, store_error_code(rc), "%s: %s", SQ(store)->path,
			    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return FALSE;
	}
	return TRUE;
}

void
sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

gboolean
sq_step_done(Store *store, sqlite3_stmt *st, GError **error, const char *context)
{
	int rc = sqlite3_step(st);
	gboolean ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
	if (!ok)
		sq_fail(store, error, context);
	sqlite3_reset(st);
	return ok;
}

gboolean
sq_rows_end(Store *store, sqlite3_stmt *st, int rc, GError **error, const char *context)
{
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(store, error, context);
	return TRUE;
}

char *
sq_col_dup(sqlite3_stmt *st, int i, const char *if_null)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return g_strdup(t ? t : if_null);
}

gpointer
sq_row_text(sqlite3_stmt *st)
{
	return sq_col_dup(st, 0, NULL);
}

GPtrArray *
sq_collect(Store *store, sqlite3_stmt *st, StoreRowFunc row, GDestroyNotify free_func, GError **error,
	      const char *context)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(free_func);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(out, row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		g_ptr_array_unref(out);
		sq_fail(store, error, context);
		return NULL;
	}
	return out;
}

GArray *
sq_collect_ids(Store *store, sqlite3_stmt *st, GError **error, const char *context)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 v = sqlite3_column_int64(st, 0);
		g_array_append_val(out, v);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		g_array_unref(out);
		sq_fail(store, error, context);
		return NULL;
	}
	return out;
}

gboolean
sq_fetch_one(Store *store, sqlite3_stmt *st, StoreRowFunc row, gpointer *out, GError **error,
		const char *context)
{
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? row(st) : NULL;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(store, error, context);
	return TRUE;
}

sqlite3_stmt *
sq_prepare(Store *store, const char *sql, GError **error)
{
	sqlite3_stmt *st = g_hash_table_lookup(SQ(store)->stmts, sql);
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(SQ(store)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		sq_fail(store, error, "preparing a statement");
		return NULL;
	}
	g_hash_table_insert(SQ(store)->stmts, g_strdup(sql), st);
	return st;
}

static gint64
sq_pragma_int(Store *store, const char *pragma)
{
	g_autofree char *sql = g_strdup_printf("PRAGMA %s", pragma);
	sqlite3_stmt *st = NULL;
	gint64 v = -1;
	if (sqlite3_prepare_v2(SQ(store)->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
sq_schema_version(Store *store)
{
	return (int)sq_pragma_int(store, "user_version");
}

gboolean
sq_begin(Store *store, GError **error)
{
	g_return_val_if_fail(!SQ(store)->in_txn, FALSE);
	if (!sq_exec(store, "BEGIN IMMEDIATE", error))
		return FALSE;
	SQ(store)->in_txn = TRUE;
	return TRUE;
}

gboolean
sq_commit(Store *store, GError **error)
{
	g_return_val_if_fail(SQ(store)->in_txn, FALSE);
	if (!sq_search_flush(store, error) || !sq_exec(store, "COMMIT", error)) {
		sq_rollback(store);
		return FALSE;
	}
	SQ(store)->in_txn = FALSE;
	return TRUE;
}

void
sq_rollback(Store *store)
{
	if (!SQ(store)->in_txn)
		return;
	/* Reset every cached statement first: an active one keeps the
	 * transaction's read lock and would make ROLLBACK fail. */
	GHashTableIter it;
	gpointer st;
	g_hash_table_iter_init(&it, SQ(store)->stmts);
	while (g_hash_table_iter_next(&it, NULL, &st))
		sqlite3_reset(st);
	sqlite3_exec(SQ(store)->db, "ROLLBACK", NULL, NULL, NULL);
	SQ(store)->in_txn = FALSE;
	SQ(store)->search_first = SQ(store)->search_last = 0;
}

gboolean
sq_in_transaction(Store *store)
{
	return SQ(store)->in_txn;
}

void
sq_search_pending(Store *store, gint64 message)
{
	SqStore *s = SQ(store);
	if (s->search_disabled)
		return;
	if (!s->search_first || message < s->search_first)
		s->search_first = message;
	s->search_last = MAX(s->search_last, message);
}

gboolean
sq_search_flush(Store *store, GError **error)
{
	SqStore *s = SQ(store);
	if (!s->search_first)
		return TRUE;
	if (!sq_search_index(store, s->search_first, s->search_last, error))
		return FALSE;
	s->search_first = s->search_last = 0;
	return TRUE;
}

void
sq_search_disable(Store *store)
{
	SQ(store)->search_disabled = TRUE;
}

gboolean
sq_savepoint(Store *store, GError **error)
{
	g_return_val_if_fail(SQ(store)->in_txn, FALSE);
	return sq_exec(store, "SAVEPOINT capture_job", error);
}

gboolean
sq_savepoint_release(Store *store, GError **error)
{
	return sq_exec(store, "RELEASE capture_job", error);
}

gboolean
sq_savepoint_rollback(Store *store, GError **error)
{
	return sq_exec(store, "ROLLBACK TO capture_job", error) && sq_exec(store, "RELEASE capture_job", error);
}

static gboolean
store_is_empty(Store *store)
{
	return sq_pragma_int(store, "schema_version") == 0;
}

static gboolean
store_migrate(Store *store, GError **error)
{
	int version = sq_schema_version(store);
	gint64 app = sq_pragma_int(store, "application_id");
	if (version > STORE_SCHEMA_VERSION) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA,
			    "%s: schema version %d is newer than this bccdrop supports (%d); "
			    "upgrade bccdrop, the database was left untouched",
			    SQ(store)->path, version, STORE_SCHEMA_VERSION);
		return FALSE;
	}
	if (app != STORE_APPLICATION_ID && !(app == 0 && store_is_empty(store))) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA,
			    "%s: not a bccdrop database (application_id %" G_GINT64_FORMAT ")", SQ(store)->path, app);
		return FALSE;
	}
	if (version == STORE_SCHEMA_VERSION)
		return TRUE;
	if (!sq_begin(store, error))
		return FALSE;
	for (int v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		g_autoptr(GError) e = NULL;
		if (!sq_exec(store, sq_schema_migration(v), &e)) {
			sq_rollback(store);
			g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA, "migration to schema %d failed: %s", v,
				    e->message);
			return FALSE;
		}
	}
	g_autofree char *pragmas = g_strdup_printf("PRAGMA application_id=%d; PRAGMA user_version=%d;",
						   STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
	if (!sq_exec(store, pragmas, error)) {
		sq_rollback(store);
		return FALSE;
	}
	if (version > 0)
		g_message("%s: migrated schema %d -> %d", SQ(store)->path, version, STORE_SCHEMA_VERSION);
	return sq_commit(store, error);
}

static gboolean
store_configure(Store *store, const StoreOptions *o, GError **error)
{
	sqlite3_busy_timeout(SQ(store)->db, o->busy_timeout_ms);
	sqlite3_extended_result_codes(SQ(store)->db, 1);
	if (!sq_exec(store, "PRAGMA foreign_keys=ON", error))
		return FALSE;
	if (o->readonly)
		return TRUE;
	/* Before journal_mode: switching to WAL writes the first page. */
	if (store_is_empty(store) && !sq_exec(store, "PRAGMA page_size=" G_STRINGIFY(STORE_PAGE_SIZE), error))
		return FALSE;
	/* Savepoints (group commit) need a sub-journal; on disk that is a
	 * temporary file created and unlinked for nearly every batch. */
	if (!sq_exec(store, "PRAGMA temp_store = MEMORY", error))
		return FALSE;
	/* WAL lets report readers run alongside the milter's writes. A file we
	 * cannot write stays in its mode; the write itself then fails cleanly. */
	sqlite3_exec(SQ(store)->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	return sq_exec(store, o->synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			  error);
}

Store *
sq_open(const char *path, const StoreOptions *options, GError **error)
{
	StoreOptions o = *options;
	SqStore *sq = g_new0(SqStore, 1);
	sq->base.backend = &store_sqlite_backend;
	g_autoptr(Store) store = &sq->base;
	SQ(store)->path = g_strdup(path);
	SQ(store)->stmts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, store_stmt_free);
	int flags = (o.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
		    SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &SQ(store)->db, flags, NULL);
	if (rc != SQLITE_OK) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "%s: cannot open database: %s", path,
			    SQ(store)->db ? sqlite3_errmsg(SQ(store)->db) : sqlite3_errstr(rc));
		return NULL;
	}
	if (!store_configure(store, &o, error))
		return NULL;
	if (o.readonly) {
		int v = sq_schema_version(store);
		if (v != STORE_SCHEMA_VERSION) {
			g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA,
				    "%s: schema version %d, this bccdrop needs %d (open it read-write once to migrate)",
				    path, v, STORE_SCHEMA_VERSION);
			return NULL;
		}
		return g_steal_pointer(&store);
	}
	if (!store_migrate(store, error))
		return NULL;
	return g_steal_pointer(&store);
}

void
sq_close(Store *store)
{
	if (!store)
		return;
	sq_rollback(store);
	if (SQ(store)->stmts)
		g_hash_table_destroy(SQ(store)->stmts);
	if (SQ(store)->db)
		sqlite3_close(SQ(store)->db);
	g_free(SQ(store)->path);
	g_free(SQ(store));
}
