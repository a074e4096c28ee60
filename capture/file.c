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

StoreOptions
capture_store_options(const CommonConfig *config, gboolean readonly)
{
	const char *pw = config->password_file;
	return (StoreOptions){ .busy_timeout_ms = config->busy_timeout_ms,
			       .synchronous_full = !g_strcmp0(config->synchronous, "full"),
			       .readonly = readonly,
			       .password_file = pw && *pw ? pw : NULL };
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
	g_free(rcpt->deal_id);
	g_free(rcpt->refusal);
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

static void
capture_rcpt_refuse(CaptureRcpt *rcpt, char *why)
{
	rcpt->kind = CAPTURE_RCPT_BAD_TAG;
	rcpt->refusal = why;
}

/* The deal of a per-deal address of USER (parsed as A): missing deals and
 * tags that do not verify are refusals, a store or key file failure an
 * error. */
static gboolean
capture_rcpt_check_tag(Store *store, const CommonConfig *config, CaptureRcpt *rcpt, const AssocDealtagAddress *a,
		       GError **error)
{
	g_autoptr(GError) missing = NULL;
	g_autofree char *name = NULL;
	if (!store_deal_name(store, a->deal_id, &name, &missing)) {
		if (!g_error_matches(missing, STORE_ERROR, STORE_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&missing));
			return FALSE;
		}
		capture_rcpt_refuse(rcpt, g_strdup("the deal of this per-deal address does not exist"));
		return TRUE;
	}
	g_autoptr(AssocDealtagKeys) keys = assoc_dealtag_keys_load(config->dropbox_tag_key_file, FALSE, error);
	if (!keys)
		return FALSE;
	if (!assoc_dealtag_verify(keys, rcpt->user_id, a->deal_id, a->tag, common_now(),
				  config->dropbox_tag_grace_days)) {
		capture_rcpt_refuse(rcpt, g_strdup("the per-deal address does not verify (mistyped, altered, or "
						   "from a retired key)"));
		return TRUE;
	}
	rcpt->kind = CAPTURE_RCPT_DROPBOX;
	rcpt->deal_id = g_strdup(a->deal_id);
	return TRUE;
}

/* A per-deal address: the plain dropbox behind it must be a user's. */
static gboolean
capture_rcpt_lookup_tag(Store *store, const CommonConfig *config, CaptureRcpt *rcpt, GError **error)
{
	g_auto(AssocDealtagAddress) a = { 0 };
	if (!assoc_dealtag_parse(rcpt->address, config->dropbox_recipient_delimiter, &a))
		return TRUE;
	g_autofree char *dropbox = ingest_address_key(a.dropbox);
	if (!dropbox || !store_user_by_dropbox(store, dropbox, &rcpt->user_id, error))
		return dropbox == NULL;
	return !rcpt->user_id || capture_rcpt_check_tag(store, config, rcpt, &a, error);
}

/* A user's dropbox (plain or per-deal) files mail only while the user is
 * active in the CRM. */
static gboolean
capture_rcpt_check_active(Store *store, CaptureRcpt *rcpt, GError **error)
{
	gboolean inactive = FALSE;
	if (!store_user_inactive(store, rcpt->user_id, &inactive, error))
		return FALSE;
	rcpt->kind = inactive ? CAPTURE_RCPT_DEACTIVATED : CAPTURE_RCPT_DROPBOX;
	return TRUE;
}

gboolean
capture_rcpt_lookup(Store *store, const CommonConfig *config, CaptureRcpt *rcpt, GError **error)
{
	g_clear_pointer(&rcpt->user_id, g_free);
	g_clear_pointer(&rcpt->deal_id, g_free);
	g_clear_pointer(&rcpt->refusal, g_free);
	rcpt->kind = CAPTURE_RCPT_OTHER;
	if (!rcpt->key)
		return TRUE;
	if (!store_user_by_dropbox(store, rcpt->key, &rcpt->user_id, error))
		return FALSE;
	if (!rcpt->user_id && !capture_rcpt_lookup_tag(store, config, rcpt, error))
		return FALSE;
	if (rcpt->user_id && rcpt->kind != CAPTURE_RCPT_BAD_TAG)
		return capture_rcpt_check_active(store, rcpt, error);
	if (rcpt->kind == CAPTURE_RCPT_OTHER && capture_in_dropbox_domain(config, rcpt->key))
		rcpt->kind = CAPTURE_RCPT_UNKNOWN_DROPBOX;
	return TRUE;
}
