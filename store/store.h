/* store: the database, behind a typed interface. It owns the schema, its
 * migrations, the transactions and every line of SQL; every statement binds
 * its parameters. Nothing here names a database library: the location
 * given to store_open() picks the backend (a file path is SQLite, in
 * store/sqlite/), and each operation below dispatches to it (store/ops.h).
 *
 * A Store is one connection and is not shared between threads: a daemon opens
 * one per worker (or guards one with a mutex). */
#ifndef BCCDROP_STORE_H
#define BCCDROP_STORE_H

#include <glib.h>

#include "ingest/ingest.h"

#define STORE_SCHEMA_VERSION 6

#define STORE_ERROR (store_error_quark())
GQuark store_error_quark(void);
typedef enum {
	STORE_ERROR_OPEN,      /* cannot open or create the database */
	STORE_ERROR_SCHEMA,    /* written by a newer bccdrop, or not ours */
	STORE_ERROR_BUSY,      /* locked beyond the busy timeout: retry later */
	STORE_ERROR_READONLY,  /* the database or its directory is read-only */
	STORE_ERROR_FULL,      /* disk or quota full */
	STORE_ERROR_NOT_FOUND, /* no such record */
	STORE_ERROR_INVALID,   /* the caller's data breaks a rule of the schema */
	STORE_ERROR_FAILED,    /* anything else the database reports */
} StoreError;

typedef struct Store Store;

typedef struct {
	int busy_timeout_ms;	   /* how long to wait for another writer */
	gboolean synchronous_full; /* fsync at every commit (durable; SQLite) */
	gboolean readonly;	   /* open without migrating or writing */
	const char *password_file; /* PostgreSQL: [store] password_file, or NULL */
} StoreOptions;
#define STORE_OPTIONS_DEFAULT ((StoreOptions){ 5000, TRUE, FALSE, NULL })

/* Open LOCATION (creating when absent) and migrate to STORE_SCHEMA_VERSION. A
 * database from a newer bccdrop is refused with STORE_ERROR_SCHEMA. OPTIONS
 * may be NULL (STORE_OPTIONS_DEFAULT). */
Store *store_open(const char *location, const StoreOptions *options, GError **error);
void store_close(Store *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Store, store_close)
int store_schema_version(Store *store);
const char *store_path(Store *store);
/* "sqlite", or the name of the backend the location chose. */
const char *store_backend_name(Store *store);
/* Whether this build has the backend NAME ("sqlite", "postgresql"). */
gboolean store_backend_built(const char *name);

/* Transactions: BEGIN IMMEDIATE so the write lock (and any wait for it) comes
 * first, not half-way through. Nesting is not supported. */
gboolean store_begin(Store *store, GError **error);
gboolean store_commit(Store *store, GError **error);
void store_rollback(Store *store);
gboolean store_in_transaction(Store *store);
/* One savepoint inside the open transaction (not nested): a failing part of
 * a shared transaction is undone alone. Rollback also releases it. */
gboolean store_savepoint(Store *store, GError **error);
gboolean store_savepoint_release(Store *store, GError **error);
gboolean store_savepoint_rollback(Store *store, GError **error);


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
	const char *deal_id;		   /* bcc_dropbox: the deal of a per-deal address, else NULL */
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

/* How many links MESSAGE has. */
gboolean store_message_link_count(Store *store, gint64 message, guint *n_links, GError **error);

/* A stored message as `bccdrop show` prints it (store/show.c). Each part
 * is a list of rows, each row a NULL-terminated array of texts (a column
 * may be NULL) in the order given below. */
typedef enum {
	STORE_VIEW_PARTICIPANTS, /* role, name, address; from, to, cc, reply_to, envelope_rcpt */
	STORE_VIEW_REFERENCES,	 /* ref, oldest first */
	STORE_VIEW_ATTACHMENTS,	 /* filename, content_type, size, sha256 */
	STORE_VIEW_SOURCES,	 /* kind, received_at, owner_user_id, where (file, folder, uidl or dropbox) */
	STORE_VIEW_LINKS,	 /* module, record_id, rule, visibility; deals first */
	STORE_VIEW_N
} StoreViewPart;
typedef struct {
	char *message_id, *date, *subject, *in_reply_to, *body_type, *warnings, *fingerprint, *body_text;
	gboolean message_id_synthetic, date_synthetic;
	gint64 raw_size;
	GPtrArray *rows[STORE_VIEW_N]; /* char** rows */
} StoreMessageView;
StoreMessageView *store_message_view(Store *store, gint64 message, GError **error);
void store_message_view_free(StoreMessageView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreMessageView, store_message_view_free)

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
/* Mailboxes of USER_ID (NULL: all), oldest first; ACTIVE_ONLY: the ones to
 * sync (active, of a user neither deactivated nor retired in the CRM). */
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

/* ---- decisions: facts, links, history (store/facts.c, store/links.c) ------
 * What the association rule reads about one message, and the writes of its
 * outcome. Plain data: the rule itself (assoc/) never sees the database. */

typedef struct {
	char *kind;	     /* "bcc_dropbox", "imap", "pop3", "file" */
	char *owner_user_id; /* or NULL */
	char *dropbox;	     /* the dropbox address hit, or NULL */
	char *deal_id;	     /* the deal a per-deal address named, or NULL */
} StoreFactSource;

typedef struct {
	char *id;
	char *name;
	char *stage;			/* or NULL */
	gboolean has_probability;	/* the deal's own value */
	int probability;
	gboolean has_stage_probability; /* its stage's value */
	int stage_probability;
	char *modified_at;
} StoreFactDeal;

typedef struct {
	char *id;
	char *kind; /* "contact" or "lead" */
	char *name;
	GPtrArray *deals; /* StoreFactDeal*: modified_at newest first, ties by id */
} StoreFactContact;

typedef struct {
	char *role; /* "from", "to", "cc", "envelope_rcpt" */
	gint64 position;
	char *address;
	char *key;	 /* ingest_address_key(), NULL when not usable */
	char *user_id;	 /* the CRM user whose address KEY is, or NULL */
	char *user_kind; /* then: "email", "alias" or "dropbox" */
	GPtrArray *contacts; /* StoreFactContact*: contacts and leads with KEY, by id */
} StoreFactParticipant;

typedef struct {
	char *message_id; /* referenced Message-ID */
	GPtrArray *deals; /* char*: deals the stored referenced message(s) link to, by id */
} StoreFactReference;

typedef struct {
	char *user_id;
	char *sharing;		     /* "public", "private", "custom"; NULL: not a CRM user */
	GPtrArray *excluded_domains; /* char*, by domain */
} StoreFactOwner;

typedef struct {
	gint64 message;
	GPtrArray *sources;	 /* StoreFactSource*, in the order stored */
	GPtrArray *participants; /* StoreFactParticipant*: from, to, cc, envelope_rcpt; by position */
	GPtrArray *references;	 /* StoreFactReference*: In-Reply-To, then References newest first */
	GPtrArray *owners;	 /* StoreFactOwner*: distinct source owners, in source order */
} StoreDecisionFacts;

/* A StoreDecisionFacts whose arrays are empty and free their elements: for
 * store_decision_facts() and for tests that build facts by hand. */
StoreDecisionFacts *store_decision_facts_new(gint64 message);
/* Everything the rule needs about MESSAGE, every lookup index-backed. */
StoreDecisionFacts *store_decision_facts(Store *store, gint64 message, GError **error);
void store_decision_facts_free(StoreDecisionFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreDecisionFacts, store_decision_facts_free)
/* Element constructors with their arrays ready (the caller fills fields). */
StoreFactContact *store_fact_contact_new(void);
StoreFactParticipant *store_fact_participant_new(void);
StoreFactReference *store_fact_reference_new(void);
StoreFactOwner *store_fact_owner_new(void);

typedef struct {
	char *module;	       /* "deal" or "contact" */
	char *record_id;       /* CRM id */
	char *rule;	       /* the rule step: see docs/association.md */
	char *visibility;      /* "public" or "private" */
	char *contact_id;      /* the contact that led here, or NULL (thread) */
	char *matched_address; /* the participant address that matched, or NULL */
} StoreLink;
void store_link_free(StoreLink *link);

/* A message's links and its stored decision, as they are now. */
typedef struct {
	GPtrArray *links; /* StoreLink*, by module, then record_id */
	char *status;	  /* "linked" or "unmatched"; NULL: never decided */
	char *trace;	  /* NULL: never decided */
} StoreLinkState;
StoreLinkState *store_link_state(Store *store, gint64 message, GError **error);
void store_link_state_free(StoreLinkState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreLinkState, store_link_state_free)

typedef enum {
	STORE_LINK_ADDED,
	STORE_LINK_CHANGED,
	STORE_LINK_REMOVED,
} StoreLinkAction;
/* The action names of link_history ("added", "changed", "removed"). */
const char *store_link_action_name(StoreLinkAction action);

typedef struct {
	StoreLinkAction action;
	const StoreLink *link;	/* ADDED, CHANGED: the new link; REMOVED: the old one */
	const char *old_rule;	/* CHANGED: what the link was */
	const char *old_visibility;
} StoreLinkChange;

/* What to write for one decision; store writes exactly this. */
typedef struct {
	gint64 message;
	const char *at;		       /* ISO 8601, for links, history and the decision */
	const char *reason;	       /* why the rule ran (history, decisions) */
	const StoreLinkChange *changes; /* each one a links write and a link_history row */
	guint n_changes;
	gboolean write_decision;       /* also upsert the decisions row: */
	const char *status;	       /* "linked" or "unmatched" */
	const char *trace;
} StoreDecisionWrite;
/* Inside the caller's transaction. */
gboolean store_decision_write(Store *store, const StoreDecisionWrite *write, GError **error);

/* Rowids of unmatched messages one of whose participants has an address in
 * KEYS (normalised keys), ascending, through the participants_key index. */
GArray *store_unmatched_for_keys(Store *store, GPtrArray *keys, GError **error);

/* ---- what the admin commands read (store/reports.c) -------------------------
 * Rows are plain structs owned by the caller; text is as stored (times in ISO
 * 8601 UTC). Fields marked "may be NULL" are the only ones that can be. */

typedef struct {
	gint64 message;
	char *message_id; /* without brackets */
	char *date;
	char *subject;
} StoreMessageSummary;
void store_message_summary_free(StoreMessageSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreMessageSummary, store_message_summary_free)
/* STORE_ERROR_NOT_FOUND when MESSAGE (a rowid) is not stored. */
StoreMessageSummary *store_message_summary(Store *store, gint64 message, GError **error);

typedef struct {
	char *status; /* "linked" or "unmatched" */
	char *decided_at;
	char *reason;
	char *trace; /* the rule's account, one step a line */
} StoreDecisionRow;
void store_decision_row_free(StoreDecisionRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreDecisionRow, store_decision_row_free)
/* The stored decision; STORE_ERROR_NOT_FOUND when none was made yet. */
StoreDecisionRow *store_decision_row(Store *store, gint64 message, GError **error);

typedef struct {
	char *module;	   /* "deal" or "contact" */
	char *record_id;
	char *record_name; /* may be NULL: the record is no longer in the CRM */
	char *rule;
	char *visibility;
	char *decided_at;
} StoreLinkRow;
void store_link_row_free(StoreLinkRow *row);
/* The message's links now (StoreLinkRow*), deals first, then by record id. */
GPtrArray *store_message_links(Store *store, gint64 message, GError **error);

typedef struct {
	char *at;
	char *action; /* "added", "removed" or "changed" */
	char *module;
	char *record_id;
	char *old_rule, *new_rule;	     /* may be NULL (added / removed) */
	char *old_visibility, *new_visibility; /* may be NULL (added / removed) */
	char *reason;
} StoreHistoryEntry;
void store_history_entry_free(StoreHistoryEntry *entry);
/* Every recorded link change of the message (StoreHistoryEntry*), in order. */
GPtrArray *store_link_history(Store *store, gint64 message, GError **error);

/* Rowids of every stored message, or of the unmatched ones only, ascending. */
GArray *store_message_ids(Store *store, gboolean unmatched_only, GError **error);
/* Rowids of the messages dated on or after SINCE (Unix seconds), ascending
 * (bccdrop reassociate --since: re-deciding past mail on purpose). */
GArray *store_message_ids_since(Store *store, gint64 since, GError **error);

/* One row of the email_report view (docs/reports.md), one per link. */
typedef struct {
	char *date;
	char *source; /* "BCC Dropbox", "IMAP", ... */
	char *module; /* "Deals" or "Contacts" */
	char *record;
	char *owner;
	char *visibility;
	char *from; /* may be NULL: no From address */
	char *to;   /* may be NULL: no To address */
	char *subject;
	char *message_id;
} StoreReportRow;
void store_report_row_free(StoreReportRow *row);
typedef struct {
	gboolean by_source;
	StoreSourceKind source;
	gboolean by_since;
	gint64 since; /* Unix seconds: mail dated on or after */
} StoreReportFilter;
/* The report rows (StoreReportRow*) that FILTER keeps (NULL: all), by date,
 * Message-ID, deals first, record id. */
GPtrArray *store_report_rows(Store *store, const StoreReportFilter *filter, GError **error);

/* ---- CRM records written by `bccdrop import` (store/crm.c) ------------------
 * Upserts by CRM id inside the caller's transaction; the caller has validated
 * the values (addresses are ingest_address_key() keys). Optional fields are
 * NULL. A value the schema refuses fails with STORE_ERROR_INVALID. */

typedef enum {
	STORE_CRM_USER,
	STORE_CRM_STAGE,
	STORE_CRM_CONTACT,
	STORE_CRM_DEAL,
} StoreCrmKind;
/* Whether the CRM record ID (a stage: its name) of KIND exists. */
gboolean store_crm_exists(Store *store, StoreCrmKind kind, const char *id, gboolean *found, GError **error);

typedef struct {
	const char *id;
	const char *email; /* key */
	const char *name;
	const char *dropbox; /* key, optional */
	const char *sharing; /* "public", "private" or "custom" */
	gint64 last_active_at; /* Unix seconds, 0: unknown */
	GPtrArray *aliases;	   /* keys (char*), optional; repeats are ignored */
	GPtrArray *excluded_domains; /* lower-case domains (char*), optional */
	gboolean deactivated;	     /* captures nothing new; keeps everything */
} StoreCrmUser;
/* Upsert the user; its addresses and excluded domains become exactly these. */
gboolean store_crm_put_user(Store *store, const StoreCrmUser *user, GError **error);
/* The user an address key belongs to (email or alias), or *USER_ID = NULL. */
gboolean store_crm_address_user(Store *store, const char *key, char **user_id, GError **error);
/* The address keys (char*) the user or contact has now, before an upsert
 * replaces them (their matching may change). */
GPtrArray *store_crm_user_keys(Store *store, const char *user_id, GError **error);
GPtrArray *store_crm_contact_keys(Store *store, const char *contact_id, GError **error);

typedef struct {
	const char *name;
	int probability; /* 0..100 */
} StoreCrmStage;
gboolean store_crm_put_stage(Store *store, const StoreCrmStage *stage, GError **error);

typedef struct {
	const char *id;
	const char *kind; /* "contact" or "lead" */
	const char *name;
	const char *owner_id; /* optional */
	GPtrArray *addresses;	/* char*, as written */
	GPtrArray *address_keys; /* char*, the key of each address */
} StoreCrmContact;
/* Upsert the contact; its addresses become exactly these. */
gboolean store_crm_put_contact(Store *store, const StoreCrmContact *contact, GError **error);

typedef struct {
	const char *id;
	const char *name;
	const char *stage; /* optional */
	int probability;   /* 0..100, or -1: the stage's */
	gint64 modified_at; /* Unix seconds */
	GPtrArray *contact_ids; /* char*, optional; repeats are ignored */
} StoreCrmDeal;
/* Upsert the deal; its contacts become exactly these. */
gboolean store_crm_put_deal(Store *store, const StoreCrmDeal *deal, GError **error);
/* Every put also un-retires the record (it is back in the CRM's export). */

/* ---- CRM full sync (store/sqlite/crm.c, bccdrop import --full) ----
 * A retired record is kept with its links and history but no longer
 * matches new mail (store_decision_facts skips it). */
/* A canonical text of the record's stored values (its lists included,
 * timestamps of bccdrop's own writes excluded), or *STATE = NULL when there
 * is no such record: equal before and after a put means unchanged. */
gboolean store_crm_state(Store *store, StoreCrmKind kind, const char *id, char **state, GError **error);
/* The ids (stages: names, char*) of KIND's records that are not retired, sorted. */
GPtrArray *store_crm_live_ids(Store *store, StoreCrmKind kind, GError **error);
/* Retire the record; each link to it stays and gets a link_history row
 * ('changed', same rule and visibility) with REASON. */
gboolean store_crm_retire(Store *store, StoreCrmKind kind, const char *id, const char *reason, GError **error);
/* The contact ID was merged into SURVIVOR in the CRM: its addresses and deals
 * move to SURVIVOR, and ID is retired with merged_into = SURVIVOR. */
gboolean store_crm_merge_contact(Store *store, const char *id, const char *survivor, const char *reason,
				 GError **error);
/* Whether USER_ID is deactivated or retired (FALSE for an unknown user). */
gboolean store_user_inactive(Store *store, const char *user_id, gboolean *inactive, GError **error);

/* ---- poller leases (store/sqlite/lease.c, store/pg/lease.c) ----------------
 * Which bccdrop-poll process syncs which mailbox, when several share one
 * store: a lease row per mailbox with its holder and an expiry by the
 * store's clock (one clock for every host). See docs/scaling-out.md. */
/* One renewal round for HOLDER (unique per process): drop its leases on
 * mailboxes no longer active, extend the others to LEASE_SECONDS from now,
 * then take free or expired leases on active mailboxes until it holds MAX
 * (0: no cap). Returns the ids it now holds, ascending. */
GArray *store_mailbox_lease(Store *store, const char *holder, guint max, gint64 lease_seconds, GError **error);
/* HOLDER gives up its lease on MAILBOX, or all of them when MAILBOX is 0. */
gboolean store_mailbox_lease_release(Store *store, const char *holder, gint64 mailbox, GError **error);
/* Every holder with a lease (expired or not), ascending: char*. */
GPtrArray *store_mailbox_lease_holders(Store *store, GError **error);

/* ---- per-deal address lookups (store/dealtag-lookup.c) ---- */
/* USER_ID's plain dropbox address (*DROPBOX = NULL when the user has none);
 * STORE_ERROR_NOT_FOUND when there is no such user. */
gboolean store_user_dropbox(Store *store, const char *user_id, char **dropbox, GError **error);
/* DEAL_ID's name; STORE_ERROR_NOT_FOUND when there is no such deal. */
gboolean store_deal_name(Store *store, const char *deal_id, char **name, GError **error);

/* ---- retention and legal hold (store/sqlite/retention.c, docs/retention.md) ----
 * A message is held while any active hold (not released, `until` not past)
 * covers it: view message_holds is the one definition. */

typedef enum {
	STORE_HOLD_USER,    /* messages with a source owned by the user */
	STORE_HOLD_CONTACT, /* linked to the contact or its deals, or with its address */
	STORE_HOLD_DEAL,    /* linked to the deal, or filed through its per-deal address */
	STORE_HOLD_MESSAGE, /* every stored message with that Message-ID */
} StoreHoldKind;
const char *store_hold_kind_name(StoreHoldKind kind); /* "user", ... */

typedef struct {
	gint64 id;
	char *kind, *target, *reason;
	char *until;	   /* ISO 8601, or NULL: until released */
	char *created_at;
	char *released_at; /* or NULL */
	gboolean active;
	gint64 n_messages; /* messages it holds now (0 when inactive) */
} StoreHold;
void store_hold_free(StoreHold *hold);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreHold, store_hold_free)

/* Add a hold on TARGET (a CRM id, or a Message-ID without brackets) until
 * UNTIL (Unix seconds, 0: until released). An unknown target fails with
 * STORE_ERROR_NOT_FOUND and adds nothing. */
gboolean store_hold_add(Store *store, StoreHoldKind kind, const char *target, const char *reason, gint64 until,
			gint64 *id, GError **error);
/* Every hold, newest first: StoreHold*. */
GPtrArray *store_hold_list(Store *store, GError **error);
/* Release an active hold now; STORE_ERROR_NOT_FOUND when no active hold has ID. */
gboolean store_hold_release(Store *store, gint64 id, GError **error);

typedef struct {
	gint64 message;
	char *message_id, *fingerprint, *date;
	char *held_by; /* active hold ids "3,7", or NULL: would be deleted */
} StoreRetentionItem;
void store_retention_item_free(StoreRetentionItem *item);
/* The messages dated before CUTOFF (Unix seconds), oldest first, held or
 * not: StoreRetentionItem*. What `retention run --dry-run` shows. */
GPtrArray *store_retention_due(Store *store, gint64 cutoff, GError **error);
/* One batch, in its own transaction: delete up to LIMIT unheld messages
 * dated before CUTOFF (everything of theirs goes by ON DELETE CASCADE),
 * each recorded in retention_log with REASON first. *DELETED: how many. */
gboolean store_retention_purge(Store *store, gint64 cutoff, const char *reason, guint limit, guint *deleted,
			       GError **error);

/* ---- full-text search (store/sqlite/search.c, `bccdrop search`) ------------
 * The query language is the same on every backend (docs/reports.md,
 * "Search"): words, all required; "a phrase" in double quotes; word* for a
 * prefix. Nothing else is syntax: OR, NOT, parentheses, colons are text. */

typedef struct {
	char *text;	 /* one word, or the words of a phrase */
	gboolean prefix; /* word*: any word starting with TEXT */
} StoreSearchTerm;
void store_search_term_free(StoreSearchTerm *term);
/* QUERY as terms (StoreSearchTerm*); STORE_ERROR_INVALID naming what is
 * wrong (empty, or a double quote never closed). */
GPtrArray *store_search_terms(const char *query, GError **error);

typedef struct {
	const char *query;	/* as the user typed it */
	const char *deal_id;	/* NULL: any; else mail with a link to the deal */
	const char *contact_id; /* NULL: any; else a link to the contact (or through it) */
	const char *user_id;	/* the viewer: NULL sees public links only */
	gboolean by_since;
	gint64 since; /* Unix seconds: mail dated on or after */
	guint limit;  /* at most this many hits, 0: 50 */
} StoreSearchFilter;

typedef struct {
	gint64 message;
	char *message_id;
	char *date;
	char *subject;
	char *from;    /* may be NULL: no From address */
	char *snippet; /* the best matching fragment, matches in [brackets] */
	double score;  /* lower is better (bm25) */
} StoreSearchHit;
void store_search_hit_free(StoreSearchHit *hit);
/* The messages FILTER's viewer may see that match its query
 * (StoreSearchHit*), best first, then newest. A message is visible when one
 * of its links is public, or when USER_ID owns one of its sources (their
 * private and unmatched mail); the deal and contact filters match visible
 * links only. */
GPtrArray *store_search(Store *store, const StoreSearchFilter *filter, GError **error);
/* ---- end of full-text search ---- */

#endif
