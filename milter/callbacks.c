/* The libmilter callbacks. Per-connection state is the MilterSession kept
 * with smfi_setpriv(); libmilter may call us for one connection from a
 * different worker thread each time, never two at once. */
#include "milter/milter.h"

#include <libmilter/mfapi.h>
#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>


/* libmilter has no user-data pointer for callbacks: the server is set once
 * before smfi_main() and only read afterwards. */
static MilterServer *milter_server;

typedef struct {
	char *rcpt;    /* exactly as received (for smfi_delrcpt) */
	char *key;     /* normalised dropbox address */
	char *user_id; /* its owner */
	char *deal_id; /* a per-deal address's deal, or NULL */
} MilterDropbox;

typedef struct {
	/* connection */
	gboolean can_setsymlist;
	/* SMFIP_NR_* negotiated: the MTA does not wait for these answers */
	gboolean mail_noreply, header_noreply, body_noreply;
	gboolean leadspc; /* SMFIP_HDR_LEADSPC: header values come as written */
	/* transaction (reset at MAIL, abort and end of message) */
	char *envelope_from;  /* as received */
	char *from_key;	      /* its address key, or NULL (null sender) */
	char *auth_authen;    /* SMTP AUTH identity, or NULL */
	char *queue_id;
	GPtrArray *rcpts;     /* char*: every accepted recipient, as received */
	GPtrArray *dropboxes; /* MilterDropbox* */
	guint n_other;	      /* accepted recipients that are not dropboxes */
	/* The topmost Authentication-Results of the trusted authserv-id (the
	 * one our verifier prepended) decides; any below it may be forged. */
	gboolean ar_seen;
	char *dmarc_from; /* its DMARC-verified header.from domain, or NULL */
	const char *refusal; /* why a dropbox was not filed (static text) */
	guint n_filed;
	gboolean in_body;
	gboolean body_started;
	CaptureSpool spool;
	GError *spool_error; /* the first failure to spool, reported at the end */
} MilterSession;

static void
dropbox_free(gpointer p)
{
	MilterDropbox *d = p;
	g_free(d->rcpt);
	g_free(d->key);
	g_free(d->user_id);
	g_free(d->deal_id);
	g_free(d);
}

static void
session_reset(MilterSession *s)
{
	g_clear_pointer(&s->envelope_from, g_free);
	g_clear_pointer(&s->from_key, g_free);
	g_clear_pointer(&s->auth_authen, g_free);
	g_clear_pointer(&s->queue_id, g_free);
	g_clear_pointer(&s->rcpts, g_ptr_array_unref);
	g_clear_pointer(&s->dropboxes, g_ptr_array_unref);
	s->n_other = 0;
	s->ar_seen = FALSE;
	g_clear_pointer(&s->dmarc_from, g_free);
	s->refusal = NULL;
	s->n_filed = 0;
	if (s->in_body)
		capture_spool_clear(&s->spool);
	s->in_body = FALSE;
	s->body_started = FALSE;
	g_clear_error(&s->spool_error);
}

static MilterSession *
session_get(SMFICTX *ctx)
{
	MilterSession *s = smfi_getpriv(ctx);
	if (!s) {
		s = g_new0(MilterSession, 1);
		smfi_setpriv(ctx, s);
	}
	return s;
}

static const char *
session_qid(MilterSession *s)
{
	return s->queue_id ? s->queue_id : "NOQUEUE";
}

static void
session_note_qid(SMFICTX *ctx, MilterSession *s)
{
	const char *qid = smfi_getsymval(ctx, "i");
	if (qid && *qid && g_strcmp0(qid, s->queue_id) != 0) {
		g_free(s->queue_id);
		s->queue_id = g_strdup(qid);
	}
}

static sfsistat
reply_tempfail(SMFICTX *ctx, MilterSession *s, const char *what, const GError *error)
{
	g_warning("%s: %s, answering 451 (the client will retry): %s", session_qid(s), what, error->message);
	smfi_setreply(ctx, "451", "4.3.0", "bccdrop: mail capture storage temporarily unavailable, try again later");
	return SMFIS_TEMPFAIL;
}

/* ---- negotiation ---------------------------------------------------------- */

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	if (!(f0 & SMFIF_DELRCPT)) {
		g_warning("the MTA does not allow a milter to delete recipients; refusing the connection's filtering");
		return SMFIS_REJECT;
	}
	MilterSession *s = session_get(ctx);
	*pf0 = SMFIF_DELRCPT;
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		s->can_setsymlist = TRUE;
	}
	/* Steps we do not need; the MTA skips them when it can. */
	unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NOEOH;
	*pf1 = (f1 & skip) | (f1 & SMFIP_HDR_LEADSPC);
	s->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	/* MAIL, header fields and body chunks are never refused (a spooling
	 * failure is reported at the end): spare the MTA a round trip each. */
	s->mail_noreply = (f1 & SMFIP_NR_MAIL) != 0;
	s->header_noreply = (f1 & SMFIP_NR_HDR) != 0;
	s->body_noreply = (f1 & SMFIP_NR_BODY) != 0;
	*pf1 |= f1 & (SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_BODY);
	*pf2 = 0;
	*pf3 = 0;
	if (s->can_setsymlist) {
		/* {auth_authen} at MAIL lets RCPT refuse a stranger's use of a
		 * dropbox; the queue id is only for the log. */
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

/* ---- envelope ------------------------------------------------------------- */

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	MilterSession *s = session_get(ctx);
	session_reset(s);
	s->rcpts = g_ptr_array_new_with_free_func(g_free);
	s->dropboxes = g_ptr_array_new_with_free_func(dropbox_free);
	s->envelope_from = g_strdup(argv[0] ? argv[0] : "");
	s->from_key = capture_address_key(s->envelope_from);
	const char *auth = smfi_getsymval(ctx, "{auth_authen}");
	if (auth && *auth)
		s->auth_authen = g_strdup(auth);
	session_note_qid(ctx, s);
	return s->mail_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

typedef enum {
	RCPT_OTHER,
	RCPT_DROPBOX,
	RCPT_UNKNOWN_DROPBOX,
	RCPT_STRANGER,
	RCPT_BAD_TAG,
	RCPT_DEACTIVATED
} RcptVerdict;

/* May this transaction's sender file into USER_ID's dropbox? With AUTH the
 * login decides; without, the envelope sender here (unless owner_proof is
 * auth) and the header From, with DMARC, at the end of the message. */
static gboolean
rcpt_sender_allowed(Store *store, MilterSession *s, const char *user_id, gboolean *allowed, GError **error)
{
	if (s->auth_authen)
		return store_user_owns_login(store, user_id, s->auth_authen, allowed, error);
	if (!s->from_key || milter_server->owner_proof == MILTER_PROOF_AUTH) {
		*allowed = FALSE;
		return TRUE;
	}
	return store_user_owns_address(store, user_id, s->from_key, allowed, error);
}

static gboolean
rcpt_classify(MilterSession *s, CaptureRcpt *rcpt, RcptVerdict *verdict, GError **error)
{
	*verdict = RCPT_OTHER;
	Store *store = milter_pool_get(milter_server->pool, error);
	if (!store)
		return FALSE;
	gboolean ok = capture_rcpt_lookup(store, milter_server->config, rcpt, error);
	gboolean allowed = FALSE;
	if (ok && rcpt->kind == CAPTURE_RCPT_DROPBOX)
		ok = rcpt_sender_allowed(store, s, rcpt->user_id, &allowed, error);
	milter_pool_put(milter_server->pool, store, !ok);
	if (!ok)
		return FALSE;
	if (rcpt->kind == CAPTURE_RCPT_DROPBOX)
		*verdict = allowed ? RCPT_DROPBOX : RCPT_STRANGER;
	else if (rcpt->kind == CAPTURE_RCPT_UNKNOWN_DROPBOX)
		*verdict = RCPT_UNKNOWN_DROPBOX;
	else if (rcpt->kind == CAPTURE_RCPT_BAD_TAG)
		*verdict = RCPT_BAD_TAG;
	else if (rcpt->kind == CAPTURE_RCPT_DEACTIVATED)
		*verdict = RCPT_DEACTIVATED;
	return TRUE;
}

/* The 550 5.7.1 text: which proof of ownership was missing. */
static const char *
rcpt_refusal(const MilterSession *s)
{
	if (s->auth_authen)
		return "bccdrop: the SMTP AUTH login is not the dropbox owner's";
	if (milter_server->owner_proof == MILTER_PROOF_AUTH)
		return "bccdrop: no SMTP AUTH as the dropbox owner (required for this address)";
	return "bccdrop: no SMTP AUTH as the dropbox owner, and the envelope sender is not the owner's address";
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	MilterSession *s = session_get(ctx);
	if (!s->rcpts)
		return SMFIS_CONTINUE; /* no MAIL seen: nothing to attach to */
	const char *rcpt = argv[0] ? argv[0] : "";
	gboolean need_lookup = FALSE;
	g_autoptr(CaptureRcpt) r = capture_rcpt_new(milter_server->config, rcpt, &need_lookup);
	RcptVerdict verdict = RCPT_OTHER;
	g_autoptr(GError) error = NULL;
	if (need_lookup && !rcpt_classify(s, r, &verdict, &error)) {
		g_warning("%s: recipient %s: %s, answering 451", session_qid(s), rcpt, error->message);
		smfi_setreply(ctx, "451", "4.3.0", "bccdrop: dropbox lookup temporarily unavailable, try again later");
		return SMFIS_TEMPFAIL;
	}
	switch (verdict) {
	case RCPT_UNKNOWN_DROPBOX:
		g_message("%s: refused %s: no user has this dropbox address", session_qid(s), rcpt);
		smfi_setreply(ctx, "550", "5.1.1", "bccdrop: no such dropbox address");
		return SMFIS_REJECT;
	case RCPT_DEACTIVATED:
		g_message("%s: refused dropbox %s: user %s is deactivated in the CRM", session_qid(s), rcpt, r->user_id);
		smfi_setreply(ctx, "550", "5.1.1", "bccdrop: this dropbox's user is deactivated in the CRM");
		return SMFIS_REJECT;
	case RCPT_STRANGER:
		g_message("%s: refused dropbox %s (user %s) for sender %s%s%s: not the dropbox owner", session_qid(s),
			  rcpt, r->user_id, s->envelope_from, s->auth_authen ? ", AUTH " : "",
			  s->auth_authen ? s->auth_authen : "");
		smfi_setreply(ctx, "550", "5.7.1", (char *)rcpt_refusal(s));
		return SMFIS_REJECT;
	case RCPT_BAD_TAG: {
		g_autofree char *text = g_strdup_printf("bccdrop: %s", r->refusal);
		g_message("%s: refused %s: %s", session_qid(s), rcpt, r->refusal);
		smfi_setreply(ctx, "550", "5.7.1", text);
		return SMFIS_REJECT;
	}
	case RCPT_DROPBOX: {
		MilterDropbox *d = g_new0(MilterDropbox, 1);
		d->rcpt = g_strdup(rcpt);
		d->key = g_steal_pointer(&r->key);
		d->user_id = g_steal_pointer(&r->user_id);
		d->deal_id = g_steal_pointer(&r->deal_id);
		g_ptr_array_add(s->dropboxes, d);
		break;
	}
	case RCPT_OTHER:
		s->n_other++;
		break;
	}
	g_ptr_array_add(s->rcpts, g_strdup(rcpt));
	return SMFIS_CONTINUE;
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	MilterSession *s = session_get(ctx);
	if (!s->dropboxes || s->dropboxes->len == 0)
		return SMFIS_ACCEPT; /* not for us: the MTA sends no header or body */
	capture_spool_init(&s->spool, milter_server->config->milter_memory_limit);
	s->in_body = TRUE;
	return SMFIS_CONTINUE;
}

/* ---- content -------------------------------------------------------------- */

static void
spool_add(MilterSession *s, const void *data, gsize len)
{
	if (!s->spool_error)
		capture_spool_append(&s->spool, data, len, &s->spool_error);
}

/* Header values arrive with bare LF between folded lines; the body comes
 * with CRLF: store one line-ending convention throughout. With
 * SMFIP_HDR_LEADSPC the value starts exactly as written after the colon
 * ("Name:value" stays so); without it the MTA dropped the usual space. */
static void
spool_header(MilterSession *s, const char *name, const char *value)
{
	GString *line = g_string_sized_new(strlen(name) + strlen(value) + 4);
	g_string_append(line, name);
	g_string_append_c(line, ':');
	if (!s->leadspc && *value)
		g_string_append_c(line, ' ');
	for (const char *p = value; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n')
			g_string_append_c(line, '\r');
		g_string_append_c(line, *p);
	}
	g_string_append(line, "\r\n");
	spool_add(s, line->str, line->len);
	g_string_free(line, TRUE);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	MilterSession *s = session_get(ctx);
	sfsistat done = s->header_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	if (!s->in_body)
		return done;
	spool_header(s, name, value);
	if (!s->ar_seen && !g_ascii_strcasecmp(name, "Authentication-Results") &&
	    milter_auth_results(value, milter_server->config->trusted_authserv_id, &s->dmarc_from) == MILTER_AR_OURS)
		s->ar_seen = TRUE;
	return done;
}

static void
body_start(MilterSession *s)
{
	/* libmilter does not pass the empty line that ends the header. */
	if (!s->body_started)
		spool_add(s, "\r\n", 2);
	s->body_started = TRUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	MilterSession *s = session_get(ctx);
	if (s->in_body) {
		body_start(s);
		spool_add(s, chunk, len);
	}
	return s->body_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* ---- end of message ------------------------------------------------------- */

/* Without AUTH the envelope sender was checked at RCPT; the header From (as
 * parsed by ingest) must now be the owner's, and with auth-or-dmarc its
 * domain the one our verifier's DMARC pass names. */
static gboolean
eom_owner_wrote(Store *store, MilterSession *s, const IngestMessage *msg, const MilterDropbox *d, gboolean *wrote,
		GError **error)
{
	*wrote = s->auth_authen != NULL;
	MilterOwnerProof proof = milter_server->owner_proof;
	s->refusal = *wrote ? NULL : rcpt_refusal(s);
	if (*wrote || proof == MILTER_PROOF_AUTH)
		return TRUE;
	gboolean dmarc = proof == MILTER_PROOF_AUTH_OR_DMARC;
	s->refusal = "bccdrop: no SMTP AUTH as the dropbox owner, and no trusted DMARC pass for the owner's From";
	if (dmarc && !s->dmarc_from)
		return TRUE;
	s->refusal = dmarc ? "bccdrop: no SMTP AUTH as the dropbox owner, and the DMARC-verified From is not the owner's"
			   : "bccdrop: no SMTP AUTH as the dropbox owner, and the header From is not the owner's address";
	guint n_from = 0;
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		if (a->role != INGEST_ROLE_FROM)
			continue;
		gboolean owns = FALSE;
		if (!a->key || (dmarc && g_ascii_strcasecmp(milter_key_domain(a->key), s->dmarc_from)))
			return TRUE;
		if (!store_user_owns_address(store, d->user_id, a->key, &owns, error))
			return FALSE;
		if (!owns)
			return TRUE;
		n_from++;
	}
	*wrote = n_from > 0;
	if (*wrote)
		s->refusal = NULL;
	return TRUE;
}

static gboolean
eom_file_one(Store *store, MilterSession *s, const IngestMessage *msg, const IngestInput *raw,
	     const MilterDropbox *d, GError **error)
{
	g_ptr_array_add(s->rcpts, NULL);
	StoreSource src = {
		.kind = STORE_SOURCE_BCC_DROPBOX,
		.received_at = common_now(),
		.owner_user_id = d->user_id,
		.envelope_from = s->envelope_from,
		.envelope_rcpts = (const char *const *)s->rcpts->pdata,
		.dropbox = d->key,
		.deal_id = d->deal_id,
	};
	g_auto(CaptureFiled) filed = { 0 };
	gboolean ok = capture_group_store(milter_server->group, store, milter_server->config, msg, raw, &src, NULL,
					  NULL, &filed, error);
	g_ptr_array_remove_index(s->rcpts, s->rcpts->len - 1);
	if (ok)
		g_message("%s: filed <%s> for user %s (dropbox %s): message %" G_GINT64_FORMAT "%s, %u link(s)%s",
			  session_qid(s), filed.message_id ? filed.message_id : "", d->user_id, d->key, filed.message,
			  filed.new_source ? "" : " (re-delivery, already stored)", filed.n_links,
			  filed.unmatched ? ", no CRM match" : "");
	return ok;
}

static gboolean eom_file_parsed(MilterSession *s, const IngestInput *in, GError **error);

/* Parse once, then file in its own transaction once per owner whose dropbox
 * the message carries. The pooled connection is taken first: the pool's
 * size also caps how many messages are parsed at the same time. */
static gboolean
eom_file(MilterSession *s, GError **error)
{
	IngestInput raw = capture_spool_input(&s->spool);
	gboolean large = raw.fd >= 0;
	if (large)
		g_mutex_lock(&milter_server->large_lock);
	gboolean ok = eom_file_parsed(s, &raw, error);
	if (large)
		g_mutex_unlock(&milter_server->large_lock);
	return ok;
}

static gboolean
eom_file_parsed(MilterSession *s, const IngestInput *in, GError **error)
{
	IngestInput raw = *in;
	Store *store = milter_pool_get(milter_server->pool, error);
	if (!store)
		return FALSE;
	g_autoptr(IngestMessage) msg = capture_parse(&raw, common_now(), error);
	gboolean ok = msg != NULL;
	g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; ok && i < s->dropboxes->len; i++) {
		MilterDropbox *d = g_ptr_array_index(s->dropboxes, i);
		if (g_hash_table_contains(done, d->user_id))
			continue;
		g_hash_table_add(done, d->user_id);
		gboolean wrote = FALSE;
		ok = eom_owner_wrote(store, s, msg, d, &wrote, error);
		if (ok && !wrote) {
			g_message("%s: not filed for dropbox %s (user %s): %s; the dropbox recipient is removed",
				  session_qid(s), d->rcpt, d->user_id, s->refusal + strlen("bccdrop: "));
			continue;
		}
		ok = ok && eom_file_one(store, s, msg, &raw, d, error);
		s->n_filed += ok;
	}
	/* A read-only or failing connection is replaced; a busy one is fine. */
	gboolean broken = !ok && !g_error_matches(*error, STORE_ERROR, STORE_ERROR_BUSY) &&
			  !capture_error_is_bad_input(*error);
	milter_pool_put(milter_server->pool, store, broken);
	return ok;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	MilterSession *s = session_get(ctx);
	if (!s->in_body)
		return SMFIS_CONTINUE;
	session_note_qid(ctx, s);
	body_start(s);
	g_autoptr(GError) error = NULL;
	if (s->spool_error) {
		sfsistat r = reply_tempfail(ctx, s, "spooling the message failed", s->spool_error);
		session_reset(s);
		return r;
	}
	if (!eom_file(s, &error)) {
		sfsistat r = reply_tempfail(ctx, s, "storing the message failed", error);
		session_reset(s);
		return r;
	}
	sfsistat r = SMFIS_CONTINUE;
	if (s->n_other == 0 && s->n_filed == 0 && s->refusal) {
		/* Nobody to deliver to and nothing filed: tell the sender why. */
		smfi_setreply(ctx, "550", "5.7.1", (char *)s->refusal);
		r = SMFIS_REJECT;
	} else if (s->n_other == 0) {
		/* Only dropboxes: nothing is left to deliver, nothing bounces. */
		r = SMFIS_DISCARD;
	} else {
		for (guint i = 0; i < s->dropboxes->len; i++) {
			MilterDropbox *d = g_ptr_array_index(s->dropboxes, i);
			if (smfi_delrcpt(ctx, d->rcpt) != MI_SUCCESS) {
				g_warning("%s: the MTA refused to remove recipient %s", session_qid(s), d->rcpt);
				smfi_setreply(ctx, "451", "4.3.0", "bccdrop: cannot remove the dropbox recipient");
				r = SMFIS_TEMPFAIL;
				break;
			}
		}
	}
	session_reset(s);
	return r;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	MilterSession *s = smfi_getpriv(ctx);
	if (s)
		session_reset(s);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	MilterSession *s = smfi_getpriv(ctx);
	if (s) {
		session_reset(s);
		g_free(s);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

gboolean
milter_register(MilterServer *server, GError **error)
{
	milter_server = server;
	static struct smfiDesc desc = {
		.xxfi_name = "bccdrop",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_DELRCPT,
		.xxfi_envfrom = cb_envfrom,
		.xxfi_envrcpt = cb_envrcpt,
		.xxfi_header = cb_header,
		.xxfi_body = cb_body,
		.xxfi_eom = cb_eom,
		.xxfi_abort = cb_abort,
		.xxfi_close = cb_close,
		.xxfi_data = cb_data,
		.xxfi_negotiate = cb_negotiate,
	};
	if (smfi_register(desc) != MI_SUCCESS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "libmilter refused to register the filter");
		return FALSE;
	}
	return TRUE;
}
