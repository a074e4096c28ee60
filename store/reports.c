/* What the admin commands read: a message's summary, decision, links and
 * link history, the messages to re-examine, and the email_report rows. The
 * CLI only formats these rows. */
#include "store/store.h"

#include "common/common.h"
#include "store/store-internal.h"

void
store_message_summary_free(StoreMessageSummary *s)
{
	if (!s)
		return;
	g_free(s->message_id);
	g_free(s->date);
	g_free(s->subject);
	g_free(s);
}

static gpointer
summary_from_row(sqlite3_stmt *st)
{
	StoreMessageSummary *s = g_new0(StoreMessageSummary, 1);
	s->message = sqlite3_column_int64(st, 0);
	s->message_id = store_col_dup(st, 1, "");
	s->date = store_col_dup(st, 2, "");
	s->subject = store_col_dup(st, 3, "");
	return s;
}

/* Prepare SQL with the message rowid bound to ?1. */
static sqlite3_stmt *
prepare_message(Store *store, const char *sql, gint64 message, GError **error)
{
	sqlite3_stmt *st = store_prepare(store, sql, error);
	if (st)
		sqlite3_bind_int64(st, 1, message);
	return st;
}

StoreMessageSummary *
store_message_summary(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st =
		prepare_message(store, "SELECT id, message_id, date, subject FROM messages WHERE id = ?", message, error);
	gpointer s = NULL;
	if (!st || !store_fetch_one(store, st, summary_from_row, &s, error, "reading a message"))
		return NULL;
	if (!s)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no stored message #%" G_GINT64_FORMAT, message);
	return s;
}

void
store_decision_row_free(StoreDecisionRow *d)
{
	if (!d)
		return;
	g_free(d->status);
	g_free(d->decided_at);
	g_free(d->reason);
	g_free(d->trace);
	g_free(d);
}

static gpointer
decision_from_row(sqlite3_stmt *st)
{
	StoreDecisionRow *d = g_new0(StoreDecisionRow, 1);
	d->status = store_col_dup(st, 0, "");
	d->decided_at = store_col_dup(st, 1, "");
	d->reason = store_col_dup(st, 2, "");
	d->trace = store_col_dup(st, 3, "");
	return d;
}

StoreDecisionRow *
store_decision_row(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = prepare_message(
		store, "SELECT status, decided_at, reason, trace FROM decisions WHERE message = ?", message, error);
	gpointer d = NULL;
	if (!st || !store_fetch_one(store, st, decision_from_row, &d, error, "reading a decision"))
		return NULL;
	if (!d)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND,
			    "no decision stored for message #%" G_GINT64_FORMAT, message);
	return d;
}

void
store_link_row_free(StoreLinkRow *l)
{
	if (!l)
		return;
	g_free(l->module);
	g_free(l->record_id);
	g_free(l->record_name);
	g_free(l->rule);
	g_free(l->visibility);
	g_free(l->decided_at);
	g_free(l);
}

static gpointer
link_from_row(sqlite3_stmt *st)
{
	StoreLinkRow *l = g_new0(StoreLinkRow, 1);
	l->module = store_col_dup(st, 0, "");
	l->record_id = store_col_dup(st, 1, "");
	l->record_name = store_col_dup(st, 2, NULL);
	l->rule = store_col_dup(st, 3, "");
	l->visibility = store_col_dup(st, 4, "");
	l->decided_at = store_col_dup(st, 5, "");
	return l;
}

GPtrArray *
store_message_links(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = prepare_message(store,
					   "SELECT l.module, l.record_id, CASE l.module WHEN 'deal' THEN d.name "
					   "ELSE c.name END, l.rule, l.visibility, l.decided_at FROM links l "
					   "LEFT JOIN deals d ON l.module = 'deal' AND d.id = l.record_id "
					   "LEFT JOIN contacts c ON l.module = 'contact' AND c.id = l.record_id "
					   "WHERE l.message = ? ORDER BY l.module DESC, l.record_id",
					   message, error);
	if (!st)
		return NULL;
	return store_collect(store, st, link_from_row, (GDestroyNotify)store_link_row_free, error, "reading links");
}

void
store_history_entry_free(StoreHistoryEntry *c)
{
	if (!c)
		return;
	g_free(c->at);
	g_free(c->action);
	g_free(c->module);
	g_free(c->record_id);
	g_free(c->old_rule);
	g_free(c->new_rule);
	g_free(c->old_visibility);
	g_free(c->new_visibility);
	g_free(c->reason);
	g_free(c);
}

static gpointer
change_from_row(sqlite3_stmt *st)
{
	StoreHistoryEntry *c = g_new0(StoreHistoryEntry, 1);
	c->at = store_col_dup(st, 0, "");
	c->action = store_col_dup(st, 1, "");
	c->module = store_col_dup(st, 2, "");
	c->record_id = store_col_dup(st, 3, "");
	c->old_rule = store_col_dup(st, 4, NULL);
	c->new_rule = store_col_dup(st, 5, NULL);
	c->old_visibility = store_col_dup(st, 6, NULL);
	c->new_visibility = store_col_dup(st, 7, NULL);
	c->reason = store_col_dup(st, 8, "");
	return c;
}

GPtrArray *
store_link_history(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = prepare_message(store,
					   "SELECT at, action, module, record_id, old_rule, new_rule, old_visibility, "
					   "new_visibility, reason FROM link_history WHERE message = ? ORDER BY id",
					   message, error);
	if (!st)
		return NULL;
	return store_collect(store, st, change_from_row, (GDestroyNotify)store_history_entry_free, error,
			     "reading link history");
}

GArray *
store_message_ids(Store *store, gboolean unmatched_only, GError **error)
{
	sqlite3_stmt *st = store_prepare(store,
					 unmatched_only ? "SELECT message FROM decisions WHERE status = 'unmatched' "
							  "ORDER BY message"
							: "SELECT id FROM messages ORDER BY id",
					 error);
	if (!st)
		return NULL;
	return store_collect_ids(store, st, error, "listing messages");
}

void
store_report_row_free(StoreReportRow *r)
{
	if (!r)
		return;
	g_free(r->date);
	g_free(r->source);
	g_free(r->module);
	g_free(r->record);
	g_free(r->owner);
	g_free(r->visibility);
	g_free(r->from);
	g_free(r->to);
	g_free(r->subject);
	g_free(r->message_id);
	g_free(r);
}

static gpointer
report_from_row(sqlite3_stmt *st)
{
	StoreReportRow *r = g_new0(StoreReportRow, 1);
	r->date = store_col_dup(st, 0, "");
	r->source = store_col_dup(st, 1, "");
	r->module = store_col_dup(st, 2, "");
	r->record = store_col_dup(st, 3, "");
	r->owner = store_col_dup(st, 4, "");
	r->visibility = store_col_dup(st, 5, "");
	r->from = store_col_dup(st, 6, NULL);
	r->to = store_col_dup(st, 7, NULL);
	r->subject = store_col_dup(st, 8, "");
	r->message_id = store_col_dup(st, 9, "");
	return r;
}

GPtrArray *
store_report_rows(Store *store, const StoreReportFilter *filter, GError **error)
{
	sqlite3_stmt *st = store_prepare(store,
					 "SELECT date, source, module, record, owner, visibility, \"from\", \"to\", "
					 "subject, message_id FROM email_report "
					 "WHERE (?1 IS NULL OR source_kind = ?1) AND (?2 IS NULL OR date >= ?2) "
					 "ORDER BY date, message_id, module DESC, record_id",
					 error);
	if (!st)
		return NULL;
	/* Dates are stored as ISO 8601 UTC text, which sorts as time does. */
	g_autofree char *since = filter && filter->by_since ? common_iso8601(filter->since) : NULL;
	store_bind_text(st, 1, filter && filter->by_source ? store_source_kind_name(filter->source) : NULL);
	store_bind_text(st, 2, since);
	return store_collect(store, st, report_from_row, (GDestroyNotify)store_report_row_free, error,
			     "reading the report");
}
