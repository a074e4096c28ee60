/* What the admin commands read, on PostgreSQL (store/sqlite/reports.c): a
 * message's summary, decision, links and link history, the messages to
 * re-examine, and the email_report rows. Text sorts byte-wise (COLLATE
 * "C"), as in SQLite. */
#include "store/pg/pg.h"

#include "common/common.h"

static GPtrArray *
pg_reports_rows(Store *store, const char *sql, gint64 message, PgRowFunc row, GDestroyNotify free_func,
		const char *context, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, message);
	return pg_store_collect(pg_store_cast(store), sql, &p, row, free_func, context, error);
}

/* The one row SQL yields for MESSAGE, or NOT_FOUND: "MISSING #MESSAGE". */
static gpointer
pg_reports_one(Store *store, const char *sql, gint64 message, PgRowFunc row, GDestroyNotify free_func,
	       const char *missing, GError **error)
{
	g_autoptr(GPtrArray) rows = pg_reports_rows(store, sql, message, row, free_func, "reading a message", error);
	if (!rows)
		return NULL;
	if (!rows->len) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "%s #%" G_GINT64_FORMAT, missing, message);
		return NULL;
	}
	return g_ptr_array_steal_index(rows, 0);
}

static gpointer
pg_summary_from_row(const PGresult *res, int r)
{
	StoreMessageSummary *s = g_new0(StoreMessageSummary, 1);
	s->message = pg_store_value_int(res, r, 0);
	s->message_id = pg_store_value_dup(res, r, 1, "");
	s->date = pg_store_value_dup(res, r, 2, "");
	s->subject = pg_store_value_dup(res, r, 3, "");
	return s;
}

StoreMessageSummary *
pg_store_message_summary(Store *store, gint64 message, GError **error)
{
	return pg_reports_one(store, "SELECT id, message_id, date, subject FROM messages WHERE id = $1", message,
			      pg_summary_from_row, (GDestroyNotify)store_message_summary_free,
			      "no stored message", error);
}

static gpointer
pg_decision_from_row(const PGresult *res, int r)
{
	StoreDecisionRow *d = g_new0(StoreDecisionRow, 1);
	d->status = pg_store_value_dup(res, r, 0, "");
	d->decided_at = pg_store_value_dup(res, r, 1, "");
	d->reason = pg_store_value_dup(res, r, 2, "");
	d->trace = pg_store_value_dup(res, r, 3, "");
	return d;
}

StoreDecisionRow *
pg_store_decision_row(Store *store, gint64 message, GError **error)
{
	return pg_reports_one(store, "SELECT status, decided_at, reason, trace FROM decisions WHERE message = $1",
			      message, pg_decision_from_row, (GDestroyNotify)store_decision_row_free,
			      "no decision stored for message", error);
}

static gpointer
pg_link_from_row(const PGresult *res, int r)
{
	StoreLinkRow *l = g_new0(StoreLinkRow, 1);
	l->module = pg_store_value_dup(res, r, 0, "");
	l->record_id = pg_store_value_dup(res, r, 1, "");
	l->record_name = pg_store_value_dup(res, r, 2, NULL);
	l->rule = pg_store_value_dup(res, r, 3, "");
	l->visibility = pg_store_value_dup(res, r, 4, "");
	l->decided_at = pg_store_value_dup(res, r, 5, "");
	return l;
}

GPtrArray *
pg_store_message_links(Store *store, gint64 message, GError **error)
{
	return pg_reports_rows(store,
			       "SELECT l.module, l.record_id, CASE l.module WHEN 'deal' THEN d.name "
			       "ELSE c.name END, l.rule, l.visibility, l.decided_at FROM links l "
			       "LEFT JOIN deals d ON l.module = 'deal' AND d.id = l.record_id "
			       "LEFT JOIN contacts c ON l.module = 'contact' AND c.id = l.record_id "
			       "WHERE l.message = $1 ORDER BY l.module COLLATE \"C\" DESC, l.record_id COLLATE \"C\"",
			       message, pg_link_from_row, (GDestroyNotify)store_link_row_free, "reading links", error);
}

static gpointer
pg_change_from_row(const PGresult *res, int r)
{
	StoreHistoryEntry *c = g_new0(StoreHistoryEntry, 1);
	c->at = pg_store_value_dup(res, r, 0, "");
	c->action = pg_store_value_dup(res, r, 1, "");
	c->module = pg_store_value_dup(res, r, 2, "");
	c->record_id = pg_store_value_dup(res, r, 3, "");
	c->old_rule = pg_store_value_dup(res, r, 4, NULL);
	c->new_rule = pg_store_value_dup(res, r, 5, NULL);
	c->old_visibility = pg_store_value_dup(res, r, 6, NULL);
	c->new_visibility = pg_store_value_dup(res, r, 7, NULL);
	c->reason = pg_store_value_dup(res, r, 8, "");
	return c;
}

GPtrArray *
pg_store_link_history(Store *store, gint64 message, GError **error)
{
	return pg_reports_rows(store,
			       "SELECT at, action, module, record_id, old_rule, new_rule, old_visibility, "
			       "new_visibility, reason FROM link_history WHERE message = $1 ORDER BY id",
			       message, pg_change_from_row, (GDestroyNotify)store_history_entry_free,
			       "reading link history", error);
}

GArray *
pg_store_message_ids(Store *store, gboolean unmatched_only, GError **error)
{
	return pg_store_collect_ids(pg_store_cast(store),
				    unmatched_only ? "SELECT message FROM decisions WHERE status = 'unmatched' "
						     "ORDER BY message"
						   : "SELECT id FROM messages ORDER BY id",
				    NULL, "listing messages", error);
}

static gpointer
pg_report_from_row(const PGresult *res, int r)
{
	StoreReportRow *o = g_new0(StoreReportRow, 1);
	o->date = pg_store_value_dup(res, r, 0, "");
	o->source = pg_store_value_dup(res, r, 1, "");
	o->module = pg_store_value_dup(res, r, 2, "");
	o->record = pg_store_value_dup(res, r, 3, "");
	o->owner = pg_store_value_dup(res, r, 4, "");
	o->visibility = pg_store_value_dup(res, r, 5, "");
	o->from = pg_store_value_dup(res, r, 6, NULL);
	o->to = pg_store_value_dup(res, r, 7, NULL);
	o->subject = pg_store_value_dup(res, r, 8, "");
	o->message_id = pg_store_value_dup(res, r, 9, "");
	return o;
}

GPtrArray *
pg_store_report_rows(Store *store, const StoreReportFilter *filter, GError **error)
{
	/* Dates are stored as ISO 8601 UTC text, which sorts as time does. */
	g_autofree char *since = filter && filter->by_since ? common_iso8601(filter->since) : NULL;
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, filter && filter->by_source ? store_source_kind_name(filter->source) : NULL);
	pg_params_text(&p, since);
	return pg_store_collect(pg_store_cast(store),
				"SELECT date, source, module, record, owner, visibility, \"from\", \"to\", "
				"subject, message_id FROM email_report "
				"WHERE ($1::text IS NULL OR source_kind = $1) AND ($2::text IS NULL OR date >= $2) "
				"ORDER BY date COLLATE \"C\", message_id COLLATE \"C\", module COLLATE \"C\" DESC, "
				"record_id COLLATE \"C\"",
				&p, pg_report_from_row, (GDestroyNotify)store_report_row_free, "reading the report",
				error);
}
