/* IMAP through libetpan's mailimap over our own TLS layer. Folders are
 * EXAMINEd (read-only) and bodies fetched with BODY.PEEK[], so the server's
 * flags stay exactly as the user left them. */
#include "poll/net.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

struct PollImap {
	mailimap *imap;
	PollEndpoint ep;
	char *host;
	/* streaming fetch (imap_body_chunk): body section -> PollSpool* */
	GHashTable *streamed;
	guint64 memory_limit;
	GError *fetch_error;
};

static const char *
imap_server_text(PollImap *s)
{
	return s->imap && s->imap->imap_response ? s->imap->imap_response : "";
}

/* libetpan result codes -> our errors. */
static gboolean
imap_fail(PollImap *s, int rc, const char *what, GError **error)
{
	PollError code = POLL_ERROR_PROTOCOL;
	const char *why = "the server refused it";
	switch (rc) {
	case MAILIMAP_ERROR_STREAM:
		why = "the connection was closed or timed out";
		code = POLL_ERROR_TIMEOUT;
		break;
	case MAILIMAP_ERROR_PARSE:
		why = "the server's reply could not be parsed";
		break;
	case MAILIMAP_ERROR_MEMORY:
		why = "out of memory";
		break;
	default:
		break;
	}
	g_set_error(error, POLL_ERROR, code, "IMAP %s at %s port %d failed: %s%s%s", what, s->ep.host, s->ep.port, why,
		    *imap_server_text(s) ? ": " : "", imap_server_text(s));
	return FALSE;
}

static gboolean
imap_ok(int rc)
{
	return rc == MAILIMAP_NO_ERROR || rc == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       rc == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

static gboolean
imap_starttls(PollImap *s, int fd, GError **error)
{
	int rc = mailimap_starttls(s->imap);
	/* Bytes already buffered after the STARTTLS response were sent in clear
	 * text before the handshake: taken as TLS data they would let anyone on
	 * the path inject responses (CVE-2020-15953). Checked here whatever the
	 * libetpan build does (Debian's refuses them with an unclear error). */
	if (s->imap->imap_stream->read_buffer_len > 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_TLS,
			    "%s port %d sent data after its STARTTLS response, before TLS: refusing the connection "
			    "(a response injection attempt, or a broken server)",
			    s->ep.host, s->ep.port);
		return FALSE;
	}
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(s, rc, "STARTTLS (configure --tls implicit or none if the server lacks it)", error);
	mailstream_low *plain = mailstream_get_low(s->imap->imap_stream);
	int tls_fd = dup(fd);
	if (tls_fd < 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_CONNECT, "dup: %s", g_strerror(errno));
		return FALSE;
	}
	mailstream_low *tls = poll_tls_low_new(tls_fd, &s->ep, error);
	if (!tls)
		return FALSE;
	mailstream_low_free(plain);
	mailstream_set_low(s->imap->imap_stream, tls);
	/* Capabilities seen before TLS came in clear text (RFC 3501 6.2.1):
	 * forget them, and ask again over TLS. */
	if (s->imap->imap_connection_info && s->imap->imap_connection_info->imap_capability)
		g_clear_pointer(&s->imap->imap_connection_info->imap_capability, mailimap_capability_data_free);
	struct mailimap_capability_data *cap = NULL;
	rc = mailimap_capability(s->imap, &cap);
	if (cap)
		mailimap_capability_data_free(cap);
	return rc == MAILIMAP_NO_ERROR || imap_fail(s, rc, "CAPABILITY after STARTTLS", error);
}

PollImap *
poll_imap_open(const PollEndpoint *ep, const char *tls, GError **error)
{
	g_autoptr(PollImap) s = g_new0(PollImap, 1);
	s->streamed = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)poll_spool_free);
	s->host = g_strdup(ep->host);
	s->ep = *ep;
	s->ep.host = s->host;
	s->ep.ca_file = ep->ca_file ? g_intern_string(ep->ca_file) : NULL;
	int fd = poll_net_connect(ep, error);
	if (fd < 0)
		return NULL;
	gboolean implicit = !g_strcmp0(tls, "implicit");
	mailstream_low *low = NULL;
	if (implicit) {
		low = poll_tls_low_new(fd, &s->ep, error);
		if (!low)
			return NULL;
	} else {
		low = mailstream_low_socket_open(fd);
		if (!low) {
			close(fd);
			g_set_error(error, POLL_ERROR, POLL_ERROR_CONNECT, "cannot set up the connection");
			return NULL;
		}
	}
	mailstream *stream = mailstream_new(low, 8192);
	s->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(s->imap, ep->timeout > 0 ? ep->timeout : POLL_NET_TIMEOUT);
	int rc = mailimap_connect(s->imap, stream);
	if (!imap_ok(rc)) {
		imap_fail(s, rc, "greeting", error);
		return NULL;
	}
	if (!g_strcmp0(tls, "starttls") && !imap_starttls(s, fd, error))
		return NULL;
	return g_steal_pointer(&s);
}

gboolean
poll_imap_login(PollImap *s, const char *user, const char *secret, gboolean oauth2, GError **error)
{
	int rc = oauth2 ? mailimap_oauth2_authenticate(s->imap, user, secret) : mailimap_login(s->imap, user, secret);
	if (rc == MAILIMAP_ERROR_LOGIN || rc == MAILIMAP_ERROR_SASL) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_AUTH,
			    "authentication as '%s' at %s failed: %s (with two-factor authentication on, the provider "
			    "wants an app-specific password, not the account password)",
			    user, s->ep.host, *imap_server_text(s) ? imap_server_text(s) : "credentials refused");
		return FALSE;
	}
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(s, rc, "login", error);
	/* Capabilities can change after login (IDLE among them). */
	if (!s->imap->imap_connection_info || !s->imap->imap_connection_info->imap_capability) {
		struct mailimap_capability_data *cap = NULL;
		if (mailimap_capability(s->imap, &cap) == MAILIMAP_NO_ERROR && cap)
			mailimap_capability_data_free(cap);
	}
	return TRUE;
}

GPtrArray *
poll_imap_list(PollImap *s, GError **error)
{
	clist *list = NULL;
	int rc = mailimap_list(s->imap, "", "*", &list);
	if (rc != MAILIMAP_NO_ERROR) {
		imap_fail(s, rc, "LIST", error);
		return NULL;
	}
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		g_ptr_array_add(out, g_strdup(mb->mb_name));
	}
	mailimap_list_result_free(list);
	return out;
}

gboolean
poll_imap_examine(PollImap *s, const char *folder, guint32 *uidvalidity, GError **error)
{
	int rc = mailimap_examine(s->imap, folder);
	if (rc != MAILIMAP_NO_ERROR) {
		g_autofree char *what = g_strdup_printf("EXAMINE of folder '%s'", folder);
		return imap_fail(s, rc, what, error);
	}
	*uidvalidity = s->imap->imap_selection_info ? s->imap->imap_selection_info->sel_uidvalidity : 0;
	return TRUE;
}

static gint
uid_cmp(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

GArray *
poll_imap_uids_above(PollImap *s, guint32 last, GError **error)
{
	struct mailimap_set *set = mailimap_set_new_interval(last + 1, 0);
	struct mailimap_search_key *key = mailimap_search_key_new_uid(set);
	clist *result = NULL;
	int rc = mailimap_uid_search(s->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (rc != MAILIMAP_NO_ERROR) {
		imap_fail(s, rc, "UID SEARCH", error);
		return NULL;
	}
	GArray *out = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		guint32 uid = *(guint32 *)clist_content(it);
		if (uid > last)
			g_array_append_val(out, uid);
	}
	mailimap_search_result_free(result);
	g_array_sort(out, uid_cmp);
	return out;
}

static struct mailimap_set *
imap_uid_set(GArray *uids)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	guint i = 0;
	while (i < uids->len) {
		guint32 first = g_array_index(uids, guint32, i), last = first;
		while (i + 1 < uids->len && g_array_index(uids, guint32, i + 1) == last + 1)
			last = g_array_index(uids, guint32, ++i);
		mailimap_set_add_interval(set, first, last);
		i++;
	}
	return set;
}

static void
imap_att_uid_size(struct mailimap_msg_att *att, guint32 *uid, guint32 *size)
{
	for (clistiter *it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = item->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
			*size = st->att_data.att_rfc822_size;
	}
}

GArray *
poll_imap_sizes(PollImap *s, GArray *uids, GError **error)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(guint32));
	g_array_set_size(out, uids->len);
	if (uids->len == 0)
		return out;
	struct mailimap_set *set = imap_uid_set(uids);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	clist *result = NULL;
	int rc = mailimap_uid_fetch(s->imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (rc != MAILIMAP_NO_ERROR) {
		g_array_unref(out);
		imap_fail(s, rc, "UID FETCH RFC822.SIZE", error);
		return NULL;
	}
	g_autoptr(GHashTable) sizes = g_hash_table_new(NULL, NULL);
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		guint32 uid = 0, size = 0;
		imap_att_uid_size(clist_content(it), &uid, &size);
		g_hash_table_insert(sizes, GUINT_TO_POINTER(uid), GUINT_TO_POINTER(size));
	}
	mailimap_fetch_list_free(result);
	for (guint i = 0; i < uids->len; i++)
		g_array_index(out, guint32, i) =
			GPOINTER_TO_UINT(g_hash_table_lookup(sizes, GUINT_TO_POINTER(g_array_index(uids, guint32, i))));
	return out;
}

/* Every body streams through this handler, so the memory a fetch takes is
 * bounded by the bytes that actually arrive (the spool spills to a file
 * past the memory limit), never by the RFC822.SIZE the server declared: a
 * server that under-declares cannot make us buffer more. SECTION is the
 * body's own entry in the FETCH result, which later names its UID. */
static bool
imap_body_chunk(int type, struct mailimap_msg_att_body_section *section, const char *bytes, size_t len, void *ctx)
{
	PollImap *s = ctx;
	PollSpool *sp = g_hash_table_lookup(s->streamed, section);
	if (!sp) {
		sp = poll_spool_new(s->memory_limit);
		g_hash_table_insert(s->streamed, section, sp);
	}
	if (!s->fetch_error)
		capture_spool_append(&sp->spool, bytes, len, &s->fetch_error);
	return true;
}

/* The body and UID of one FETCH response. */
static void
imap_att_body(struct mailimap_msg_att *att, guint32 *uid, struct mailimap_msg_att_body_section **body)
{
	guint32 size = 0;
	imap_att_uid_size(att, uid, &size);
	*body = NULL;
	for (clistiter *it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
		    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
			*body = item->att_data.att_static->att_data.att_body_section;
	}
}

/* Each streamed body to the UID its FETCH response carries. */
static void
imap_claim_bodies(PollImap *s, clist *result, GHashTable *by_uid)
{
	for (clistiter *it = result ? clist_begin(result) : NULL; it; it = clist_next(it)) {
		guint32 uid = 0;
		struct mailimap_msg_att_body_section *body = NULL;
		imap_att_body(clist_content(it), &uid, &body);
		PollSpool *sp = body ? g_hash_table_lookup(s->streamed, body) : NULL;
		if (!sp || !uid || g_hash_table_contains(by_uid, GUINT_TO_POINTER(uid)))
			continue; /* e.g. an unsolicited flag update */
		g_hash_table_steal(s->streamed, body);
		sp->uid = uid;
		g_hash_table_insert(by_uid, GUINT_TO_POINTER(uid), sp);
	}
	g_hash_table_remove_all(s->streamed);
}

static int
imap_uid_fetch_body(PollImap *s, GArray *uids, clist **result)
{
	struct mailimap_set *set = imap_uid_set(uids);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
						   mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	mailimap_set_msg_body_handler(s->imap, imap_body_chunk, s);
	int rc = mailimap_uid_fetch(s->imap, set, ft, result);
	mailimap_set_msg_body_handler(s->imap, NULL, NULL);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	return rc;
}

/* One UID FETCH for a batch whose declared sizes add up to at most the
 * memory limit (at least one message): fewer round trips, and when the
 * server is honest little is spilled to files. */
static gboolean
imap_fetch_batch(PollImap *s, GArray *batch, GHashTable *by_uid, GError **error)
{
	clist *result = NULL;
	int rc = imap_uid_fetch_body(s, batch, &result);
	imap_claim_bodies(s, result, by_uid);
	if (result)
		mailimap_fetch_list_free(result);
	if (s->fetch_error) {
		g_propagate_error(error, g_steal_pointer(&s->fetch_error));
		return FALSE;
	}
	return rc == MAILIMAP_NO_ERROR || imap_fail(s, rc, "UID FETCH BODY.PEEK[]", error);
}

static gboolean
imap_fetch_all(PollImap *s, GArray *uids, GArray *sizes, GHashTable *by_uid, GError **error)
{
	g_autoptr(GArray) batch = g_array_new(FALSE, FALSE, sizeof(guint32));
	guint64 declared = 0;
	for (guint i = 0; i <= uids->len; i++) {
		guint64 size = i < uids->len ? g_array_index(sizes, guint32, i) : 0;
		if (batch->len && (i == uids->len || declared + size > s->memory_limit)) {
			if (!imap_fetch_batch(s, batch, by_uid, error))
				return FALSE;
			g_array_set_size(batch, 0);
			declared = 0;
		}
		if (i < uids->len) {
			g_array_append_val(batch, g_array_index(uids, guint32, i));
			declared += size;
		}
	}
	return TRUE;
}

GPtrArray *
poll_imap_fetch(PollImap *s, GArray *uids, GArray *sizes, guint64 memory_limit, GError **error)
{
	g_autoptr(GHashTable) by_uid = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)poll_spool_free);
	s->memory_limit = memory_limit;
	if (!imap_fetch_all(s, uids, sizes, by_uid, error))
		return NULL;
	/* In UID order, which is the cursor's order. */
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)poll_spool_free);
	for (guint i = 0; i < uids->len; i++) {
		gpointer key = GUINT_TO_POINTER(g_array_index(uids, guint32, i));
		PollSpool *sp = g_hash_table_lookup(by_uid, key);
		if (sp) {
			g_hash_table_steal(by_uid, key);
			g_ptr_array_add(out, sp);
		}
	}
	return out;
}

gboolean
poll_imap_has_idle(PollImap *s)
{
	return mailimap_has_idle(s->imap) != 0;
}

/* Data already read past the IDLE continuation, by libetpan or GnuTLS. */
static gboolean
imap_idle_buffered(PollImap *s)
{
	return s->imap->imap_stream->read_buffer_len > 0;
}

gboolean
poll_imap_idle(PollImap *s, int seconds, volatile gint *stop, gboolean *activity, GError **error)
{
	*activity = FALSE;
	int rc = mailimap_idle(s->imap);
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(s, rc, "IDLE", error);
	int fd = mailimap_idle_get_fd(s->imap);
	gint64 until = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!*activity && !(stop && g_atomic_int_get(stop)) && g_get_monotonic_time() < until) {
		if (imap_idle_buffered(s)) {
			*activity = TRUE;
			break;
		}
		/* Short slices: a stop request is noticed within a quarter second. */
		struct pollfd p = { fd, POLLIN, 0 };
		int n = poll(&p, 1, 250);
		if (n > 0)
			*activity = TRUE;
		else if (n < 0 && errno != EINTR)
			break;
	}
	rc = mailimap_idle_done(s->imap);
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(s, rc, "IDLE DONE", error);
	return TRUE;
}

void
poll_imap_close(PollImap *s)
{
	if (!s)
		return;
	if (s->imap) {
		if (s->imap->imap_stream)
			mailimap_logout(s->imap);
		mailimap_free(s->imap);
	}
	g_clear_pointer(&s->streamed, g_hash_table_unref);
	g_clear_error(&s->fetch_error);
	g_free(s->host);
	g_free(s);
}
