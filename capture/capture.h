/* capture: the one path by which mail from every source enters the store.
 *
 * milter/, poll/ and cli/ bring raw bytes and envelope facts; capture parses
 * them (ingest), stores them (store), decides their links (assoc) and
 * commits, and only then may the source answer the MTA, advance its cursor
 * or change the server. Three ways to commit, one per kind of source:
 *   - capture_file():   one message, its own transaction;
 *   - CaptureBatch:     many messages, and the source's own writes (a
 *                       poller's cursor) in one transaction;
 *   - CaptureGroup:     concurrent callers (milter threads) sharing one
 *                       durable commit, each message in its own savepoint. */
#ifndef BCCDROP_CAPTURE_H
#define BCCDROP_CAPTURE_H

#include <glib.h>

#include "assoc/assoc.h"
#include "common/common.h"
#include "ingest/ingest.h"
#include "store/store.h"

/* The options every program opens the store with, from CONFIG ([store]
 * busy_timeout_ms, synchronous, password_file); CONFIG must outlive them. */
StoreOptions capture_store_options(const CommonConfig *config, gboolean readonly);

/* Process-wide set-up of the parser (GMime); once per program. */
void capture_init(void);
void capture_shutdown(void);

/* ---- spool (capture/spool.c) ---------------------------------------------
 * A message as it arrives: in memory up to LIMIT bytes, then in an unlinked
 * temporary file, so many large messages at once stay in bounded memory and
 * a crash leaves nothing behind. */

typedef struct {
	GByteArray *mem;
	int fd; /* unlinked temporary file once spilled, else -1 */
	guint64 size;
	guint64 limit;
} CaptureSpool;

void capture_spool_init(CaptureSpool *spool, guint64 limit);
gboolean capture_spool_append(CaptureSpool *spool, const void *data, gsize len, GError **error);
/* The whole message (valid until the spool is cleared); capture_parse()
 * and capture_store() rewind a spooled file themselves. */
IngestInput capture_spool_input(const CaptureSpool *spool);
void capture_spool_clear(CaptureSpool *spool);

/* ---- parsing and filing (capture/file.c) --------------------------------- */

/* What happened to one message. */
typedef struct {
	gint64 message;	       /* the store's id of the message */
	char *message_id;      /* Message-ID (no brackets) */
	gboolean new_message;  /* FALSE: identical content already stored */
	gboolean new_source;   /* FALSE: same source already recorded: a no-op */
	gboolean id_collision; /* a different message shares the Message-ID */
	gboolean synthetic_id; /* the message had no usable Message-ID */
	gboolean unmatched;    /* no participant matched a contact or lead */
	guint n_links;
} CaptureFiled;
void capture_filed_clear(CaptureFiled *filed);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CaptureFiled, capture_filed_clear)

/* Parse RAW (rewinding a spooled file first), outside any transaction: the
 * milter and the poller parse in parallel, then queue for the writer. An
 * input that is no message fails with INGEST_ERROR_NOT_A_MESSAGE. */
IngestMessage *capture_parse(const IngestInput *raw, gint64 received_at, GError **error);
/* Whether ERROR says the input itself is bad (retrying cannot help). */
gboolean capture_error_is_bad_input(const GError *error);

/* Store MSG (parsed from RAW) with SOURCE and decide its links, inside the
 * caller's transaction (a batch or a group: see below). */
gboolean capture_store(Store *store, const CommonConfig *config, const IngestMessage *msg, const IngestInput *raw,
		       const StoreSource *source, CaptureFiled *filed, GError **error);

/* The whole path for one message: parse, store, decide, commit. On error
 * nothing is stored. */
gboolean capture_file(Store *store, const CommonConfig *config, const IngestInput *raw, const StoreSource *source,
		      CaptureFiled *filed, GError **error);

/* Each message of DATA: DATA itself, or every message of an mbox. */
typedef gboolean (*CaptureEachFunc)(const guint8 *data, gsize len, guint index, gpointer user_data,
				    GError **error);
gboolean capture_split(const guint8 *data, gsize len, gboolean *is_mbox, CaptureEachFunc func, gpointer user_data,
		       GError **error);

/* ---- dropbox recipients (capture/file.c) --------------------------------- */

typedef enum {
	CAPTURE_RCPT_OTHER,	      /* an ordinary recipient */
	CAPTURE_RCPT_DROPBOX,	      /* a user's dropbox */
	CAPTURE_RCPT_UNKNOWN_DROPBOX, /* in a dropbox domain, but nobody's dropbox */
	CAPTURE_RCPT_BAD_TAG,	      /* a user's per-deal address that does not verify */
	CAPTURE_RCPT_DEACTIVATED,     /* the dropbox of a user deactivated (or retired) in the CRM */
} CaptureRcptKind;

typedef struct {
	char *address; /* as given */
	char *key;     /* normalised (NULL: not a usable address) */
	CaptureRcptKind kind;
	char *user_id; /* the dropbox's owner */
	char *deal_id; /* DROPBOX through a valid per-deal address: its deal */
	char *refusal; /* BAD_TAG: why, for the sender and the log */
} CaptureRcpt;
void capture_rcpt_free(CaptureRcpt *rcpt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CaptureRcpt, capture_rcpt_free)

/* Classify ADDRESS as far as the configuration alone can: *NEED_LOOKUP is
 * FALSE when it cannot be a dropbox ([milter] dropbox_domains), so ordinary
 * mail costs no database lookup at all. */
CaptureRcpt *capture_rcpt_new(const CommonConfig *config, const char *address, gboolean *need_lookup);
/* Finish the classification with the store. A per-deal address
 * (docs/association.md) is a DROPBOX with DEAL_ID when its tag verifies
 * with a current or in-grace key of [dropbox] tag_key_file for the
 * dropbox's owner and the deal exists, else BAD_TAG. An unreadable key
 * file is an error (retry later), never a refusal. */
gboolean capture_rcpt_lookup(Store *store, const CommonConfig *config, CaptureRcpt *rcpt, GError **error);
/* The normalised form of an address (NULL when unusable), as stored. */
char *capture_address_key(const char *address);

/* ---- batches (capture/batch.c) -------------------------------------------
 * Many messages in one transaction, committed together with the source's
 * own writes (the poller's cursor and budget), so that neither is ever
 * committed without the other. */

typedef struct CaptureBatch CaptureBatch;
/* A source's writes, run inside the transaction just before COMMIT. */
typedef gboolean (*CaptureHook)(Store *store, gpointer user_data, GError **error);

CaptureBatch *capture_batch_new(Store *store, const CommonConfig *config);
void capture_batch_free(CaptureBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CaptureBatch, capture_batch_free)
/* Store one parsed message into the batch (opening its transaction). On
 * error the whole batch is rolled back. */
gboolean capture_batch_add(CaptureBatch *batch, const IngestMessage *msg, const IngestInput *raw,
			   const StoreSource *source, CaptureFiled *filed, GError **error);
/* Messages stored since the last commit. */
guint capture_batch_pending(const CaptureBatch *batch);
/* Run HOOK (may be NULL), then COMMIT. With nothing pending and no hook it
 * does nothing. On error everything since the last commit is rolled back. */
gboolean capture_batch_commit(CaptureBatch *batch, CaptureHook hook, gpointer user_data, GError **error);
/* Roll back what is pending. */
void capture_batch_abort(CaptureBatch *batch);

/* ---- group commit (capture/group.c) --------------------------------------
 * With durable commits every COMMIT costs an fsync, and the store has one
 * writer at a time: so the messages of concurrent callers that reach the
 * writer together share one transaction, each in its own savepoint (a
 * failure undoes only that message), and one fsync. Nobody returns before
 * the commit holding their message has succeeded. */

typedef struct CaptureGroup CaptureGroup;
CaptureGroup *capture_group_new(void);
void capture_group_free(CaptureGroup *group);
/* capture_store() of MSG with SOURCE, then HOOK (may be NULL) for the
 * source's own writes, in a transaction shared with the other callers of
 * the moment. STORE is the calling thread's own connection. */
gboolean capture_group_store(CaptureGroup *group, Store *store, const CommonConfig *config,
			     const IngestMessage *msg, const IngestInput *raw, const StoreSource *source,
			     CaptureHook hook, gpointer user_data, CaptureFiled *filed, GError **error);
/* Transactions committed so far (for tests and statistics). */
guint64 capture_group_commits(CaptureGroup *group);

/* ---- decide (capture/decide.c) ---- */

typedef struct {
	guint examined;
	guint changed;	    /* messages whose links changed */
	guint link_changes;
	guint now_linked;   /* were unmatched, now linked */
} CaptureRerunStats;
typedef void (*CaptureChangeFunc)(gint64 message, const char *change, gpointer user_data);

/* Decide MESSAGE inside the caller's transaction: facts -> rule -> links,
 * history, trace. Every link change is recorded with REASON. UNMATCHED and
 * N_LINKS (may be NULL) receive the outcome. */
gboolean capture_decide(Store *store, const CommonConfig *config, gint64 message, const char *reason,
			gboolean *unmatched, guint *n_links, GError **error);
/* explain --now / dry runs: the decision without writing. */
AssocDecision *capture_evaluate(Store *store, const CommonConfig *config, gint64 message, GError **error);
/* The change lines writing DECISION would make (explain --now), nothing
 * written: char*, empty when the stored links are the same. */
GPtrArray *capture_changes(Store *store, const AssocDecision *decision, GError **error);
/* Re-decide MESSAGES (rowids), committing in batches of 500 (not inside a
 * transaction). With DRY_RUN nothing is written; ON_CHANGE (may be NULL)
 * gets each link change. */
gboolean capture_rerun(Store *store, const CommonConfig *config, GArray *messages, const char *reason,
		       gboolean dry_run, CaptureChangeFunc on_change, gpointer user_data, CaptureRerunStats *stats,
		       GError **error);

#endif
