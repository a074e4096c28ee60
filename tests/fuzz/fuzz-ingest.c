/* libFuzzer: ingest_parse() on arbitrary bytes must never crash, leak or
 * report an error other than "not a message" / "too large". */
#include <stdlib.h>

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
	IngestInput in = INGEST_INPUT_BYTES(data, size);
	GError *error = NULL;
	IngestMessage *msg = ingest_parse(&in, 0, &error);
	if (!msg && !g_error_matches(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE))
		abort();
	if (msg && msg->raw_size != size)
		abort();
	ingest_message_free(msg);
	g_clear_error(&error);
	return 0;
}
