/* CRM records as `bccdrop import` writes them: users with their addresses
 * and excluded domains, stages, contacts with addresses, deals with contacts.
 * Each put is an upsert by CRM id whose lists replace the stored ones. */
#include "store/sqlite/sqlite.h"

#include <string.h>

#include "common/common.h"
#include "store/sqlite/sqlite.h"

static const char *const exists_sql[] = {
	[STORE_CRM_USER] = "SELECT 1 FROM users WHERE id = ?",
	[STORE_CRM_STAGE] = "SELECT 1 FROM stages WHERE name = ?",
	[STORE_CRM_CONTACT] = "SELECT 1 FROM contacts WHERE id = ?",
	[STORE_CRM_DEAL] = "SELECT 1 FROM deals WHERE id = ?",
};

/* Prepare SQL with the text ID bound to ?1. */
static sqlite3_stmt *
prepare_id(Store *store, const char *sql, const char *id, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, sql, error);
	if (st)
		sq_bind_text(st, 1, id);
	return st;
}

gboolean
sq_crm_exists(Store *store, StoreCrmKind kind, const char *id, gboolean *found, GError **error)
{
	g_return_val_if_fail((guint)kind < G_N_ELEMENTS(exists_sql), FALSE);
	*found = FALSE;
	sqlite3_stmt *st = prepare_id(store, exists_sql[kind], id, error);
	g_autofree char *one = NULL;
	if (!st || !sq_fetch_one(store, st, sq_row_text, (gpointer *)&one, error, "looking up a record"))
		return FALSE;
	*found = one != NULL;
	return TRUE;
}

gboolean
sq_crm_address_user(Store *store, const char *key, char **user_id, GError **error)
{
	*user_id = NULL;
	sqlite3_stmt *st = prepare_id(store, "SELECT user_id FROM user_addresses WHERE address_key = ?", key, error);
	return st && sq_fetch_one(store, st, sq_row_text, (gpointer *)user_id, error, "reading user addresses");
}

GPtrArray *
sq_crm_user_keys(Store *store, const char *user_id, GError **error)
{
	sqlite3_stmt *st = prepare_id(store, "SELECT address_key FROM user_addresses WHERE user_id = ?", user_id, error);
	return st ? sq_collect(store, st, sq_row_text, g_free, error, "reading addresses") : NULL;
}

GPtrArray *
sq_crm_contact_keys(Store *store, const char *contact_id, GError **error)
{
	sqlite3_stmt *st =
		prepare_id(store, "SELECT address_key FROM contact_addresses WHERE contact_id = ?", contact_id, error);
	return st ? sq_collect(store, st, sq_row_text, g_free, error, "reading addresses") : NULL;
}

/* Run SQL with VALUES[0..N) bound as text (NULL as SQL NULL). */
static gboolean
run(Store *store, const char *sql, const char *const *values, guint n, GError **error, const char *context)
{
	sqlite3_stmt *st = sq_prepare(store, sql, error);
	if (!st)
		return FALSE;
	for (guint i = 0; i < n; i++)
		sq_bind_text(st, (int)i + 1, values[i]);
	return sq_step_done(store, st, error, context);
}

/* Run SQL (a list insert) once per item of ITEMS, bound after ID. */
static gboolean
run_each(Store *store, const char *sql, const char *id, GPtrArray *items, GError **error, const char *context)
{
	for (guint i = 0; items && i < items->len; i++) {
		const char *v[] = { id, items->pdata[i] };
		if (!run(store, sql, v, 2, error, context))
			return FALSE;
	}
	return TRUE;
}

static char *
time_or_null(gint64 t)
{
	return t ? common_iso8601(t) : NULL;
}

static char *
percent_or_null(int probability)
{
	return probability >= 0 ? g_strdup_printf("%d", probability) : NULL;
}

static gboolean
user_address(Store *store, const char *id, const char *key, const char *kind, GError **error)
{
	const char *v[] = { key, id, kind };
	return run(store, "INSERT INTO user_addresses(address_key, user_id, kind) VALUES (?, ?, ?)", v, 3, error,
		   "storing a user address");
}

/* The aliases once each, without the email (the first address wins). */
static gboolean
user_aliases(Store *store, const StoreCrmUser *u, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_add(seen, (gpointer)u->email);
	for (guint i = 0; u->aliases && i < u->aliases->len; i++)
		if (g_hash_table_add(seen, u->aliases->pdata[i]) &&
		    !user_address(store, u->id, u->aliases->pdata[i], "alias", error))
			return FALSE;
	return TRUE;
}

gboolean
sq_crm_put_user(Store *store, const StoreCrmUser *u, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	g_autofree char *last_active = time_or_null(u->last_active_at);
	const char *v[] = { u->id, u->email, u->name, u->dropbox, u->sharing, last_active, now,
			    u->deactivated ? "1" : "0" };
	const char *id[] = { u->id };
	return run(store,
		   "INSERT INTO users(id, email, name, dropbox, sharing, last_active_at, updated_at, deactivated) "
		   "VALUES (?1, ?2, coalesce(?3, ''), ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET "
		   "email = ?2, name = coalesce(?3, ''), dropbox = ?4, sharing = ?5, last_active_at = ?6, "
		   "updated_at = ?7, deactivated = ?8, retired_at = NULL",
		   v, G_N_ELEMENTS(v), error, "storing a user") &&
	       run(store, "DELETE FROM user_addresses WHERE user_id = ?", id, 1, error, "replacing user addresses") &&
	       run(store, "DELETE FROM user_excluded_domains WHERE user_id = ?", id, 1, error,
		   "replacing excluded domains") &&
	       user_address(store, u->id, u->email, "email", error) && user_aliases(store, u, error) &&
	       run_each(store, "INSERT OR IGNORE INTO user_excluded_domains(user_id, domain) VALUES (?, ?)", u->id,
			u->excluded_domains, error, "storing an excluded domain");
}

gboolean
sq_crm_put_stage(Store *store, const StoreCrmStage *s, GError **error)
{
	g_autofree char *prob = percent_or_null(s->probability);
	const char *v[] = { s->name, prob };
	return run(store,
		   "INSERT INTO stages(name, probability) VALUES (?1, ?2) "
		   "ON CONFLICT(name) DO UPDATE SET probability = ?2, retired_at = NULL",
		   v, 2, error, "storing a stage");
}

static gboolean
contact_addresses(Store *store, const StoreCrmContact *c, GError **error)
{
	g_return_val_if_fail(c->addresses->len == c->address_keys->len, FALSE);
	for (guint i = 0; i < c->addresses->len; i++) {
		const char *a[] = { c->id, c->addresses->pdata[i], c->address_keys->pdata[i] };
		if (!run(store,
			 "INSERT OR IGNORE INTO contact_addresses(contact_id, address, address_key) VALUES (?, ?, ?)",
			 a, 3, error, "storing a contact address"))
			return FALSE;
	}
	return TRUE;
}

gboolean
sq_crm_put_contact(Store *store, const StoreCrmContact *c, GError **error)
{
	g_autofree char *now = common_iso8601(common_now());
	const char *v[] = { c->id, c->kind, c->name, c->owner_id, now };
	const char *id[] = { c->id };
	return run(store,
		   "INSERT INTO contacts(id, kind, name, owner_id, updated_at) VALUES (?1, ?2, coalesce(?3, ''), ?4, ?5) "
		   "ON CONFLICT(id) DO UPDATE SET kind = ?2, name = coalesce(?3, ''), owner_id = ?4, updated_at = ?5, "
		   "retired_at = NULL, merged_into = NULL",
		   v, G_N_ELEMENTS(v), error, "storing a contact") &&
	       run(store, "DELETE FROM contact_addresses WHERE contact_id = ?", id, 1, error,
		   "replacing contact addresses") &&
	       contact_addresses(store, c, error);
}

gboolean
sq_crm_put_deal(Store *store, const StoreCrmDeal *d, GError **error)
{
	g_autofree char *prob = percent_or_null(d->probability);
	g_autofree char *modified = common_iso8601(d->modified_at);
	const char *v[] = { d->id, d->name, d->stage, prob, modified };
	const char *id[] = { d->id };
	return run(store,
		   "INSERT INTO deals(id, name, stage, probability, modified_at) VALUES (?1, coalesce(?2, ''), ?3, ?4, ?5) "
		   "ON CONFLICT(id) DO UPDATE SET name = coalesce(?2, ''), stage = ?3, probability = ?4, "
		   "modified_at = ?5, retired_at = NULL",
		   v, G_N_ELEMENTS(v), error, "storing a deal") &&
	       run(store, "DELETE FROM deal_contacts WHERE deal_id = ?", id, 1, error, "replacing deal contacts") &&
	       run_each(store, "INSERT OR IGNORE INTO deal_contacts(deal_id, contact_id) VALUES (?, ?)", d->id,
			d->contact_ids, error, "storing a deal contact");
}

/* ---- full sync ---------------------------------------------------------------- */

/* quote() keeps NULL and '' apart; the lists are sorted so order is no change. */
static const char *const state_sql[] = {
	[STORE_CRM_USER] = "SELECT quote(email) || quote(name) || quote(dropbox) || quote(sharing) || "
			   "quote(last_active_at) || quote(retired_at) || deactivated || '|' || "
			   "coalesce((SELECT group_concat(k, ' ') FROM (SELECT address_key || ':' || kind AS k "
			   "FROM user_addresses WHERE user_id = ?1 ORDER BY 1)), '') || '|' || "
			   "coalesce((SELECT group_concat(domain, ' ') FROM (SELECT domain FROM user_excluded_domains "
			   "WHERE user_id = ?1 ORDER BY 1)), '') FROM users WHERE id = ?1",
	[STORE_CRM_STAGE] = "SELECT quote(probability) || quote(retired_at) FROM stages WHERE name = ?1",
	[STORE_CRM_CONTACT] = "SELECT quote(kind) || quote(name) || quote(owner_id) || quote(retired_at) || "
			      "quote(merged_into) || '|' || coalesce((SELECT group_concat(a, ' ') FROM "
			      "(SELECT address_key || '=' || address AS a FROM contact_addresses "
			      "WHERE contact_id = ?1 ORDER BY 1)), '') FROM contacts WHERE id = ?1",
	[STORE_CRM_DEAL] = "SELECT quote(name) || quote(stage) || quote(probability) || quote(modified_at) || "
			   "quote(retired_at) || '|' || coalesce((SELECT group_concat(c, ' ') FROM "
			   "(SELECT contact_id AS c FROM deal_contacts WHERE deal_id = ?1 ORDER BY 1)), '') "
			   "FROM deals WHERE id = ?1",
};

gboolean
sq_crm_state(Store *store, StoreCrmKind kind, const char *id, char **state, GError **error)
{
	g_return_val_if_fail((guint)kind < G_N_ELEMENTS(state_sql), FALSE);
	*state = NULL;
	sqlite3_stmt *st = prepare_id(store, state_sql[kind], id, error);
	return st && sq_fetch_one(store, st, sq_row_text, (gpointer *)state, error, "reading a CRM record");
}

static const char *const live_sql[] = {
	[STORE_CRM_USER] = "SELECT id FROM users WHERE retired_at IS NULL ORDER BY id",
	[STORE_CRM_STAGE] = "SELECT name FROM stages WHERE retired_at IS NULL ORDER BY name",
	[STORE_CRM_CONTACT] = "SELECT id FROM contacts WHERE retired_at IS NULL ORDER BY id",
	[STORE_CRM_DEAL] = "SELECT id FROM deals WHERE retired_at IS NULL ORDER BY id",
};

GPtrArray *
sq_crm_live_ids(Store *store, StoreCrmKind kind, GError **error)
{
	g_return_val_if_fail((guint)kind < G_N_ELEMENTS(live_sql), NULL);
	sqlite3_stmt *st = sq_prepare(store, live_sql[kind], error);
	return st ? sq_collect(store, st, sq_row_text, g_free, error, "listing CRM records") : NULL;
}

static const char *const retire_sql[] = {
	[STORE_CRM_USER] = "UPDATE users SET retired_at = ?2 WHERE id = ?1",
	[STORE_CRM_STAGE] = "UPDATE stages SET retired_at = ?2 WHERE name = ?1",
	[STORE_CRM_CONTACT] = "UPDATE contacts SET retired_at = ?2 WHERE id = ?1",
	[STORE_CRM_DEAL] = "UPDATE deals SET retired_at = ?2 WHERE id = ?1",
};

/* Links name deals and contacts only: users and stages have none. */
static const char *
link_module(StoreCrmKind kind)
{
	return kind == STORE_CRM_DEAL ? "deal" : kind == STORE_CRM_CONTACT ? "contact" : NULL;
}

gboolean
sq_crm_retire(Store *store, StoreCrmKind kind, const char *id, const char *reason, GError **error)
{
	g_return_val_if_fail((guint)kind < G_N_ELEMENTS(retire_sql), FALSE);
	g_autofree char *now = common_iso8601(common_now());
	const char *v[] = { id, now, link_module(kind), reason };
	if (!run(store, retire_sql[kind], v, 2, error, "retiring a CRM record"))
		return FALSE;
	const char *h[] = { v[2], id, now, reason };
	return !h[0] || run(store,
			    "INSERT INTO link_history(message, at, action, module, record_id, old_rule, new_rule, "
			    "old_visibility, new_visibility, reason) SELECT message, ?3, 'changed', module, record_id, "
			    "rule, rule, visibility, visibility, ?4 FROM links WHERE module = ?1 AND record_id = ?2",
			    h, 4, error, "recording the retirement in link history");
}

gboolean
sq_crm_merge_contact(Store *store, const char *id, const char *survivor, const char *reason, GError **error)
{
	const char *v[] = { id, survivor };
	return run(store,
		   "INSERT OR IGNORE INTO contact_addresses(contact_id, address, address_key) "
		   "SELECT ?2, address, address_key FROM contact_addresses WHERE contact_id = ?1",
		   v, 2, error, "moving a merged contact's addresses") &&
	       run(store, "DELETE FROM contact_addresses WHERE contact_id = ?1", v, 1, error,
		   "moving a merged contact's addresses") &&
	       run(store,
		   "INSERT OR IGNORE INTO deal_contacts(deal_id, contact_id) "
		   "SELECT deal_id, ?2 FROM deal_contacts WHERE contact_id = ?1",
		   v, 2, error, "moving a merged contact's deals") &&
	       run(store, "DELETE FROM deal_contacts WHERE contact_id = ?1", v, 1, error,
		   "moving a merged contact's deals") &&
	       run(store, "UPDATE contacts SET merged_into = ?2 WHERE id = ?1", v, 2, error, "recording a merge") &&
	       sq_crm_retire(store, STORE_CRM_CONTACT, id, reason, error);
}

gboolean
sq_user_inactive(Store *store, const char *user_id, gboolean *inactive, GError **error)
{
	*inactive = FALSE;
	sqlite3_stmt *st = prepare_id(
		store, "SELECT 1 FROM users WHERE id = ? AND (deactivated = 1 OR retired_at IS NOT NULL)", user_id, error);
	g_autofree char *one = NULL;
	if (!st || !sq_fetch_one(store, st, sq_row_text, (gpointer *)&one, error, "reading a user"))
		return FALSE;
	*inactive = one != NULL;
	return TRUE;
}
