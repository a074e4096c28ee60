/* Internal to store/: the migration list. */
#ifndef BCCDROP_STORE_SCHEMA_H
#define BCCDROP_STORE_SCHEMA_H
#include "store/sqlite/sqlite.h"
/* SQL of migration VERSION (1-based), or NULL past the last one. */
const char *sq_schema_migration(int version);
#endif
