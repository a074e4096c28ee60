/* The single path into the store: parse -> store -> decide -> commit. */
#include "assoc/assoc.h"

#include <string.h>

G_DEFINE_QUARK(bccdrop-assoc-error-quark, assoc_error)

void
assoc_filed_clear(AssocFiled *filed)
{
	if (!filed)
		return;
	g_free(filed->message_id);
	memset(filed, 0, sizeof *filed);
}

gboolean
assoc_file_parsed(Store *store, const CommonConfig *config, const IngestMessage *msg, const IngestInput *raw,
		  const StoreSource *source, AssocFiled *filed, GError **error)
{
	StorePutResult put = { 0 };
	if (!store_put_message(store, msg, raw, source, &put, error))
		return FALSE;
	AssocFiled f = { .message = put.message,
			 .new_message = put.new_message,
			 .new_source = put.new_source,
			 .id_collision = put.id_collision };
	/* A new source can change the decision (a dropbox owner, a mailbox
	 * whose thread rule applies): decide again whenever one was added. */
	if (put.new_source && !assoc_decide(store, config, put.message, "stored", &f, error))
		return FALSE;
	f.message_id = g_strdup(msg->message_id);
	if (filed) {
		assoc_filed_clear(filed);
		*filed = f;
	} else {
		g_free(f.message_id);
	}
	return TRUE;
}

gboolean
assoc_file(Store *store, const CommonConfig *config, const IngestInput *raw, const StoreSource *source,
	   AssocFiled *filed, GError **error)
{
	g_autoptr(IngestMessage) msg = ingest_parse(raw, source->received_at ? source->received_at : common_now(), error);
	if (!msg)
		return FALSE;
	if (!store_begin(store, error))
		return FALSE;
	if (!assoc_file_parsed(store, config, msg, raw, source, filed, error)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}
