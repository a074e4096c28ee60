/* One stored message as `bccdrop show` prints it: its parsed fields,
 * participants, references, attachments, sources and links. */
#include "store/sqlite/sqlite.h"

#include "store/sqlite/sqlite.h"

#define SHOW_SQL_MESSAGE                                                                        \
	"SELECT message_id, message_id_synthetic, date, date_synthetic, subject, in_reply_to, " \
	"body_type, raw_size, warnings, fingerprint, body_text FROM messages WHERE id = ?"
#define SHOW_SQL_PARTICIPANTS                                                                               \
	"SELECT role, name, address FROM participants WHERE message = ? ORDER BY CASE role WHEN 'from' THEN " \
	"0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 WHEN 'reply_to' THEN 3 ELSE 4 END, position"
#define SHOW_SQL_REFERENCES "SELECT ref FROM message_references WHERE message = ? ORDER BY position"
#define SHOW_SQL_ATTACHMENTS \
	"SELECT filename, content_type, size, sha256 FROM attachments WHERE message = ? ORDER BY position"
#define SHOW_SQL_SOURCES                                                                                     \
	"SELECT kind, received_at, owner_user_id, coalesce(file_name, folder, uidl, dropbox) FROM sources " \
	"WHERE message = ? ORDER BY id"
#define SHOW_SQL_LINKS \
	"SELECT module, record_id, rule, visibility FROM links WHERE message = ? ORDER BY module DESC, record_id"

/* A StoreRowFunc: every column of the row as a NULL-padded string array. */
static gpointer
show_row(sqlite3_stmt *st)
{
	int n = sqlite3_column_count(st);
	char **row = g_new0(char *, n + 1);
	for (int c = 0; c < n; c++)
		row[c] = sq_col_dup(st, c, NULL);
	return row;
}

static GPtrArray *
show_rows(Store *store, const char *sql, gint64 message, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, sql, error);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, message);
	return sq_collect(store, st, show_row, (GDestroyNotify)g_strfreev, error, "reading a message");
}

static gboolean
show_message(Store *store, gint64 message, StoreMessageView *v, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, SHOW_SQL_MESSAGE, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v->message_id = sq_col_dup(st, 0, NULL);
		v->message_id_synthetic = sqlite3_column_int(st, 1);
		v->date = sq_col_dup(st, 2, NULL);
		v->date_synthetic = sqlite3_column_int(st, 3);
		v->subject = sq_col_dup(st, 4, NULL);
		v->in_reply_to = sq_col_dup(st, 5, NULL);
		v->body_type = sq_col_dup(st, 6, NULL);
		v->raw_size = sqlite3_column_int64(st, 7);
		v->warnings = sq_col_dup(st, 8, NULL);
		v->fingerprint = sq_col_dup(st, 9, NULL);
		v->body_text = sq_col_dup(st, 10, NULL);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "message %" G_GINT64_FORMAT " vanished", message);
	else if (rc != SQLITE_ROW)
		sq_fail(store, error, "reading a message");
	return rc == SQLITE_ROW;
}

StoreMessageView *
sq_message_view(Store *store, gint64 message, GError **error)
{
	static const char *const parts[STORE_VIEW_N] = {
		[STORE_VIEW_PARTICIPANTS] = SHOW_SQL_PARTICIPANTS, [STORE_VIEW_REFERENCES] = SHOW_SQL_REFERENCES,
		[STORE_VIEW_ATTACHMENTS] = SHOW_SQL_ATTACHMENTS,   [STORE_VIEW_SOURCES] = SHOW_SQL_SOURCES,
		[STORE_VIEW_LINKS] = SHOW_SQL_LINKS,
	};
	g_autoptr(StoreMessageView) v = g_new0(StoreMessageView, 1);
	if (!show_message(store, message, v, error))
		return NULL;
	for (guint i = 0; i < STORE_VIEW_N; i++) {
		v->rows[i] = show_rows(store, parts[i], message, error);
		if (!v->rows[i])
			return NULL;
	}
	return g_steal_pointer(&v);
}
