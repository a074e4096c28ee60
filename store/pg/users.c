/* Lookups of CRM users on PostgreSQL (store/sqlite/users.c and
 * dealtag-lookup.c): who owns a dropbox address, whether an address or login
 * belongs to a user, a user's dropbox and a deal's name. */
#include "store/pg/pg.h"

#include <string.h>

/* The first column of the first row SQL yields for ARG: *FOUND says whether
 * there was one, *OUT (may be NULL) is its value, NULL for SQL NULL. */
static gboolean
pg_users_lookup(Store *store, const char *sql, const char *arg, const char *arg2, gboolean *found, char **out,
		const char *context, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, arg);
	if (arg2)
		pg_params_text(&p, arg2);
	PGresult *res = pg_store_query(pg_store_cast(store), sql, &p, 0, context, error);
	if (!res)
		return FALSE;
	*found = PQntuples(res) > 0;
	if (out)
		*out = *found ? pg_store_value_dup(res, 0, 0, NULL) : NULL;
	PQclear(res);
	return TRUE;
}

gboolean
pg_store_user_by_dropbox(Store *store, const char *dropbox_key, char **user_id, GError **error)
{
	gboolean found = FALSE;
	*user_id = NULL;
	return pg_users_lookup(store, "SELECT id FROM users WHERE dropbox = $1", dropbox_key, NULL, &found, user_id,
			       "looking up a dropbox address", error);
}

gboolean
pg_store_user_owns_address(Store *store, const char *user_id, const char *key, gboolean *owns, GError **error)
{
	*owns = FALSE;
	/* The users row's own email counts even when user_addresses was not
	 * filled for it (a CRM writing the tables directly). */
	return pg_users_lookup(store,
			       "SELECT 1 FROM user_addresses WHERE user_id = $1 AND address_key = $2 "
			       "UNION ALL SELECT 1 FROM users WHERE id = $1 AND lower(email) = $2 LIMIT 1",
			       user_id, key, owns, NULL, "looking up a user's addresses", error);
}

gboolean
pg_store_user_owns_login(Store *store, const char *user_id, const char *login, gboolean *owns, GError **error)
{
	*owns = FALSE;
	if (!strcmp(user_id, login)) {
		*owns = TRUE;
		return TRUE;
	}
	g_autofree char *key = ingest_address_key(login);
	if (!key)
		return TRUE;
	return pg_store_user_owns_address(store, user_id, key, owns, error);
}

/* The one value SQL yields for ID, or NOT_FOUND naming WHAT. */
static gboolean
pg_users_lookup_text(Store *store, const char *sql, const char *what, const char *id, char **out, GError **error)
{
	gboolean found = FALSE;
	*out = NULL;
	if (!pg_users_lookup(store, sql, id, NULL, &found, out, "looking up a user or deal", error))
		return FALSE;
	if (!found)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no %s has id '%s' (see `bccdrop import`)", what,
			    id);
	return found;
}

gboolean
pg_store_user_dropbox(Store *store, const char *user_id, char **dropbox, GError **error)
{
	return pg_users_lookup_text(store, "SELECT dropbox FROM users WHERE id = $1", "user", user_id, dropbox, error);
}

gboolean
pg_store_deal_name(Store *store, const char *deal_id, char **name, GError **error)
{
	return pg_users_lookup_text(store, "SELECT name FROM deals WHERE id = $1", "deal", deal_id, name, error);
}
