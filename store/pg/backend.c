/* The PostgreSQL backend's table: it claims postgresql:// and postgres://
 * URIs. */
#include "store/pg/pg.h"

const StoreBackend store_pg_backend = {
	.name = "postgresql",
	.claims = pg_store_is_uri,
	.open = pg_store_open,
	STORE_OPS(STORE_BACKEND_ENTRY, STORE_BACKEND_VENTRY)
};
