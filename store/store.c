/* The backend seam: store_open() picks the backend by the form of the
 * location, and every other public operation dispatches through the
 * Store's backend table (store/ops.h). */
#include "store/backend.h"

#include <string.h>

G_DEFINE_QUARK(bccdrop-store-error-quark, store_error)

/* Locations of backends this build lacks: a clear refusal, never a file
 * named "postgresql:..." created by the SQLite backend. */
static const char *const store_unbuilt[] = { "postgresql://", "postgres://" };

static const StoreBackend *const store_backends[] = { &store_sqlite_backend };

static gboolean
store_unbuilt_location(const char *location, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(store_unbuilt); i++) {
		if (!g_ascii_strncasecmp(location, store_unbuilt[i], strlen(store_unbuilt[i]))) {
			/* The location may carry a password: name only its kind. */
			g_set_error(error, STORE_ERROR, STORE_ERROR_OPEN,
				    "%s URI: the PostgreSQL backend is not built into this bccdrop", store_unbuilt[i]);
			return TRUE;
		}
	}
	return FALSE;
}

Store *
store_open(const char *location, const StoreOptions *options, GError **error)
{
	const StoreOptions defaults = STORE_OPTIONS_DEFAULT;
	for (guint i = 0; i < G_N_ELEMENTS(store_backends); i++)
		if (store_backends[i]->claims(location))
			return store_backends[i]->open(location, options ? options : &defaults, error);
	if (store_unbuilt_location(location, error))
		return NULL;
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
