/* store: the SQLite database. It owns the schema, its migrations and the
 * transactions; every statement is prepared with bound parameters.
 *
 * A Store is one connection and is not shared between threads: a daemon opens
 * one per worker (or guards one with a mutex). */
#ifndef BCCDROP_STORE_H
#define BCCDROP_STORE_H

#include <glib.h>
#include <sqlite3.h>

#include "ingest/ingest.h"

#define STORE_SCHEMA_VERSION 2

#define STORE_ERROR (store_error_quark())
GQuark store_error_quark(void);
typedef enum {
	STORE_ERROR_OPEN,      /* cannot open or create the file */
	STORE_ERROR_SCHEMA,    /* written by a newer bccdrop, or not ours */
	STORE_ERROR_BUSY,      /* locked beyond the busy timeout: retry later */
	STORE_ERROR_READONLY,  /* the database or its directory is read-only */
	STORE_ERROR_FULL,      /* disk or quota full */
	STORE_ERROR_NOT_FOUND, /* no such record */
	STORE_ERROR_INVALID,   /* the caller's data breaks a rule of the schema */
	STORE_ERROR_FAILED,    /* anything else SQLite reports */
} StoreError;

typedef struct Store Store;

typedef struct {
	int busy_timeout_ms;	  /* how long to wait for another writer */
	gboolean synchronous_full; /* fsync at every commit (durable) */
	gboolean readonly;	  /* open without migrating or writing */
} StoreOptions;
#define STORE_OPTIONS_DEFAULT ((StoreOptions){ 5000, TRUE, FALSE })

/* Open (creating when absent) and migrate to STORE_SCHEMA_VERSION. A database
 * from a newer bccdrop is refused with STORE_ERROR_SCHEMA. */
Store *store_open(const char *path, const StoreOptions *options, GError **error);
void store_close(Store *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Store, store_close)
int store_schema_version(Store *store);
const char *store_path(Store *store);

/* Transactions: BEGIN IMMEDIATE so the write lock (and any wait for it) comes
 * first, not half-way through. Nesting is not supported. */
gboolean store_begin(Store *store, GError **error);
gboolean store_commit(Store *store, GError **error);
void store_rollback(Store *store);
gboolean store_in_transaction(Store *store);

/* Prepared-statement cache for the modules above store (assoc, cli). The
 * statement is reset and its bindings cleared; do not finalize it. */
sqlite3_stmt *store_prepare(Store *store, const char *sql, GError **error);
/* Bind S as text, or NULL when S is NULL. */
void store_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Run SQL without results (no parameters: schema-free statements only). */
gboolean store_exec(Store *store, const char *sql, GError **error);
/* Turn the connection's last error into a GError with CONTEXT prepended. */
gboolean store_fail(Store *store, GError **error, const char *context);
sqlite3 *store_handle(Store *store);

/* ---- messages ------------------------------------------------------------ */

typedef enum {
	STORE_SOURCE_BCC_DROPBOX,
	STORE_SOURCE_IMAP,
	STORE_SOURCE_POP3,
	STORE_SOURCE_FILE,
} StoreSourceKind;

const char *store_source_kind_name(StoreSourceKind kind); /* "bcc_dropbox", ... */
gboolean store_source_kind_parse(const char *name, StoreSourceKind *out);

/* Where a copy of a message came from. Unused fields are NULL / 0. The
 * identity of a source (what makes a re-delivery a no-op) is documented in
 * docs/schema.md. */
typedef struct {
	StoreSourceKind kind;
	gint64 received_at;		   /* Unix seconds */
	const char *owner_user_id;	   /* dropbox owner, or the mailbox's user */
	const char *envelope_from;	   /* bcc_dropbox: MAIL FROM */
	const char *const *envelope_rcpts; /* bcc_dropbox: RCPT TO list, NULL-terminated */
	const char *dropbox;		   /* bcc_dropbox: the dropbox address hit */
	gint64 mailbox_id;		   /* imap/pop3 */
	const char *folder;		   /* imap */
	gint64 uidvalidity;		   /* imap */
	gint64 uid;			   /* imap */
	const char *uidl;		   /* pop3 */
	const char *file_name;		   /* file */
} StoreSource;

typedef struct {
	gint64 message;	      /* rowid in messages */
	gboolean new_message; /* FALSE: an identical message was already stored */
	gboolean new_source;  /* FALSE: this very source was already recorded (no-op) */
	gboolean id_collision; /* another, different message has the same Message-ID */
} StorePutResult;

/* Store MSG (parsed from RAW) and SOURCE inside the caller's transaction.
 * Identical content (same fingerprint) adds only a source row; a re-delivery
 * from the same source adds nothing. */
gboolean store_put_message(Store *store, const IngestMessage *msg, const IngestInput *raw,
			   const StoreSource *source, StorePutResult *result, GError **error);

/* Look up a message by Message-ID (brackets optional). Several messages may
 * share one (collisions): all rowids are returned, oldest first. */
GArray *store_find_message_id(Store *store, const char *message_id, GError **error);

/* The raw bytes of a stored message. */
GBytes *store_raw_get(Store *store, gint64 message, GError **error);

/* ---- mailboxes (bccdrop-poll; store/mailbox.c) ----------------------------
 * Users' IMAP/POP3 mailboxes, their sync cursors, status and daily budget.
 * The secret is stored as given (the poller encrypts it before). */

typedef struct {
	gint64 id;
	char *user_id;
	char *protocol; /* "imap" or "pop3" */
	char *host;
	int port;
	char *tls;  /* "implicit", "starttls" or "none" */
	char *username;
	char *auth; /* "password" or "oauth2" */
	GBytes *secret; /* encrypted password or token command */
	char *folders;	/* comma-separated IMAP folders */
	char *delete_policy; /* "never", "after-retrieval", "after-days:N" */
	gboolean active;
	char *created_at;
	char *config_changed_at;
} StoreMailbox;
void store_mailbox_free(StoreMailbox *mailbox);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreMailbox, store_mailbox_free)

/* Insert MAILBOX (->id is set). It becomes active when the user has no
 * active mailbox yet; *ACTIVATED tells which. */
gboolean store_mailbox_add(Store *store, StoreMailbox *mailbox, gboolean *activated, GError **error);
StoreMailbox *store_mailbox_get(Store *store, gint64 id, GError **error);
/* Mailboxes of USER_ID (NULL: all), oldest first; ACTIVE_ONLY filters. */
GPtrArray *store_mailbox_list(Store *store, const char *user_id, gboolean active_only, GError **error);
/* Activate ID and deactivate the user's other mailboxes, in one transaction. */
gboolean store_mailbox_activate(Store *store, gint64 id, GError **error);
gboolean store_mailbox_deactivate(Store *store, gint64 id, GError **error);
/* Remove the mailbox and its cursors; stored messages stay. */
gboolean store_mailbox_remove(Store *store, gint64 id, GError **error);
/* A new secret is a configuration change: auth_failed goes back to pending. */
gboolean store_mailbox_set_secret(Store *store, gint64 id, GBytes *secret, GError **error);

typedef struct {
	char *status; /* pending, in_progress, completed, failed, auth_failed, paused */
	gint64 done, total;
	char *reason;
	int failures;		  /* consecutive failed attempts */
	gint64 next_attempt_at;	  /* Unix seconds, 0: none */
	gint64 last_sync_at;	  /* 0: never */
	gint64 first_sync_completed_at;
	gint64 confirmation_sent_at;
} StoreMailboxSync;
void store_mailbox_sync_clear(StoreMailboxSync *sync);
/* The sync row (a mailbox never synced reads as pending). */
gboolean store_mailbox_sync_get(Store *store, gint64 id, StoreMailboxSync *out, GError **error);
/* Write status, counts, reason, failures and next attempt from SYNC
 * (last_sync_at, first_sync_completed_at, confirmation_sent_at are kept
 * when 0). */
gboolean store_mailbox_sync_set(Store *store, gint64 id, const StoreMailboxSync *sync, GError **error);

/* IMAP cursor of one folder: FALSE in *FOUND when never synced. */
gboolean store_mailbox_folder_get(Store *store, gint64 id, const char *folder, gboolean *found,
				  gint64 *uidvalidity, gint64 *last_uid, GError **error);
gboolean store_mailbox_folder_set(Store *store, gint64 id, const char *folder, gint64 uidvalidity,
				  gint64 last_uid, GError **error);

/* POP3 UIDLs already retrieved, as a set (uidl -> uidl). */
GHashTable *store_mailbox_uidls(Store *store, gint64 id, GError **error);
gboolean store_mailbox_uidl_add(Store *store, gint64 id, const char *uidl, GError **error);
gboolean store_mailbox_uidl_deleted(Store *store, gint64 id, const char *uidl, GError **error);
/* UIDLs retrieved before BEFORE (Unix seconds) and not yet deleted. */
GPtrArray *store_mailbox_uidls_older(Store *store, gint64 id, gint64 before, GError **error);

/* Bytes downloaded for the mailbox on DAY ("YYYY-MM-DD", UTC). */
gboolean store_mailbox_budget_get(Store *store, gint64 id, const char *day, guint64 *bytes, GError **error);
gboolean store_mailbox_budget_add(Store *store, gint64 id, const char *day, guint64 bytes, GError **error);

/* The CRM user's e-mail and last activity (0 when unknown). */
gboolean store_user_activity(Store *store, const char *user_id, char **email, gint64 *last_active_at,
			     GError **error);

/* ---- export (store/mailbox.c) ---- */
/* Every stored message with a source owned by USER_ID and received at or
 * after SINCE (0: all), oldest first: FUNC gets the raw bytes, a sender for
 * the From_ line and the received time. */
typedef gboolean (*StoreExportFunc)(GBytes *raw, const char *sender, gint64 date, gpointer user_data,
				    GError **error);
gboolean store_export_user(Store *store, const char *user_id, gint64 since, StoreExportFunc func,
			   gpointer user_data, GError **error);

/* ---- users (milter lookups) ------------------------------------------------ */

/* The id of the user whose dropbox is DROPBOX_KEY (an ingest_address_key()),
 * or *USER_ID = NULL when it is nobody's dropbox. */
gboolean store_user_by_dropbox(Store *store, const char *dropbox_key, char **user_id, GError **error);
/* Whether KEY (an ingest_address_key()) is USER_ID's email or one of its
 * aliases. */
gboolean store_user_owns_address(Store *store, const char *user_id, const char *key, gboolean *owns,
				 GError **error);
/* Whether an SMTP AUTH identity belongs to USER_ID: the user id itself, or a
 * login that is the user's email or alias. */
gboolean store_user_owns_login(Store *store, const char *user_id, const char *login, gboolean *owns,
			       GError **error);

#endif
