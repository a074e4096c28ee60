/* The facts of one decision: what the association rule (assoc/) reads about
 * a message, gathered here so that the rule never touches the database.
 *
 * Every lookup goes through an index (sources_message, participants' primary
 * key, user_addresses' primary key, contact_addresses_key, deal_contacts'
 * primary key, messages_message_id, links' primary key, the users and
 * user_excluded_domains primary keys), so gathering does not grow with the
 * size of the CRM: tests/unit/test-store.c checks the query plans. */
#include "store/store.h"

#include <string.h>

#include "store/store-internal.h"

static void
fact_source_free(gpointer p)
{
	StoreFactSource *s = p;
	g_free(s->kind);
	g_free(s->owner_user_id);
	g_free(s->dropbox);
	g_free(s);
}

static void
fact_deal_free(gpointer p)
{
	StoreFactDeal *d = p;
	g_free(d->id);
	g_free(d->name);
	g_free(d->stage);
	g_free(d->modified_at);
	g_free(d);
}

static void
fact_contact_free(gpointer p)
{
	StoreFactContact *c = p;
	g_free(c->id);
	g_free(c->kind);
	g_free(c->name);
	g_ptr_array_unref(c->deals);
	g_free(c);
}

static void
fact_participant_free(gpointer p)
{
	StoreFactParticipant *pa = p;
	g_free(pa->role);
	g_free(pa->address);
	g_free(pa->key);
	g_free(pa->user_id);
	g_free(pa->user_kind);
	g_ptr_array_unref(pa->contacts);
	g_free(pa);
}

static void
fact_reference_free(gpointer p)
{
	StoreFactReference *r = p;
	g_free(r->message_id);
	g_ptr_array_unref(r->deals);
	g_free(r);
}

static void
fact_owner_free(gpointer p)
{
	StoreFactOwner *o = p;
	g_free(o->user_id);
	g_free(o->sharing);
	g_ptr_array_unref(o->excluded_domains);
	g_free(o);
}

StoreFactContact *
store_fact_contact_new(void)
{
	StoreFactContact *c = g_new0(StoreFactContact, 1);
	c->deals = g_ptr_array_new_with_free_func(fact_deal_free);
	return c;
}

StoreFactParticipant *
store_fact_participant_new(void)
{
	StoreFactParticipant *p = g_new0(StoreFactParticipant, 1);
	p->contacts = g_ptr_array_new_with_free_func(fact_contact_free);
	return p;
}

StoreFactReference *
store_fact_reference_new(void)
{
	StoreFactReference *r = g_new0(StoreFactReference, 1);
	r->deals = g_ptr_array_new_with_free_func(g_free);
	return r;
}

StoreFactOwner *
store_fact_owner_new(void)
{
	StoreFactOwner *o = g_new0(StoreFactOwner, 1);
	o->excluded_domains = g_ptr_array_new_with_free_func(g_free);
	return o;
}

StoreDecisionFacts *
store_decision_facts_new(gint64 message)
{
	StoreDecisionFacts *f = g_new0(StoreDecisionFacts, 1);
	f->message = message;
	f->sources = g_ptr_array_new_with_free_func(fact_source_free);
	f->participants = g_ptr_array_new_with_free_func(fact_participant_free);
	f->references = g_ptr_array_new_with_free_func(fact_reference_free);
	f->owners = g_ptr_array_new_with_free_func(fact_owner_free);
	return f;
}

void
store_decision_facts_free(StoreDecisionFacts *f)
{
	if (!f)
		return;
	g_ptr_array_unref(f->sources);
	g_ptr_array_unref(f->participants);
	g_ptr_array_unref(f->references);
	g_ptr_array_unref(f->owners);
	g_free(f);
}

/* ---- gathering ------------------------------------------------------------ */

static gboolean
facts_sources(Store *store, StoreDecisionFacts *f, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_SOURCES, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactSource *s = g_new0(StoreFactSource, 1);
		s->kind = store_col_dup(st, 0, NULL);
		s->owner_user_id = store_col_dup(st, 1, NULL);
		s->dropbox = store_col_dup(st, 2, NULL);
		g_ptr_array_add(f->sources, s);
	}
	return store_rows_end(store, st, rc, error, "reading the message's sources");
}

static gboolean
facts_user_address(Store *store, StoreFactParticipant *p, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_USER_ADDRESS, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, p->key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->user_id = store_col_dup(st, 0, NULL);
		p->user_kind = store_col_dup(st, 1, NULL);
	}
	return store_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "looking up user addresses");
}

static gboolean
facts_deals(Store *store, StoreFactContact *c, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_CONTACT_DEALS, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, c->id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactDeal *d = g_new0(StoreFactDeal, 1);
		d->id = store_col_dup(st, 0, NULL);
		d->name = store_col_dup(st, 1, NULL);
		d->stage = store_col_dup(st, 2, NULL);
		d->has_probability = sqlite3_column_type(st, 3) != SQLITE_NULL;
		d->probability = sqlite3_column_int(st, 3);
		d->has_stage_probability = sqlite3_column_type(st, 4) != SQLITE_NULL;
		d->stage_probability = sqlite3_column_int(st, 4);
		d->modified_at = store_col_dup(st, 5, NULL);
		g_ptr_array_add(c->deals, d);
	}
	return store_rows_end(store, st, rc, error, "reading a contact's deals");
}

static gboolean
facts_contacts(Store *store, StoreFactParticipant *p, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_CONTACTS_BY_ADDRESS, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, p->key);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactContact *c = store_fact_contact_new();
		c->id = store_col_dup(st, 0, NULL);
		c->kind = store_col_dup(st, 1, NULL);
		c->name = store_col_dup(st, 2, NULL);
		g_ptr_array_add(p->contacts, c);
	}
	if (!store_rows_end(store, st, rc, error, "looking up contact addresses"))
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
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_PARTICIPANTS, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreFactParticipant *p = store_fact_participant_new();
		p->role = store_col_dup(st, 0, NULL);
		p->address = store_col_dup(st, 1, NULL);
		p->key = store_col_dup(st, 2, NULL);
		p->position = sqlite3_column_int64(st, 3);
		g_ptr_array_add(f->participants, p);
	}
	if (!store_rows_end(store, st, rc, error, "reading participants"))
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
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_IN_REPLY_TO, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		facts_reference_add(f, (const char *)sqlite3_column_text(st, 0));
	if (!store_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading the message"))
		return FALSE;
	st = store_prepare(store, STORE_SQL_REFERENCES, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		facts_reference_add(f, (const char *)sqlite3_column_text(st, 0));
	return store_rows_end(store, st, rc, error, "reading references");
}

static gboolean
facts_reference_deals(Store *store, gint64 message, StoreFactReference *r, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_THREAD_DEALS, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, r->message_id);
	sqlite3_bind_int64(st, 2, message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(r->deals, store_col_dup(st, 0, NULL));
	return store_rows_end(store, st, rc, error, "looking up the thread");
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
	sqlite3_stmt *st = store_prepare(store, STORE_SQL_USER_SHARING, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, o->user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		o->sharing = store_col_dup(st, 0, NULL);
	if (!store_rows_end(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading a user"))
		return FALSE;
	st = store_prepare(store, STORE_SQL_EXCLUDED_DOMAINS, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, o->user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(o->excluded_domains, store_col_dup(st, 0, NULL));
	return store_rows_end(store, st, rc, error, "reading excluded domains");
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
store_decision_facts(Store *store, gint64 message, GError **error)
{
	StoreDecisionFacts *f = store_decision_facts_new(message);
	if (!facts_sources(store, f, error) || !facts_participants(store, f, error) ||
	    !facts_references(store, f, error) || !facts_owners(store, f, error)) {
		store_decision_facts_free(f);
		return NULL;
	}
	return f;
}
