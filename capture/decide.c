/* The decision of a stored message: store_decision_facts() -> assoc_evaluate()
 * -> assoc_apply() -> store_decision_write(); and re-deciding many messages
 * (backfill, reassociate). */
#include "capture/capture.h"

#define CAPTURE_RERUN_BATCH 500

AssocDecision *
capture_evaluate(Store *store, const CommonConfig *config, gint64 message, GError **error)
{
	g_autoptr(StoreDecisionFacts) facts = store_decision_facts(store, message, error);
	return facts ? assoc_evaluate(facts, config) : NULL;
}

static gboolean
capture_write(Store *store, const AssocDecision *d, const AssocChanges *ch, const char *reason, GError **error)
{
	g_autofree char *at = common_iso8601(common_now());
	StoreDecisionWrite w = {
		.message = d->message,
		.at = at,
		.reason = reason,
		.changes = (const StoreLinkChange *)(void *)ch->writes->data,
		.n_changes = ch->writes->len,
		.write_decision = ch->write_decision,
		.status = d->unmatched ? "unmatched" : "linked",
		.trace = d->trace,
	};
	return store_decision_write(store, &w, error);
}

/* Evaluate and (unless DRY_RUN) write MESSAGE; *LINES gets the change lines,
 * *WAS_UNMATCHED whether it had no decision or an unmatched one before. */
static AssocDecision *
capture_run(Store *store, const CommonConfig *config, gint64 message, const char *reason, gboolean dry_run,
	    GPtrArray **lines, gboolean *was_unmatched, GError **error)
{
	g_autoptr(StoreLinkState) state = store_link_state(store, message, error);
	g_autoptr(AssocDecision) d = state ? capture_evaluate(store, config, message, error) : NULL;
	if (!d)
		return NULL;
	g_autoptr(AssocChanges) ch = assoc_apply(d, state);
	if (!dry_run && !capture_write(store, d, ch, reason, error))
		return NULL;
	if (was_unmatched)
		*was_unmatched = !state->status || !g_strcmp0(state->status, "unmatched");
	if (lines)
		*lines = g_ptr_array_ref(ch->lines);
	return g_steal_pointer(&d);
}

gboolean
capture_decide(Store *store, const CommonConfig *config, gint64 message, const char *reason, gboolean *unmatched,
	       guint *n_links, GError **error)
{
	g_autoptr(AssocDecision) d = capture_run(store, config, message, reason, FALSE, NULL, NULL, error);
	if (!d)
		return FALSE;
	if (unmatched)
		*unmatched = d->unmatched;
	if (n_links)
		*n_links = d->links->len;
	return TRUE;
}

GPtrArray *
capture_changes(Store *store, const AssocDecision *decision, GError **error)
{
	g_autoptr(StoreLinkState) state = store_link_state(store, decision->message, error);
	if (!state)
		return NULL;
	g_autoptr(AssocChanges) ch = assoc_apply(decision, state);
	return g_ptr_array_ref(ch->lines);
}

static gboolean
rerun_one(Store *store, const CommonConfig *config, gint64 message, const char *reason, gboolean dry_run,
	  CaptureChangeFunc on_change, gpointer user_data, CaptureRerunStats *stats, GError **error)
{
	g_autoptr(GPtrArray) lines = NULL;
	gboolean was_unmatched = FALSE;
	g_autoptr(AssocDecision) d =
		capture_run(store, config, message, reason, dry_run, &lines, &was_unmatched, error);
	if (!d)
		return FALSE;
	stats->examined++;
	if (lines->len) {
		stats->changed++;
		stats->link_changes += lines->len;
	}
	if (was_unmatched && !d->unmatched)
		stats->now_linked++;
	for (guint i = 0; on_change && i < lines->len; i++)
		on_change(message, lines->pdata[i], user_data);
	return TRUE;
}

gboolean
capture_rerun(Store *store, const CommonConfig *config, GArray *messages, const char *reason, gboolean dry_run,
	      CaptureChangeFunc on_change, gpointer user_data, CaptureRerunStats *stats, GError **error)
{
	CaptureRerunStats s = { 0 };
	/* Batches keep the write lock short enough for the milter to get in
	 * between; a dry run writes nothing and needs no transaction. */
	for (guint i = 0; i < messages->len; i += CAPTURE_RERUN_BATCH) {
		if (!dry_run && !store_begin(store, error))
			return FALSE;
		for (guint j = i; j < messages->len && j < i + CAPTURE_RERUN_BATCH; j++) {
			if (!rerun_one(store, config, g_array_index(messages, gint64, j), reason, dry_run, on_change,
				       user_data, &s, error)) {
				if (!dry_run)
					store_rollback(store);
				return FALSE;
			}
		}
		if (!dry_run && !store_commit(store, error))
			return FALSE;
	}
	if (stats)
		*stats = s;
	return TRUE;
}
