/* Internal to store/: what a backend is. A backend's own Store structure
 * begins with this one; store/store.c dispatches every operation of
 * store/ops.h through its table. See docs/architecture.md, "How to add a
 * backend". */
#ifndef BCCDROP_STORE_BACKEND_H
#define BCCDROP_STORE_BACKEND_H

#include "store/ops.h"
#include "store/store.h"

typedef struct StoreBackend StoreBackend;

struct Store {
	const StoreBackend *backend;
};

#define STORE_BACKEND_FIELD(ret, name, params, args) ret(*name) params;
#define STORE_BACKEND_VFIELD(name, params, args) void(*name) params;

struct StoreBackend {
	const char *name;
	/* Whether LOCATION (a --db or [store] database value) is this
	 * backend's kind of location. */
	gboolean (*claims)(const char *location);
	Store *(*open)(const char *location, const StoreOptions *options, GError **error);
	STORE_OPS(STORE_BACKEND_FIELD, STORE_BACKEND_VFIELD)
};

/* Declares NAME_OP for every operation: what a backend implements. */
#define STORE_BACKEND_PROTO(ret, name, params, args) ret STORE_BACKEND_PREFIX(name) params;
#define STORE_BACKEND_VPROTO(name, params, args) void STORE_BACKEND_PREFIX(name) params;
/* The table of a backend whose functions are PREFIX(name). */
#define STORE_BACKEND_ENTRY(ret, name, params, args) .name = STORE_BACKEND_PREFIX(name),
#define STORE_BACKEND_VENTRY(name, params, args) .name = STORE_BACKEND_PREFIX(name),

extern const StoreBackend store_sqlite_backend;
extern const StoreBackend store_pg_backend;

#endif
