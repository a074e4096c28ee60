/* The backend seam: store_open() picks the backend by the form of the
 * location, and every other public operation dispatches through the
 * Store's backend table (store/ops.h). */
#include "store/backend.h"

#include <string.h>

G_DEFINE_QUARK(bccdrop-store-error-quark, store_error)

/* The first backend that claims a location opens it: a URI names a server,
 * anything else is a SQLite file. */
static const StoreBackend *const store_backends[] = { &store_pg_backend, &store_sqlite_backend };

Store *
store_open(const char *location, const StoreOptions *options, GError **error)
{
	const StoreOptions defaults = STORE_OPTIONS_DEFAULT;
	for (guint i = 0; i < G_N_ELEMENTS(store_backends); i++)
		if (store_backends[i]->claims(location))
			return store_backends[i]->open(location, options ? options : &defaults, error);
	g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN, "%s: not a database location", location);
	return NULL;
}

gboolean
store_backend_built(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(store_backends); i++)
		if (!strcmp(store_backends[i]->name, name))
			return TRUE;
	return FALSE;
}

const char *
store_backend_name(Store *store)
{
	return store->backend->name;
}

#define STORE_DISPATCH(ret, name, params, args) \
	ret store_##name params                 \
	{                                       \
		return store->backend->name args; \
	}
/* Nothing to do on no Store: g_autoptr(Store) closes NULL too. */
#define STORE_VDISPATCH(name, params, args)  \
	void store_##name params             \
	{                                    \
		if (store)                   \
			store->backend->name args; \
	}
STORE_OPS(STORE_DISPATCH, STORE_VDISPATCH)
