/* What the admin commands read: a message's summary, decision, links and
 * link history, the messages to re-examine, and the email_report rows. The
 * CLI only formats these rows. */
#include "store/sqlite/sqlite.h"

#include "common/common.h"
#include "store/sqlite/sqlite.h"

static gpointer
summary_from_row(sqlite3_stmt *st)
{
	StoreMessageSummary *s = g_new0(StoreMessageSummary, 1);
	s->message = sqlite3_column_int64(st, 0);
	s->message_id = sq_col_dup(st, 1, "");
	s->date = sq_col_dup(st, 2, "");
	s->subject = sq_col_dup(st, 3, "");
	return s;
}

/* Prepare SQL with the message rowid bound to ?1. */
static sqlite3_stmt *
prepare_message(Store *store, const char *sql, gint64 message, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, sql, error);
	if (st)
		sqlite3_bind_int64(st, 1, message);
	return st;
}

StoreMessageSummary *
sq_message_summary(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st =
		prepare_message(store, "SELECT id, message_id, date, subject FROM messages WHERE id = ?", message, error);
	gpointer s = NULL;
	if (!st || !sq_fetch_one(store, st, summary_from_row, &s, error, "reading a message"))
		return NULL;
	if (!s)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "no stored message #%" G_GINT64_FORMAT, message);
	return s;
}

static gpointer
decision_from_row(sqlite3_stmt *st)
{
	StoreDecisionRow *d = g_new0(StoreDecisionRow, 1);
	d->status = sq_col_dup(st, 0, "");
	d->decided_at = sq_col_dup(st, 1, "");
	d->reason = sq_col_dup(st, 2, "");
	d->trace = sq_col_dup(st, 3, "");
	return d;
}

StoreDecisionRow *
sq_decision_row(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = prepare_message(
		store, "SELECT status, decided_at, reason, trace FROM decisions WHERE message = ?", message, error);
	gpointer d = NULL;
	if (!st || !sq_fetch_one(store, st, decision_from_row, &d, error, "reading a decision"))
		return NULL;
	if (!d)
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND,
			    "no decision stored for message #%" G_GINT64_FORMAT, message);
	return d;
}

static gpointer
link_from_row(sqlite3_stmt *st)
{
	StoreLinkRow *l = g_new0(StoreLinkRow, 1);
	l->module = sq_col_dup(st, 0, "");
	l->record_id = sq_col_dup(st, 1, "");
	l->record_name = sq_col_dup(st, 2, NULL);
	l->rule = sq_col_dup(st, 3, "");
	l->visibility = sq_col_dup(st, 4, "");
	l->decided_at = sq_col_dup(st, 5, "");
	return l;
}

GPtrArray *
sq_message_links(Store *store, gint64 message, GError **error)
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
	return sq_collect(store, st, link_from_row, (GDestroyNotify)store_link_row_free, error, "reading links");
}

static gpointer
change_from_row(sqlite3_stmt *st)
{
	StoreHistoryEntry *c = g_new0(StoreHistoryEntry, 1);
	c->at = sq_col_dup(st, 0, "");
	c->action = sq_col_dup(st, 1, "");
	c->module = sq_col_dup(st, 2, "");
	c->record_id = sq_col_dup(st, 3, "");
	c->old_rule = sq_col_dup(st, 4, NULL);
	c->new_rule = sq_col_dup(st, 5, NULL);
	c->old_visibility = sq_col_dup(st, 6, NULL);
	c->new_visibility = sq_col_dup(st, 7, NULL);
	c->reason = sq_col_dup(st, 8, "");
	return c;
}

GPtrArray *
sq_link_history(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = prepare_message(store,
					   "SELECT at, action, module, record_id, old_rule, new_rule, old_visibility, "
					   "new_visibility, reason FROM link_history WHERE message = ? ORDER BY id",
					   message, error);
	if (!st)
		return NULL;
	return sq_collect(store, st, change_from_row, (GDestroyNotify)store_history_entry_free, error,
			     "reading link history");
}

GArray *
sq_message_ids(Store *store, gboolean unmatched_only, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 unmatched_only ? "SELECT message FROM decisions WHERE status = 'unmatched' "
							  "ORDER BY message"
							: "SELECT id FROM messages ORDER BY id",
					 error);
	if (!st)
		return NULL;
	return sq_collect_ids(store, st, error, "listing messages");
}

GArray *
sq_message_ids_since(Store *store, gint64 since, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT id FROM messages WHERE date >= ? ORDER BY id", error);
	if (!st)
		return NULL;
	g_autofree char *from = common_iso8601(since); /* ISO 8601 UTC text sorts as time does */
	sq_bind_text(st, 1, from);
	return sq_collect_ids(store, st, error, "listing messages");
}

static gpointer
report_from_row(sqlite3_stmt *st)
{
	StoreReportRow *r = g_new0(StoreReportRow, 1);
	r->date = sq_col_dup(st, 0, "");
	r->source = sq_col_dup(st, 1, "");
	r->module = sq_col_dup(st, 2, "");
	r->record = sq_col_dup(st, 3, "");
	r->owner = sq_col_dup(st, 4, "");
	r->visibility = sq_col_dup(st, 5, "");
	r->from = sq_col_dup(st, 6, NULL);
	r->to = sq_col_dup(st, 7, NULL);
	r->subject = sq_col_dup(st, 8, "");
	r->message_id = sq_col_dup(st, 9, "");
	return r;
}

GPtrArray *
sq_report_rows(Store *store, const StoreReportFilter *filter, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "SELECT date, source, module, record, owner, visibility, \"from\", \"to\", "
					 "subject, message_id FROM email_report "
					 "WHERE (?1 IS NULL OR source_kind = ?1) AND (?2 IS NULL OR date >= ?2) "
					 "ORDER BY date, message_id, module DESC, record_id",
					 error);
	if (!st)
		return NULL;
	/* Dates are stored as ISO 8601 UTC text, which sorts as time does. */
	g_autofree char *since = filter && filter->by_since ? common_iso8601(filter->since) : NULL;
	sq_bind_text(st, 1, filter && filter->by_source ? store_source_kind_name(filter->source) : NULL);
	sq_bind_text(st, 2, since);
	return sq_collect(store, st, report_from_row, (GDestroyNotify)store_report_row_free, error,
			     "reading the report");
}
