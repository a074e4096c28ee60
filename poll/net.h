/* Internal to poll/: network, TLS and the two protocol clients. */
#ifndef BCCDROP_POLL_NET_H
#define BCCDROP_POLL_NET_H

#include <glib.h>
#include <libetpan/libetpan.h>

#include "poll/poll.h"

/* Seconds a connect, a read or a write may take before it is a timeout. */
#define POLL_NET_TIMEOUT 60

/* Where to connect and how to check the server. */
typedef struct {
	const char *host;
	int port;
	const char *protocol; /* "imap" or "pop3": for hints */
	const char *ca_file;  /* NULL or "": the system CA store */
	int timeout;	      /* seconds */
} PollEndpoint;

/* A connected TCP socket (blocking, with send/receive timeouts), or -1 with
 * POLL_ERROR_RESOLVE, POLL_ERROR_CONNECT or POLL_ERROR_TIMEOUT. */
int poll_net_connect(const PollEndpoint *ep, GError **error);

/* TLS on FD (taken over): SNI sent, certificate verified against the CA
 * file or the system store, host name checked. The result is a libetpan
 * stream layer; on failure FD is closed and the error (POLL_ERROR_TLS) names
 * the certificate subject and the reason. */
mailstream_low *poll_tls_low_new(int fd, const PollEndpoint *ep, GError **error);

/* IMAP session (libetpan) over our TLS layer. */
typedef struct PollImap PollImap;
PollImap *poll_imap_open(const PollEndpoint *ep, const char *tls, GError **error);
gboolean poll_imap_login(PollImap *imap, const char *user, const char *secret, gboolean oauth2, GError **error);
GPtrArray *poll_imap_list(PollImap *imap, GError **error);
/* EXAMINE (read-only, so no flag ever changes) FOLDER. */
gboolean poll_imap_examine(PollImap *imap, const char *folder, guint32 *uidvalidity, GError **error);
/* UIDs above LAST, ascending (filtered here: "n:*" always includes the
 * highest UID even when it is below n). */
GArray *poll_imap_uids_above(PollImap *imap, guint32 last, GError **error);
/* RFC822.SIZE of each UID (same order). */
GArray *poll_imap_sizes(PollImap *imap, GArray *uids, GError **error);

/* A fetched message: in memory below the memory limit, else in an unlinked
 * temporary file. */
typedef struct {
	guint32 uid;	/* IMAP */
	char *uidl;	/* POP3 */
	guint msgno;	/* POP3 */
	CaptureSpool spool;
} PollSpool;
PollSpool *poll_spool_new(guint64 memory_limit);
void poll_spool_free(PollSpool *spool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PollSpool, poll_spool_free)

/* BODY.PEEK[] of UIDS (SIZES from poll_imap_sizes): a GPtrArray of
 * PollSpool* in UID order (an expunged UID is missing). Every body streams
 * into its spool, which holds MEMORY_LIMIT bytes in memory and the rest in
 * a temporary file, whatever size the server declared; SIZES only group
 * the UIDs into FETCH commands of about MEMORY_LIMIT bytes. */
GPtrArray *poll_imap_fetch(PollImap *imap, GArray *uids, GArray *sizes, guint64 memory_limit, GError **error);
gboolean poll_imap_has_idle(PollImap *imap);
/* IDLE for at most SECONDS: TRUE with *ACTIVITY set when the server said
 * something (new mail, expunge), or when *STOP became non-zero. */
gboolean poll_imap_idle(PollImap *imap, int seconds, volatile gint *stop, gboolean *activity, GError **error);
void poll_imap_close(PollImap *imap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PollImap, poll_imap_close)

/* POP3 session (libcurl). */
typedef struct PollPop3 PollPop3;
PollPop3 *poll_pop3_open(const PollEndpoint *ep, const char *tls, const char *user, const char *secret,
			 gboolean oauth2, GError **error);
/* UIDL listing: GPtrArray of PollSpool* with msgno and uidl set, no data. */
GPtrArray *poll_pop3_uidl(PollPop3 *pop, GError **error);
gboolean poll_pop3_retr(PollPop3 *pop, PollSpool *spool, GError **error);
gboolean poll_pop3_dele(PollPop3 *pop, guint msgno, GError **error);
void poll_pop3_close(PollPop3 *pop);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PollPop3, poll_pop3_close)

/* The usual ports, for error hints. */
const char *poll_net_port_hint(const char *protocol);

#endif
