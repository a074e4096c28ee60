/* libFuzzer: the Authentication-Results parser. Any header value must be
 * judged without a crash; a DMARC domain is only ever reported for a header
 * of the trusted authserv-id, lower-cased and non-empty. */
#include <stdlib.h>
#include <string.h>

#include "milter/milter.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void
check(const char *value, const char *authserv_id)
{
	char *from = NULL;
	MilterArVerdict v = milter_auth_results(value, authserv_id, &from);
	if (v == MILTER_AR_OTHER && from)
		abort();
	if (from) {
		g_autofree char *lower = g_ascii_strdown(from, -1);
		if (!*from || strcmp(lower, from) != 0)
			abort();
	}
	g_free(from);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *value = g_strndup((const char *)data, size);
	check(value, "mx.corp.example");
	/* Also as if its own first word were the trusted id. */
	g_autofree char *id = g_strndup(value, strcspn(value, " \t\r\n;("));
	if (*id)
		check(value, id);
	return 0;
}
