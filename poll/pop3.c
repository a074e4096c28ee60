/* POP3 through libcurl: it verifies certificates and host names with SNI
 * (GnuTLS), speaks STLS, XOAUTH2, and streams RETR to our spool. One easy
 * handle keeps one POP3 session, so message numbers stay valid. */
#include "poll/net.h"

#include <curl/curl.h>
#include <string.h>

struct PollPop3 {
	CURL *curl;
	gboolean implicit;
	char *base; /* pop3[s]://host:port/ */
	PollEndpoint ep;
	char *host;
	char errbuf[CURL_ERROR_SIZE];
};

/* curl's TLS errors name neither the certificate nor the reason: on
 * implicit TLS, a handshake of our own (the IMAP TLS layer) finds both. */
static gboolean
pop3_tls_probe(PollPop3 *p, GError **error)
{
	if (!p->implicit)
		return FALSE;
	g_autoptr(GError) e = NULL;
	int fd = poll_net_connect(&p->ep, &e);
	if (fd < 0)
		return FALSE;
	mailstream_low *low = poll_tls_low_new(fd, &p->ep, &e);
	if (low) {
		mailstream_low_close(low);
		mailstream_low_free(low);
		return FALSE;
	}
	if (!g_error_matches(e, POLL_ERROR, POLL_ERROR_TLS))
		return FALSE;
	g_propagate_error(error, g_steal_pointer(&e));
	return TRUE;
}

static gboolean
pop3_fail(PollPop3 *p, CURLcode rc, const char *what, GError **error)
{
	const char *detail = p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		g_set_error(error, POLL_ERROR, POLL_ERROR_RESOLVE, "cannot resolve host name '%s': %s", p->ep.host,
			    detail);
		break;
	case CURLE_COULDNT_CONNECT:
		g_set_error(error, POLL_ERROR, POLL_ERROR_CONNECT, "connection to %s port %d failed: %s (%s)",
			    p->ep.host, p->ep.port, detail, poll_net_port_hint("pop3"));
		break;
	case CURLE_OPERATION_TIMEDOUT:
		g_set_error(error, POLL_ERROR, POLL_ERROR_TIMEOUT,
			    "POP3 %s at %s port %d timed out (a firewall may drop it, or the port is wrong; %s)", what,
			    p->ep.host, p->ep.port, poll_net_port_hint("pop3"));
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
		if (pop3_tls_probe(p, error))
			break;
		g_set_error(error, POLL_ERROR, POLL_ERROR_TLS, "TLS with %s port %d failed: %s%s", p->ep.host,
			    p->ep.port, detail,
			    p->ep.ca_file && *p->ep.ca_file ? "" : " (a private CA? set [poll] ca_file)");
		break;
	case CURLE_LOGIN_DENIED:
		g_set_error(error, POLL_ERROR, POLL_ERROR_AUTH,
			    "authentication at %s failed: %s (with two-factor authentication on, the provider wants "
			    "an app-specific password, not the account password)",
			    p->ep.host, detail);
		break;
	default:
		g_set_error(error, POLL_ERROR, rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING
							 ? POLL_ERROR_TIMEOUT
							 : POLL_ERROR_PROTOCOL,
			    "POP3 %s at %s port %d failed: %s", what, p->ep.host, p->ep.port, detail);
		break;
	}
	return FALSE;
}

static size_t
pop3_to_gstring(char *data, size_t size, size_t n, void *ctx)
{
	g_string_append_len(ctx, data, (gssize)(size * n));
	return size * n;
}

typedef struct {
	PollSpool *spool;
	GError *error;
} Pop3Sink;

static size_t
pop3_to_spool(char *data, size_t size, size_t n, void *ctx)
{
	Pop3Sink *sink = ctx;
	if (sink->error || !capture_spool_append(&sink->spool->spool, data, size * n, &sink->error))
		return 0;
	return size * n;
}

static CURLcode
pop3_perform(PollPop3 *p, const char *path, const char *request, gboolean nobody, curl_write_callback write,
	     void *ctx)
{
	g_autofree char *url = g_strconcat(p->base, path, NULL);
	p->errbuf[0] = '\0';
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, request);
	curl_easy_setopt(p->curl, CURLOPT_NOBODY, nobody ? 1L : 0L);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, ctx);
	return curl_easy_perform(p->curl);
}

PollPop3 *
poll_pop3_open(const PollEndpoint *ep, const char *tls, const char *user, const char *secret, gboolean oauth2,
	       GError **error)
{
	g_autoptr(PollPop3) p = g_new0(PollPop3, 1);
	p->host = g_strdup(ep->host);
	p->ep = *ep;
	p->ep.host = p->host;
	p->ep.ca_file = ep->ca_file ? g_intern_string(ep->ca_file) : NULL;
	gboolean implicit = !g_strcmp0(tls, "implicit");
	p->implicit = implicit;
	gboolean v6 = strchr(ep->host, ':') != NULL;
	p->base = g_strdup_printf("%s://%s%s%s:%d/", implicit ? "pop3s" : "pop3", v6 ? "[" : "", ep->host,
				  v6 ? "]" : "", ep->port);
	p->curl = curl_easy_init();
	if (!p->curl) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_PROTOCOL, "cannot initialise libcurl");
		return NULL;
	}
	CURL *c = p->curl;
	int timeout = ep->timeout > 0 ? ep->timeout : POLL_NET_TIMEOUT;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout);
	/* No overall timeout (a large RETR may take long): stalls are caught. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "pop3,pop3s");
	curl_easy_setopt(c, CURLOPT_USERNAME, user);
	if (oauth2) {
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, secret);
		curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	} else {
		curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
	}
	if (!g_strcmp0(tls, "starttls"))
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ep->ca_file && *ep->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ep->ca_file);
	return g_steal_pointer(&p);
}

GPtrArray *
poll_pop3_uidl(PollPop3 *p, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	CURLcode rc = pop3_perform(p, "", "UIDL", FALSE, pop3_to_gstring, out);
	if (rc != CURLE_OK) {
		pop3_fail(p, rc, "UIDL", error);
		return NULL;
	}
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)poll_spool_free);
	g_auto(GStrv) lines = g_strsplit(out->str, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_strstrip(*l);
		char *sp = strchr(*l, ' ');
		if (!**l || !sp)
			continue;
		*sp = '\0';
		guint64 n = g_ascii_strtoull(*l, NULL, 10);
		if (n == 0)
			continue;
		PollSpool *s = poll_spool_new(0);
		s->msgno = (guint)n;
		s->uidl = g_strdup(g_strstrip(sp + 1));
		g_ptr_array_add(list, s);
	}
	return list;
}

gboolean
poll_pop3_retr(PollPop3 *p, PollSpool *spool, GError **error)
{
	char path[32];
	g_snprintf(path, sizeof path, "%u", spool->msgno);
	Pop3Sink sink = { spool, NULL };
	CURLcode rc = pop3_perform(p, path, NULL, FALSE, pop3_to_spool, &sink);
	if (sink.error) {
		g_propagate_error(error, sink.error);
		return FALSE;
	}
	if (rc != CURLE_OK)
		return pop3_fail(p, rc, "RETR", error);
	return TRUE;
}

gboolean
poll_pop3_dele(PollPop3 *p, guint msgno, GError **error)
{
	char path[32];
	g_snprintf(path, sizeof path, "%u", msgno);
	g_autoptr(GString) sink = g_string_new(NULL);
	CURLcode rc = pop3_perform(p, path, "DELE", TRUE, pop3_to_gstring, sink);
	if (rc != CURLE_OK)
		return pop3_fail(p, rc, "DELE", error);
	return TRUE;
}

void
poll_pop3_close(PollPop3 *p)
{
	if (!p)
		return;
	/* Cleanup sends QUIT: only then does the server apply the DELEs. */
	if (p->curl)
		curl_easy_cleanup(p->curl);
	g_free(p->base);
	g_free(p->host);
	g_free(p);
}
