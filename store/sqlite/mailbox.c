/* Mailboxes of the poller: configuration, cursors, status, budget; and the
 * per-user export. Everything here is bound parameters through
 * sq_prepare. */
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite.h"

#include <string.h>

#include "common/common.h"

#define MAILBOX_COLUMNS                                                                                     \
	"id, user_id, protocol, host, port, tls, username, auth, secret, folders, delete_policy, active, " \
	"created_at, config_changed_at"

static gint64
mb_col_time(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	gint64 v = 0;
	if (t && !common_parse_iso8601((const char *)t, &v))
		v = 0;
	return v;
}

static void
mb_bind_time(sqlite3_stmt *st, int i, gint64 t)
{
	if (t <= 0) {
		sqlite3_bind_null(st, i);
		return;
	}
	g_autofree char *s = common_iso8601(t);
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static gboolean
mb_changed_one(Store *store, gint64 id, GError **error)
{
	if (sqlite3_changes(sq_handle(store)) > 0)
		return TRUE;
	g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no mailbox with id %" G_GINT64_FORMAT, id);
	return FALSE;
}

static gpointer
mb_from_row(sqlite3_stmt *st)
{
	StoreMailbox *m = g_new0(StoreMailbox, 1);
	m->id = sqlite3_column_int64(st, 0);
	m->user_id = sq_col_dup(st, 1, NULL);
	m->protocol = sq_col_dup(st, 2, NULL);
	m->host = sq_col_dup(st, 3, NULL);
	m->port = sqlite3_column_int(st, 4);
	m->tls = sq_col_dup(st, 5, NULL);
	m->username = sq_col_dup(st, 6, NULL);
	m->auth = sq_col_dup(st, 7, NULL);
	m->secret = g_bytes_new(sqlite3_column_blob(st, 8), (gsize)sqlite3_column_bytes(st, 8));
	m->folders = sq_col_dup(st, 9, NULL);
	m->delete_policy = sq_col_dup(st, 10, NULL);
	m->active = sqlite3_column_int(st, 11) != 0;
	m->created_at = sq_col_dup(st, 12, NULL);
	m->config_changed_at = sq_col_dup(st, 13, NULL);
	return m;
}

/* Run FUNC inside a transaction unless the caller already holds one. */
typedef gboolean (*MbTxnFunc)(Store *store, gpointer data, GError **error);

static gboolean
mb_in_txn(Store *store, MbTxnFunc func, gpointer data, GError **error)
{
	if (sq_in_transaction(store))
		return func(store, data, error);
	if (!sq_begin(store, error))
		return FALSE;
	if (!func(store, data, error)) {
		sq_rollback(store);
		return FALSE;
	}
	return sq_commit(store, error);
}

static gboolean
mb_user_has_active(Store *store, const char *user_id, gboolean *has, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT 1 FROM mailboxes WHERE user_id = ? AND active = 1", error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, user_id);
	int rc = sqlite3_step(st);
	*has = rc == SQLITE_ROW;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(store, error, "looking up the user's active mailbox");
	return TRUE;
}

typedef struct {
	StoreMailbox *m;
	gboolean *activated;
} MbAdd;

static gboolean
mb_add_txn(Store *store, gpointer data, GError **error)
{
	MbAdd *a = data;
	StoreMailbox *m = a->m;
	gboolean has_active = FALSE;
	if (!mb_user_has_active(store, m->user_id, &has_active, error))
		return FALSE;
	sqlite3_stmt *st = sq_prepare(store,
					 "INSERT INTO mailboxes(user_id, protocol, host, port, tls, username, auth, "
					 "secret, folders, delete_policy, active, created_at, config_changed_at) "
					 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
					 error);
	if (!st)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	sq_bind_text(st, 1, m->user_id);
	sq_bind_text(st, 2, m->protocol);
	sq_bind_text(st, 3, m->host);
	sqlite3_bind_int(st, 4, m->port);
	sq_bind_text(st, 5, m->tls);
	sq_bind_text(st, 6, m->username);
	sq_bind_text(st, 7, m->auth);
	gsize len = 0;
	const void *p = m->secret ? g_bytes_get_data(m->secret, &len) : NULL;
	sqlite3_bind_blob64(st, 8, p ? p : "", len, SQLITE_TRANSIENT);
	sq_bind_text(st, 9, m->folders ? m->folders : "INBOX");
	sq_bind_text(st, 10, m->delete_policy ? m->delete_policy : "never");
	sqlite3_bind_int(st, 11, has_active ? 0 : 1);
	sq_bind_text(st, 12, now);
	sq_bind_text(st, 13, now);
	if (!sq_step_done(store, st, error, "adding a mailbox"))
		return FALSE;
	m->id = sqlite3_last_insert_rowid(sq_handle(store));
	m->active = !has_active;
	if (a->activated)
		*a->activated = !has_active;
	st = sq_prepare(store, "INSERT INTO mailbox_sync(mailbox_id, status, updated_at) VALUES (?, 'pending', ?)",
			   error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, m->id);
	sq_bind_text(st, 2, now);
	return sq_step_done(store, st, error, "adding a mailbox's status");
}

gboolean
sq_mailbox_add(Store *store, StoreMailbox *mailbox, gboolean *activated, GError **error)
{
	MbAdd a = { mailbox, activated };
	return mb_in_txn(store, mb_add_txn, &a, error);
}

StoreMailbox *
sq_mailbox_get(Store *store, gint64 id, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE id = ?", error);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	StoreMailbox *m = rc == SQLITE_ROW ? mb_from_row(st) : NULL;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no mailbox with id %" G_GINT64_FORMAT, id);
	else if (rc != SQLITE_ROW)
		sq_fail(store, error, "reading a mailbox");
	return m;
}

GPtrArray *
sq_mailbox_list(Store *store, const char *user_id, gboolean active_only, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE (?1 IS NULL OR user_id = ?1) "
					 "AND (?2 = 0 OR (active = 1 AND NOT EXISTS (SELECT 1 FROM users u "
					 "WHERE u.id = user_id AND (u.deactivated = 1 OR u.retired_at IS NOT NULL)))) "
					 "ORDER BY id",
					 error);
	if (!st)
		return NULL;
	sq_bind_text(st, 1, user_id);
	sqlite3_bind_int(st, 2, active_only ? 1 : 0);
	return sq_collect(store, st, mb_from_row, (GDestroyNotify)store_mailbox_free, error, "listing mailboxes");
}

/* A configuration change: the status starts again from pending, which also
 * lifts auth_failed and any backoff. */
static gboolean
mb_config_changed(Store *store, gint64 id, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	sqlite3_stmt *st = sq_prepare(store, "UPDATE mailboxes SET config_changed_at = ? WHERE id = ?", error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	if (!sq_step_done(store, st, error, "updating a mailbox") || !mb_changed_one(store, id, error))
		return FALSE;
	st = sq_prepare(store,
			   "UPDATE mailbox_sync SET status = 'pending', reason = NULL, failures = 0, "
			   "next_attempt_at = NULL, updated_at = ? WHERE mailbox_id = ? AND status <> 'completed'",
			   error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	return sq_step_done(store, st, error, "resetting a mailbox's status");
}

static gboolean
mb_activate_txn(Store *store, gpointer data, GError **error)
{
	gint64 id = *(gint64 *)data;
	g_autoptr(StoreMailbox) m = sq_mailbox_get(store, id, error);
	if (!m)
		return FALSE;
	sqlite3_stmt *st = sq_prepare(store, "UPDATE mailboxes SET active = 0 WHERE user_id = ? AND id <> ?", error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, m->user_id);
	sqlite3_bind_int64(st, 2, id);
	if (!sq_step_done(store, st, error, "deactivating the user's other mailboxes"))
		return FALSE;
	st = sq_prepare(store, "UPDATE mailboxes SET active = 1 WHERE id = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	return sq_step_done(store, st, error, "activating a mailbox") && mb_config_changed(store, id, error);
}

gboolean
sq_mailbox_activate(Store *store, gint64 id, GError **error)
{
	return mb_in_txn(store, mb_activate_txn, &id, error);
}

gboolean
sq_mailbox_deactivate(Store *store, gint64 id, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "UPDATE mailboxes SET active = 0 WHERE id = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	return sq_step_done(store, st, error, "deactivating a mailbox") && mb_changed_one(store, id, error);
}

gboolean
sq_mailbox_remove(Store *store, gint64 id, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "DELETE FROM mailboxes WHERE id = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	return sq_step_done(store, st, error, "removing a mailbox") && mb_changed_one(store, id, error);
}

typedef struct {
	gint64 id;
	GBytes *secret;
} MbSecret;

static gboolean
mb_secret_txn(Store *store, gpointer data, GError **error)
{
	MbSecret *s = data;
	sqlite3_stmt *st = sq_prepare(store, "UPDATE mailboxes SET secret = ? WHERE id = ?", error);
	if (!st)
		return FALSE;
	gsize len = 0;
	const void *p = g_bytes_get_data(s->secret, &len);
	sqlite3_bind_blob64(st, 1, p ? p : "", len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, s->id);
	return sq_step_done(store, st, error, "storing a mailbox secret") && mb_changed_one(store, s->id, error) &&
	       mb_config_changed(store, s->id, error);
}

gboolean
sq_mailbox_set_secret(Store *store, gint64 id, GBytes *secret, GError **error)
{
	MbSecret s = { id, secret };
	return mb_in_txn(store, mb_secret_txn, &s, error);
}

gboolean
sq_mailbox_sync_get(Store *store, gint64 id, StoreMailboxSync *out, GError **error)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = sq_prepare(store,
					 "SELECT status, done, total, reason, failures, next_attempt_at, last_sync_at, "
					 "first_sync_completed_at, confirmation_sent_at FROM mailbox_sync "
					 "WHERE mailbox_id = ?",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->status = sq_col_dup(st, 0, NULL);
		out->done = sqlite3_column_int64(st, 1);
		out->total = sqlite3_column_int64(st, 2);
		out->reason = sq_col_dup(st, 3, NULL);
		out->failures = sqlite3_column_int(st, 4);
		out->next_attempt_at = mb_col_time(st, 5);
		out->last_sync_at = mb_col_time(st, 6);
		out->first_sync_completed_at = mb_col_time(st, 7);
		out->confirmation_sent_at = mb_col_time(st, 8);
	} else {
		out->status = g_strdup("pending");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(store, error, "reading a mailbox's status");
	return TRUE;
}

gboolean
sq_mailbox_sync_set(Store *store, gint64 id, const StoreMailboxSync *s, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store,
		"INSERT INTO mailbox_sync(mailbox_id, status, done, total, reason, failures, next_attempt_at, "
		"last_sync_at, first_sync_completed_at, confirmation_sent_at, updated_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
		"ON CONFLICT(mailbox_id) DO UPDATE SET status = ?2, done = ?3, total = ?4, reason = ?5, "
		"failures = ?6, next_attempt_at = ?7, last_sync_at = coalesce(?8, last_sync_at), "
		"first_sync_completed_at = coalesce(?9, first_sync_completed_at), "
		"confirmation_sent_at = coalesce(?10, confirmation_sent_at), updated_at = ?11",
		error);
	if (!st)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	sqlite3_bind_int64(st, 1, id);
	sq_bind_text(st, 2, s->status ? s->status : "pending");
	sqlite3_bind_int64(st, 3, s->done);
	sqlite3_bind_int64(st, 4, s->total);
	sq_bind_text(st, 5, s->reason);
	sqlite3_bind_int(st, 6, s->failures);
	mb_bind_time(st, 7, s->next_attempt_at);
	mb_bind_time(st, 8, s->last_sync_at);
	mb_bind_time(st, 9, s->first_sync_completed_at);
	mb_bind_time(st, 10, s->confirmation_sent_at);
	sq_bind_text(st, 11, now);
	return sq_step_done(store, st, error, "writing a mailbox's status");
}

gboolean
sq_mailbox_folder_get(Store *store, gint64 id, const char *folder, gboolean *found, gint64 *uidvalidity,
			 gint64 *last_uid, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store, "SELECT uidvalidity, last_uid FROM mailbox_folders WHERE mailbox_id = ? AND name = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sq_bind_text(st, 2, folder);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	*uidvalidity = *found ? sqlite3_column_int64(st, 0) : 0;
	*last_uid = *found ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(store, error, "reading a folder cursor");
	return TRUE;
}

gboolean
sq_mailbox_folder_set(Store *store, gint64 id, const char *folder, gint64 uidvalidity, gint64 last_uid,
			 GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "INSERT INTO mailbox_folders(mailbox_id, name, uidvalidity, last_uid, synced_at) "
					 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(mailbox_id, name) DO UPDATE SET "
					 "uidvalidity = ?3, last_uid = ?4, synced_at = ?5",
					 error);
	if (!st)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	sqlite3_bind_int64(st, 1, id);
	sq_bind_text(st, 2, folder);
	sqlite3_bind_int64(st, 3, uidvalidity);
	sqlite3_bind_int64(st, 4, last_uid);
	sq_bind_text(st, 5, now);
	return sq_step_done(store, st, error, "writing a folder cursor");
}

GHashTable *
sq_mailbox_uidls(Store *store, gint64 id, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT uidl FROM mailbox_pop3_uidls WHERE mailbox_id = ?", error);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_hash_table_add(set, sq_col_dup(st, 0, NULL));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		g_hash_table_unref(set);
		sq_fail(store, error, "reading POP3 UIDLs");
		return NULL;
	}
	return set;
}

gboolean
sq_mailbox_uidl_add(Store *store, gint64 id, const char *uidl, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store, "INSERT OR IGNORE INTO mailbox_pop3_uidls(mailbox_id, uidl, retrieved_at) VALUES (?, ?, ?)",
		error);
	if (!st)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	sqlite3_bind_int64(st, 1, id);
	sq_bind_text(st, 2, uidl);
	sq_bind_text(st, 3, now);
	return sq_step_done(store, st, error, "recording a POP3 UIDL");
}

gboolean
sq_mailbox_uidl_deleted(Store *store, gint64 id, const char *uidl, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store, "UPDATE mailbox_pop3_uidls SET deleted_at = ? WHERE mailbox_id = ? AND uidl = ?", error);
	if (!st)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	sq_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	sq_bind_text(st, 3, uidl);
	return sq_step_done(store, st, error, "recording a POP3 deletion");
}

GPtrArray *
sq_mailbox_uidls_older(Store *store, gint64 id, gint64 before, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "SELECT uidl FROM mailbox_pop3_uidls WHERE mailbox_id = ? AND deleted_at IS NULL "
					 "AND retrieved_at < ?",
					 error);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	mb_bind_time(st, 2, before);
	return sq_collect(store, st, sq_row_text, g_free, error, "reading POP3 UIDLs");
}

gboolean
sq_mailbox_budget_get(Store *store, gint64 id, const char *day, guint64 *bytes, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT bytes FROM mailbox_budget WHERE mailbox_id = ? AND day = ?",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sq_bind_text(st, 2, day);
	int rc = sqlite3_step(st);
	*bytes = rc == SQLITE_ROW ? (guint64)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(store, error, "reading the daily budget");
	return TRUE;
}

gboolean
sq_mailbox_budget_add(Store *store, gint64 id, const char *day, guint64 bytes, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "INSERT INTO mailbox_budget(mailbox_id, day, bytes) VALUES (?1, ?2, ?3) "
					 "ON CONFLICT(mailbox_id, day) DO UPDATE SET bytes = bytes + ?3",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sq_bind_text(st, 2, day);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)bytes);
	return sq_step_done(store, st, error, "counting the daily budget");
}

gboolean
sq_user_activity(Store *store, const char *user_id, char **email, gint64 *last_active_at, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT email, last_active_at FROM users WHERE id = ?", error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (email)
			*email = sq_col_dup(st, 0, NULL);
		if (last_active_at)
			*last_active_at = mb_col_time(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no CRM user with id '%s'", user_id);
		return FALSE;
	}
	if (rc != SQLITE_ROW)
		return sq_fail(store, error, "reading a user");
	return TRUE;
}

/* ---- export ---- */

gboolean
sq_export_user(Store *store, const char *user_id, gint64 since, StoreExportFunc func, gpointer user_data,
		  GError **error)
{
	/* One row per message (a message seen through several sources is
	 * exported once), in the order it was first received. */
	sqlite3_stmt *st = sq_prepare(
		store,
		"SELECT s.message, min(s.received_at) AS first_at, r.bytes, "
		"  coalesce((SELECT envelope_from FROM sources e WHERE e.message = s.message "
		"            AND e.envelope_from IS NOT NULL AND e.envelope_from <> '' LIMIT 1), "
		"           (SELECT address FROM participants p WHERE p.message = s.message AND p.role = 'from' "
		"            ORDER BY position LIMIT 1)) "
		"FROM sources s JOIN raw_messages r ON r.message = s.message "
		"WHERE s.owner_user_id = ?1 GROUP BY s.message HAVING first_at >= ?2 ORDER BY first_at, s.message",
		error);
	if (!st)
		return FALSE;
	g_autofree char *since_s = since > 0 ? common_iso8601(since) : g_strdup("");
	sq_bind_text(st, 1, user_id);
	sq_bind_text(st, 2, since_s);
	int rc;
	gboolean ok = TRUE;
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		g_autoptr(GBytes) raw = g_bytes_new(sqlite3_column_blob(st, 2), (gsize)sqlite3_column_bytes(st, 2));
		const char *sender = (const char *)sqlite3_column_text(st, 3);
		ok = func(raw, sender && *sender ? sender : "MAILER-DAEMON", mb_col_time(st, 1), user_data, error);
	}
	sqlite3_reset(st);
	if (ok && rc != SQLITE_DONE)
		return sq_fail(store, error, "exporting messages");
	return ok;
}

/* ---- poller leases (docs/scaling-out.md, "Pollers") ----
 * Expiry is compared with this clock inside SQL, so that pollers on hosts
 * whose clocks differ still agree (PostgreSQL's lease.c does the same). */

#define MB_LEASE_NOW "CAST(strftime('%s', 'now') AS INTEGER)"

typedef struct {
	const char *holder;
	guint max;
	gint64 lease_seconds;
	GArray *held;
} MbLease;

/* Extend HOLDER's leases on active mailboxes, drop the rest; *N: how many
 * it still holds. */
static gboolean
mb_lease_renew(Store *store, const MbLease *l, gint64 *n, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
				      "DELETE FROM mailbox_leases WHERE holder = ? "
				      "AND mailbox_id IN (SELECT id FROM mailboxes WHERE active = 0)",
				      error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, l->holder);
	if (!sq_step_done(store, st, error, "dropping leases on inactive mailboxes"))
		return FALSE;
	st = sq_prepare(store, "UPDATE mailbox_leases SET expires_at = " MB_LEASE_NOW " + ? WHERE holder = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, l->lease_seconds);
	sq_bind_text(st, 2, l->holder);
	if (!sq_step_done(store, st, error, "renewing mailbox leases"))
		return FALSE;
	*n = sqlite3_changes(sq_handle(store));
	return TRUE;
}

/* Take up to WANT (-1: all) free or expired leases, lowest ids first. */
static gboolean
mb_lease_take(Store *store, const MbLease *l, gint64 want, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store,
		"INSERT INTO mailbox_leases(mailbox_id, holder, expires_at) "
		"SELECT m.id, ?1, " MB_LEASE_NOW " + ?2 FROM mailboxes m "
		"LEFT JOIN mailbox_leases l ON l.mailbox_id = m.id "
		"WHERE m.active = 1 AND (l.mailbox_id IS NULL OR l.expires_at < " MB_LEASE_NOW ") "
		"ORDER BY m.id LIMIT ?3 "
		"ON CONFLICT(mailbox_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
		error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, l->holder);
	sqlite3_bind_int64(st, 2, l->lease_seconds);
	sqlite3_bind_int64(st, 3, want);
	return sq_step_done(store, st, error, "taking mailbox leases");
}

static gboolean
mb_lease_txn(Store *store, gpointer data, GError **error)
{
	MbLease *l = data;
	gint64 n = 0;
	if (!mb_lease_renew(store, l, &n, error))
		return FALSE;
	if ((l->max == 0 || n < l->max) && !mb_lease_take(store, l, l->max ? (gint64)l->max - n : -1, error))
		return FALSE;
	sqlite3_stmt *st =
		sq_prepare(store, "SELECT mailbox_id FROM mailbox_leases WHERE holder = ? ORDER BY mailbox_id", error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, l->holder);
	l->held = sq_collect_ids(store, st, error, "listing held leases");
	return l->held != NULL;
}

GArray *
sq_mailbox_lease(Store *store, const char *holder, guint max, gint64 lease_seconds, GError **error)
{
	MbLease l = { holder, max, lease_seconds, NULL };
	if (mb_in_txn(store, mb_lease_txn, &l, error))
		return l.held;
	if (l.held)
		g_array_unref(l.held);
	return NULL;
}

gboolean
sq_mailbox_lease_release(Store *store, const char *holder, gint64 mailbox, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "DELETE FROM mailbox_leases WHERE holder = ?1 AND (?2 = 0 OR mailbox_id = ?2)",
				      error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, holder);
	sqlite3_bind_int64(st, 2, mailbox);
	return sq_step_done(store, st, error, "releasing mailbox leases");
}

GPtrArray *
sq_mailbox_lease_holders(Store *store, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT DISTINCT holder FROM mailbox_leases ORDER BY holder", error);
	if (!st)
		return NULL;
	return sq_collect(store, st, sq_row_text, g_free, error, "listing lease holders");
}
