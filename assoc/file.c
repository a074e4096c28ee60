/* The single path into the store: parse -> store -> decide -> commit. */
#include "assoc/assoc.h"

#include <string.h>

#include "capture/capture.h"

G_DEFINE_QUARK(bccdrop-assoc-error-quark, assoc_error)

void
assoc_filed_clear(AssocFiled *filed)
{
	if (!filed)
		return;
	g_free(filed->message_id);
	memset(filed, 0, sizeof *filed);
}

/* A re-delivery decides nothing: report the links the message has. */
static gboolean
file_current_links(Store *store, AssocFiled *f, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, "SELECT count(*) FROM links WHERE message = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, f->message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		f->n_links = (guint)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(store, error, "reading the message's links");
	f->unmatched = f->n_links == 0;
	return TRUE;
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
	if (put.new_source && !capture_decide(store, config, put.message, "stored", &f.unmatched, &f.n_links, error))
		return FALSE;
	if (!put.new_source && !file_current_links(store, &f, error))
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
