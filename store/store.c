/* Connection, migrations, transactions and the statement cache. */
#include "store/store.h"

#include <errno.h>
#include <string.h>

#include "store/schema.h"

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

G_DEFINE_QUARK(bccdrop-store-error-quark, store_error)

struct Store {
	sqlite3 *db;
	char *path;
	GHashTable *stmts; /* SQL text -> sqlite3_stmt* */
	gboolean in_txn;
};

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
store_fail(Store *store, GError **error, const char *context)
{
	int rc = sqlite3_extended_errcode(store->db);
	g_set_error(error, STORE_ERROR, store_error_code(rc), "%s: %s: %s", store->path, context,
		    sqlite3_errmsg(store->db));
	return FALSE;
}

sqlite3 *
store_handle(Store *store)
{
	return store->db;
}

const char *
store_path(Store *store)
{
	return store->path;
}

gboolean
store_exec(Store *store, const char *sql, GError **error)
{
	char *msg = NULL;
	int rc = sqlite3_exec(store->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		g_set_error(error, STORE_ERROR, store_error_code(rc), "%s: %s", store->path,
			    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return FALSE;
	}
	return TRUE;
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

sqlite3_stmt *
store_prepare(Store *store, const char *sql, GError **error)
{
	sqlite3_stmt *st = g_hash_table_lookup(store->stmts, sql);
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		store_fail(store, error, "preparing a statement");
		return NULL;
	}
	g_hash_table_insert(store->stmts, g_strdup(sql), st);
	return st;
}

static gint64
store_pragma_int(Store *store, const char *pragma)
{
	g_autofree char *sql = g_strdup_printf("PRAGMA %s", pragma);
	sqlite3_stmt *st = NULL;
	gint64 v = -1;
	if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
store_schema_version(Store *store)
{
	return (int)store_pragma_int(store, "user_version");
}

gboolean
store_begin(Store *store, GError **error)
{
	g_return_val_if_fail(!store->in_txn, FALSE);
	if (!store_exec(store, "BEGIN IMMEDIATE", error))
		return FALSE;
	store->in_txn = TRUE;
	return TRUE;
}

gboolean
store_commit(Store *store, GError **error)
{
	g_return_val_if_fail(store->in_txn, FALSE);
	if (!store_exec(store, "COMMIT", error)) {
		store_rollback(store);
		return FALSE;
	}
	store->in_txn = FALSE;
	return TRUE;
}

void
store_rollback(Store *store)
{
	if (!store->in_txn)
		return;
	/* Reset every cached statement first: an active one keeps the
	 * transaction's read lock and would make ROLLBACK fail. */
	GHashTableIter it;
	gpointer st;
	g_hash_table_iter_init(&it, store->stmts);
	while (g_hash_table_iter_next(&it, NULL, &st))
		sqlite3_reset(st);
	sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	store->in_txn = FALSE;
}

gboolean
store_in_transaction(Store *store)
{
	return store->in_txn;
}

static gboolean
store_is_empty(Store *store)
{
	return store_pragma_int(store, "schema_version") == 0;
}

static gboolean
store_migrate(Store *store, GError **error)
{
	int version = store_schema_version(store);
	gint64 app = store_pragma_int(store, "application_id");
	if (version > STORE_SCHEMA_VERSION) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA,
			    "%s: schema version %d is newer than this bccdrop supports (%d); "
			    "upgrade bccdrop, the database was left untouched",
			    store->path, version, STORE_SCHEMA_VERSION);
		return FALSE;
	}
	if (app != STORE_APPLICATION_ID && !(app == 0 && store_is_empty(store))) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA,
			    "%s: not a bccdrop database (application_id %" G_GINT64_FORMAT ")", store->path, app);
		return FALSE;
	}
	if (version == STORE_SCHEMA_VERSION)
		return TRUE;
	if (!store_begin(store, error))
		return FALSE;
	for (int v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		g_autoptr(GError) e = NULL;
		if (!store_exec(store, store_schema_migration(v), &e)) {
			store_rollback(store);
			g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA, "migration to schema %d failed: %s", v,
				    e->message);
			return FALSE;
		}
	}
	g_autofree char *pragmas = g_strdup_printf("PRAGMA application_id=%d; PRAGMA user_version=%d;",
						   STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
	if (!store_exec(store, pragmas, error)) {
		store_rollback(store);
		return FALSE;
	}
	if (version > 0)
		g_message("%s: migrated schema %d -> %d", store->path, version, STORE_SCHEMA_VERSION);
	return store_commit(store, error);
}

static gboolean
store_configure(Store *store, const StoreOptions *o, GError **error)
{
	sqlite3_busy_timeout(store->db, o->busy_timeout_ms);
	sqlite3_extended_result_codes(store->db, 1);
	if (!store_exec(store, "PRAGMA foreign_keys=ON", error))
		return FALSE;
	if (o->readonly)
		return TRUE;
	/* Before journal_mode: switching to WAL writes the first page. */
	if (store_is_empty(store) && !store_exec(store, "PRAGMA page_size=" G_STRINGIFY(STORE_PAGE_SIZE), error))
		return FALSE;
	/* WAL lets report readers run alongside the milter's writes. A file we
	 * cannot write stays in its mode; the write itself then fails cleanly. */
	sqlite3_exec(store->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	return store_exec(store, o->synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			  error);
}

Store *
store_open(const char *path, const StoreOptions *options, GError **error)
{
	StoreOptions o = options ? *options : STORE_OPTIONS_DEFAULT;
	g_autoptr(Store) store = g_new0(Store, 1);
	store->path = g_strdup(path);
	store->stmts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, store_stmt_free);
	int flags = (o.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
		    SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &store->db, flags, NULL);
	if (rc != SQLITE_OK) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "%s: cannot open database: %s", path,
			    store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
		return NULL;
	}
	if (!store_configure(store, &o, error))
		return NULL;
	if (o.readonly) {
		int v = store_schema_version(store);
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
store_close(Store *store)
{
	if (!store)
		return;
	store_rollback(store);
	if (store->stmts)
		g_hash_table_destroy(store->stmts);
	if (store->db)
		sqlite3_close(store->db);
	g_free(store->path);
	g_free(store);
}
