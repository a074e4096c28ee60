/* assoc: decides which CRM records a stored message is linked to, and
 * records why. Mail enters the store through capture/, which calls it. */
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
	ASSOC_ERROR_RETIRE_GUARD, /* a full sync would retire more than --max-retire */
} AssocError;


/* ---- the rule (assoc/decide.c) and its diff (assoc/apply.c) ---------------
 * Pure decision logic: no Store, no I/O. The facts come from
 * store_decision_facts(), the writes go through store_decision_write();
 * capture/decide.c composes the three. */

typedef StoreLink AssocLink;

typedef struct {
	gint64 message;
	gboolean unmatched;
	GPtrArray *links; /* AssocLink*, in decision order */
	char *trace;	  /* human-readable account of every step (stored) */
} AssocDecision;

/* The rule on FACTS: the links, their visibility and the trace. */
AssocDecision *assoc_evaluate(const StoreDecisionFacts *facts, const CommonConfig *config);
void assoc_decision_free(AssocDecision *decision);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AssocDecision, assoc_decision_free)

/* What writing a decision changes, from the message's current state. */
typedef struct {
	GArray *writes;		 /* StoreLinkChange, borrowing from the decision and the state */
	GPtrArray *lines;	 /* char*: one line per link change (reassociate --dry-run) */
	gboolean write_decision; /* FALSE: no change and the stored trace is the same */
} AssocChanges;
/* The diff of CURRENT (store_link_state()) and DECISION: links added,
 * changed and removed. Both must outlive the result. */
AssocChanges *assoc_apply(const AssocDecision *decision, const StoreLinkState *current);
void assoc_changes_free(AssocChanges *changes);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AssocChanges, assoc_changes_free)

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
	guint added, updated, unchanged; /* of the rows (updated includes un-retired) */
	guint retired;			 /* full sync: live records the file does not name */
	guint merged;			 /* contacts whose merged_into named a survivor */
	guint would_retire;		 /* set when the --max-retire guard refused */
	GPtrArray *touched_keys;	 /* char*: address keys whose matching may have changed */
} AssocImportResult;
void assoc_import_result_clear(AssocImportResult *result);

typedef void (*AssocProgressFunc)(guint rows, gpointer user_data);
/* Import PATH in one transaction: on any error (which names file, line and
 * field) nothing is changed. Does not backfill: see capture_rerun. */
gboolean assoc_import(Store *store, AssocImportKind kind, const char *path, AssocProgressFunc progress,
		      gpointer user_data, AssocImportResult *result, GError **error);

typedef struct AssocCsv AssocCsv;
typedef struct AssocCrmMap AssocCrmMap;
typedef struct {
	gboolean full;		 /* the file is the whole truth: live records it lacks are retired */
	int max_retire;		 /* full: refuse (changing nothing) to retire more than this % */
	const char *export_date; /* link_history says "retired in CRM export of DATE" (NULL: now) */
	const AssocCrmMap *map;	 /* the CSV was translated by MAP: errors name its columns */
} AssocImportOptions;
/* The same on an open CSV (e.g. an export translated by a mapping), with
 * OPTIONS (NULL: upsert only). When the guard refuses, the error is
 * ASSOC_ERROR_RETIRE_GUARD and RESULT->would_retire says how many. */
gboolean assoc_import_csv(Store *store, AssocImportKind kind, AssocCsv *csv, const AssocImportOptions *options,
			  AssocProgressFunc progress, gpointer user_data, AssocImportResult *result, GError **error);

/* ---- RFC 4180 CSV reader (assoc/csv.c) -------------------------------------
 * Quoted fields, doubled quotes, CRLF or LF, a leading UTF-8 BOM; fields must
 * be valid UTF-8. Entirely empty lines are skipped. */

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
/* The export column MAP reads FIELD of KIND from (the first, when several),
 * or NULL: import errors on a translated file name it. */
const char *assoc_crmmap_column(const AssocCrmMap *map, AssocImportKind kind, const char *field);
gboolean assoc_crmmap_translate_links(const AssocCrmMap *map, const char *path, const AssocCrmMap *links_map,
				      const char *links_path, GString *out, GError **error);

/* ---- signed per-deal addresses (assoc/dealtag.c) ----
 * LOCAL DELIM "d-" SLUG "." DEAL "." TAG "@" DOMAIN, e.g.
 * alice-drop+d-renewal.d17.k3x9q2ab@crm.example, for the plain dropbox
 * LOCAL@DOMAIN. TAG = HMAC-SHA256(key, user id 0x00 deal id), 40 bits in
 * base32. The deal id is in the address (DEAL: as is when [a-z0-9-], else
 * '=' + base32) so verifying costs one HMAC per key, not a scan of deals;
 * SLUG (from the deal name) is cosmetic and not verified. See
 * docs/association.md, "Per-deal addresses". */

typedef struct AssocDealtagKeys AssocDealtagKeys;
/* The keys in PATH ([dropbox] tag_key_file), which must be a regular file
 * of mode 0600 (group or others bits are refused). With CREATE an absent
 * file is created with one fresh key. */
AssocDealtagKeys *assoc_dealtag_keys_load(const char *path, gboolean create, GError **error);
void assoc_dealtag_keys_free(AssocDealtagKeys *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AssocDealtagKeys, assoc_dealtag_keys_free)
/* Make a fresh key current; the old current key retires at NOW and still
 * verifies for GRACE_DAYS; keys past their grace are dropped. */
gboolean assoc_dealtag_rotate(const char *path, gint64 now, int grace_days, GError **error);
/* The tag of USER_ID and DEAL_ID under the current key (8 characters). */
char *assoc_dealtag_tag(const AssocDealtagKeys *keys, const char *user_id, const char *deal_id);
/* Whether TAG (lower case) signs USER_ID and DEAL_ID under the current key
 * or one retired less than GRACE_DAYS before NOW. Constant time. */
gboolean assoc_dealtag_verify(const AssocDealtagKeys *keys, const char *user_id, const char *deal_id,
			      const char *tag, gint64 now, int grace_days);

typedef struct {
	char *dropbox; /* the plain dropbox address, lower case */
	char *deal_id;
	char *slug; /* as written: cosmetic, never trust it */
	char *tag;
} AssocDealtagAddress;
void assoc_dealtag_address_clear(AssocDealtagAddress *address);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(AssocDealtagAddress, assoc_dealtag_address_clear)
/* The per-deal address of DEAL_ID (named DEAL_NAME, may be NULL) for the
 * user USER_ID whose plain dropbox is DROPBOX, with the first of
 * DELIMITERS ([dropbox] recipient_delimiter). Error when it cannot fit the
 * 64 characters of a local part. */
char *assoc_dealtag_address(const AssocDealtagKeys *keys, const char *dropbox, const char *delimiters,
			    const char *user_id, const char *deal_id, const char *deal_name, GError **error);
/* Split ADDRESS (any case) written with any of DELIMITERS. FALSE when it is
 * not of the per-deal form; it is not verified: look the dropbox up, then
 * assoc_dealtag_verify. */
gboolean assoc_dealtag_parse(const char *address, const char *delimiters, AssocDealtagAddress *out);

#endif
