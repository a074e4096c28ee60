/* Poller leases on PostgreSQL (docs/scaling-out.md, "Pollers"): the same
 * table and meaning as store/sqlite/mailbox.c's, safe between hosts. Free
 * mailboxes are picked with FOR NO KEY UPDATE SKIP LOCKED, so two pollers
 * renewing at the same moment take different ones instead of queueing on
 * the same rows (NO KEY: a worker's inserts referencing the mailbox do not
 * block it); the upsert takes over a lease only when it has expired, which
 * is what makes a lost race harmless. Rows and expiry rather than advisory
 * locks: a transaction pooler (PgBouncer) would break session locks. */
#include "store/pg/pg.h"

#define PG_LEASE_NOW "extract(epoch FROM now())::bigint"

/* Extend HOLDER's leases on active mailboxes, drop the rest; returns how
 * many it still holds, or -1. */
static gint64
pg_lease_renew(PgStore *pg, const char *holder, gint64 lease_seconds, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, holder);
	PGresult *res = pg_store_query(pg,
				       "DELETE FROM mailbox_leases l USING mailboxes m "
				       "WHERE l.holder = $1 AND m.id = l.mailbox_id AND m.active = 0",
				       &p, 0, "dropping leases on inactive mailboxes", error);
	if (!res)
		return -1;
	PQclear(res);
	pg_params_int(&p, lease_seconds);
	res = pg_store_query(pg, "UPDATE mailbox_leases SET expires_at = " PG_LEASE_NOW " + $2 WHERE holder = $1", &p,
			     0, "renewing mailbox leases", error);
	if (!res)
		return -1;
	gint64 n = g_ascii_strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}

/* Take up to WANT (< 0: all) free or expired leases, lowest ids first. */
static gboolean
pg_lease_take(PgStore *pg, const char *holder, gint64 lease_seconds, gint64 want, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, holder);
	pg_params_int(&p, lease_seconds);
	if (want < 0)
		pg_params_text(&p, NULL);
	else
		pg_params_int(&p, want);
	PGresult *res = pg_store_query(
		pg,
		"WITH free AS (SELECT m.id FROM mailboxes m LEFT JOIN mailbox_leases l ON l.mailbox_id = m.id "
		"  WHERE m.active = 1 AND (l.mailbox_id IS NULL OR l.expires_at < " PG_LEASE_NOW ") "
		"  ORDER BY m.id LIMIT $3::bigint FOR NO KEY UPDATE OF m SKIP LOCKED) "
		"INSERT INTO mailbox_leases(mailbox_id, holder, expires_at) "
		"SELECT id, $1, " PG_LEASE_NOW " + $2::bigint FROM free "
		"ON CONFLICT (mailbox_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
		"WHERE mailbox_leases.expires_at < " PG_LEASE_NOW,
		&p, 0, "taking mailbox leases", error);
	if (!res)
		return FALSE;
	PQclear(res);
	return TRUE;
}

static GArray *
pg_lease_round(PgStore *pg, const char *holder, guint max, gint64 lease_seconds, GError **error)
{
	gint64 n = pg_lease_renew(pg, holder, lease_seconds, error);
	if (n < 0)
		return NULL;
	if ((max == 0 || n < max) && !pg_lease_take(pg, holder, lease_seconds, max ? (gint64)max - n : -1, error))
		return NULL;
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, holder);
	PGresult *res = pg_store_query(pg, "SELECT mailbox_id FROM mailbox_leases WHERE holder = $1 ORDER BY mailbox_id",
				       &p, 0, "listing held leases", error);
	return res ? pg_store_result_ids(res) : NULL;
}

GArray *
pg_store_mailbox_lease(Store *store, const char *holder, guint max, gint64 lease_seconds, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	if (pg->in_txn)
		return pg_lease_round(pg, holder, max, lease_seconds, error);
	if (!pg_store_begin(store, error))
		return NULL;
	GArray *held = pg_lease_round(pg, holder, max, lease_seconds, error);
	if (held && !pg_store_commit(store, error))
		g_clear_pointer(&held, g_array_unref);
	if (!held)
		pg_store_rollback(store);
	return held;
}

gboolean
pg_store_mailbox_lease_release(Store *store, const char *holder, gint64 mailbox, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, holder);
	pg_params_int(&p, mailbox);
	PGresult *res = pg_store_query(pg_store_cast(store),
				       "DELETE FROM mailbox_leases WHERE holder = $1 AND ($2::bigint = 0 OR mailbox_id = $2)",
				       &p, 0, "releasing mailbox leases", error);
	if (!res)
		return FALSE;
	PQclear(res);
	return TRUE;
}

GPtrArray *
pg_store_mailbox_lease_holders(Store *store, GError **error)
{
	PGresult *res = pg_store_query(pg_store_cast(store),
				       "SELECT holder FROM mailbox_leases GROUP BY holder ORDER BY holder COLLATE \"C\"", NULL, 0,
				       "listing lease holders", error);
	if (!res)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(out, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return out;
}
