/* Internal to store/sqlite/ (and its white-box tests): the SQLite backend's
 * connection, the statement helpers its files share, and the SQL of a
 * decision, named so that tests/unit/test-store.c can check with EXPLAIN
 * QUERY PLAN that each statement is index-backed. */
#ifndef BCCDROP_STORE_SQLITE_H
#define BCCDROP_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/backend.h"

#define STORE_BACKEND_PREFIX(name) sq_##name
STORE_OPS(STORE_BACKEND_PROTO, STORE_BACKEND_VPROTO)

Store *sq_open(const char *path, const StoreOptions *options, GError **error);

/* Prepared-statement cache: the statement is reset and its bindings
 * cleared; do not finalize it. */
sqlite3_stmt *sq_prepare(Store *store, const char *sql, GError **error);
/* Bind S as text, or NULL when S is NULL. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Run SQL without results (no parameters: schema-free statements only). */
gboolean sq_exec(Store *store, const char *sql, GError **error);
/* Turn the connection's last error into a GError with CONTEXT prepended. */
gboolean sq_fail(Store *store, GError **error, const char *context);
sqlite3 *sq_handle(Store *store);

#define STORE_SQL_SOURCES \
	"SELECT kind, owner_user_id, dropbox, deal_id FROM sources WHERE message = ? ORDER BY id"
#define STORE_SQL_USER_ADDRESS \
	"SELECT a.user_id, a.kind FROM user_addresses a JOIN users u ON u.id = a.user_id " \
	"WHERE a.address_key = ?1 AND u.retired_at IS NULL " \
	"UNION ALL SELECT id, 'dropbox' FROM users WHERE dropbox = ?1 AND retired_at IS NULL LIMIT 1"
#define STORE_SQL_CONTACT_DEALS \
	"SELECT d.id, d.name, d.stage, d.probability, s.probability, d.modified_at " \
	"FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id " \
	"LEFT JOIN stages s ON s.name = d.stage WHERE dc.contact_id = ? AND d.retired_at IS NULL " \
	"ORDER BY d.modified_at DESC, d.id ASC"
#define STORE_SQL_CONTACTS_BY_ADDRESS \
	"SELECT c.id, c.kind, c.name FROM contact_addresses a " \
	"JOIN contacts c ON c.id = a.contact_id WHERE a.address_key = ? AND c.retired_at IS NULL ORDER BY c.id"
#define STORE_SQL_PARTICIPANTS \
	"SELECT role, address, address_key, position FROM participants WHERE message = ? " \
	"AND role IN ('from','to','cc','envelope_rcpt') ORDER BY " \
	"CASE role WHEN 'from' THEN 0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 ELSE 3 END, " \
	"position"
#define STORE_SQL_THREAD_DEALS \
	"SELECT DISTINCT l.record_id FROM messages m CROSS JOIN links l ON l.message = m.id " \
	"WHERE m.message_id = ? AND m.id <> ? AND l.module = 'deal' " \
	"ORDER BY l.record_id"
#define STORE_SQL_IN_REPLY_TO \
	"SELECT in_reply_to FROM messages WHERE id = ?"
#define STORE_SQL_REFERENCES \
	"SELECT ref FROM message_references WHERE message = ? ORDER BY position DESC"
#define STORE_SQL_EXCLUDED_DOMAINS \
	"SELECT domain FROM user_excluded_domains WHERE user_id = ? ORDER BY domain"
#define STORE_SQL_USER_SHARING \
	"SELECT sharing FROM users WHERE id = ?"
#define STORE_SQL_LINKS \
	"SELECT module, record_id, rule, visibility, contact_id, matched_address FROM links " \
	"WHERE message = ? ORDER BY module, record_id"
#define STORE_SQL_DECISION \
	"SELECT status, trace FROM decisions WHERE message = ?"
#define STORE_SQL_DECISION_LIST \
	{ STORE_SQL_CONTACTS_BY_ADDRESS, STORE_SQL_CONTACT_DEALS, STORE_SQL_EXCLUDED_DOMAINS, STORE_SQL_IN_REPLY_TO, \
	  STORE_SQL_PARTICIPANTS, STORE_SQL_REFERENCES, STORE_SQL_SOURCES, STORE_SQL_THREAD_DEALS, \
	  STORE_SQL_USER_ADDRESS, STORE_SQL_USER_SHARING, STORE_SQL_LINKS, STORE_SQL_DECISION, NULL }
/* Backfill: a search of participants_key, joined to decisions by rowid. */
#define STORE_SQL_UNMATCHED_FOR_KEY \
	"SELECT p.message FROM participants p JOIN decisions d ON d.message = p.message " \
	"WHERE p.address_key = ? AND d.status = 'unmatched'"

/* Step ST once (its rows, if any, are not needed) and reset it; a failure
 * becomes a GError naming CONTEXT. */
gboolean sq_step_done(Store *store, sqlite3_stmt *st, GError **error, const char *context);

/* Column I of the current row as a new string, or a copy of IF_NULL (which
 * may be NULL) when the column is SQL NULL. */
char *sq_col_dup(sqlite3_stmt *st, int i, const char *if_null);

/* Finish a SELECT loop whose last step returned RC and reset ST: SQLITE_DONE
 * is success. */
gboolean sq_rows_end(Store *store, sqlite3_stmt *st, int rc, GError **error, const char *context);

/* Builds one caller-owned record from the current row. */
typedef gpointer (*StoreRowFunc)(sqlite3_stmt *st);

/* A StoreRowFunc: column 0 as a new string (NULL for SQL NULL). */
gpointer sq_row_text(sqlite3_stmt *st);

/* Step ST to its end, ROW(st) of each row into a new array freeing with
 * FREE_FUNC; ST is reset. NULL on error. */
GPtrArray *sq_collect(Store *store, sqlite3_stmt *st, StoreRowFunc row, GDestroyNotify free_func,
			 GError **error, const char *context);
/* The same for a single-column integer result (rowids). */
GArray *sq_collect_ids(Store *store, sqlite3_stmt *st, GError **error, const char *context);
/* At most one row: *OUT is ROW(st), or NULL when there is none. */
gboolean sq_fetch_one(Store *store, sqlite3_stmt *st, StoreRowFunc row, gpointer *out, GError **error,
			 const char *context);

/* ---- full-text search (store/sqlite/search.c) ---- */
/* MESSAGE was stored in the open transaction: index it at commit. */
void sq_search_pending(Store *store, gint64 message);
/* Index the pending messages now (store_commit does, before COMMIT). */
gboolean sq_search_flush(Store *store, GError **error);
/* Index the stored messages FIRST..LAST (rowids) in one statement. */
gboolean sq_search_index(Store *store, gint64 first, gint64 last, GError **error);
/* Bench only (bench/ingest): this connection stops indexing new messages,
 * to measure what the index costs. No configuration reaches it. */
void sq_search_disable(Store *store);

#endif
