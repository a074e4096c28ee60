/* Parsing and filing one message, and classifying recipients: the pieces
 * every source shares, whatever way it commits. */
#include "capture/capture.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

void
capture_init(void)
{
	ingest_init();
}

void
capture_shutdown(void)
{
	ingest_shutdown();
}

void
capture_filed_clear(CaptureFiled *filed)
{
	if (!filed)
		return;
	g_free(filed->message_id);
	memset(filed, 0, sizeof *filed);
}

/* A spooled file is read by several passes (parse, then store once per
 * owner): each starts at the beginning. */
static gboolean
capture_rewind(const IngestInput *raw, GError **error)
{
	if (raw->fd >= 0 && lseek(raw->fd, 0, SEEK_SET) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "rewinding the spooled message: %s",
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

IngestMessage *
capture_parse(const IngestInput *raw, gint64 received_at, GError **error)
{
	if (!capture_rewind(raw, error))
		return NULL;
	return ingest_parse(raw, received_at ? received_at : common_now(), error);
}

gboolean
capture_error_is_bad_input(const GError *error)
{
	return g_error_matches(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE);
}

gboolean
capture_store(Store *store, const CommonConfig *config, const IngestMessage *msg, const IngestInput *raw,
	      const StoreSource *source, CaptureFiled *filed, GError **error)
{
	StorePutResult put = { 0 };
	if (!capture_rewind(raw, error) || !store_put_message(store, msg, raw, source, &put, error))
		return FALSE;
	CaptureFiled f = { .message = put.message,
			   .new_message = put.new_message,
			   .new_source = put.new_source,
			   .id_collision = put.id_collision,
			   .synthetic_id = msg->message_id_synthetic };
	/* A new source can change the decision (a dropbox owner, a mailbox
	 * whose thread rule applies): decide again whenever one was added. A
	 * re-delivery decides nothing and reports the links it has. */
	gboolean ok = put.new_source
			      ? capture_decide(store, config, put.message, "stored", &f.unmatched, &f.n_links, error)
			      : store_message_link_count(store, put.message, &f.n_links, error);
	if (!ok)
		return FALSE;
	if (!put.new_source)
		f.unmatched = f.n_links == 0;
	f.message_id = g_strdup(msg->message_id);
	if (filed) {
		capture_filed_clear(filed);
		*filed = f;
	} else {
		g_free(f.message_id);
	}
	return TRUE;
}

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

gboolean
capture_split(const guint8 *data, gsize len, gboolean *is_mbox, CaptureEachFunc func, gpointer user_data,
	      GError **error)
{
	gboolean mbox = ingest_is_mbox(data, len);
	if (is_mbox)
		*is_mbox = mbox;
	if (mbox)
		return ingest_mbox_foreach(data, len, func, user_data, error);
	return func(data, len, 1, user_data, error);
}

/* ---- recipients ---- */

char *
capture_address_key(const char *address)
{
	return ingest_address_key(address);
}

void
capture_rcpt_free(CaptureRcpt *rcpt)
{
	if (!rcpt)
		return;
	g_free(rcpt->address);
	g_free(rcpt->key);
	g_free(rcpt->user_id);
	g_free(rcpt);
}

static gboolean
capture_in_dropbox_domain(const CommonConfig *config, const char *key)
{
	const char *at = strrchr(key, '@');
	char **domains = config->dropbox_domains;
	return at && domains && g_strv_contains((const char *const *)domains, at + 1);
}

CaptureRcpt *
capture_rcpt_new(const CommonConfig *config, const char *address, gboolean *need_lookup)
{
	CaptureRcpt *r = g_new0(CaptureRcpt, 1);
	r->address = g_strdup(address ? address : "");
	r->key = ingest_address_key(r->address);
	r->kind = CAPTURE_RCPT_OTHER;
	/* With dropbox domains configured, addresses elsewhere cannot be a
	 * dropbox. Without, every address has to be looked up. */
	gboolean any_domain = !config->dropbox_domains || !config->dropbox_domains[0];
	*need_lookup = r->key && (any_domain || capture_in_dropbox_domain(config, r->key));
	return r;
}

gboolean
capture_rcpt_lookup(Store *store, const CommonConfig *config, CaptureRcpt *rcpt, GError **error)
{
	g_clear_pointer(&rcpt->user_id, g_free);
	rcpt->kind = CAPTURE_RCPT_OTHER;
	if (!rcpt->key)
		return TRUE;
	if (!store_user_by_dropbox(store, rcpt->key, &rcpt->user_id, error))
		return FALSE;
	gboolean inactive = FALSE;
	if (rcpt->user_id && !store_user_inactive(store, rcpt->user_id, &inactive, error))
		return FALSE;
	if (rcpt->user_id)
		rcpt->kind = inactive ? CAPTURE_RCPT_DEACTIVATED : CAPTURE_RCPT_DROPBOX;
	else if (capture_in_dropbox_domain(config, rcpt->key))
		rcpt->kind = CAPTURE_RCPT_UNKNOWN_DROPBOX;
	return TRUE;
}
