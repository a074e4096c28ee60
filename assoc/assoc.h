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
	GPtrArray *touched_keys; /* char*: address keys whose matching may have changed */
} AssocImportResult;
void assoc_import_result_clear(AssocImportResult *result);

typedef void (*AssocProgressFunc)(guint rows, gpointer user_data);
/* Import PATH in one transaction: on any error (which names file, line and
 * field) nothing is changed. Does not backfill: see capture_rerun. */
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

#endif
