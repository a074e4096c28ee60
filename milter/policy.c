/* Small pure checks behind the "only the owner may file" rule. */
#include "milter/milter.h"

#include <string.h>

const char *
milter_key_domain(const char *key)
{
	const char *at = strrchr(key, '@');
	return at ? at + 1 : "";
}

/* RFC 8601: authserv-id [version] ; resinfo ; resinfo ... where a resinfo
 * is "method=result (comment) ptype.property=value". */
gboolean
milter_dmarc_pass(const char *auth_results, const char *authserv_id)
{
	if (!auth_results || !authserv_id || !*authserv_id)
		return FALSE;
	g_auto(GStrv) parts = g_strsplit(auth_results, ";", -1);
	if (!parts[0])
		return FALSE;
	g_auto(GStrv) head = g_strsplit_set(g_strstrip(parts[0]), " \t\r\n", 2);
	if (!head[0] || g_ascii_strcasecmp(head[0], authserv_id) != 0)
		return FALSE;
	for (char **p = parts + 1; *p; p++) {
		const char *r = *p;
		while (g_ascii_isspace(*r))
			r++;
		if (g_ascii_strncasecmp(r, "dmarc", 5) != 0)
			continue;
		r += 5;
		while (g_ascii_isspace(*r))
			r++;
		if (*r != '=')
			continue;
		r++;
		while (g_ascii_isspace(*r))
			r++;
		if (!g_ascii_strncasecmp(r, "pass", 4) && !g_ascii_isalnum(r[4]))
			return TRUE;
	}
	return FALSE;
}
