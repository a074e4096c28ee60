/* Writing a decision: the link diff, its history, the stored trace; and
 * re-running the rule for many messages (backfill, reassociate). */
#include "assoc/assoc.h"

#include <string.h>

#include "assoc/assoc-internal.h"

#define ASSOC_RERUN_BATCH 500

typedef struct {
	char *module, *record_id, *rule, *visibility;
} OldLink;

static void
old_link_free(gpointer p)
{
	OldLink *o = p;
	g_free(o->module);
	g_free(o->record_id);
	g_free(o->rule);
	g_free(o->visibility);
	g_free(o);
}

static GHashTable *
load_links(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = store_prepare(
		store, "SELECT module, record_id, rule, visibility FROM links WHERE message = ? ORDER BY module, record_id",
		error);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, message);
	GHashTable *old = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, old_link_free);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		OldLink *o = g_new(OldLink, 1);
		o->module = g_strdup(assoc_col_text(st, 0));
		o->record_id = g_strdup(assoc_col_text(st, 1));
		o->rule = g_strdup(assoc_col_text(st, 2));
		o->visibility = g_strdup(assoc_col_text(st, 3));
		g_hash_table_insert(old, g_strdup_printf("%s:%s", o->module, o->record_id), o);
	}
	if (!assoc_step_end(store, st, rc, error, "reading links")) {
		g_hash_table_unref(old);
		return NULL;
	}
	return old;
}

static gboolean
history_add(Store *store, gint64 message, const char *at, const char *action, const char *module,
	    const char *record_id, const char *old_rule, const char *new_rule, const char *old_vis,
	    const char *new_vis, const char *reason, GError **error)
{
	sqlite3_stmt *st = store_prepare(store,
					 "INSERT INTO link_history(message, at, action, module, record_id, old_rule, "
					 "new_rule, old_visibility, new_visibility, reason) "
					 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	const char *v[] = { at, action, module, record_id, old_rule, new_rule, old_vis, new_vis, reason };
	for (guint i = 0; i < G_N_ELEMENTS(v); i++)
		store_bind_text(st, (int)i + 2, v[i]);
	return assoc_exec_stmt(store, st, error, "recording link history");
}

static gboolean
link_write(Store *store, gint64 message, const AssocLink *l, const char *at, gboolean insert, GError **error)
{
	sqlite3_stmt *st = store_prepare(
		store,
		insert ? "INSERT INTO links(message, module, record_id, rule, visibility, contact_id, matched_address, "
			 "decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		       : "UPDATE links SET rule = ?4, visibility = ?5, contact_id = ?6, matched_address = ?7, "
			 "decided_at = ?8 WHERE message = ?1 AND module = ?2 AND record_id = ?3",
		error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	const char *v[] = { l->module, l->record_id, l->rule, l->visibility, l->contact_id, l->matched_address, at };
	for (guint i = 0; i < G_N_ELEMENTS(v); i++)
		store_bind_text(st, (int)i + 2, v[i]);
	return assoc_exec_stmt(store, st, error, "writing a link");
}

static gboolean
link_delete(Store *store, gint64 message, const OldLink *o, GError **error)
{
	sqlite3_stmt *st =
		store_prepare(store, "DELETE FROM links WHERE message = ? AND module = ? AND record_id = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	store_bind_text(st, 2, o->module);
	store_bind_text(st, 3, o->record_id);
	return assoc_exec_stmt(store, st, error, "removing a link");
}

/* The stored trace, or NULL when the message has no decision yet. */
static gboolean
stored_trace(Store *store, gint64 message, char **trace, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, "SELECT trace FROM decisions WHERE message = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	*trace = rc == SQLITE_ROW ? g_strdup(assoc_col_text(st, 0)) : NULL;
	return assoc_step_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading a decision");
}

static gboolean
decision_write(Store *store, const AssocDecision *d, const char *at, const char *reason, GError **error)
{
	sqlite3_stmt *st = store_prepare(store,
					 "INSERT INTO decisions(message, status, decided_at, reason, trace) "
					 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(message) DO UPDATE SET "
					 "status = ?2, decided_at = ?3, reason = ?4, trace = ?5",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, d->message);
	store_bind_text(st, 2, d->unmatched ? "unmatched" : "linked");
	store_bind_text(st, 3, at);
	store_bind_text(st, 4, reason);
	store_bind_text(st, 5, d->trace);
	return assoc_exec_stmt(store, st, error, "storing the decision");
}

static void
note(GPtrArray *changes, guint *n, char *line)
{
	(*n)++;
	if (changes)
		g_ptr_array_add(changes, line);
	else
		g_free(line);
}

gboolean
assoc_apply(Store *store, const AssocDecision *d, const char *reason, gboolean dry_run, GPtrArray *changes,
	    guint *n_changes, GError **error)
{
	g_autoptr(GHashTable) old = load_links(store, d->message, error);
	if (!old)
		return FALSE;
	g_autofree char *at = common_iso8601(common_now());
	guint n = 0;
	for (guint i = 0; i < d->links->len; i++) {
		const AssocLink *l = d->links->pdata[i];
		g_autofree char *k = g_strdup_printf("%s:%s", l->module, l->record_id);
		OldLink *o = g_hash_table_lookup(old, k);
		if (!o) {
			note(changes, &n, g_strdup_printf("added %s %s (rule %s, %s)", l->module, l->record_id,
							  l->rule, l->visibility));
			if (!dry_run && (!link_write(store, d->message, l, at, TRUE, error) ||
					 !history_add(store, d->message, at, "added", l->module, l->record_id, NULL,
						      l->rule, NULL, l->visibility, reason, error)))
				return FALSE;
			continue;
		}
		if (strcmp(o->rule, l->rule) || strcmp(o->visibility, l->visibility)) {
			note(changes, &n,
			     g_strdup_printf("changed %s %s: rule %s -> %s, %s -> %s", l->module, l->record_id, o->rule,
					     l->rule, o->visibility, l->visibility));
			if (!dry_run && (!link_write(store, d->message, l, at, FALSE, error) ||
					 !history_add(store, d->message, at, "changed", l->module, l->record_id,
						      o->rule, l->rule, o->visibility, l->visibility, reason, error)))
				return FALSE;
		}
		g_hash_table_remove(old, k);
	}
	/* What is left was linked before and is not any more. */
	g_autoptr(GList) gone = g_hash_table_get_keys(old);
	gone = g_list_sort(gone, (GCompareFunc)strcmp);
	for (GList *it = gone; it; it = it->next) {
		OldLink *o = g_hash_table_lookup(old, it->data);
		note(changes, &n,
		     g_strdup_printf("removed %s %s (was rule %s, %s)", o->module, o->record_id, o->rule,
				     o->visibility));
		if (!dry_run && (!link_delete(store, d->message, o, error) ||
				 !history_add(store, d->message, at, "removed", o->module, o->record_id, o->rule, NULL,
					      o->visibility, NULL, reason, error)))
			return FALSE;
	}
	if (n_changes)
		*n_changes = n;
	if (dry_run)
		return TRUE;
	/* An unchanged outcome keeps the decision it was first explained by. */
	g_autofree char *prev = NULL;
	if (!stored_trace(store, d->message, &prev, error))
		return FALSE;
	if (n == 0 && prev && !strcmp(prev, d->trace))
		return TRUE;
	return decision_write(store, d, at, reason, error);
}

static gboolean
was_unmatched(Store *store, gint64 message, gboolean *out, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, "SELECT status FROM decisions WHERE message = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	*out = rc != SQLITE_ROW || !strcmp(assoc_col_text(st, 0), "unmatched");
	return assoc_step_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading a decision");
}

static gboolean
rerun_one(Store *store, const CommonConfig *config, gint64 message, const char *reason, gboolean dry_run,
	  AssocChangeFunc on_change, gpointer user_data, AssocRerunStats *stats, GError **error)
{
	gboolean unmatched_before = FALSE;
	if (!was_unmatched(store, message, &unmatched_before, error))
		return FALSE;
	g_autoptr(AssocDecision) d = assoc_evaluate(store, config, message, error);
	if (!d)
		return FALSE;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(g_free);
	guint n = 0;
	if (!assoc_apply(store, d, reason, dry_run, changes, &n, error))
		return FALSE;
	stats->examined++;
	if (n) {
		stats->changed++;
		stats->link_changes += n;
	}
	if (unmatched_before && !d->unmatched)
		stats->now_linked++;
	for (guint i = 0; on_change && i < changes->len; i++)
		on_change(message, changes->pdata[i], user_data);
	return TRUE;
}

gboolean
assoc_rerun(Store *store, const CommonConfig *config, GArray *messages, const char *reason, gboolean dry_run,
	    AssocChangeFunc on_change, gpointer user_data, AssocRerunStats *stats, GError **error)
{
	AssocRerunStats s = { 0 };
	/* Batches keep the write lock short enough for the milter to get in
	 * between; a dry run writes nothing and needs no transaction. */
	for (guint i = 0; i < messages->len; i += ASSOC_RERUN_BATCH) {
		if (!dry_run && !store_begin(store, error))
			return FALSE;
		for (guint j = i; j < messages->len && j < i + ASSOC_RERUN_BATCH; j++) {
			if (!rerun_one(store, config, g_array_index(messages, gint64, j), reason, dry_run, on_change,
				       user_data, &s, error)) {
				store_rollback(store);
				return FALSE;
			}
		}
		if (!dry_run && !store_commit(store, error))
			return FALSE;
	}
	if (stats)
		*stats = s;
	return TRUE;
}

static gint
cmp_i64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
	return x < y ? -1 : x > y;
}

GArray *
assoc_unmatched_for_keys(Store *store, GPtrArray *keys, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (guint i = 0; i < keys->len; i++) {
		sqlite3_stmt *st = store_prepare(store,
						 "SELECT p.message FROM participants p JOIN decisions d "
						 "ON d.message = p.message WHERE p.address_key = ? "
						 "AND d.status = 'unmatched'",
						 error);
		if (!st) {
			g_array_unref(out);
			return NULL;
		}
		store_bind_text(st, 1, keys->pdata[i]);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			gint64 m = sqlite3_column_int64(st, 0);
			if (!g_hash_table_contains(seen, &m)) {
				g_hash_table_add(seen, g_memdup2(&m, sizeof m));
				g_array_append_val(out, m);
			}
		}
		if (!assoc_step_end(store, st, rc, error, "finding unmatched messages")) {
			g_array_unref(out);
			return NULL;
		}
	}
	g_array_sort(out, cmp_i64);
	return out;
}
