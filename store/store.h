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

#define STORE_SCHEMA_VERSION 1

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

#endif
