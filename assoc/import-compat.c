/* Transitional (see import-compat.h): thin names over store's helpers. */
#include "assoc/import-compat.h"

#include "store/store-internal.h"

const char *
assoc_col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

gboolean
assoc_step_end(Store *store, sqlite3_stmt *st, int rc, GError **error, const char *context)
{
	return store_rows_end(store, st, rc, error, context);
}

gboolean
assoc_exec_stmt(Store *store, sqlite3_stmt *st, GError **error, const char *context)
{
	return store_step_exec(store, st, error, context);
}
