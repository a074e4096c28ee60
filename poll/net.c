/* TCP connect with precise errors, and TLS done by us (GnuTLS) under
 * libetpan: Debian's libetpan neither sends SNI nor verifies certificates. */
#include "poll/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *
poll_net_port_hint(const char *protocol)
{
	if (!g_strcmp0(protocol, "pop3"))
		return "POP3 usually listens on 995 (TLS) or 110 (STARTTLS)";
	return "IMAP usually listens on 993 (TLS) or 143 (STARTTLS)";
}

static void
net_set_timeouts(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Non-blocking connect so that a silent firewall is a timeout we name. */
static int
net_try_connect(const struct addrinfo *ai, int timeout, int *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	struct pollfd p = { fd, POLLOUT, 0 };
	int rc;
	do
		rc = poll(&p, 1, timeout * 1000);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		*err = ETIMEDOUT;
		close(fd);
		return -1;
	}
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (rc < 0 || soerr) {
		*err = rc < 0 ? errno : soerr;
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	net_set_timeouts(fd, timeout);
	return fd;
}

int
poll_net_connect(const PollEndpoint *ep, GError **error)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char port[16];
	g_snprintf(port, sizeof port, "%d", ep->port);
	int rc = getaddrinfo(ep->host, port, &hints, &res);
	if (rc != 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_RESOLVE, "cannot resolve host name '%s': %s", ep->host,
			    gai_strerror(rc));
		return -1;
	}
	int err = 0, fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = net_try_connect(ai, ep->timeout > 0 ? ep->timeout : POLL_NET_TIMEOUT, &err);
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (err == ETIMEDOUT)
		g_set_error(error, POLL_ERROR, POLL_ERROR_TIMEOUT,
			    "connection to %s port %d timed out (a firewall may drop it, or the port is wrong; %s)",
			    ep->host, ep->port, poll_net_port_hint(ep->protocol));
	else
		g_set_error(error, POLL_ERROR, POLL_ERROR_CONNECT, "connection to %s port %d failed: %s (%s)", ep->host,
			    ep->port, err == ECONNREFUSED ? "connection refused, nothing listens there" : g_strerror(err),
			    poll_net_port_hint(ep->protocol));
	return -1;
}

/* ---- TLS as a libetpan stream layer ---- */

typedef struct {
	int fd;
	int timeout; /* seconds */
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
} TlsLow;

/* libetpan may switch the socket to non-blocking: wait for it ourselves,
 * bounded by the network timeout. */
static gboolean
tls_wait(TlsLow *t, gboolean writing)
{
	if (!writing && gnutls_record_check_pending(t->session) > 0)
		return TRUE;
	struct pollfd p = { t->fd, writing ? POLLOUT : POLLIN, 0 };
	int n;
	do
		n = poll(&p, 1, t->timeout * 1000);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

static ssize_t
tls_read(mailstream_low *s, void *buf, size_t count)
{
	TlsLow *t = s->data;
	ssize_t n;
	for (;;) {
		n = gnutls_record_recv(t->session, buf, count);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN && tls_wait(t, gnutls_record_get_direction(t->session) == 1))
			continue;
		break;
	}
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	return n < 0 ? -1 : n;
}

static ssize_t
tls_write(mailstream_low *s, const void *buf, size_t count)
{
	TlsLow *t = s->data;
	ssize_t n;
	for (;;) {
		n = gnutls_record_send(t->session, buf, count);
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_AGAIN && tls_wait(t, gnutls_record_get_direction(t->session) == 1))
			continue;
		break;
	}
	return n < 0 ? -1 : n;
}

static int
tls_close(mailstream_low *s)
{
	TlsLow *t = s->data;
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	return 0;
}

static int
tls_get_fd(mailstream_low *s)
{
	TlsLow *t = s->data;
	return t->fd;
}

static void
tls_data_free(TlsLow *t)
{
	if (!t)
		return;
	if (t->session)
		gnutls_deinit(t->session);
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	if (t->fd >= 0)
		close(t->fd);
	g_free(t);
}

/* libetpan's driver contract: free releases the layer itself too. */
static void
tls_free(mailstream_low *s)
{
	tls_data_free(s->data);
	s->data = NULL;
	free(s);
}

static void
tls_cancel(mailstream_low *s)
{
}

static struct mailstream_cancel *
tls_get_cancel(mailstream_low *s)
{
	return NULL;
}

static carray *
tls_get_chain(mailstream_low *s)
{
	return NULL;
}

static mailstream_low_driver tls_driver = {
	.mailstream_read = tls_read,
	.mailstream_write = tls_write,
	.mailstream_close = tls_close,
	.mailstream_get_fd = tls_get_fd,
	.mailstream_free = tls_free,
	.mailstream_cancel = tls_cancel,
	.mailstream_get_cancel = tls_get_cancel,
	.mailstream_get_certificate_chain = tls_get_chain,
};

/* TRUE when HOST is an IP literal: SNI must not carry those. */
static gboolean
tls_is_ip(const char *host)
{
	guint8 buf[16];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static char *
tls_peer_subject(gnutls_session_t session)
{
	unsigned int n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
	if (!certs || n == 0)
		return g_strdup("(no certificate)");
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };
	char *out = NULL;
	if (gnutls_x509_crt_init(&crt) == 0) {
		if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
		    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
			out = g_strndup((const char *)dn.data, dn.size);
			gnutls_free(dn.data);
		}
		gnutls_x509_crt_deinit(crt);
	}
	return out ? out : g_strdup("(unreadable certificate)");
}

static void
tls_verify_error(gnutls_session_t session, const PollEndpoint *ep, int rc, GError **error)
{
	g_autofree char *subject = tls_peer_subject(session);
	unsigned int status = gnutls_session_get_verify_cert_status(session);
	gnutls_datum_t reason = { NULL, 0 };
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &reason, 0) != 0)
		reason.data = NULL;
	g_set_error(error, POLL_ERROR, POLL_ERROR_TLS,
		    "TLS certificate of %s port %d refused: subject '%s': %s%s", ep->host, ep->port, subject,
		    reason.data ? (const char *)reason.data : gnutls_strerror(rc),
		    ep->ca_file && *ep->ca_file ? "" : " (a private CA? set [poll] ca_file)");
	gnutls_free(reason.data);
}

static gboolean
tls_setup(TlsLow *t, const PollEndpoint *ep, GError **error)
{
	int rc = gnutls_certificate_allocate_credentials(&t->cred);
	if (rc == 0) {
		if (ep->ca_file && *ep->ca_file)
			rc = gnutls_certificate_set_x509_trust_file(t->cred, ep->ca_file, GNUTLS_X509_FMT_PEM);
		else
			rc = gnutls_certificate_set_x509_system_trust(t->cred);
		if (rc == 0 && ep->ca_file && *ep->ca_file) {
			g_set_error(error, POLL_ERROR, POLL_ERROR_TLS, "CA file %s holds no certificate", ep->ca_file);
			return FALSE;
		}
		rc = rc < 0 ? rc : 0;
	}
	if (rc < 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_TLS, "cannot load the trusted CAs (%s): %s",
			    ep->ca_file && *ep->ca_file ? ep->ca_file : "system store", gnutls_strerror(rc));
		return FALSE;
	}
	if ((rc = gnutls_init(&t->session, GNUTLS_CLIENT)) < 0 ||
	    (rc = gnutls_set_default_priority(t->session)) < 0 ||
	    (rc = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0 ||
	    (!tls_is_ip(ep->host) &&
	     (rc = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, ep->host, strlen(ep->host))) < 0)) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_TLS, "cannot set up TLS: %s", gnutls_strerror(rc));
		return FALSE;
	}
	/* Chain and host name (or IP address) checked during the handshake. */
	gnutls_session_set_verify_cert(t->session, ep->host, 0);
	gnutls_transport_set_int(t->session, t->fd);
	gnutls_handshake_set_timeout(t->session, (ep->timeout > 0 ? ep->timeout : POLL_NET_TIMEOUT) * 1000);
	do
		rc = gnutls_handshake(t->session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || rc == GNUTLS_E_CERTIFICATE_ERROR) {
		tls_verify_error(t->session, ep, rc, error);
		return FALSE;
	}
	if (rc < 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_TLS, "TLS handshake with %s port %d failed: %s", ep->host,
			    ep->port, gnutls_strerror(rc));
		return FALSE;
	}
	return TRUE;
}

mailstream_low *
poll_tls_low_new(int fd, const PollEndpoint *ep, GError **error)
{
	TlsLow *t = g_new0(TlsLow, 1);
	t->fd = fd;
	t->timeout = ep->timeout > 0 ? ep->timeout : POLL_NET_TIMEOUT;
	if (!tls_setup(t, ep, error)) {
		tls_data_free(t);
		return NULL;
	}
	mailstream_low *low = mailstream_low_new(t, &tls_driver);
	if (!low)
		tls_data_free(t);
	return low;
}

/* ---- spool ---- */

PollSpool *
poll_spool_new(guint64 memory_limit)
{
	PollSpool *s = g_new0(PollSpool, 1);
	capture_spool_init(&s->spool, memory_limit);
	return s;
}

void
poll_spool_free(PollSpool *s)
{
	if (!s)
		return;
	capture_spool_clear(&s->spool);
	g_free(s->uidl);
	g_free(s);
}
