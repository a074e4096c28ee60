/* The SQLite backend's table: a location that is not a URI is a file. */
#include "store/sqlite/sqlite.h"

#include <string.h>

static gboolean
sq_claims(const char *location)
{
	return !strstr(location, "://");
}

const StoreBackend store_sqlite_backend = {
	.name = "sqlite",
	.claims = sq_claims,
	.open = sq_open,
	STORE_OPS(STORE_BACKEND_ENTRY, STORE_BACKEND_VENTRY)
};
