/* Mailboxes of the poller on PostgreSQL: store/sqlite/mailbox.c's semantics.
 * Mailbox ids come from an identity column, so a removed mailbox's id is
 * never handed out again. */
#include "store/pg/pg.h"

#include <string.h>

#include "common/common.h"

#define PG_MAILBOX_COLUMNS                                                                                  \
	"id, user_id, protocol, host, port, tls, username, auth, secret, folders, delete_policy, active, " \
	"created_at, config_changed_at"

static gint64
pg_mb_time(const PGresult *res, int row, int col)
{
	gint64 v = 0;
	if (!PQgetisnull(res, row, col) && !common_parse_iso8601(PQgetvalue(res, row, col), &v))
		v = 0;
	return v;
}

/* A time parameter: SQL NULL for none, as store/sqlite/mailbox.c binds it. */
static void
pg_mb_param_time(PgParams *p, gint64 t)
{
	if (t <= 0) {
		pg_params_text(p, NULL);
		return;
	}
	char *s = common_iso8601(t);
	pg_params_text(p, s);
	p->owned[p->n - 1] = s;
}

static gboolean
pg_mb_changed_one(gint64 n, gint64 id, GError **error)
{
	if (n > 0)
		return TRUE;
	g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no mailbox with id %" G_GINT64_FORMAT, id);
	return FALSE;
}

/* SECRET is column 8, fetched as hex text (\x...): decoded here. */
static GBytes *
pg_mb_secret(const PGresult *res, int row, int col)
{
	size_t len = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &len);
	GBytes *out = g_bytes_new(b ? b : (const unsigned char *)"", b ? len : 0);
	PQfreemem(b);
	return out;
}

static gpointer
pg_mb_from_row(const PGresult *res, int r)
{
	StoreMailbox *m = g_new0(StoreMailbox, 1);
	m->id = pg_store_value_int(res, r, 0);
	m->user_id = pg_store_value_dup(res, r, 1, NULL);
	m->protocol = pg_store_value_dup(res, r, 2, NULL);
	m->host = pg_store_value_dup(res, r, 3, NULL);
	m->port = (int)pg_store_value_int(res, r, 4);
	m->tls = pg_store_value_dup(res, r, 5, NULL);
	m->username = pg_store_value_dup(res, r, 6, NULL);
	m->auth = pg_store_value_dup(res, r, 7, NULL);
	m->secret = pg_mb_secret(res, r, 8);
	m->folders = pg_store_value_dup(res, r, 9, NULL);
	m->delete_policy = pg_store_value_dup(res, r, 10, NULL);
	m->active = pg_store_value_int(res, r, 11) != 0;
	m->created_at = pg_store_value_dup(res, r, 12, NULL);
	m->config_changed_at = pg_store_value_dup(res, r, 13, NULL);
	return m;
}

static void
pg_mb_param_secret(PgParams *p, GBytes *secret)
{
	gsize len = 0;
	const void *data = secret ? g_bytes_get_data(secret, &len) : NULL;
	pg_params_bytes(p, data, len);
}

typedef struct {
	StoreMailbox *m;
	gboolean *activated;
} PgMbAdd;

/* The mailbox is active unless its user has an active one already; its
 * status row is written in the same statement. */
static gboolean
pg_mb_add_txn(Store *store, gpointer data, GError **error)
{
	PgMbAdd *a = data;
	StoreMailbox *m = a->m;
	g_autofree char *now = common_iso8601(common_now());
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, m->user_id);
	pg_params_text(&p, m->protocol);
	pg_params_text(&p, m->host);
	pg_params_int(&p, m->port);
	pg_params_text(&p, m->tls);
	pg_params_text(&p, m->username);
	pg_params_text(&p, m->auth);
	pg_mb_param_secret(&p, m->secret);
	pg_params_text(&p, m->folders ? m->folders : "INBOX");
	pg_params_text(&p, m->delete_policy ? m->delete_policy : "never");
	pg_params_text(&p, now);
	PGresult *res = pg_store_query(
		pg_store_cast(store),
		"WITH m AS (INSERT INTO mailboxes(user_id, protocol, host, port, tls, username, auth, secret, "
		"folders, delete_policy, active, created_at, config_changed_at) "
		"SELECT $1::text, $2::text, $3::text, $4::integer, $5::text, $6::text, $7::text, $8::bytea, "
		"$9::text, $10::text, "
		"CASE WHEN EXISTS (SELECT 1 FROM mailboxes WHERE user_id = $1 AND active = 1) THEN 0 ELSE 1 END, "
		"$11::text, $11::text RETURNING id, active), "
		"s AS (INSERT INTO mailbox_sync(mailbox_id, status, updated_at) SELECT id, 'pending', $11::text FROM m) "
		"SELECT id, active FROM m",
		&p, 0, "adding a mailbox", error);
	if (!res)
		return FALSE;
	m->id = pg_store_value_int(res, 0, 0);
	m->active = pg_store_value_int(res, 0, 1) != 0;
	PQclear(res);
	if (a->activated)
		*a->activated = m->active;
	return TRUE;
}

gboolean
pg_store_mailbox_add(Store *store, StoreMailbox *mailbox, gboolean *activated, GError **error)
{
	PgMbAdd a = { mailbox, activated };
	return pg_store_in_txn(store, pg_mb_add_txn, &a, error);
}

StoreMailbox *
pg_store_mailbox_get(Store *store, gint64 id, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	g_autoptr(GPtrArray) rows =
		pg_store_collect(pg_store_cast(store), "SELECT " PG_MAILBOX_COLUMNS " FROM mailboxes WHERE id = $1", &p,
				 pg_mb_from_row, (GDestroyNotify)store_mailbox_free, "reading a mailbox", error);
	if (!rows)
		return NULL;
	if (!rows->len) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no mailbox with id %" G_GINT64_FORMAT, id);
		return NULL;
	}
	return g_ptr_array_steal_index(rows, 0);
}

GPtrArray *
pg_store_mailbox_list(Store *store, const char *user_id, gboolean active_only, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, user_id);
	pg_params_int(&p, active_only ? 1 : 0);
	return pg_store_collect(pg_store_cast(store),
				"SELECT " PG_MAILBOX_COLUMNS " FROM mailboxes WHERE ($1::text IS NULL OR user_id = $1) "
				"AND ($2::integer = 0 OR active = 1) ORDER BY id",
				&p, pg_mb_from_row, (GDestroyNotify)store_mailbox_free, "listing mailboxes", error);
}

/* A configuration change: the status starts again from pending, which also
 * lifts auth_failed and any backoff. */
static gboolean
pg_mb_config_changed(Store *store, gint64 id, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_autofree char *now = common_iso8601(common_now());
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, now);
	pg_params_int(&p, id);
	gint64 n = 0;
	return pg_store_do(pg, "UPDATE mailboxes SET config_changed_at = $1 WHERE id = $2", &p, &n,
			   "updating a mailbox", error) &&
	       pg_mb_changed_one(n, id, error) &&
	       pg_store_do(pg,
			   "UPDATE mailbox_sync SET status = 'pending', reason = NULL, failures = 0, "
			   "next_attempt_at = NULL, updated_at = $1 WHERE mailbox_id = $2 AND status <> 'completed'",
			   &p, NULL, "resetting a mailbox's status", error);
}

static gboolean
pg_mb_activate_txn(Store *store, gpointer data, GError **error)
{
	gint64 id = *(gint64 *)data;
	g_autoptr(StoreMailbox) m = pg_store_mailbox_get(store, id, error);
	if (!m)
		return FALSE;
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, m->user_id);
	pg_params_int(&p, id);
	PgStore *pg = pg_store_cast(store);
	/* Two statements: the partial unique index is checked per statement. */
	return pg_store_do(pg, "UPDATE mailboxes SET active = 0 WHERE user_id = $1 AND id <> $2", &p, NULL,
			   "deactivating the user's other mailboxes", error) &&
	       pg_store_do(pg, "UPDATE mailboxes SET active = 1 WHERE id = $2 AND user_id = $1", &p, NULL,
			   "activating a mailbox", error) &&
	       pg_mb_config_changed(store, id, error);
}

gboolean
pg_store_mailbox_activate(Store *store, gint64 id, GError **error)
{
	return pg_store_in_txn(store, pg_mb_activate_txn, &id, error);
}

static gboolean
pg_mb_update_one(Store *store, const char *sql, gint64 id, const char *context, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	gint64 n = 0;
	return pg_store_do(pg_store_cast(store), sql, &p, &n, context, error) && pg_mb_changed_one(n, id, error);
}

gboolean
pg_store_mailbox_deactivate(Store *store, gint64 id, GError **error)
{
	return pg_mb_update_one(store, "UPDATE mailboxes SET active = 0 WHERE id = $1", id, "deactivating a mailbox",
				error);
}

gboolean
pg_store_mailbox_remove(Store *store, gint64 id, GError **error)
{
	return pg_mb_update_one(store, "DELETE FROM mailboxes WHERE id = $1", id, "removing a mailbox", error);
}

typedef struct {
	gint64 id;
	GBytes *secret;
} PgMbSecret;

static gboolean
pg_mb_secret_txn(Store *store, gpointer data, GError **error)
{
	PgMbSecret *s = data;
	g_auto(PgParams) p = { 0 };
	pg_mb_param_secret(&p, s->secret);
	pg_params_int(&p, s->id);
	gint64 n = 0;
	return pg_store_do(pg_store_cast(store), "UPDATE mailboxes SET secret = $1 WHERE id = $2", &p, &n,
			   "storing a mailbox secret", error) &&
	       pg_mb_changed_one(n, s->id, error) && pg_mb_config_changed(store, s->id, error);
}

gboolean
pg_store_mailbox_set_secret(Store *store, gint64 id, GBytes *secret, GError **error)
{
	PgMbSecret s = { id, secret };
	return pg_store_in_txn(store, pg_mb_secret_txn, &s, error);
}

gboolean
pg_store_mailbox_sync_get(Store *store, gint64 id, StoreMailboxSync *out, GError **error)
{
	memset(out, 0, sizeof *out);
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	PGresult *res = pg_store_query(pg_store_cast(store),
				       "SELECT status, done, total, reason, failures, next_attempt_at, last_sync_at, "
				       "first_sync_completed_at, confirmation_sent_at FROM mailbox_sync "
				       "WHERE mailbox_id = $1",
				       &p, 0, "reading a mailbox's status", error);
	if (!res)
		return FALSE;
	if (PQntuples(res) > 0) {
		out->status = pg_store_value_dup(res, 0, 0, NULL);
		out->done = pg_store_value_int(res, 0, 1);
		out->total = pg_store_value_int(res, 0, 2);
		out->reason = pg_store_value_dup(res, 0, 3, NULL);
		out->failures = (int)pg_store_value_int(res, 0, 4);
		out->next_attempt_at = pg_mb_time(res, 0, 5);
		out->last_sync_at = pg_mb_time(res, 0, 6);
		out->first_sync_completed_at = pg_mb_time(res, 0, 7);
		out->confirmation_sent_at = pg_mb_time(res, 0, 8);
	} else {
		out->status = g_strdup("pending");
	}
	PQclear(res);
	return TRUE;
}

gboolean
pg_store_mailbox_sync_set(Store *store, gint64 id, const StoreMailboxSync *s, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_params_text(&p, s->status ? s->status : "pending");
	pg_params_int(&p, s->done);
	pg_params_int(&p, s->total);
	pg_params_text(&p, s->reason);
	pg_params_int(&p, s->failures);
	pg_mb_param_time(&p, s->next_attempt_at);
	pg_mb_param_time(&p, s->last_sync_at);
	pg_mb_param_time(&p, s->first_sync_completed_at);
	pg_mb_param_time(&p, s->confirmation_sent_at);
	pg_params_text(&p, now);
	return pg_store_do(
		pg_store_cast(store),
		"INSERT INTO mailbox_sync(mailbox_id, status, done, total, reason, failures, next_attempt_at, "
		"last_sync_at, first_sync_completed_at, confirmation_sent_at, updated_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
		"ON CONFLICT(mailbox_id) DO UPDATE SET status = $2, done = $3, total = $4, reason = $5, "
		"failures = $6, next_attempt_at = $7, last_sync_at = coalesce($8, mailbox_sync.last_sync_at), "
		"first_sync_completed_at = coalesce($9, mailbox_sync.first_sync_completed_at), "
		"confirmation_sent_at = coalesce($10, mailbox_sync.confirmation_sent_at), updated_at = $11",
		&p, NULL, "writing a mailbox's status", error);
}

gboolean
pg_store_mailbox_folder_get(Store *store, gint64 id, const char *folder, gboolean *found, gint64 *uidvalidity,
			    gint64 *last_uid, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_params_text(&p, folder);
	PGresult *res = pg_store_query(pg_store_cast(store),
				       "SELECT uidvalidity, last_uid FROM mailbox_folders WHERE mailbox_id = $1 AND name = $2",
				       &p, 0, "reading a folder cursor", error);
	if (!res)
		return FALSE;
	*found = PQntuples(res) > 0;
	*uidvalidity = *found ? pg_store_value_int(res, 0, 0) : 0;
	*last_uid = *found ? pg_store_value_int(res, 0, 1) : 0;
	PQclear(res);
	return TRUE;
}

gboolean
pg_store_mailbox_folder_set(Store *store, gint64 id, const char *folder, gint64 uidvalidity, gint64 last_uid,
			    GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_params_text(&p, folder);
	pg_params_int(&p, uidvalidity);
	pg_params_int(&p, last_uid);
	pg_params_text(&p, now);
	return pg_store_do(pg_store_cast(store),
			   "INSERT INTO mailbox_folders(mailbox_id, name, uidvalidity, last_uid, synced_at) "
			   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT(mailbox_id, name) DO UPDATE SET "
			   "uidvalidity = $3, last_uid = $4, synced_at = $5",
			   &p, NULL, "writing a folder cursor", error);
}

GHashTable *
pg_store_mailbox_uidls(Store *store, gint64 id, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	g_autoptr(GPtrArray) rows = pg_store_collect(pg_store_cast(store),
						     "SELECT uidl FROM mailbox_pop3_uidls WHERE mailbox_id = $1", &p,
						     pg_store_row_text, NULL, "reading POP3 UIDLs", error);
	if (!rows)
		return NULL;
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < rows->len; i++)
		g_hash_table_add(set, rows->pdata[i]);
	return set;
}

gboolean
pg_store_mailbox_uidl_add(Store *store, gint64 id, const char *uidl, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_params_text(&p, uidl);
	pg_params_text(&p, now);
	return pg_store_do(pg_store_cast(store),
			   "INSERT INTO mailbox_pop3_uidls(mailbox_id, uidl, retrieved_at) VALUES ($1, $2, $3) "
			   "ON CONFLICT DO NOTHING",
			   &p, NULL, "recording a POP3 UIDL", error);
}

gboolean
pg_store_mailbox_uidl_deleted(Store *store, gint64 id, const char *uidl, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, now);
	pg_params_int(&p, id);
	pg_params_text(&p, uidl);
	return pg_store_do(pg_store_cast(store),
			   "UPDATE mailbox_pop3_uidls SET deleted_at = $1 WHERE mailbox_id = $2 AND uidl = $3", &p,
			   NULL, "recording a POP3 deletion", error);
}

GPtrArray *
pg_store_mailbox_uidls_older(Store *store, gint64 id, gint64 before, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_mb_param_time(&p, before);
	return pg_store_collect(pg_store_cast(store),
				"SELECT uidl FROM mailbox_pop3_uidls WHERE mailbox_id = $1 AND deleted_at IS NULL "
				"AND retrieved_at < $2",
				&p, pg_store_row_text, g_free, "reading POP3 UIDLs", error);
}

gboolean
pg_store_mailbox_budget_get(Store *store, gint64 id, const char *day, guint64 *bytes, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_params_text(&p, day);
	PGresult *res = pg_store_query(pg_store_cast(store),
				       "SELECT bytes FROM mailbox_budget WHERE mailbox_id = $1 AND day = $2", &p, 0,
				       "reading the daily budget", error);
	if (!res)
		return FALSE;
	*bytes = PQntuples(res) > 0 ? (guint64)pg_store_value_int(res, 0, 0) : 0;
	PQclear(res);
	return TRUE;
}

gboolean
pg_store_mailbox_budget_add(Store *store, gint64 id, const char *day, guint64 bytes, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, id);
	pg_params_text(&p, day);
	pg_params_int(&p, (gint64)bytes);
	return pg_store_do(pg_store_cast(store),
			   "INSERT INTO mailbox_budget(mailbox_id, day, bytes) VALUES ($1, $2, $3) "
			   "ON CONFLICT(mailbox_id, day) DO UPDATE SET bytes = mailbox_budget.bytes + $3",
			   &p, NULL, "counting the daily budget", error);
}

gboolean
pg_store_user_activity(Store *store, const char *user_id, char **email, gint64 *last_active_at, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, user_id);
	PGresult *res = pg_store_query(pg_store_cast(store), "SELECT email, last_active_at FROM users WHERE id = $1",
				       &p, 0, "reading a user", error);
	if (!res)
		return FALSE;
	gboolean found = PQntuples(res) > 0;
	if (found && email)
		*email = pg_store_value_dup(res, 0, 0, NULL);
	if (found && last_active_at)
		*last_active_at = pg_mb_time(res, 0, 1);
	PQclear(res);
	if (!found)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no CRM user with id '%s'", user_id);
	return found;
}

/* ---- export ---- */

static gboolean
pg_export_rows(const PGresult *res, StoreExportFunc func, gpointer user_data, GError **error)
{
	for (int i = 0; i < PQntuples(res); i++) {
		g_autoptr(GBytes) raw = g_bytes_new(PQgetvalue(res, i, 2), (gsize)PQgetlength(res, i, 2));
		const char *sender = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
		if (!func(raw, sender && *sender ? sender : "MAILER-DAEMON", pg_mb_time(res, i, 1), user_data, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
pg_store_export_user(Store *store, const char *user_id, gint64 since, StoreExportFunc func, gpointer user_data,
		     GError **error)
{
	/* One row per message (a message seen through several sources is
	 * exported once), in the order it was first received. Binary results:
	 * the raw bytes come as they are. */
	g_autofree char *since_s = since > 0 ? common_iso8601(since) : g_strdup("");
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, user_id);
	pg_params_text(&p, since_s);
	PGresult *res = pg_store_query(
		pg_store_cast(store),
		"SELECT s.message::text, min(s.received_at) AS first_at, r.bytes, "
		"  coalesce((SELECT envelope_from FROM sources e WHERE e.message = s.message "
		"            AND e.envelope_from IS NOT NULL AND e.envelope_from <> '' ORDER BY e.id LIMIT 1), "
		"           (SELECT address FROM participants p WHERE p.message = s.message AND p.role = 'from' "
		"            ORDER BY position LIMIT 1)) "
		"FROM sources s JOIN raw_messages r ON r.message = s.message "
		"WHERE s.owner_user_id = $1 GROUP BY s.message, r.message HAVING min(s.received_at) >= $2 "
		"ORDER BY first_at, s.message",
		&p, 1, "exporting messages", error);
	if (!res)
		return FALSE;
	gboolean ok = pg_export_rows(res, func, user_data, error);
	PQclear(res);
	return ok;
}
