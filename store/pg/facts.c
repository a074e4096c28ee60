/* The facts of one decision on PostgreSQL (store/sqlite/facts.c): the same
 * facts in the same order, gathered in one round trip. Every lookup is keyed
 * by the message alone, so the ten statements go out together as one
 * pipeline and the facts are assembled from their rows here. Text sorts
 * byte-wise (COLLATE "C"), as in SQLite. */
#include "store/pg/pg.h"

#include <string.h>

/* The participant keys the lookups start from. */
#define PG_FACT_KEYS                                                                     \
	"(SELECT address_key FROM participants WHERE message = $1 AND address_key IS NOT NULL " \
	"AND role IN ('from','to','cc','envelope_rcpt'))"
#define PG_FACT_OWNERS "(SELECT owner_user_id FROM sources WHERE message = $1)"

enum {
	PG_FACT_SOURCES,
	PG_FACT_PARTICIPANTS,
	PG_FACT_USERS,
	PG_FACT_CONTACTS,
	PG_FACT_DEALS,
	PG_FACT_IN_REPLY_TO,
	PG_FACT_REFERENCES,
	PG_FACT_THREAD_DEALS,
	PG_FACT_SHARING,
	PG_FACT_EXCLUDED,
	PG_FACT_N
};

static const char *const pg_fact_sql[PG_FACT_N] = {
	[PG_FACT_SOURCES] = "SELECT kind, owner_user_id, dropbox FROM sources WHERE message = $1 ORDER BY id",
	[PG_FACT_PARTICIPANTS] =
		"SELECT role, address, address_key, position FROM participants WHERE message = $1 "
		"AND role IN ('from','to','cc','envelope_rcpt') ORDER BY "
		"CASE role WHEN 'from' THEN 0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 ELSE 3 END, position",
	/* An address of the user first, then a dropbox (SQLite's UNION ALL
	 * ... LIMIT 1 takes them in that order). */
	[PG_FACT_USERS] = "SELECT k.key, u.user_id, u.kind FROM (SELECT DISTINCT address_key AS key FROM "
			  PG_FACT_KEYS " x) k CROSS JOIN LATERAL (SELECT user_id, kind, 0 AS o FROM user_addresses "
			  "WHERE address_key = k.key UNION ALL SELECT id, 'dropbox', 1 FROM users WHERE dropbox = k.key "
			  "ORDER BY o LIMIT 1) u",
	[PG_FACT_CONTACTS] = "SELECT a.address_key, c.id, c.kind, c.name FROM contact_addresses a "
			     "JOIN contacts c ON c.id = a.contact_id WHERE a.address_key IN " PG_FACT_KEYS
			     " ORDER BY c.id COLLATE \"C\"",
	[PG_FACT_DEALS] = "SELECT dc.contact_id, d.id, d.name, d.stage, d.probability, s.probability, d.modified_at "
			  "FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id LEFT JOIN stages s ON s.name = d.stage "
			  "WHERE dc.contact_id IN (SELECT contact_id FROM contact_addresses WHERE address_key IN "
			  PG_FACT_KEYS ") ORDER BY d.modified_at COLLATE \"C\" DESC, d.id COLLATE \"C\"",
	[PG_FACT_IN_REPLY_TO] = "SELECT in_reply_to FROM messages WHERE id = $1",
	[PG_FACT_REFERENCES] = "SELECT ref FROM message_references WHERE message = $1 ORDER BY position DESC",
	[PG_FACT_THREAD_DEALS] =
		"SELECT ref, record_id FROM (SELECT DISTINCT r.ref, l.record_id FROM "
		"(SELECT in_reply_to AS ref FROM messages WHERE id = $1 UNION SELECT ref FROM message_references "
		"WHERE message = $1) r JOIN messages m ON m.message_id = r.ref AND m.id <> $1 "
		"JOIN links l ON l.message = m.id AND l.module = 'deal') t ORDER BY record_id COLLATE \"C\"",
	[PG_FACT_SHARING] = "SELECT id, sharing FROM users WHERE id IN " PG_FACT_OWNERS,
	[PG_FACT_EXCLUDED] = "SELECT user_id, domain FROM user_excluded_domains WHERE user_id IN " PG_FACT_OWNERS
			     " ORDER BY domain COLLATE \"C\"",
};

static gboolean
pg_fact_is(const PGresult *res, int row, int col, const char *value)
{
	return !PQgetisnull(res, row, col) && !strcmp(PQgetvalue(res, row, col), value);
}

static void
pg_facts_sources(StoreDecisionFacts *f, const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		StoreFactSource *s = g_new0(StoreFactSource, 1);
		s->kind = pg_store_value_dup(res, i, 0, NULL);
		s->owner_user_id = pg_store_value_dup(res, i, 1, NULL);
		s->dropbox = pg_store_value_dup(res, i, 2, NULL);
		g_ptr_array_add(f->sources, s);
	}
}

static StoreFactDeal *
pg_fact_deal(const PGresult *res, int i)
{
	StoreFactDeal *d = g_new0(StoreFactDeal, 1);
	d->id = pg_store_value_dup(res, i, 1, NULL);
	d->name = pg_store_value_dup(res, i, 2, NULL);
	d->stage = pg_store_value_dup(res, i, 3, NULL);
	d->has_probability = !PQgetisnull(res, i, 4);
	d->probability = (int)pg_store_value_int(res, i, 4);
	d->has_stage_probability = !PQgetisnull(res, i, 5);
	d->stage_probability = (int)pg_store_value_int(res, i, 5);
	d->modified_at = pg_store_value_dup(res, i, 6, NULL);
	return d;
}

static void
pg_facts_contacts(StoreFactParticipant *p, const PGresult *contacts, const PGresult *deals)
{
	for (int i = 0; i < PQntuples(contacts); i++) {
		if (!pg_fact_is(contacts, i, 0, p->key))
			continue;
		StoreFactContact *c = store_fact_contact_new();
		c->id = pg_store_value_dup(contacts, i, 1, NULL);
		c->kind = pg_store_value_dup(contacts, i, 2, NULL);
		c->name = pg_store_value_dup(contacts, i, 3, NULL);
		for (int j = 0; j < PQntuples(deals); j++)
			if (pg_fact_is(deals, j, 0, c->id))
				g_ptr_array_add(c->deals, pg_fact_deal(deals, j));
		g_ptr_array_add(p->contacts, c);
	}
}

static void
pg_facts_user(StoreFactParticipant *p, const PGresult *users)
{
	for (int i = 0; i < PQntuples(users) && !p->user_id; i++) {
		if (!pg_fact_is(users, i, 0, p->key))
			continue;
		p->user_id = pg_store_value_dup(users, i, 1, NULL);
		p->user_kind = pg_store_value_dup(users, i, 2, NULL);
	}
}

static void
pg_facts_participants(StoreDecisionFacts *f, const PGresult *const *r)
{
	const PGresult *res = r[PG_FACT_PARTICIPANTS];
	for (int i = 0; i < PQntuples(res); i++) {
		StoreFactParticipant *p = store_fact_participant_new();
		p->role = pg_store_value_dup(res, i, 0, NULL);
		p->address = pg_store_value_dup(res, i, 1, NULL);
		p->key = pg_store_value_dup(res, i, 2, NULL);
		p->position = pg_store_value_int(res, i, 3);
		if (p->key) {
			pg_facts_user(p, r[PG_FACT_USERS]);
			pg_facts_contacts(p, r[PG_FACT_CONTACTS], r[PG_FACT_DEALS]);
		}
		g_ptr_array_add(f->participants, p);
	}
}

static void
pg_facts_reference_add(StoreDecisionFacts *f, const char *ref, const PGresult *thread)
{
	for (guint i = 0; i < f->references->len; i++)
		if (!strcmp(((StoreFactReference *)f->references->pdata[i])->message_id, ref))
			return;
	StoreFactReference *r = store_fact_reference_new();
	r->message_id = g_strdup(ref);
	for (int i = 0; i < PQntuples(thread); i++)
		if (pg_fact_is(thread, i, 0, ref))
			g_ptr_array_add(r->deals, pg_store_value_dup(thread, i, 1, NULL));
	g_ptr_array_add(f->references, r);
}

/* In-Reply-To first, then References from the newest, each once. */
static void
pg_facts_references(StoreDecisionFacts *f, const PGresult *const *r)
{
	const PGresult *irt = r[PG_FACT_IN_REPLY_TO], *refs = r[PG_FACT_REFERENCES];
	if (PQntuples(irt) > 0 && !PQgetisnull(irt, 0, 0))
		pg_facts_reference_add(f, PQgetvalue(irt, 0, 0), r[PG_FACT_THREAD_DEALS]);
	for (int i = 0; i < PQntuples(refs); i++)
		pg_facts_reference_add(f, PQgetvalue(refs, i, 0), r[PG_FACT_THREAD_DEALS]);
}

static StoreFactOwner *
pg_facts_owner(const char *id, const PGresult *sharing, const PGresult *excluded)
{
	StoreFactOwner *o = store_fact_owner_new();
	o->user_id = g_strdup(id);
	for (int i = 0; i < PQntuples(sharing) && !o->sharing; i++)
		if (pg_fact_is(sharing, i, 0, id))
			o->sharing = pg_store_value_dup(sharing, i, 1, NULL);
	for (int i = 0; i < PQntuples(excluded); i++)
		if (pg_fact_is(excluded, i, 0, id))
			g_ptr_array_add(o->excluded_domains, pg_store_value_dup(excluded, i, 1, NULL));
	return o;
}

/* The distinct source owners, in source order. */
static void
pg_facts_owners(StoreDecisionFacts *f, const PGresult *const *r)
{
	for (guint i = 0; i < f->sources->len; i++) {
		const char *id = ((StoreFactSource *)f->sources->pdata[i])->owner_user_id;
		gboolean seen = FALSE;
		for (guint j = 0; id && j < f->owners->len && !seen; j++)
			seen = !strcmp(((StoreFactOwner *)f->owners->pdata[j])->user_id, id);
		if (id && !seen)
			g_ptr_array_add(f->owners, pg_facts_owner(id, r[PG_FACT_SHARING], r[PG_FACT_EXCLUDED]));
	}
}

StoreDecisionFacts *
pg_store_decision_facts(Store *store, gint64 message, GError **error)
{
	g_auto(PgBatch) batch = { 0 };
	for (guint i = 0; i < PG_FACT_N; i++)
		pg_params_int(pg_batch_add(&batch, pg_fact_sql[i]), message);
	g_autoptr(GPtrArray) res =
		pg_store_run_batch_results(pg_store_cast(store), &batch, "gathering the decision's facts", error);
	if (!res)
		return NULL;
	const PGresult *const *r = (const PGresult *const *)res->pdata;
	StoreDecisionFacts *f = store_decision_facts_new(message);
	pg_facts_sources(f, r[PG_FACT_SOURCES]);
	pg_facts_participants(f, r);
	pg_facts_references(f, r);
	pg_facts_owners(f, r);
	return f;
}
