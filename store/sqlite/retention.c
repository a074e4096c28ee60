/* Retention with legal hold: holds, what is due, and the batched deletion
 * that records every message in the append-only retention_log first. What
 * "held" means is view message_holds (schema.c), nowhere else. */
#include "store/sqlite/sqlite.h"

#include "common/common.h"

/* ---- holds ---- */

static gboolean
retention_target_exists(Store *store, StoreHoldKind kind, const char *target, gboolean *found, GError **error)
{
	static const StoreCrmKind crm[] = { STORE_CRM_USER, STORE_CRM_CONTACT, STORE_CRM_DEAL };
	if (kind != STORE_HOLD_MESSAGE)
		return store_crm_exists(store, crm[kind], target, found, error);
	g_autoptr(GArray) ids = store_find_message_id(store, target, error);
	*found = ids && ids->len > 0;
	return ids != NULL;
}

gboolean
sq_hold_add(Store *store, StoreHoldKind kind, const char *target, const char *reason, gint64 until, gint64 *id,
	    GError **error)
{
	gboolean found = FALSE;
	if (!retention_target_exists(store, kind, target, &found, error))
		return FALSE;
	if (!found) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no %s '%s' is stored: nothing to hold",
			    store_hold_kind_name(kind), target);
		return FALSE;
	}
	sqlite3_stmt *st = sq_prepare(
		store, "INSERT INTO holds(kind, target, reason, until, created_at) VALUES (?, ?, ?, ?, ?)", error);
	if (!st)
		return FALSE;
	g_autofree char *until_text = until ? common_iso8601(until) : NULL;
	g_autofree char *now = common_iso8601(common_now());
	sq_bind_text(st, 1, store_hold_kind_name(kind));
	sq_bind_text(st, 2, target);
	sq_bind_text(st, 3, reason);
	sq_bind_text(st, 4, until_text);
	sq_bind_text(st, 5, now);
	if (!sq_step_done(store, st, error, "adding a hold"))
		return FALSE;
	*id = sqlite3_last_insert_rowid(sq_handle(store));
	return TRUE;
}

static gpointer
retention_hold_row(sqlite3_stmt *st)
{
	StoreHold *h = g_new0(StoreHold, 1);
	h->id = sqlite3_column_int64(st, 0);
	h->kind = sq_col_dup(st, 1, NULL);
	h->target = sq_col_dup(st, 2, NULL);
	h->reason = sq_col_dup(st, 3, NULL);
	h->until = sq_col_dup(st, 4, NULL);
	h->created_at = sq_col_dup(st, 5, NULL);
	h->released_at = sq_col_dup(st, 6, NULL);
	h->n_messages = sqlite3_column_int64(st, 7);
	h->active = sqlite3_column_int(st, 8);
	return h;
}

GPtrArray *
sq_hold_list(Store *store, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store,
		"SELECT h.id, h.kind, h.target, h.reason, h.until, h.created_at, h.released_at,"
		" (SELECT count(DISTINCT message) FROM message_holds mh WHERE mh.hold_id = h.id),"
		" h.released_at IS NULL AND (h.until IS NULL OR h.until > strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
		" FROM holds h ORDER BY h.id DESC",
		error);
	return st ? sq_collect(store, st, retention_hold_row, (GDestroyNotify)store_hold_free, error,
			       "listing holds")
		  : NULL;
}

gboolean
sq_hold_release(Store *store, gint64 id, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "UPDATE holds SET released_at = ? WHERE id = ? AND released_at IS NULL",
				      error);
	if (!st)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	sq_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	if (!sq_step_done(store, st, error, "releasing a hold"))
		return FALSE;
	if (sqlite3_changes(sq_handle(store)) == 0) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND,
			    "no hold %" G_GINT64_FORMAT " that is not released already (see `bccdrop hold list`)", id);
		return FALSE;
	}
	return TRUE;
}

/* ---- retention ---- */

static gpointer
retention_item_row(sqlite3_stmt *st)
{
	StoreRetentionItem *it = g_new0(StoreRetentionItem, 1);
	it->message = sqlite3_column_int64(st, 0);
	it->message_id = sq_col_dup(st, 1, NULL);
	it->fingerprint = sq_col_dup(st, 2, NULL);
	it->date = sq_col_dup(st, 3, NULL);
	it->held_by = sq_col_dup(st, 4, NULL);
	return it;
}

GPtrArray *
sq_retention_due(Store *store, gint64 cutoff, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
				      "SELECT r.message, r.message_id, m.fingerprint, r.date, r.held_by FROM retention_status r "
				      "JOIN messages m ON m.id = r.message WHERE r.date < ? ORDER BY r.date, r.message",
				      error);
	if (!st)
		return NULL;
	g_autofree char *before = common_iso8601(cutoff);
	sq_bind_text(st, 1, before);
	return sq_collect(store, st, retention_item_row, (GDestroyNotify)store_retention_item_free, error,
			  "listing messages due for deletion");
}

/* Log, then delete, one message: the log row and the deletion commit together. */
static gboolean
retention_delete_one(Store *store, gint64 message, const char *now, const char *reason, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
				      "INSERT INTO retention_log(message, message_id, fingerprint, date, deleted_at, "
				      "reason) SELECT id, message_id, fingerprint, date, ?, ? FROM messages WHERE id = ?",
				      error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, now);
	sq_bind_text(st, 2, reason);
	sqlite3_bind_int64(st, 3, message);
	if (!sq_step_done(store, st, error, "recording a deletion in retention_log"))
		return FALSE;
	st = sq_prepare(store, "DELETE FROM messages WHERE id = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	return sq_step_done(store, st, error, "deleting a message past its retention");
}

static gboolean
retention_purge_batch(Store *store, gint64 cutoff, const char *reason, guint limit, guint *deleted, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
				      "SELECT m.id FROM messages m WHERE m.date < ? AND NOT EXISTS "
				      "(SELECT 1 FROM message_holds h WHERE h.message = m.id) ORDER BY m.date, m.id LIMIT ?",
				      error);
	if (!st)
		return FALSE;
	g_autofree char *before = common_iso8601(cutoff);
	sq_bind_text(st, 1, before);
	sqlite3_bind_int64(st, 2, limit);
	g_autoptr(GArray) ids = sq_collect_ids(store, st, error, "choosing messages past their retention");
	if (!ids)
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	for (guint i = 0; i < ids->len; i++)
		if (!retention_delete_one(store, g_array_index(ids, gint64, i), now, reason, error))
			return FALSE;
	*deleted = ids->len;
	return TRUE;
}

gboolean
sq_retention_purge(Store *store, gint64 cutoff, const char *reason, guint limit, guint *deleted, GError **error)
{
	*deleted = 0;
	if (!store_begin(store, error))
		return FALSE;
	if (!retention_purge_batch(store, cutoff, reason, limit, deleted, error)) {
		store_rollback(store);
		*deleted = 0;
		return FALSE;
	}
	return store_commit(store, error);
}
