/* Internal to store/: the PostgreSQL backend (libpq).
 *
 * Every pg_store_X has exactly the parameters and return type of store_X in
 * store/store.h (declared from store/ops.h below), so the backend table
 * (store/pg/backend.c) points at them directly. A Store handed to them must
 * come from pg_store_open(). */
#ifndef BCCDROP_STORE_PG_H
#define BCCDROP_STORE_PG_H

#include <libpq-fe.h>

#include "store/backend.h"

#define STORE_BACKEND_PREFIX(name) pg_store_##name
STORE_OPS(STORE_BACKEND_PROTO, STORE_BACKEND_VPROTO)

typedef struct {
	Store base; /* first: a Store * is a PgStore * */
	PGconn *conn;
	char *uri;	      /* as given (may hold no password: refused at open) */
	char *redacted;	      /* what messages and logs show */
	char *password;	      /* from [store] password_file, or NULL */
	StoreOptions options;
	GHashTable *prepared; /* SQL text -> statement name */
	guint next_statement;
	gboolean in_txn;
	gboolean txn_lost;    /* the connection broke inside the transaction */
	gboolean must_reset;  /* the connection broke: PQreset before the next use */
} PgStore;


/* Parameters of one statement: text, integers (sent as text) or binary
 * BYTEA. At most PG_PARAMS_MAX. */
#define PG_PARAMS_MAX 16
typedef struct {
	int n;
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX];
	int formats[PG_PARAMS_MAX];
	char *owned[PG_PARAMS_MAX];
} PgParams;
void pg_params_text(PgParams *p, const char *s); /* NULL: SQL NULL */
void pg_params_int(PgParams *p, gint64 v);
void pg_params_bytes(PgParams *p, const void *data, gsize len);
void pg_params_text_array(PgParams *p, GPtrArray *items); /* strings, as one text[] */
void pg_params_clear(PgParams *p);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PgParams, pg_params_clear)

/* Statements sent together in one round trip (libpq pipeline mode), for
 * writes whose results are not needed. */
typedef struct {
	const char *sql;
	PgParams params;
} PgJob;
typedef struct {
	GArray *jobs; /* PgJob */
} PgBatch;
/* A new job running SQL; fill the returned parameters before the next add. */
PgParams *pg_batch_add(PgBatch *batch, const char *sql);
void pg_batch_clear(PgBatch *batch);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PgBatch, pg_batch_clear)

PgStore *pg_store_cast(Store *store);

/* ---- store/pg/conn.c ---- */

/* Open URI (postgresql:// or postgres://) and migrate (store/pg/schema.c).
 * OPTIONS->password_file ([store] password_file) may be NULL: libpq then
 * reads ~/.pgpass or the URI's passfile=. A password inside URI is refused. */
Store *pg_store_open(const char *uri, const StoreOptions *options, GError **error);
/* Whether TEXT names a PostgreSQL database rather than a SQLite file. */
gboolean pg_store_is_uri(const char *text);
/* URI (or keyword=value conninfo) with any password removed. */
char *pg_store_redact_uri(const char *uri);

/* Run SQL (a prepared statement, cached by its text) with PARAMS (may be
 * NULL); RESULT_FORMAT 1 asks for binary columns. NULL and ERROR set on
 * failure, CONTEXT saying what was being done. */
PGresult *pg_store_query(PgStore *pg, const char *sql, const PgParams *params, int result_format,
			 const char *context, GError **error);
/* Run every job of BATCH in one round trip, in order; the first failure
 * stops the rest (the transaction is then aborted, as after any error). */
gboolean pg_store_run_batch(PgStore *pg, const PgBatch *batch, const char *context, GError **error);
/* The same, keeping each job's result (PGresult *, text format), in order;
 * NULL and ERROR set on failure. */
GPtrArray *pg_store_run_batch_results(PgStore *pg, const PgBatch *batch, const char *context, GError **error);
/* Run SQL without parameters or results: schema and transaction control. */
gboolean pg_store_exec(PgStore *pg, const char *sql, const char *context, GError **error);
/* Column COL of ROW as an integer (0 when NULL), from a text-format result. */
gint64 pg_store_value_int(const PGresult *res, int row, int col);
/* Column 0 of every row as integers (ids), and RES cleared. */
GArray *pg_store_result_ids(PGresult *res);
/* Column COL of ROW as a new string, or a copy of IF_NULL (may be NULL)
 * when it is SQL NULL. */
char *pg_store_value_dup(const PGresult *res, int row, int col, const char *if_null);
/* Run SQL whose rows are not needed; *N_ROWS (may be NULL) is how many it
 * changed (PQcmdTuples: SQLite's changes()). */
gboolean pg_store_do(PgStore *pg, const char *sql, const PgParams *params, gint64 *n_rows, const char *context,
		     GError **error);
/* Builds one caller-owned record from ROW of a text-format result. */
typedef gpointer (*PgRowFunc)(const PGresult *res, int row);
/* A PgRowFunc: column 0 as a new string (NULL for SQL NULL). */
gpointer pg_store_row_text(const PGresult *res, int row);
/* ROW() of every row of SQL into a new array freeing with FREE_FUNC. */
GPtrArray *pg_store_collect(PgStore *pg, const char *sql, const PgParams *params, PgRowFunc row,
			    GDestroyNotify free_func, const char *context, GError **error);
/* The same for a single-column integer result (ids). */
GArray *pg_store_collect_ids(PgStore *pg, const char *sql, const PgParams *params, const char *context,
			     GError **error);
/* Run FUNC inside a transaction unless the caller already holds one. */
typedef gboolean (*PgTxnFunc)(Store *store, gpointer data, GError **error);
gboolean pg_store_in_txn(Store *store, PgTxnFunc func, gpointer data, GError **error);
/* STORE_ERROR code for an SQLSTATE (NULL: none, e.g. the connection broke). */
StoreError pg_store_error_code(const char *sqlstate);

/* ---- store/pg/schema.c ---- */

gboolean pg_store_migrate(PgStore *pg, GError **error);

#endif
