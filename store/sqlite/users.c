/* Lookups of CRM users for the milter: who owns a dropbox address, and
 * whether an address or login belongs to a user. Read-only queries. */
#include "store/sqlite/sqlite.h"

#include <string.h>

gboolean
sq_user_by_dropbox(Store *store, const char *dropbox_key, char **user_id, GError **error)
{
	*user_id = NULL;
	sqlite3_stmt *st = sq_prepare(store, "SELECT id FROM users WHERE dropbox = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, dropbox_key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*user_id = g_strdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		return sq_fail(store, error, "looking up a dropbox address");
	sqlite3_reset(st);
	return TRUE;
}

gboolean
sq_user_owns_address(Store *store, const char *user_id, const char *key, gboolean *owns, GError **error)
{
	*owns = FALSE;
	/* The users row's own email counts even when user_addresses was not
	 * filled for it (a CRM writing the tables directly). */
	sqlite3_stmt *st = sq_prepare(store,
					 "SELECT 1 FROM user_addresses WHERE user_id = ?1 AND address_key = ?2 "
					 "UNION ALL SELECT 1 FROM users WHERE id = ?1 AND lower(email) = ?2 LIMIT 1",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*owns = TRUE;
	else if (rc != SQLITE_DONE)
		return sq_fail(store, error, "looking up a user's addresses");
	sqlite3_reset(st);
	return TRUE;
}

gboolean
sq_user_owns_login(Store *store, const char *user_id, const char *login, gboolean *owns, GError **error)
{
	*owns = FALSE;
	if (!strcmp(user_id, login)) {
		*owns = TRUE;
		return TRUE;
	}
	g_autofree char *key = ingest_address_key(login);
	if (!key)
		return TRUE;
	return sq_user_owns_address(store, user_id, key, owns, error);
}
