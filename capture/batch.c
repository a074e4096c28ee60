/* Many messages and the source's own writes in one transaction. The poller
 * commits a batch of fetched messages with the cursor that points past
 * them; `bccdrop ingest` commits files in large batches, for few fsyncs. */
#include "capture/capture.h"

struct CaptureBatch {
	Store *store;
	const CommonConfig *config;
	guint pending;
	gboolean open; /* our transaction is open */
};

CaptureBatch *
capture_batch_new(Store *store, const CommonConfig *config)
{
	CaptureBatch *b = g_new0(CaptureBatch, 1);
	b->store = store;
	b->config = config;
	return b;
}

void
capture_batch_free(CaptureBatch *batch)
{
	if (!batch)
		return;
	capture_batch_abort(batch);
	g_free(batch);
}

void
capture_batch_abort(CaptureBatch *batch)
{
	if (batch->open)
		store_rollback(batch->store);
	batch->open = FALSE;
	batch->pending = 0;
}

static gboolean
batch_open(CaptureBatch *b, GError **error)
{
	if (!b->open && !store_begin(b->store, error))
		return FALSE;
	b->open = TRUE;
	return TRUE;
}

gboolean
capture_batch_add(CaptureBatch *batch, const IngestMessage *msg, const IngestInput *raw, const StoreSource *source,
		  CaptureFiled *filed, GError **error)
{
	if (!batch_open(batch, error))
		return FALSE;
	if (!capture_store(batch->store, batch->config, msg, raw, source, filed, error)) {
		capture_batch_abort(batch);
		return FALSE;
	}
	batch->pending++;
	return TRUE;
}

guint
capture_batch_pending(const CaptureBatch *batch)
{
	return batch->pending;
}

gboolean
capture_batch_commit(CaptureBatch *batch, CaptureHook hook, gpointer user_data, GError **error)
{
	if (!batch->open && !hook)
		return TRUE;
	gboolean ok = batch_open(batch, error) && (!hook || hook(batch->store, user_data, error)) &&
		      store_commit(batch->store, error);
	if (!ok) {
		capture_batch_abort(batch);
		return FALSE;
	}
	batch->open = FALSE;
	batch->pending = 0;
	return TRUE;
}

/* One message: a batch of one. */
gboolean
capture_file(Store *store, const CommonConfig *config, const IngestInput *raw, const StoreSource *source,
	     CaptureFiled *filed, GError **error)
{
	g_autoptr(IngestMessage) msg = capture_parse(raw, source->received_at, error);
	if (!msg)
		return FALSE;
	g_autoptr(CaptureBatch) batch = capture_batch_new(store, config);
	return capture_batch_add(batch, msg, raw, source, filed, error) &&
	       capture_batch_commit(batch, NULL, NULL, error);
}
