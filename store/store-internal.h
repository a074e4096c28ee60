/* Internal to store/: the statement helpers its files share. Nothing above
 * store/ includes this header. */
#ifndef BCCDROP_STORE_INTERNAL_H
#define BCCDROP_STORE_INTERNAL_H

#include "store/store.h"

/* Step ST once (its rows, if any, are not needed) and reset it; a failure
 * becomes a GError naming CONTEXT. */
gboolean store_step_done(Store *store, sqlite3_stmt *st, GError **error, const char *context);

/* Column I of the current row as a new string, or a copy of IF_NULL (which
 * may be NULL) when the column is SQL NULL. */
char *store_col_dup(sqlite3_stmt *st, int i, const char *if_null);

/* Builds one caller-owned record from the current row. */
typedef gpointer (*StoreRowFunc)(sqlite3_stmt *st);

/* A StoreRowFunc: column 0 as a new string (NULL for SQL NULL). */
gpointer store_row_text(sqlite3_stmt *st);

/* Step ST to its end, ROW(st) of each row into a new array freeing with
 * FREE_FUNC; ST is reset. NULL on error. */
GPtrArray *store_collect(Store *store, sqlite3_stmt *st, StoreRowFunc row, GDestroyNotify free_func,
			 GError **error, const char *context);
/* The same for a single-column integer result (rowids). */
GArray *store_collect_ids(Store *store, sqlite3_stmt *st, GError **error, const char *context);
/* At most one row: *OUT is ROW(st), or NULL when there is none. */
gboolean store_fetch_one(Store *store, sqlite3_stmt *st, StoreRowFunc row, gpointer *out, GError **error,
			 const char *context);

#endif
