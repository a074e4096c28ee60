/* poll: bccdrop-poll, the mailbox poller. It brings users' IMAP/POP3 mail
 * through ingest -> assoc -> store like the milter does, and never touches
 * SQLite itself (store/mailbox.c holds its tables). */
#ifndef BCCDROP_POLL_H
#define BCCDROP_POLL_H

#include <glib.h>

#include "common/common.h"
#include "capture/capture.h"
#include "store/store.h"

#define POLL_ERROR (poll_error_quark())
GQuark poll_error_quark(void);
typedef enum {
	POLL_ERROR_RESOLVE,  /* host name does not resolve */
	POLL_ERROR_CONNECT,  /* connection refused or unreachable */
	POLL_ERROR_TIMEOUT,  /* connect or read timed out */
	POLL_ERROR_TLS,	     /* handshake or certificate verification */
	POLL_ERROR_AUTH,     /* the server refused the credentials */
	POLL_ERROR_PROTOCOL, /* the server said something unexpected */
	POLL_ERROR_SECRET,   /* key file or secret problem */
	POLL_ERROR_CONFIG,   /* the mailbox configuration is unusable */
} PollError;

/* ---- secrets (poll/secret.c) ----
 * AES-256-GCM (GnuTLS AEAD) with a 32-byte key file; see docs/poller.md. */

/* Read the key file; with CREATE, make it (mode 0600) when absent. A key
 * file readable or writable by group or others is refused. */
GBytes *poll_secret_key_load(const char *path, gboolean create, GError **error);
/* Encrypt PLAINTEXT bound to CONTEXT (for a mailbox, poll_secret_context):
 * the sealed blob is version byte, 12-byte random nonce, ciphertext and
 * tag. Unsealing with any other context fails. */
GBytes *poll_secret_seal(GBytes *key, const char *plaintext, const char *context, GError **error);
char *poll_secret_unseal(GBytes *key, GBytes *sealed, const char *context, GError **error);
/* A mailbox's associated data: user id, protocol, host, port, TLS mode,
 * username and auth kind, so that a database writer who repoints a mailbox
 * (another host, no TLS, oauth2 instead of password) cannot have its
 * secret decrypted for the new server. */
char *poll_secret_context(const StoreMailbox *mailbox);

/* ---- provider presets (poll/preset.c) ---- */
typedef struct {
	const char *name;
	const char *const *domains; /* user name domains that select it */
	const char *imap_host;
	const char *pop3_host;
	const char *auth_hint; /* where to make an app-specific password */
} PollPreset;
const PollPreset *poll_preset_find(const char *name);
/* The preset whose domains include USERNAME's domain, or NULL. */
const PollPreset *poll_preset_for_username(const char *username);
/* 993/143/995/110 by protocol and TLS mode. */
int poll_default_port(const char *protocol, const char *tls);

/* ---- credentials ---- */
/* The password, or for OAuth2 the token printed by the token command: the
 * mailbox's secret unsealed with KEY. */
char *poll_credentials(const StoreMailbox *mailbox, GBytes *key, GError **error);

/* ---- sync (poll/sync.c) ---- */
typedef struct {
	const CommonConfig *config;
	Store *store;
	GBytes *key;
	volatile gint *stop; /* non-zero: give up at the next safe point */
} PollContext;

/* Outcome of one sync pass. */
typedef enum {
	POLL_SYNC_DONE,	       /* everything above the cursors is stored */
	POLL_SYNC_SKIPPED,     /* auth_failed, paused, or backoff not over */
	POLL_SYNC_FAILED,      /* network/server error: backoff recorded */
	POLL_SYNC_AUTH_FAILED, /* credentials refused: no retry until changed */
} PollSyncResult;

/* One pass over MAILBOX: connect, sync every folder (or the POP3 UIDLs),
 * apply the delete policy, update the status. With IDLE_SECONDS > 0 and an
 * IMAP server offering IDLE, stay connected and IDLE on the first folder
 * until *ctx->stop or an error (the daemon's mode). IGNORE_BACKOFF: --once. */
PollSyncResult poll_sync_mailbox(PollContext *ctx, gint64 mailbox_id, gboolean ignore_backoff, int idle_seconds,
				 GError **error);

/* `bccdrop mailbox test`: connect, log in, list folders; every step is a
 * line in REPORT; the error names what failed. */
gboolean poll_mailbox_test(const CommonConfig *config, const StoreMailbox *mailbox, GBytes *key, GString *report,
			   GError **error);

/* ---- daemon (poll/daemon.c) ---- */
/* Sync every active mailbox once (ONCE) or keep one worker per active
 * mailbox until *STOP. Returns the number of mailboxes that failed. */
int poll_run(const CommonConfig *config, GBytes *key, gboolean once, volatile gint *stop);

/* Test-only fault hook: BCCDROP_POLL_CRASH_BEFORE_COMMIT=1 makes the poller
 * _exit(70) right before committing a batch (docs/poller.md). */
void poll_fault_before_commit(void);

#endif
