/* The facts of one decision: what the association rule (assoc/) reads about
 * a message, gathered here so that the rule never touches the database.
 *
 * Every lookup goes through an index (sources_message, participants' primary
 * key, user_addresses' primary key, contact_addresses_key, deal_contacts'
 * primary key, messages_message_id, links' primary key, the users and
 * user_excluded_domains primary keys), so gathering does not grow with the
 * size of the CRM: tests/unit/test-store.c checks the query plans. */
#include "store/sqlite/sqlite.h"

#include <string.h>

/* ---- gathering ------------------------------------------------------------ */

static gboolean
facts_sources(Store *store, StoreDecisionFacts *f, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_SOURCES, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactSource *s = g_new0(StoreFactSource, 1);
		s->kind = sq_col_dup(st, 0, NULL);
		s->owner_user_id = sq_col_dup(st, 1, NULL);
		s->dropbox = sq_col_dup(st, 2, NULL);
		s->deal_id = sq_col_dup(st, 3, NULL);
		g_ptr_array_add(f->sources, s);
	}
	return sq_rows_end(store, st, rc, error, "reading the message's sources");
}

static gboolean
facts_user_address(Store *store, StoreFactParticipant *p, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_USER_ADDRESS, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, p->key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->user_id = sq_col_dup(st, 0, NULL);
		p->user_kind = sq_col_dup(st, 1, NULL);
	}
	return sq_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "looking up user addresses");
}

static gboolean
facts_deals(Store *store, StoreFactContact *c, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_CONTACT_DEALS, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, c->id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactDeal *d = g_new0(StoreFactDeal, 1);
		d->id = sq_col_dup(st, 0, NULL);
		d->name = sq_col_dup(st, 1, NULL);
		d->stage = sq_col_dup(st, 2, NULL);
		d->has_probability = sqlite3_column_type(st, 3) != SQLITE_NULL;
		d->probability = sqlite3_column_int(st, 3);
		d->has_stage_probability = sqlite3_column_type(st, 4) != SQLITE_NULL;
		d->stage_probability = sqlite3_column_int(st, 4);
		d->modified_at = sq_col_dup(st, 5, NULL);
		g_ptr_array_add(c->deals, d);
	}
	return sq_rows_end(store, st, rc, error, "reading a contact's deals");
}

static gboolean
facts_contacts(Store *store, StoreFactParticipant *p, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_CONTACTS_BY_ADDRESS, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, p->key);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactContact *c = store_fact_contact_new();
		c->id = sq_col_dup(st, 0, NULL);
		c->kind = sq_col_dup(st, 1, NULL);
		c->name = sq_col_dup(st, 2, NULL);
		g_ptr_array_add(p->contacts, c);
	}
	if (!sq_rows_end(store, st, rc, error, "looking up contact addresses"))
		return FALSE;
	/* The deals after the loop: one cached statement is stepped at a time. */
	for (guint i = 0; i < p->contacts->len; i++)
		if (!facts_deals(store, p->contacts->pdata[i], error))
			return FALSE;
	return TRUE;
}

static gboolean
facts_participants(Store *store, StoreDecisionFacts *f, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_PARTICIPANTS, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactParticipant *p = store_fact_participant_new();
		p->role = sq_col_dup(st, 0, NULL);
		p->address = sq_col_dup(st, 1, NULL);
		p->key = sq_col_dup(st, 2, NULL);
		p->position = sqlite3_column_int64(st, 3);
		g_ptr_array_add(f->participants, p);
	}
	if (!sq_rows_end(store, st, rc, error, "reading participants"))
		return FALSE;
	for (guint i = 0; i < f->participants->len; i++) {
		StoreFactParticipant *p = f->participants->pdata[i];
		if (p->key && (!facts_user_address(store, p, error) || !facts_contacts(store, p, error)))
			return FALSE;
	}
	return TRUE;
}

static void
facts_reference_add(StoreDecisionFacts *f, const char *ref)
{
	for (guint i = 0; i < f->references->len; i++)
		if (!strcmp(((StoreFactReference *)f->references->pdata[i])->message_id, ref))
			return;
	StoreFactReference *r = store_fact_reference_new();
	r->message_id = g_strdup(ref);
	g_ptr_array_add(f->references, r);
}

/* In-Reply-To first, then References from the newest, each once. */
static gboolean
facts_reference_ids(Store *store, StoreDecisionFacts *f, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_IN_REPLY_TO, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		facts_reference_add(f, (const char *)sqlite3_column_text(st, 0));
	if (!sq_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading the message"))
		return FALSE;
	st = sq_prepare(store, STORE_SQL_REFERENCES, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		facts_reference_add(f, (const char *)sqlite3_column_text(st, 0));
	return sq_rows_end(store, st, rc, error, "reading references");
}

static gboolean
facts_reference_deals(Store *store, gint64 message, StoreFactReference *r, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_THREAD_DEALS, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, r->message_id);
	sqlite3_bind_int64(st, 2, message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(r->deals, sq_col_dup(st, 0, NULL));
	return sq_rows_end(store, st, rc, error, "looking up the thread");
}

static gboolean
facts_references(Store *store, StoreDecisionFacts *f, GError **error)
{
	if (!facts_reference_ids(store, f, error))
		return FALSE;
	for (guint i = 0; i < f->references->len; i++)
		if (!facts_reference_deals(store, f->message, f->references->pdata[i], error))
			return FALSE;
	return TRUE;
}

static gboolean
facts_owner(Store *store, StoreFactOwner *o, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, STORE_SQL_USER_SHARING, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, o->user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		o->sharing = sq_col_dup(st, 0, NULL);
	if (!sq_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading a user"))
		return FALSE;
	st = sq_prepare(store, STORE_SQL_EXCLUDED_DOMAINS, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, o->user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(o->excluded_domains, sq_col_dup(st, 0, NULL));
	return sq_rows_end(store, st, rc, error, "reading excluded domains");
}

static gboolean
facts_owners(Store *store, StoreDecisionFacts *f, GError **error)
{
	for (guint i = 0; i < f->sources->len; i++) {
		const char *id = ((StoreFactSource *)f->sources->pdata[i])->owner_user_id;
		gboolean seen = FALSE;
		for (guint j = 0; id && j < f->owners->len && !seen; j++)
			seen = !strcmp(((StoreFactOwner *)f->owners->pdata[j])->user_id, id);
		if (!id || seen)
			continue;
		StoreFactOwner *o = store_fact_owner_new();
		o->user_id = g_strdup(id);
		g_ptr_array_add(f->owners, o);
		if (!facts_owner(store, o, error))
			return FALSE;
	}
	return TRUE;
}

StoreDecisionFacts *
sq_decision_facts(Store *store, gint64 message, GError **error)
{
	StoreDecisionFacts *f = store_decision_facts_new(message);
	if (!facts_sources(store, f, error) || !facts_participants(store, f, error) ||
	    !facts_references(store, f, error) || !facts_owners(store, f, error)) {
		store_decision_facts_free(f);
		return NULL;
	}
	return f;
}
