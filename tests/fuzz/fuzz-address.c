/* libFuzzer: ingest_address_key(). A key, when there is one, is valid UTF-8,
 * has no upper-case ASCII and no line break, and is its own key (normalising
 * twice changes nothing). */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ingest_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_strndup((const char *)data, size);
	g_autofree char *key = ingest_address_key(text);
	if (!key)
		return 0;
	if (!g_utf8_validate(key, -1, NULL) || strpbrk(key, "\r\n"))
		abort();
	for (const char *p = key; *p; p++)
		if (g_ascii_isupper(*p))
			abort();
	g_autofree char *again = ingest_address_key(key);
	if (g_strcmp0(again, key) != 0)
		abort();
	return 0;
}
