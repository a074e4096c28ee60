/* libFuzzer: the CSV reader (assoc_csv_new/next) reads any bytes to the end
 * or to a syntax error, never past it, and every field is valid UTF-8. */
#include <stdlib.h>

#include "assoc/assoc.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AssocCsv *csv = assoc_csv_new("fuzz.csv", (const char *)data, size);
	GPtrArray *fields = g_ptr_array_new_with_free_func(g_free);
	GError *error = NULL;
	guint records = 0;
	while (assoc_csv_next(csv, fields, &error)) {
		for (guint i = 0; i < fields->len; i++)
			if (!g_utf8_validate(g_ptr_array_index(fields, i), -1, NULL))
				abort();
		/* Every record takes at least one byte of input. */
		if (++records > size)
			abort();
	}
	g_clear_error(&error);
	g_ptr_array_unref(fields);
	assoc_csv_free(csv);
	return 0;
}
