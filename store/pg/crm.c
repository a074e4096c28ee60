/* CRM records as `bccdrop import` writes them, on PostgreSQL
 * (store/sqlite/crm.c): each put is an upsert by CRM id whose lists replace
 * the stored ones, sent as one pipeline. */
#include "store/pg/pg.h"

#include <string.h>

#include "common/common.h"

static const char *const pg_exists_sql[] = {
	[STORE_CRM_USER] = "SELECT 1 FROM users WHERE id = $1",
	[STORE_CRM_STAGE] = "SELECT 1 FROM stages WHERE name = $1",
	[STORE_CRM_CONTACT] = "SELECT 1 FROM contacts WHERE id = $1",
	[STORE_CRM_DEAL] = "SELECT 1 FROM deals WHERE id = $1",
};

static GPtrArray *
pg_crm_texts(Store *store, const char *sql, const char *id, const char *context, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, id);
	return pg_store_collect(pg_store_cast(store), sql, &p, pg_store_row_text, g_free, context, error);
}

gboolean
pg_store_crm_exists(Store *store, StoreCrmKind kind, const char *id, gboolean *found, GError **error)
{
	g_return_val_if_fail((guint)kind < G_N_ELEMENTS(pg_exists_sql), FALSE);
	*found = FALSE;
	g_autoptr(GPtrArray) rows = pg_crm_texts(store, pg_exists_sql[kind], id, "looking up a record", error);
	if (!rows)
		return FALSE;
	*found = rows->len > 0;
	return TRUE;
}

gboolean
pg_store_crm_address_user(Store *store, const char *key, char **user_id, GError **error)
{
	*user_id = NULL;
	g_autoptr(GPtrArray) rows = pg_crm_texts(store, "SELECT user_id FROM user_addresses WHERE address_key = $1",
						 key, "reading user addresses", error);
	if (!rows)
		return FALSE;
	if (rows->len)
		*user_id = g_strdup(rows->pdata[0]);
	return TRUE;
}

GPtrArray *
pg_store_crm_user_keys(Store *store, const char *user_id, GError **error)
{
	return pg_crm_texts(store, "SELECT address_key FROM user_addresses WHERE user_id = $1", user_id,
			    "reading addresses", error);
}

GPtrArray *
pg_store_crm_contact_keys(Store *store, const char *contact_id, GError **error)
{
	return pg_crm_texts(store, "SELECT address_key FROM contact_addresses WHERE contact_id = $1", contact_id,
			    "reading addresses", error);
}

/* One job of BATCH running SQL with VALUES[0..N) as text (NULL: SQL NULL). */
static void
pg_crm_add(PgBatch *batch, const char *sql, const char *const *values, guint n)
{
	PgParams *p = pg_batch_add(batch, sql);
	for (guint i = 0; i < n; i++)
		pg_params_text(p, values[i]);
}

/* SQL (a list insert) once per item of ITEMS, bound after ID. */
static void
pg_crm_add_each(PgBatch *batch, const char *sql, const char *id, GPtrArray *items)
{
	for (guint i = 0; items && i < items->len; i++) {
		const char *v[] = { id, items->pdata[i] };
		pg_crm_add(batch, sql, v, 2);
	}
}

static char *
pg_crm_time_or_null(gint64 t)
{
	return t ? common_iso8601(t) : NULL;
}

static char *
pg_crm_percent_or_null(int probability)
{
	return probability >= 0 ? g_strdup_printf("%d", probability) : NULL;
}

static const char pg_user_address_sql[] = "INSERT INTO user_addresses(address_key, user_id, kind) VALUES ($1, $2, $3)";

/* The email, then the aliases once each without it (the first address
 * wins). */
static void
pg_crm_user_addresses(PgBatch *batch, const StoreCrmUser *u)
{
	const char *v[] = { u->email, u->id, "email" };
	pg_crm_add(batch, pg_user_address_sql, v, 3);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_add(seen, (gpointer)u->email);
	for (guint i = 0; u->aliases && i < u->aliases->len; i++) {
		const char *a[] = { u->aliases->pdata[i], u->id, "alias" };
		if (g_hash_table_add(seen, u->aliases->pdata[i]))
			pg_crm_add(batch, pg_user_address_sql, a, 3);
	}
}

gboolean
pg_store_crm_put_user(Store *store, const StoreCrmUser *u, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	g_autofree char *last_active = pg_crm_time_or_null(u->last_active_at);
	const char *v[] = { u->id, u->email, u->name, u->dropbox, u->sharing, last_active, now };
	const char *id[] = { u->id };
	g_auto(PgBatch) batch = { 0 };
	pg_crm_add(&batch,
		   "INSERT INTO users(id, email, name, dropbox, sharing, last_active_at, updated_at) "
		   "VALUES ($1, $2, coalesce($3, ''), $4, $5, $6, $7) ON CONFLICT(id) DO UPDATE SET "
		   "email = $2, name = coalesce($3, ''), dropbox = $4, sharing = $5, last_active_at = $6, "
		   "updated_at = $7",
		   v, G_N_ELEMENTS(v));
	pg_crm_add(&batch, "DELETE FROM user_addresses WHERE user_id = $1", id, 1);
	pg_crm_add(&batch, "DELETE FROM user_excluded_domains WHERE user_id = $1", id, 1);
	pg_crm_user_addresses(&batch, u);
	pg_crm_add_each(&batch,
			"INSERT INTO user_excluded_domains(user_id, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING",
			u->id, u->excluded_domains);
	return pg_store_run_batch(pg_store_cast(store), &batch, "storing a user", error);
}

gboolean
pg_store_crm_put_stage(Store *store, const StoreCrmStage *s, GError **error)
{
	g_autofree char *prob = pg_crm_percent_or_null(s->probability);
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, s->name);
	pg_params_text(&p, prob);
	return pg_store_do(pg_store_cast(store),
			   "INSERT INTO stages(name, probability) VALUES ($1, $2) "
			   "ON CONFLICT(name) DO UPDATE SET probability = $2",
			   &p, NULL, "storing a stage", error);
}

gboolean
pg_store_crm_put_contact(Store *store, const StoreCrmContact *c, GError **error)
{
	g_return_val_if_fail(c->addresses->len == c->address_keys->len, FALSE);
	g_autofree char *now = common_iso8601(common_now());
	const char *v[] = { c->id, c->kind, c->name, c->owner_id, now };
	const char *id[] = { c->id };
	g_auto(PgBatch) batch = { 0 };
	pg_crm_add(&batch,
		   "INSERT INTO contacts(id, kind, name, owner_id, updated_at) VALUES ($1, $2, coalesce($3, ''), $4, $5) "
		   "ON CONFLICT(id) DO UPDATE SET kind = $2, name = coalesce($3, ''), owner_id = $4, updated_at = $5",
		   v, G_N_ELEMENTS(v));
	pg_crm_add(&batch, "DELETE FROM contact_addresses WHERE contact_id = $1", id, 1);
	for (guint i = 0; i < c->addresses->len; i++) {
		const char *a[] = { c->id, c->addresses->pdata[i], c->address_keys->pdata[i] };
		pg_crm_add(&batch,
			   "INSERT INTO contact_addresses(contact_id, address, address_key) VALUES ($1, $2, $3) "
			   "ON CONFLICT DO NOTHING",
			   a, 3);
	}
	return pg_store_run_batch(pg_store_cast(store), &batch, "storing a contact", error);
}

gboolean
pg_store_crm_put_deal(Store *store, const StoreCrmDeal *d, GError **error)
{
	g_autofree char *prob = pg_crm_percent_or_null(d->probability);
	g_autofree char *modified = common_iso8601(d->modified_at);
	const char *v[] = { d->id, d->name, d->stage, prob, modified };
	const char *id[] = { d->id };
	g_auto(PgBatch) batch = { 0 };
	pg_crm_add(&batch,
		   "INSERT INTO deals(id, name, stage, probability, modified_at) VALUES ($1, coalesce($2, ''), $3, $4, $5) "
		   "ON CONFLICT(id) DO UPDATE SET name = coalesce($2, ''), stage = $3, probability = $4, "
		   "modified_at = $5",
		   v, G_N_ELEMENTS(v));
	pg_crm_add(&batch, "DELETE FROM deal_contacts WHERE deal_id = $1", id, 1);
	pg_crm_add_each(&batch, "INSERT INTO deal_contacts(deal_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
			d->id, d->contact_ids);
	return pg_store_run_batch(pg_store_cast(store), &batch, "storing a deal", error);
}
