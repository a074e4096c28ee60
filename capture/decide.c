/* Deciding a stored message's links: facts from the store, the rule from
 * assoc, the result written back through the store. */
#include "capture/capture.h"

gboolean
capture_decide(Store *store, const CommonConfig *config, gint64 message, const char *reason, gboolean *unmatched,
	       guint *n_links, GError **error)
{
	AssocFiled f = { 0 };
	if (!assoc_decide(store, config, message, reason, &f, error))
		return FALSE;
	if (unmatched)
		*unmatched = f.unmatched;
	if (n_links)
		*n_links = f.n_links;
	return TRUE;
}
