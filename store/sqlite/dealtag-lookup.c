/* The two reads `bccdrop dropbox-address` needs: a user's dropbox and a
 * deal's name. Read-only queries. */
#include "store/sqlite/sqlite.h"

/* The first column of the one row SQL yields for ID, or NOT_FOUND naming
 * WHAT. *OUT is NULL for an SQL NULL. */
static gboolean
lookup_text(Store *store, const char *sql, const char *what, const char *id, char **out, GError **error)
{
	*out = NULL;
	sqlite3_stmt *st = sq_prepare(store, sql, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = g_strdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		return sq_fail(store, error, "looking up a user or deal");
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no %s has id '%s' (see `bccdrop import`)", what,
			    id);
		return FALSE;
	}
	return TRUE;
}

gboolean
sq_user_dropbox(Store *store, const char *user_id, char **dropbox, GError **error)
{
	return lookup_text(store, "SELECT dropbox FROM users WHERE id = ?", "user", user_id, dropbox, error);
}

gboolean
sq_deal_name(Store *store, const char *deal_id, char **name, GError **error)
{
	return lookup_text(store, "SELECT name FROM deals WHERE id = ?", "deal", deal_id, name, error);
}
