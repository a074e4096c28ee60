/* Transitional: the SQLite step helpers assoc/import.c still uses. The rule
 * (decide.c, apply.c) has no SQL any more; once import.c's statements move
 * into store/, delete this file and import-compat.c. */
#ifndef BCCDROP_ASSOC_IMPORT_COMPAT_H
#define BCCDROP_ASSOC_IMPORT_COMPAT_H
#include <sqlite3.h>

#include "store/store.h"

const char *assoc_col_text(sqlite3_stmt *st, int col);
/* Finish a SELECT loop: SQLITE_DONE is success, anything else an error. */
gboolean assoc_step_end(Store *store, sqlite3_stmt *st, int rc, GError **error, const char *context);
/* Step a statement without results (or ignoring them) and reset it. */
gboolean assoc_exec_stmt(Store *store, sqlite3_stmt *st, GError **error, const char *context);
#endif
