/* One stored message as `bccdrop show` prints it, on PostgreSQL
 * (store/sqlite/show.c). Text sorts byte-wise (COLLATE "C"), as in SQLite,
 * whatever the database's collation. */
#include "store/pg/pg.h"

#define PG_SHOW_SQL_MESSAGE                                                                     \
	"SELECT message_id, message_id_synthetic, date, date_synthetic, subject, in_reply_to, " \
	"body_type, raw_size, warnings, fingerprint, body_text FROM messages WHERE id = $1"
#define PG_SHOW_SQL_PARTICIPANTS                                                                            \
	"SELECT role, name, address FROM participants WHERE message = $1 ORDER BY CASE role WHEN 'from' THEN " \
	"0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 WHEN 'reply_to' THEN 3 ELSE 4 END, position"
#define PG_SHOW_SQL_REFERENCES "SELECT ref FROM message_references WHERE message = $1 ORDER BY position"
#define PG_SHOW_SQL_ATTACHMENTS \
	"SELECT filename, content_type, size, sha256 FROM attachments WHERE message = $1 ORDER BY position"
#define PG_SHOW_SQL_SOURCES                                                                                  \
	"SELECT kind, received_at, owner_user_id, coalesce(file_name, folder, uidl, dropbox) FROM sources " \
	"WHERE message = $1 ORDER BY id"
#define PG_SHOW_SQL_LINKS                                                                          \
	"SELECT module, record_id, rule, visibility FROM links WHERE message = $1 ORDER BY module " \
	"COLLATE \"C\" DESC, record_id COLLATE \"C\""

/* A PgRowFunc: every column of the row as a NULL-padded string array. */
static gpointer
pg_show_row(const PGresult *res, int row)
{
	int n = PQnfields(res);
	char **out = g_new0(char *, n + 1);
	for (int c = 0; c < n; c++)
		out[c] = pg_store_value_dup(res, row, c, NULL);
	return out;
}

static GPtrArray *
pg_show_rows(PgStore *pg, const char *sql, gint64 message, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, message);
	return pg_store_collect(pg, sql, &p, pg_show_row, (GDestroyNotify)g_strfreev, "reading a message", error);
}

static gboolean
pg_show_message(PgStore *pg, gint64 message, StoreMessageView *v, GError **error)
{
	g_autoptr(GPtrArray) rows = pg_show_rows(pg, PG_SHOW_SQL_MESSAGE, message, error);
	if (!rows)
		return FALSE;
	if (!rows->len) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "message %" G_GINT64_FORMAT " vanished", message);
		return FALSE;
	}
	char **r = rows->pdata[0];
	v->message_id = g_strdup(r[0]);
	v->message_id_synthetic = g_ascii_strtoll(r[1], NULL, 10) != 0;
	v->date = g_strdup(r[2]);
	v->date_synthetic = g_ascii_strtoll(r[3], NULL, 10) != 0;
	v->subject = g_strdup(r[4]);
	v->in_reply_to = g_strdup(r[5]);
	v->body_type = g_strdup(r[6]);
	v->raw_size = g_ascii_strtoll(r[7], NULL, 10);
	v->warnings = g_strdup(r[8]);
	v->fingerprint = g_strdup(r[9]);
	v->body_text = g_strdup(r[10]);
	return TRUE;
}

StoreMessageView *
pg_store_message_view(Store *store, gint64 message, GError **error)
{
	static const char *const parts[STORE_VIEW_N] = {
		[STORE_VIEW_PARTICIPANTS] = PG_SHOW_SQL_PARTICIPANTS, [STORE_VIEW_REFERENCES] = PG_SHOW_SQL_REFERENCES,
		[STORE_VIEW_ATTACHMENTS] = PG_SHOW_SQL_ATTACHMENTS,   [STORE_VIEW_SOURCES] = PG_SHOW_SQL_SOURCES,
		[STORE_VIEW_LINKS] = PG_SHOW_SQL_LINKS,
	};
	PgStore *pg = pg_store_cast(store);
	g_autoptr(StoreMessageView) v = g_new0(StoreMessageView, 1);
	if (!pg_show_message(pg, message, v, error))
		return NULL;
	for (guint i = 0; i < STORE_VIEW_N; i++) {
		v->rows[i] = pg_show_rows(pg, parts[i], message, error);
		if (!v->rows[i])
			return NULL;
	}
	return g_steal_pointer(&v);
}
