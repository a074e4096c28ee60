/* assoc: decides which CRM records a stored message is linked to, records
 * why, and is the single path by which mail from every source enters the
 * store (parse -> store -> decide -> commit, one transaction). */
#ifndef BCCDROP_ASSOC_H
#define BCCDROP_ASSOC_H

#include <glib.h>

#include "common/common.h"
#include "ingest/ingest.h"
#include "store/store.h"

#define ASSOC_ERROR (assoc_error_quark())
GQuark assoc_error_quark(void);
typedef enum {
	ASSOC_ERROR_FAILED,
	ASSOC_ERROR_CSV,    /* a CSV file is malformed (names file and line) */
	ASSOC_ERROR_IMPORT, /* a CSV row breaks a rule (names file, line and field) */
} AssocError;

typedef struct {
	gint64 message;	       /* rowid in messages */
	char *message_id;      /* Message-ID (no brackets) */
	gboolean new_message;  /* FALSE: identical content already stored */
	gboolean new_source;   /* FALSE: same source already recorded: a no-op */
	gboolean id_collision; /* a different message shares the Message-ID */
	gboolean unmatched;    /* no participant matched a contact or lead */
	guint n_links;
} AssocFiled;
void assoc_filed_clear(AssocFiled *filed);

/* The whole path for one message: parse RAW, then in one transaction store
 * it with SOURCE, decide its links and commit. On error nothing is stored. */
gboolean assoc_file(Store *store, const CommonConfig *config, const IngestInput *raw,
		    const StoreSource *source, AssocFiled *filed, GError **error);

/* The same for an already parsed message, inside the caller's transaction
 * (the poller commits a batch and its cursor together). */
gboolean assoc_file_parsed(Store *store, const CommonConfig *config, const IngestMessage *msg,
			   const IngestInput *raw, const StoreSource *source, AssocFiled *filed,
			   GError **error);

/* Run the rule for a stored message inside the caller's transaction, replace
 * its links, store the trace, and record every link change with REASON. */
gboolean assoc_decide(Store *store, const CommonConfig *config, gint64 message, const char *reason,
		      AssocFiled *filed, GError **error);

/* ---- the rule, step by step (assoc/decide.c) -------------------------------
 * assoc_decide = assoc_evaluate + assoc_apply. Evaluating alone writes
 * nothing: `explain --now` and `reassociate --dry-run` use it. */

typedef struct {
	char *module;	       /* "deal" or "contact" */
	char *record_id;       /* CRM id */
	char *rule;	       /* the rule step: see docs/association.md */
	char *visibility;      /* "public" or "private" */
	char *contact_id;      /* the contact that led here, or NULL (thread) */
	char *matched_address; /* the participant address that matched, or NULL */
} AssocLink;

typedef struct {
	gint64 message;
	gboolean unmatched;
	GPtrArray *links; /* AssocLink*, in decision order */
	char *trace;	  /* human-readable account of every step (stored) */
} AssocDecision;

AssocDecision *assoc_evaluate(Store *store, const CommonConfig *config, gint64 message, GError **error);
void assoc_decision_free(AssocDecision *decision);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AssocDecision, assoc_decision_free)

/* Replace the message's links with DECISION's inside the caller's
 * transaction: each difference is written to link_history with REASON, the
 * trace to decisions. With DRY_RUN nothing is written. CHANGES (may be NULL)
 * receives one char* line per link change; *N_CHANGES their count. */
gboolean assoc_apply(Store *store, const AssocDecision *decision, const char *reason, gboolean dry_run,
		     GPtrArray *changes, guint *n_changes, GError **error);

/* Re-run the rule for the messages given (rowids), committing in batches
 * (not inside a transaction). STATS: examined, changed messages, link changes. */
typedef struct {
	guint examined;
	guint changed;
	guint link_changes;
	guint now_linked; /* were unmatched, now linked */
} AssocRerunStats;
typedef void (*AssocChangeFunc)(gint64 message, const char *change, gpointer user_data);
gboolean assoc_rerun(Store *store, const CommonConfig *config, GArray *messages, const char *reason,
		     gboolean dry_run, AssocChangeFunc on_change, gpointer user_data, AssocRerunStats *stats,
		     GError **error);
/* Rowids of unmatched messages one of whose participants has an address in
 * KEYS (normalised keys), through the participants_key index. */
GArray *assoc_unmatched_for_keys(Store *store, GPtrArray *keys, GError **error);

/* ---- CRM import (assoc/import.c) -------------------------------------------- */

typedef enum {
	ASSOC_IMPORT_USERS,
	ASSOC_IMPORT_STAGES,
	ASSOC_IMPORT_CONTACTS,
	ASSOC_IMPORT_DEALS,
} AssocImportKind;
gboolean assoc_import_kind_parse(const char *name, AssocImportKind *out);

typedef struct {
	guint rows;
	GPtrArray *touched_keys; /* char*: address keys whose matching may have changed */
} AssocImportResult;
void assoc_import_result_clear(AssocImportResult *result);

typedef void (*AssocProgressFunc)(guint rows, gpointer user_data);
/* Import PATH in one transaction: on any error (which names file, line and
 * field) nothing is changed. Does not backfill: see assoc_rerun. */
gboolean assoc_import(Store *store, AssocImportKind kind, const char *path, AssocProgressFunc progress,
		      gpointer user_data, AssocImportResult *result, GError **error);

/* ---- RFC 4180 CSV reader (assoc/csv.c) -------------------------------------
 * Quoted fields, doubled quotes, CRLF or LF, a leading UTF-8 BOM; fields must
 * be valid UTF-8. Entirely empty lines are skipped. */

typedef struct AssocCsv AssocCsv;
AssocCsv *assoc_csv_open(const char *path, GError **error);
/* NAME is used in error messages ("NAME:LINE: ..."). DATA is copied. */
AssocCsv *assoc_csv_new(const char *name, const char *data, gsize len);
void assoc_csv_free(AssocCsv *csv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AssocCsv, assoc_csv_free)
/* The next record into FIELDS (cleared first, char* owned by the array).
 * FALSE at the end (error unset) or on a syntax error. */
gboolean assoc_csv_next(AssocCsv *csv, GPtrArray *fields, GError **error);
/* The line on which the last record returned started (1-based). */
guint assoc_csv_line(const AssocCsv *csv);
const char *assoc_csv_name(const AssocCsv *csv);
/* Append VALUE to OUT as one RFC 4180 field, quoted only when it must be. */
void assoc_csv_append_field(GString *out, const char *value);

/* ---- CRM export mappings (assoc/crmmap.c) ------------------------------------
 * A mapping (GKeyFile, docs/crm-import.md) names, for each bccdrop import
 * field, the column of a CRM's own export file and how to read its values.
 * Translating an export yields exactly the CSV assoc_import reads. */

typedef struct AssocCrmMap AssocCrmMap;
/* NAME is a path (it contains '/' or ends in ".map") or the name of a
 * shipped mapping ("zoho-deals"), looked up in $BCCDROP_DATADIR/contrib/crm
 * (default: the compile-time data directory). Errors name the file. */
AssocCrmMap *assoc_crmmap_load(const char *name, GError **error);
void assoc_crmmap_free(AssocCrmMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AssocCrmMap, assoc_crmmap_free)
/* Names of the shipped mappings, sorted (for help texts and errors). */
char **assoc_crmmap_shipped(void);
/* The import kind of the mapping's first section; FALSE when it has only a
 * [deal_contacts] section (a link file, see assoc_crmmap_translate_links). */
gboolean assoc_crmmap_kind(const AssocCrmMap *map, AssocImportKind *out);
/* Translate the export at PATH with MAP's section for KIND into OUT (header
 * row and records in bccdrop's columns). Each error is one line naming the
 * export file, line, column (its header name) and value; OUT is then
 * undefined and nothing else has changed. */
gboolean assoc_crmmap_translate(const AssocCrmMap *map, AssocImportKind kind, const char *path, GString *out,
				GError **error);
/* Deals whose contacts come in a separate link export (Salesforce
 * OpportunityContactRole): LINKS_MAP's [deal_contacts] section reads
 * LINKS_PATH, and each deal's contacts are those of its links (after any
 * the deals file itself names). Links to deals absent from PATH are ignored. */
gboolean assoc_crmmap_translate_links(const AssocCrmMap *map, const char *path, const AssocCrmMap *links_map,
				      const char *links_path, GString *out, GError **error);

#endif
