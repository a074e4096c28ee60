/* Full-text search: the message_search FTS5 index (migration 2) ranked by
 * bm25, filtered by date, deal, contact and link visibility. */
#include <string.h>

#include "common/common.h"
#include "store/sqlite/sqlite.h"

/* Owned by the viewer ?5: their private and unmatched mail. */
#define SEARCH_OWNED "(?5 IS NOT NULL AND EXISTS (SELECT 1 FROM sources s WHERE s.message = m.id " \
	"AND s.owner_user_id = ?5))"
#define SEARCH_VISIBLE_LINK "(l.visibility = 'public' OR " SEARCH_OWNED ")"

/* Subject words weigh most, then names and addresses, then the body. The
 * best LIMIT rows are chosen first (top) and only they get the From and the
 * snippet: a sorter would otherwise compute a snippet for every match. */
static const char search_sql[] =
	"WITH top AS (SELECT m.id AS id, m.date AS date, bm25(message_search, 10.0, 1.0, 4.0) AS score"
	" FROM message_search JOIN messages m ON m.id = message_search.rowid"
	" WHERE message_search MATCH ?1"
	" AND (?2 IS NULL OR m.date >= ?2)"
	" AND (?3 IS NULL OR EXISTS (SELECT 1 FROM links l WHERE l.message = m.id AND l.module = 'deal'"
	"  AND l.record_id = ?3 AND " SEARCH_VISIBLE_LINK "))"
	" AND (?4 IS NULL OR EXISTS (SELECT 1 FROM links l WHERE l.message = m.id"
	"  AND ((l.module = 'contact' AND l.record_id = ?4) OR l.contact_id = ?4) AND " SEARCH_VISIBLE_LINK "))"
	" AND (EXISTS (SELECT 1 FROM links l WHERE l.message = m.id AND l.visibility = 'public')"
	"  OR " SEARCH_OWNED ")"
	" ORDER BY score, m.date DESC, m.id LIMIT ?6)"
	" SELECT m.id, m.message_id, m.date, m.subject,"
	" (SELECT CASE WHEN p.name IS NOT NULL AND p.name <> '' THEN p.name || ' <' || p.address || '>'"
	"  ELSE p.address END FROM participants p WHERE p.message = m.id AND p.role = 'from'"
	"  ORDER BY p.position LIMIT 1),"
	" snippet(message_search, -1, '[', ']', '...', 12), top.score"
	" FROM top JOIN message_search ON message_search.rowid = top.id AND message_search MATCH ?1"
	" JOIN messages m ON m.id = top.id"
	" ORDER BY top.score, top.date DESC, top.id";

/* The terms as an FTS5 expression in which every term is a quoted string:
 * nothing the user types is FTS5 syntax, so no query is an FTS5 error. */
static char *
search_match(GPtrArray *terms)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < terms->len; i++) {
		const StoreSearchTerm *t = g_ptr_array_index(terms, i);
		g_string_append(out, i ? " \"" : "\"");
		for (const char *p = t->text; *p; p++) {
			if (*p == '"')
				g_string_append_c(out, '"');
			g_string_append_c(out, *p);
		}
		g_string_append(out, t->prefix ? "\" *" : "\"");
	}
	return g_string_free(out, FALSE);
}

static gpointer
hit_from_row(sqlite3_stmt *st)
{
	StoreSearchHit *h = g_new0(StoreSearchHit, 1);
	h->message = sqlite3_column_int64(st, 0);
	h->message_id = sq_col_dup(st, 1, "");
	h->date = sq_col_dup(st, 2, "");
	h->subject = sq_col_dup(st, 3, "");
	h->from = sq_col_dup(st, 4, NULL);
	h->snippet = sq_col_dup(st, 5, "");
	h->score = sqlite3_column_double(st, 6);
	return h;
}

GPtrArray *
sq_search(Store *store, const StoreSearchFilter *filter, GError **error)
{
	g_autoptr(GPtrArray) terms = store_search_terms(filter->query, error);
	if (!terms)
		return NULL;
	sqlite3_stmt *st = sq_prepare(store, search_sql, error);
	if (!st)
		return NULL;
	g_autofree char *match = search_match(terms);
	/* Dates are stored as ISO 8601 UTC text, which sorts as time does. */
	g_autofree char *since = filter->by_since ? common_iso8601(filter->since) : NULL;
	sq_bind_text(st, 1, match);
	sq_bind_text(st, 2, since);
	sq_bind_text(st, 3, filter->deal_id);
	sq_bind_text(st, 4, filter->contact_id);
	sq_bind_text(st, 5, filter->user_id);
	sqlite3_bind_int64(st, 6, filter->limit ? filter->limit : 50);
	return sq_collect(store, st, hit_from_row, (GDestroyNotify)store_search_hit_free, error, "searching mail");
}

/* Between FIRST and LAST there are only this transaction's messages (it
 * holds the write lock and rowids grow); one rolled back to a savepoint is
 * simply not there. */
gboolean
sq_search_index(Store *store, gint64 first, gint64 last, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
				      "INSERT INTO message_search(rowid, subject, body_text, search_names) "
				      "SELECT id, subject, body_text, search_names FROM messages "
				      "WHERE id BETWEEN ? AND ? "
				      "AND NOT EXISTS (SELECT 1 FROM message_search_docsize d WHERE d.id = messages.id)",
				      error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	return sq_step_done(store, st, error, "indexing new messages for search");
}
