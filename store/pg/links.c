/* A message's links, their history and its stored decision on PostgreSQL
 * (store/sqlite/links.c): read as they are, written exactly as the caller
 * says, each decision's writes in one round trip. */
#include "store/pg/pg.h"

#include <string.h>

/* ---- reading ---- */

static gpointer
pg_link_row(const PGresult *res, int r)
{
	StoreLink *l = g_new0(StoreLink, 1);
	l->module = pg_store_value_dup(res, r, 0, NULL);
	l->record_id = pg_store_value_dup(res, r, 1, NULL);
	l->rule = pg_store_value_dup(res, r, 2, NULL);
	l->visibility = pg_store_value_dup(res, r, 3, NULL);
	l->contact_id = pg_store_value_dup(res, r, 4, NULL);
	l->matched_address = pg_store_value_dup(res, r, 5, NULL);
	return l;
}

StoreLinkState *
pg_store_link_state(Store *store, gint64 message, GError **error)
{
	g_auto(PgBatch) batch = { 0 };
	pg_params_int(pg_batch_add(&batch, "SELECT module, record_id, rule, visibility, contact_id, matched_address "
					   "FROM links WHERE message = $1 ORDER BY module COLLATE \"C\", "
					   "record_id COLLATE \"C\""),
		      message);
	pg_params_int(pg_batch_add(&batch, "SELECT status, trace FROM decisions WHERE message = $1"), message);
	g_autoptr(GPtrArray) res = pg_store_run_batch_results(pg_store_cast(store), &batch, "reading links", error);
	if (!res)
		return NULL;
	StoreLinkState *s = g_new0(StoreLinkState, 1);
	s->links = g_ptr_array_new_with_free_func((GDestroyNotify)store_link_free);
	const PGresult *links = res->pdata[0], *decision = res->pdata[1];
	for (int i = 0; i < PQntuples(links); i++)
		g_ptr_array_add(s->links, pg_link_row(links, i));
	if (PQntuples(decision) > 0) {
		s->status = pg_store_value_dup(decision, 0, 0, NULL);
		s->trace = pg_store_value_dup(decision, 0, 1, NULL);
	}
	return s;
}

/* ---- writing ---- */

static void
pg_history_add(PgBatch *batch, const StoreDecisionWrite *w, const StoreLinkChange *c)
{
	PgParams *p = pg_batch_add(batch, "INSERT INTO link_history(message, at, action, module, record_id, old_rule, "
					  "new_rule, old_visibility, new_visibility, reason) "
					  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
	gboolean removed = c->action == STORE_LINK_REMOVED;
	const char *old_rule = removed ? c->link->rule : c->old_rule;
	const char *old_vis = removed ? c->link->visibility : c->old_visibility;
	const char *v[] = { w->at, store_link_action_name(c->action), c->link->module, c->link->record_id,
			    old_rule, removed ? NULL : c->link->rule, old_vis, removed ? NULL : c->link->visibility,
			    w->reason };
	pg_params_int(p, w->message);
	for (guint i = 0; i < G_N_ELEMENTS(v); i++)
		pg_params_text(p, v[i]);
}

static void
pg_link_put(PgBatch *batch, const StoreDecisionWrite *w, const StoreLink *l, gboolean insert)
{
	PgParams *p = pg_batch_add(
		batch,
		insert ? "INSERT INTO links(message, module, record_id, rule, visibility, contact_id, matched_address, "
			 "decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
		       : "UPDATE links SET rule = $4, visibility = $5, contact_id = $6, matched_address = $7, "
			 "decided_at = $8 WHERE message = $1 AND module = $2 AND record_id = $3");
	const char *v[] = { l->module, l->record_id, l->rule, l->visibility, l->contact_id, l->matched_address, w->at };
	pg_params_int(p, w->message);
	for (guint i = 0; i < G_N_ELEMENTS(v); i++)
		pg_params_text(p, v[i]);
}

static void
pg_link_delete(PgBatch *batch, gint64 message, const StoreLink *l)
{
	PgParams *p = pg_batch_add(batch, "DELETE FROM links WHERE message = $1 AND module = $2 AND record_id = $3");
	pg_params_int(p, message);
	pg_params_text(p, l->module);
	pg_params_text(p, l->record_id);
}

static void
pg_decision_put(PgBatch *batch, const StoreDecisionWrite *w)
{
	PgParams *p = pg_batch_add(batch, "INSERT INTO decisions(message, status, decided_at, reason, trace) "
					  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT(message) DO UPDATE SET "
					  "status = $2, decided_at = $3, reason = $4, trace = $5");
	pg_params_int(p, w->message);
	pg_params_text(p, w->status);
	pg_params_text(p, w->at);
	pg_params_text(p, w->reason);
	pg_params_text(p, w->trace);
}

gboolean
pg_store_decision_write(Store *store, const StoreDecisionWrite *w, GError **error)
{
	g_auto(PgBatch) batch = { 0 };
	for (guint i = 0; i < w->n_changes; i++) {
		const StoreLinkChange *c = &w->changes[i];
		if (c->action == STORE_LINK_REMOVED)
			pg_link_delete(&batch, w->message, c->link);
		else
			pg_link_put(&batch, w, c->link, c->action == STORE_LINK_ADDED);
		pg_history_add(&batch, w, c);
	}
	if (w->write_decision)
		pg_decision_put(&batch, w);
	return pg_store_run_batch(pg_store_cast(store), &batch, "storing the decision", error);
}

/* ---- backfill ---- */

GArray *
pg_store_unmatched_for_keys(Store *store, GPtrArray *keys, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text_array(&p, keys);
	/* Each message once, in id order, as the SQLite twin sorts them. */
	return pg_store_collect_ids(pg_store_cast(store),
				    "SELECT DISTINCT p.message FROM participants p JOIN decisions d ON d.message = p.message "
				    "WHERE p.address_key = ANY($1::text[]) AND d.status = 'unmatched' ORDER BY p.message",
				    &p, "finding unmatched messages", error);
}
