/* capture: the path of mail into the store and its decision, composed from
 * store/ (facts, writes) and assoc/ (the rule, the diff). */
#ifndef BCCDROP_CAPTURE_H
#define BCCDROP_CAPTURE_H

#include <glib.h>

#include "assoc/assoc.h"
#include "common/common.h"
#include "store/store.h"

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
