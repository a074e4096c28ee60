/* A message's links, their history and its stored decision: read as they
 * are, written exactly as the caller (capture/, from assoc's diff) says. */
#include "store/sqlite/sqlite.h"

#include <string.h>

#include "store/sqlite/sqlite.h"

static gboolean
links_read(Store *store, gint64 message, GPtrArray *links, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_LINKS, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreLink *l = g_new0(StoreLink, 1);
		l->module = sq_col_dup(st, 0, NULL);
		l->record_id = sq_col_dup(st, 1, NULL);
		l->rule = sq_col_dup(st, 2, NULL);
		l->visibility = sq_col_dup(st, 3, NULL);
		l->contact_id = sq_col_dup(st, 4, NULL);
		l->matched_address = sq_col_dup(st, 5, NULL);
		g_ptr_array_add(links, l);
	}
	return sq_rows_end(store, st, rc, error, "reading links");
}

static gboolean
decision_read(Store *store, gint64 message, StoreLinkState *s, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_DECISION, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->status = sq_col_dup(st, 0, NULL);
		s->trace = sq_col_dup(st, 1, NULL);
	}
	return sq_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading a decision");
}

StoreLinkState *
sq_link_state(Store *store, gint64 message, GError **error)
{
	StoreLinkState *s = g_new0(StoreLinkState, 1);
	s->links = g_ptr_array_new_with_free_func((GDestroyNotify)store_link_free);
	if (!links_read(store, message, s->links, error) || !decision_read(store, message, s, error)) {
		store_link_state_free(s);
		return NULL;
	}
	return s;
}

/* ---- writing -------------------------------------------------------------- */

static gboolean
history_add(Store *store, const StoreDecisionWrite *w, const StoreLinkChange *c, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "INSERT INTO link_history(message, at, action, module, record_id, old_rule, "
					 "new_rule, old_visibility, new_visibility, reason) "
					 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
					 error);
	if (!st)
		return FALSE;
	gboolean removed = c->action == STORE_LINK_REMOVED;
	const char *old_rule = removed ? c->link->rule : c->old_rule;
	const char *old_vis = removed ? c->link->visibility : c->old_visibility;
	const char *v[] = { w->at, store_link_action_name(c->action), c->link->module, c->link->record_id,
			    old_rule, removed ? NULL : c->link->rule, old_vis, removed ? NULL : c->link->visibility,
			    w->reason };
	sqlite3_bind_int64(st, 1, w->message);
	for (guint i = 0; i < G_N_ELEMENTS(v); i++)
		sq_bind_text(st, (int)i + 2, v[i]);
	return sq_step_done(store, st, error, "recording link history");
}

static gboolean
link_put(Store *store, const StoreDecisionWrite *w, const StoreLink *l, gboolean insert, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store,
		insert ? "INSERT INTO links(message, module, record_id, rule, visibility, contact_id, matched_address, "
			 "decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		       : "UPDATE links SET rule = ?4, visibility = ?5, contact_id = ?6, matched_address = ?7, "
			 "decided_at = ?8 WHERE message = ?1 AND module = ?2 AND record_id = ?3",
		error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, w->message);
	const char *v[] = { l->module, l->record_id, l->rule, l->visibility, l->contact_id, l->matched_address, w->at };
	for (guint i = 0; i < G_N_ELEMENTS(v); i++)
		sq_bind_text(st, (int)i + 2, v[i]);
	return sq_step_done(store, st, error, "writing a link");
}

static gboolean
link_delete(Store *store, gint64 message, const StoreLink *l, GError **error)
{
	sqlite3_stmt *st =
		sq_prepare(store, "DELETE FROM links WHERE message = ? AND module = ? AND record_id = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	sq_bind_text(st, 2, l->module);
	sq_bind_text(st, 3, l->record_id);
	return sq_step_done(store, st, error, "removing a link");
}

static gboolean
link_change(Store *store, const StoreDecisionWrite *w, const StoreLinkChange *c, GError **error)
{
	gboolean ok = c->action == STORE_LINK_REMOVED
			      ? link_delete(store, w->message, c->link, error)
			      : link_put(store, w, c->link, c->action == STORE_LINK_ADDED, error);
	return ok && history_add(store, w, c, error);
}

static gboolean
decision_put(Store *store, const StoreDecisionWrite *w, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "INSERT INTO decisions(message, status, decided_at, reason, trace) "
					 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(message) DO UPDATE SET "
					 "status = ?2, decided_at = ?3, reason = ?4, trace = ?5",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, w->message);
	sq_bind_text(st, 2, w->status);
	sq_bind_text(st, 3, w->at);
	sq_bind_text(st, 4, w->reason);
	sq_bind_text(st, 5, w->trace);
	return sq_step_done(store, st, error, "storing the decision");
}

gboolean
sq_decision_write(Store *store, const StoreDecisionWrite *w, GError **error)
{
	for (guint i = 0; i < w->n_changes; i++)
		if (!link_change(store, w, &w->changes[i], error))
			return FALSE;
	return !w->write_decision || decision_put(store, w, error);
}

/* ---- backfill ------------------------------------------------------------- */

static gint
cmp_i64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
	return x < y ? -1 : x > y;
}

static gboolean
unmatched_for_key(Store *store, const char *key, GHashTable *seen, GArray *out, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_UNMATCHED_FOR_KEY, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, key);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 m = sqlite3_column_int64(st, 0);
		if (!g_hash_table_contains(seen, &m)) {
			g_hash_table_add(seen, g_memdup2(&m, sizeof m));
			g_array_append_val(out, m);
		}
	}
	return sq_rows_end(store, st, rc, error, "finding unmatched messages");
}

GArray *
sq_unmatched_for_keys(Store *store, GPtrArray *keys, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (guint i = 0; i < keys->len; i++) {
		if (!unmatched_for_key(store, keys->pdata[i], seen, out, error)) {
			g_array_unref(out);
			return NULL;
		}
	}
	g_array_sort(out, cmp_i64);
	return out;
}
