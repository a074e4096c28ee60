/* The parts of store/store.h that are the same for every backend: the
 * record types' helpers. */
#include "store/store.h"

#include <string.h>

static const char *const kind_names[] = { "bcc_dropbox", "imap", "pop3", "file" };

static void
fact_source_free(gpointer p)
{
	StoreFactSource *s = p;
	g_free(s->kind);
	g_free(s->owner_user_id);
	g_free(s->dropbox);
	g_free(s->deal_id);
	g_free(s);
}

static void
fact_deal_free(gpointer p)
{
	StoreFactDeal *d = p;
	g_free(d->id);
	g_free(d->name);
	g_free(d->stage);
	g_free(d->modified_at);
	g_free(d);
}

static void
fact_contact_free(gpointer p)
{
	StoreFactContact *c = p;
	g_free(c->id);
	g_free(c->kind);
	g_free(c->name);
	g_ptr_array_unref(c->deals);
	g_free(c);
}

static void
fact_participant_free(gpointer p)
{
	StoreFactParticipant *pa = p;
	g_free(pa->role);
	g_free(pa->address);
	g_free(pa->key);
	g_free(pa->user_id);
	g_free(pa->user_kind);
	g_ptr_array_unref(pa->contacts);
	g_free(pa);
}

static void
fact_reference_free(gpointer p)
{
	StoreFactReference *r = p;
	g_free(r->message_id);
	g_ptr_array_unref(r->deals);
	g_free(r);
}

static void
fact_owner_free(gpointer p)
{
	StoreFactOwner *o = p;
	g_free(o->user_id);
	g_free(o->sharing);
	g_ptr_array_unref(o->excluded_domains);
	g_free(o);
}

StoreDecisionFacts *
store_decision_facts_new(gint64 message)
{
	StoreDecisionFacts *f = g_new0(StoreDecisionFacts, 1);
	f->message = message;
	f->sources = g_ptr_array_new_with_free_func(fact_source_free);
	f->participants = g_ptr_array_new_with_free_func(fact_participant_free);
	f->references = g_ptr_array_new_with_free_func(fact_reference_free);
	f->owners = g_ptr_array_new_with_free_func(fact_owner_free);
	return f;
}

StoreFactContact *
store_fact_contact_new(void)
{
	StoreFactContact *c = g_new0(StoreFactContact, 1);
	c->deals = g_ptr_array_new_with_free_func(fact_deal_free);
	return c;
}

void
store_decision_facts_free(StoreDecisionFacts *f)
{
	if (!f)
		return;
	g_ptr_array_unref(f->sources);
	g_ptr_array_unref(f->participants);
	g_ptr_array_unref(f->references);
	g_ptr_array_unref(f->owners);
	g_free(f);
}

StoreFactOwner *
store_fact_owner_new(void)
{
	StoreFactOwner *o = g_new0(StoreFactOwner, 1);
	o->excluded_domains = g_ptr_array_new_with_free_func(g_free);
	return o;
}

StoreFactParticipant *
store_fact_participant_new(void)
{
	StoreFactParticipant *p = g_new0(StoreFactParticipant, 1);
	p->contacts = g_ptr_array_new_with_free_func(fact_contact_free);
	return p;
}

StoreFactReference *
store_fact_reference_new(void)
{
	StoreFactReference *r = g_new0(StoreFactReference, 1);
	r->deals = g_ptr_array_new_with_free_func(g_free);
	return r;
}

void
store_link_state_free(StoreLinkState *s)
{
	if (!s)
		return;
	g_ptr_array_unref(s->links);
	g_free(s->status);
	g_free(s->trace);
	g_free(s);
}

void
store_link_free(StoreLink *l)
{
	if (!l)
		return;
	g_free(l->module);
	g_free(l->record_id);
	g_free(l->rule);
	g_free(l->visibility);
	g_free(l->contact_id);
	g_free(l->matched_address);
	g_free(l);
}

const char *
store_link_action_name(StoreLinkAction action)
{
	static const char *const names[] = { "added", "changed", "removed" };
	return names[action];
}

void
store_mailbox_free(StoreMailbox *m)
{
	if (!m)
		return;
	g_free(m->user_id);
	g_free(m->protocol);
	g_free(m->host);
	g_free(m->tls);
	g_free(m->username);
	g_free(m->auth);
	if (m->secret)
		g_bytes_unref(m->secret);
	g_free(m->folders);
	g_free(m->delete_policy);
	g_free(m->created_at);
	g_free(m->config_changed_at);
	g_free(m);
}

void
store_mailbox_sync_clear(StoreMailboxSync *s)
{
	if (!s)
		return;
	g_free(s->status);
	g_free(s->reason);
	memset(s, 0, sizeof *s);
}

gboolean
store_source_kind_parse(const char *name, StoreSourceKind *out)
{
	for (guint i = 0; i < G_N_ELEMENTS(kind_names); i++) {
		if (name && !strcmp(name, kind_names[i])) {
			*out = (StoreSourceKind)i;
			return TRUE;
		}
	}
	return FALSE;
}

const char *
store_source_kind_name(StoreSourceKind kind)
{
	g_return_val_if_fail((guint)kind < G_N_ELEMENTS(kind_names), "file");
	return kind_names[kind];
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

void
store_message_view_free(StoreMessageView *v)
{
	if (!v)
		return;
	g_free(v->message_id);
	g_free(v->date);
	g_free(v->subject);
	g_free(v->in_reply_to);
	g_free(v->body_type);
	g_free(v->warnings);
	g_free(v->fingerprint);
	g_free(v->body_text);
	for (guint i = 0; i < G_N_ELEMENTS(v->rows); i++)
		if (v->rows[i])
			g_ptr_array_unref(v->rows[i]);
	g_free(v);
}

/* ---- retention ---- */

static const char *const hold_kind_names[] = { "user", "contact", "deal", "message" };

const char *
store_hold_kind_name(StoreHoldKind kind)
{
	return (guint)kind < G_N_ELEMENTS(hold_kind_names) ? hold_kind_names[kind] : "?";
}

void
store_hold_free(StoreHold *hold)
{
	if (!hold)
		return;
	g_free(hold->kind);
	g_free(hold->target);
	g_free(hold->reason);
	g_free(hold->until);
	g_free(hold->created_at);
	g_free(hold->released_at);
	g_free(hold);
}

void
store_retention_item_free(StoreRetentionItem *item)
{
	if (!item)
		return;
	g_free(item->message_id);
	g_free(item->fingerprint);
	g_free(item->date);
	g_free(item->held_by);
	g_free(item);
}

/* ---- full-text search: the query language (docs/reports.md, "Search") ---- */

void
store_search_term_free(StoreSearchTerm *term)
{
	if (!term)
		return;
	g_free(term->text);
	g_free(term);
}

void
store_search_hit_free(StoreSearchHit *hit)
{
	if (!hit)
		return;
	g_free(hit->message_id);
	g_free(hit->date);
	g_free(hit->subject);
	g_free(hit->from);
	g_free(hit->snippet);
	g_free(hit);
}

/* Whether TEXT has a letter or digit: only those are ever indexed, and a
 * term without one ("-", "&") would match nothing at all. */
static gboolean
search_has_word(const char *text)
{
	for (const char *p = text; *p; p = g_utf8_next_char(p))
		if (g_unichar_isalnum(g_utf8_get_char(p)))
			return TRUE;
	return FALSE;
}

/* Adds TEXT (LEN bytes) as a term unless it has no word; a trailing '*'
 * (after a word, or right after a phrase's closing quote) makes it a
 * prefix. */
static void
search_term_add(GPtrArray *terms, const char *text, gsize len, gboolean prefix)
{
	g_autofree char *t = g_utf8_make_valid(text, (gssize)len);
	if (!search_has_word(t))
		return;
	StoreSearchTerm *term = g_new0(StoreSearchTerm, 1);
	term->text = g_steal_pointer(&t);
	term->prefix = prefix;
	g_ptr_array_add(terms, term);
}

/* One term starting at *P (not blank); *P moves past it. */
static gboolean
search_term_next(GPtrArray *terms, const char *query, const char **p, GError **error)
{
	const char *s = *p;
	if (*s == '"') {
		const char *end = strchr(s + 1, '"');
		if (!end) {
			g_set_error(error, STORE_ERROR, STORE_ERROR_INVALID,
				    "search query: the double quote at character %ld is never closed "
				    "(a phrase is \"two words\")",
				    g_utf8_pointer_to_offset(query, s) + 1);
			return FALSE;
		}
		gboolean prefix = end[1] == '*';
		search_term_add(terms, s + 1, (gsize)(end - s - 1), prefix);
		*p = end + 1 + prefix;
		return TRUE;
	}
	const char *e = s;
	while (*e && *e != '"' && !g_ascii_isspace(*e))
		e++;
	const char *w = e;
	while (w > s && w[-1] == '*')
		w--;
	search_term_add(terms, s, (gsize)(w - s), w < e);
	*p = e;
	return TRUE;
}

GPtrArray *
store_search_terms(const char *query, GError **error)
{
	g_autoptr(GPtrArray) terms = g_ptr_array_new_with_free_func((GDestroyNotify)store_search_term_free);
	const char *p = query ? query : "";
	while (*p) {
		if (g_ascii_isspace(*p)) {
			p++;
			continue;
		}
		if (!search_term_next(terms, query, &p, error))
			return NULL;
	}
	if (!terms->len) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_INVALID, "search query: no words to search for");
		return NULL;
	}
	return g_steal_pointer(&terms);
}
