/* milter: internal interfaces of bccdrop-milter (not used outside milter/).
 *
 * Thread model: Debian's libmilter runs the callbacks of one SMTP connection
 * one after another but on different worker threads, so every piece of
 * per-connection state lives in the smfi_setpriv() data (MilterSession) and
 * nothing is thread-local. The database is touched only through the Store
 * pool; a message's whole write (capture: parse, store, decide, commit)
 * happens inside its end-of-message callback. */
#ifndef BCCDROP_MILTER_H
#define BCCDROP_MILTER_H

#include <glib.h>

#include "common/common.h"
#include "capture/capture.h"
#include "store/store.h"

/* ---- pool.c: a few Store connections shared by the worker threads ---- */

typedef struct MilterPool MilterPool;

/* At most MAX connections ([milter] workers); a thread that finds them all
 * busy waits up to [store] busy_timeout_ms, then gets STORE_ERROR_BUSY. */
MilterPool *milter_pool_new(const CommonConfig *config, guint max);
void milter_pool_free(MilterPool *pool);
/* A connection for this thread's exclusive use until milter_pool_put(). */
Store *milter_pool_get(MilterPool *pool, GError **error);
/* BROKEN: the connection failed in a way a fresh one might not (read-only,
 * I/O error): close it instead of keeping it. */
void milter_pool_put(MilterPool *pool, Store *store, gboolean broken);

/* ---- policy.c: who may file mail into a dropbox ---- */

/* [milter] owner_proof: what shows that the dropbox owner sent a message. */
typedef enum {
	MILTER_PROOF_AUTH,	     /* SMTP AUTH as the owner */
	MILTER_PROOF_AUTH_OR_DMARC,  /* or a trusted DMARC pass for the owner's From */
	MILTER_PROOF_AUTH_OR_SENDER, /* or envelope and header From (forgeable) */
} MilterOwnerProof;
gboolean milter_owner_proof_parse(const char *text, MilterOwnerProof *out);

typedef enum { MILTER_AR_OTHER, MILTER_AR_OURS } MilterArVerdict;
/* One Authentication-Results header value (RFC 8601). MILTER_AR_OURS when
 * AUTHSERV_ID (case-insensitive) wrote it; then *DMARC_FROM is the
 * lower-cased header.from domain of its dmarc=pass, or NULL when it reports
 * no DMARC pass (or any DMARC failure, or cannot be parsed). */
MilterArVerdict milter_auth_results(const char *value, const char *authserv_id, char **dmarc_from);
/* The [milter] settings the milter cannot run without, checked before
 * anything is opened: dropbox_domains unless dropbox_anywhere, a known
 * owner_proof (into *PROOF). Risky choices are logged as warnings. */
gboolean milter_config_check(const CommonConfig *config, MilterOwnerProof *proof, GError **error);
/* The domain part of an address key ("" when there is none). */
const char *milter_key_domain(const char *key);

/* ---- callbacks.c: the libmilter filter ---- */

typedef struct {
	CommonConfig *config;
	MilterOwnerProof owner_proof;
	MilterPool *pool;
	/* One writer at a time inside the process, committing for everybody
	 * waiting (group commit) instead of each polling SQLite's lock with
	 * the busy handler's sleeps. Parsing happens before, in parallel. */
	CaptureGroup *group;
	/* Messages that spilled to disk are parsed one at a time: parsing
	 * holds a few times the body in memory, and this keeps the milter's
	 * peak memory independent of how many large messages arrive at once. */
	GMutex large_lock;
} MilterServer;

/* Register the filter for SERVER (which must outlive smfi_main()). */
gboolean milter_register(MilterServer *server, GError **error);

/* ---- daemon.c: socket, privileges, main loop ---- */

/* Open the socket, drop root, daemonize unless FOREGROUND (writing PID_FILE
 * when set), run until TERM. Returns the exit status. */
int milter_daemon_run(CommonConfig *config, gboolean foreground, const char *pid_file);

#endif
