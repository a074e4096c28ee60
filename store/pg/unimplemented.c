/* Operations the PostgreSQL backend does not have yet: each fails with a
 * clear error instead of being missing at link time. This file shrinks to
 * nothing as they are written; store/pg/backend.c lists them all. */
#include "store/pg/pg.h"

static void
pg_unimplemented(GError **error, const char *op)
{
	g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED, "store_%s is not implemented on PostgreSQL yet", op);
}

GArray *
pg_store_message_ids_since(Store *store, gint64 since, GError **error)
{
	pg_unimplemented(error, "message_ids_since");
	return NULL;
}

gboolean
pg_store_hold_add(Store *store, StoreHoldKind kind, const char *target, const char *reason, gint64 until, gint64 *id, GError **error)
{
	pg_unimplemented(error, "hold_add");
	return FALSE;
}

GPtrArray *
pg_store_hold_list(Store *store, GError **error)
{
	pg_unimplemented(error, "hold_list");
	return NULL;
}

gboolean
pg_store_hold_release(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "hold_release");
	return FALSE;
}

GPtrArray *
pg_store_retention_due(Store *store, gint64 cutoff, GError **error)
{
	pg_unimplemented(error, "retention_due");
	return NULL;
}

gboolean
pg_store_retention_purge(Store *store, gint64 cutoff, const char *reason, guint limit, guint *deleted, GError **error)
{
	pg_unimplemented(error, "retention_purge");
	return FALSE;
}

gboolean
pg_store_crm_state(Store *store, StoreCrmKind kind, const char *id, char **state, GError **error)
{
	pg_unimplemented(error, "crm_state");
	return FALSE;
}

GPtrArray *
pg_store_crm_live_ids(Store *store, StoreCrmKind kind, GError **error)
{
	pg_unimplemented(error, "crm_live_ids");
	return NULL;
}

gboolean
pg_store_crm_retire(Store *store, StoreCrmKind kind, const char *id, const char *reason, GError **error)
{
	pg_unimplemented(error, "crm_retire");
	return FALSE;
}

gboolean
pg_store_crm_merge_contact(Store *store, const char *id, const char *survivor, const char *reason, GError **error)
{
	pg_unimplemented(error, "crm_merge_contact");
	return FALSE;
}

gboolean
pg_store_user_inactive(Store *store, const char *user_id, gboolean *inactive, GError **error)
{
	pg_unimplemented(error, "user_inactive");
	return FALSE;
}

GPtrArray *
pg_store_search(Store *store, const StoreSearchFilter *filter, GError **error)
{
	pg_unimplemented(error, "search");
	return NULL;
}
