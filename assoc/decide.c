/* The association rule (docs/association.md): participants -> contacts ->
 * deals, the thread rule for mailbox replies, visibility from the owner's
 * sharing, and the trace that lets `explain` say why afterwards.
 *
 * Every lookup here goes through an index (contact_addresses_key,
 * deal_contacts' primary key, deals' primary key, participants' primary key),
 * so the cost of a decision does not grow with the size of the CRM. */
#include "assoc/assoc.h"

#include <string.h>

#include "assoc/assoc-internal.h"

typedef struct {
	AssocLink link;
	GPtrArray *addresses; /* char*: every participant address that led here */
} Candidate;

typedef struct {
	Store *store;
	const CommonConfig *config;
	gint64 message;
	GString *trace;
	GPtrArray *candidates;	/* Candidate*, decision order */
	GHashTable *by_record;	/* "module:id" -> Candidate* (borrowed) */
	GPtrArray *owners;	/* char*: distinct owner_user_id of the sources */
	gboolean has_dropbox;	/* some source is a BCC dropbox */
	gboolean has_mailbox;	/* some source is imap/pop3 */
	GHashTable *dropboxes;	/* address keys of the dropboxes hit */
	guint n_contacts;	/* participants that matched a contact or lead */
} Eval;

static void
candidate_free(gpointer p)
{
	Candidate *c = p;
	g_free(c->link.module);
	g_free(c->link.record_id);
	g_free(c->link.rule);
	g_free(c->link.visibility);
	g_free(c->link.contact_id);
	g_free(c->link.matched_address);
	g_ptr_array_unref(c->addresses);
	g_free(c);
}

static void
link_free(gpointer p)
{
	AssocLink *l = p;
	g_free(l->module);
	g_free(l->record_id);
	g_free(l->rule);
	g_free(l->visibility);
	g_free(l->contact_id);
	g_free(l->matched_address);
	g_free(l);
}

void
assoc_decision_free(AssocDecision *d)
{
	if (!d)
		return;
	if (d->links)
		g_ptr_array_unref(d->links);
	g_free(d->trace);
	g_free(d);
}

const char *
assoc_col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* Finish a SELECT loop: SQLITE_DONE is success, anything else an error. */
gboolean
assoc_step_end(Store *store, sqlite3_stmt *st, int rc, GError **error, const char *context)
{
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, error, context);
	return TRUE;
}

gboolean
assoc_exec_stmt(Store *store, sqlite3_stmt *st, GError **error, const char *context)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_fail(store, error, context);
	return TRUE;
}

static const char *
address_domain(const char *key)
{
	const char *at = key ? strrchr(key, '@') : NULL;
	return at ? at + 1 : NULL;
}

static gboolean
is_internal(const CommonConfig *config, const char *domain)
{
	if (!domain || !config || !config->internal_domains)
		return FALSE;
	for (char **d = config->internal_domains; *d; d++)
		if (!g_ascii_strcasecmp(*d, domain))
			return TRUE;
	return FALSE;
}

/* ---- gathering ------------------------------------------------------------ */

static gboolean
eval_sources(Eval *ev, GError **error)
{
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_SOURCES,
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, ev->message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = assoc_col_text(st, 0);
		const char *owner = assoc_col_text(st, 1);
		const char *dropbox = assoc_col_text(st, 2);
		g_string_append_printf(ev->trace, "source: %s%s%s\n", kind, owner ? ", owner " : ", no owner",
				       owner ? owner : "");
		if (!strcmp(kind, "bcc_dropbox"))
			ev->has_dropbox = TRUE;
		if (!strcmp(kind, "imap") || !strcmp(kind, "pop3"))
			ev->has_mailbox = TRUE;
		if (owner && !g_ptr_array_find_with_equal_func(ev->owners, owner, g_str_equal, NULL))
			g_ptr_array_add(ev->owners, g_strdup(owner));
		if (dropbox) {
			char *key = ingest_address_key(dropbox);
			if (key)
				g_hash_table_add(ev->dropboxes, key);
		}
	}
	return assoc_step_end(ev->store, st, rc, error, "reading the message's sources");
}

/* Why KEY is never a contact, or NULL when it may be one. */
static char *
excluded_reason(Eval *ev, const char *key, GError **error)
{
	if (g_hash_table_contains(ev->dropboxes, key))
		return g_strdup("the dropbox address itself: not a participant");
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_USER_ADDRESS,
		error);
	if (!st)
		return NULL;
	store_bind_text(st, 1, key);
	char *why = NULL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		why = g_strdup_printf("CRM user %s's %s address: users are never matched as contacts",
				      assoc_col_text(st, 0), assoc_col_text(st, 1));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_fail(ev->store, error, "looking up user addresses");
		return NULL;
	}
	if (!why && is_internal(ev->config, address_domain(key)))
		why = g_strdup_printf("internal domain %s (config [assoc] internal_domains): never matched",
				      address_domain(key));
	return why;
}

static Candidate *
eval_add(Eval *ev, const char *module, const char *record_id, const char *rule, const char *contact_id,
	 const char *address)
{
	g_autofree char *k = g_strdup_printf("%s:%s", module, record_id);
	Candidate *c = g_hash_table_lookup(ev->by_record, k);
	if (c) {
		if (address && !g_ptr_array_find_with_equal_func(c->addresses, address, g_str_equal, NULL))
			g_ptr_array_add(c->addresses, g_strdup(address));
		return NULL;
	}
	c = g_new0(Candidate, 1);
	c->link.module = g_strdup(module);
	c->link.record_id = g_strdup(record_id);
	c->link.rule = g_strdup(rule);
	c->link.contact_id = g_strdup(contact_id);
	c->link.matched_address = g_strdup(address);
	c->addresses = g_ptr_array_new_with_free_func(g_free);
	if (address)
		g_ptr_array_add(c->addresses, g_strdup(address));
	g_ptr_array_add(ev->candidates, c);
	g_hash_table_insert(ev->by_record, g_steal_pointer(&k), c);
	return c;
}

/* One contact's deals, newest first; the first whose probability is not 0
 * wins. Equal modified_at: the smaller CRM id (compared as text) first. */
static gboolean
eval_contact(Eval *ev, const char *contact_id, const char *address, GError **error)
{
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_CONTACT_DEALS,
					 error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, contact_id);
	g_autofree char *winner = NULL, *winner_modified = NULL;
	guint n = 0, skipped = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = assoc_col_text(st, 0), *name = assoc_col_text(st, 1);
		const char *stage = assoc_col_text(st, 2), *modified = assoc_col_text(st, 5);
		gboolean own = sqlite3_column_type(st, 3) != SQLITE_NULL;
		gboolean staged = sqlite3_column_type(st, 4) != SQLITE_NULL;
		int prob = own ? sqlite3_column_int(st, 3) : staged ? sqlite3_column_int(st, 4) : -1;
		g_autofree char *probtext =
			prob < 0 ? g_strdup("probability unknown (no own value, no stage value)")
			: own	 ? g_strdup_printf("probability %d%% (deal's own)", prob)
				 : g_strdup_printf("probability %d%% (stage %s)", prob, stage);
		g_string_append_printf(ev->trace, "    deal %s \"%s\"%s%s, %s, modified %s: ", id, name,
				       stage ? " stage " : "", stage ? stage : "", probtext, modified);
		n++;
		if (winner) {
			if (!strcmp(modified, winner_modified))
				g_string_append_printf(ev->trace,
						       "lost: same modified_at as deal %s, tie broken by CRM id "
						       "(smaller id, compared as text, wins)\n",
						       winner);
			else
				g_string_append_printf(ev->trace, "lost: modified before deal %s\n", winner);
		} else if (prob == 0) {
			skipped++;
			g_string_append(ev->trace, "skipped: probability is 0\n");
		} else {
			winner = g_strdup(id);
			winner_modified = g_strdup(modified);
			g_string_append_printf(ev->trace, "WINS: %s\n",
					       skipped ? "most recently modified deal whose probability is not 0 "
							 "(newer deals are at 0)"
						       : "most recently modified deal, probability not 0");
		}
	}
	if (!assoc_step_end(ev->store, st, rc, error, "reading a contact's deals"))
		return FALSE;
	const char *rule = winner ? (skipped ? "deal_next_nonzero" : "deal_newest")
				  : (n ? "contact_all_deals_zero" : "contact_no_deals");
	if (!winner)
		g_string_append_printf(ev->trace, "    %s: the contact itself\n",
				       n ? "every deal has probability 0" : "no deals");
	Candidate *c = eval_add(ev, winner ? "deal" : "contact", winner ? winner : contact_id, rule, contact_id,
				address);
	if (!c)
		g_string_append_printf(ev->trace, "    => %s %s, already linked through an earlier participant: "
						  "one link\n",
				       winner ? "deal" : "contact", winner ? winner : contact_id);
	else
		g_string_append_printf(ev->trace, "    => %s %s (rule %s)\n", winner ? "deal" : "contact",
				       winner ? winner : contact_id, rule);
	return TRUE;
}

static gboolean
eval_address(Eval *ev, const char *role, const char *address, const char *key, GError **error)
{
	g_string_append_printf(ev->trace, "participant %s %s: ", role, address);
	if (!key) {
		g_string_append(ev->trace, "not a usable address\n");
		return TRUE;
	}
	g_autoptr(GError) e = NULL;
	g_autofree char *why = excluded_reason(ev, key, &e);
	if (e) {
		g_propagate_error(error, g_steal_pointer(&e));
		return FALSE;
	}
	if (why) {
		g_string_append_printf(ev->trace, "%s\n", why);
		return TRUE;
	}
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_CONTACTS_BY_ADDRESS,
					 error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, key);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) names = g_string_new(NULL);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g_ptr_array_add(ids, g_strdup(assoc_col_text(st, 0)));
		g_string_append_printf(names, "%s%s %s \"%s\"", names->len ? ", " : "", assoc_col_text(st, 1),
				       assoc_col_text(st, 0), assoc_col_text(st, 2));
	}
	if (!assoc_step_end(ev->store, st, rc, error, "looking up contact addresses"))
		return FALSE;
	if (ids->len == 0) {
		g_string_append(ev->trace, "unknown: no contact or lead has this address\n");
		return TRUE;
	}
	g_string_append_printf(ev->trace, "matches %s\n", names->str);
	ev->n_contacts++;
	for (guint i = 0; i < ids->len; i++) {
		if (ids->len > 1)
			g_string_append_printf(ev->trace, "  contact %s:\n", (char *)ids->pdata[i]);
		if (!eval_contact(ev, ids->pdata[i], key, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
eval_participants(Eval *ev, GError **error)
{
	/* From, To, Cc, then envelope recipients; Reply-To is not a participant. */
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_PARTICIPANTS,
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, ev->message);
	typedef struct {
		char *role, *address, *key;
	} Row;
	g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(Row));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Row r = { g_strdup(assoc_col_text(st, 0)), g_strdup(assoc_col_text(st, 1)),
			  g_strdup(assoc_col_text(st, 2)) };
		g_array_append_val(rows, r);
	}
	gboolean ok = assoc_step_end(ev->store, st, rc, error, "reading participants");
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; ok && i < rows->len; i++) {
		Row *r = &g_array_index(rows, Row, i);
		if (r->key && !g_hash_table_add(seen, r->key))
			continue; /* the same address in another role */
		ok = eval_address(ev, r->role, r->address, r->key, error);
	}
	for (guint i = 0; i < rows->len; i++) {
		Row *r = &g_array_index(rows, Row, i);
		g_free(r->role);
		g_free(r->address);
		g_free(r->key);
	}
	return ok;
}

/* The deals a referenced message is linked to, when it is stored. */
static gboolean
thread_parent_deals(Eval *ev, const char *ref, GPtrArray *deals, GError **error)
{
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_THREAD_DEALS,
					 error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, ref);
	sqlite3_bind_int64(st, 2, ev->message);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(deals, g_strdup(assoc_col_text(st, 0)));
	return assoc_step_end(ev->store, st, rc, error, "looking up the thread");
}

/* In-Reply-To first, then References from the newest: the nearest ancestor
 * linked to a deal decides. */
static gboolean
thread_refs(Eval *ev, GPtrArray *refs, GError **error)
{
	sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_IN_REPLY_TO, error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, ev->message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && assoc_col_text(st, 0))
		g_ptr_array_add(refs, g_strdup(assoc_col_text(st, 0)));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(ev->store, error, "reading the message");
	st = store_prepare(ev->store, ASSOC_SQL_REFERENCES,
			   error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, ev->message);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!g_ptr_array_find_with_equal_func(refs, assoc_col_text(st, 0), g_str_equal, NULL))
			g_ptr_array_add(refs, g_strdup(assoc_col_text(st, 0)));
	return assoc_step_end(ev->store, st, rc, error, "reading references");
}

static gboolean
eval_thread(Eval *ev, GError **error)
{
	if (!ev->has_mailbox && !ev->has_dropbox)
		return TRUE;
	g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func(g_free);
	if (!thread_refs(ev, refs, error))
		return FALSE;
	if (refs->len == 0)
		return TRUE;
	if (ev->has_dropbox) {
		g_string_append(ev->trace, "thread: a reply, but not followed: BCC dropbox mail always follows the "
					   "participant rule\n");
		return TRUE;
	}
	if (!ev->config || !ev->config->reply_follows_thread) {
		g_string_append(ev->trace, "thread: a reply, but not followed ([assoc] reply_follows_thread is off)\n");
		return TRUE;
	}
	for (guint i = 0; i < refs->len; i++) {
		g_autoptr(GPtrArray) deals = g_ptr_array_new_with_free_func(g_free);
		if (!thread_parent_deals(ev, refs->pdata[i], deals, error))
			return FALSE;
		if (deals->len == 0)
			continue;
		g_string_append_printf(ev->trace,
				       "thread: reply to <%s>, which is linked to deal(s) %s: the reply follows "
				       "(reply_follows_thread); the participant rule above is not used\n",
				       (char *)refs->pdata[i], (char *)deals->pdata[0]);
		g_ptr_array_set_size(ev->candidates, 0);
		g_hash_table_remove_all(ev->by_record);
		for (guint j = 0; j < deals->len; j++)
			eval_add(ev, "deal", deals->pdata[j], "thread_reply", NULL, NULL);
		return TRUE;
	}
	if (refs->len)
		g_string_append(ev->trace, "thread: no referenced message is linked to a deal\n");
	return TRUE;
}

/* ---- visibility ----------------------------------------------------------- */

static gboolean
owner_excludes(Eval *ev, const char *owner, const Candidate *c, gboolean *excluded, GError **error)
{
	*excluded = FALSE;
	for (guint i = 0; i < c->addresses->len && !*excluded; i++) {
		sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_EXCLUDED_DOMAIN, error);
		if (!st)
			return FALSE;
		store_bind_text(st, 1, owner);
		store_bind_text(st, 2, address_domain(c->addresses->pdata[i]));
		int rc = sqlite3_step(st);
		*excluded = rc == SQLITE_ROW;
		if (!assoc_step_end(ev->store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error,
				    "reading excluded domains"))
			return FALSE;
	}
	return TRUE;
}

/* Public when any owner's setting makes it public: each owner shared their
 * copy on their own terms. */
static gboolean
eval_visibility(Eval *ev, Candidate *c, GError **error)
{
	GString *t = ev->trace;
	g_string_append_printf(t, "link %s %s (rule %s): ", c->link.module, c->link.record_id, c->link.rule);
	if (ev->owners->len == 0) {
		c->link.visibility = g_strdup("public");
		g_string_append(t, "public (no source has an owner)\n");
		return TRUE;
	}
	for (guint i = 0; i < ev->owners->len; i++) {
		const char *owner = ev->owners->pdata[i];
		sqlite3_stmt *st = store_prepare(ev->store, ASSOC_SQL_USER_SHARING, error);
		if (!st)
			return FALSE;
		store_bind_text(st, 1, owner);
		int rc = sqlite3_step(st);
		g_autofree char *sharing = rc == SQLITE_ROW ? g_strdup(assoc_col_text(st, 0)) : NULL;
		if (!assoc_step_end(ev->store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading a user"))
			return FALSE;
		gboolean excluded = FALSE;
		if (sharing && !strcmp(sharing, "custom") && !owner_excludes(ev, owner, c, &excluded, error))
			return FALSE;
		if (!sharing || !strcmp(sharing, "public") || (!strcmp(sharing, "custom") && !excluded)) {
			c->link.visibility = g_strdup("public");
			g_string_append_printf(t, "public (owner %s %s)\n", owner,
					       !sharing ? "is not a CRM user: default sharing public"
					       : !strcmp(sharing, "public")
						       ? "shares publicly"
						       : "shares custom, the matched domain is not excluded");
			return TRUE;
		}
		g_string_append_printf(t, "%sowner %s %s", i ? "; " : "", owner,
				       !strcmp(sharing, "private") ? "shares privately"
								   : "shares custom and excludes the matched domain");
	}
	c->link.visibility = g_strdup("private");
	g_string_append(t, ": private\n");
	return TRUE;
}

AssocDecision *
assoc_evaluate(Store *store, const CommonConfig *config, gint64 message, GError **error)
{
	Eval ev = { .store = store, .config = config, .message = message };
	ev.trace = g_string_new(NULL);
	ev.candidates = g_ptr_array_new_with_free_func(candidate_free);
	ev.by_record = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ev.owners = g_ptr_array_new_with_free_func(g_free);
	ev.dropboxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gboolean ok = eval_sources(&ev, error) && eval_participants(&ev, error) && eval_thread(&ev, error);
	for (guint i = 0; ok && i < ev.candidates->len; i++)
		ok = eval_visibility(&ev, ev.candidates->pdata[i], error);
	AssocDecision *d = NULL;
	if (ok) {
		d = g_new0(AssocDecision, 1);
		d->message = message;
		d->links = g_ptr_array_new_with_free_func(link_free);
		for (guint i = 0; i < ev.candidates->len; i++) {
			Candidate *c = ev.candidates->pdata[i];
			AssocLink *l = g_new(AssocLink, 1);
			*l = c->link;
			memset(&c->link, 0, sizeof c->link);
			g_ptr_array_add(d->links, l);
		}
		d->unmatched = d->links->len == 0;
		if (d->unmatched)
			g_string_append(ev.trace, "result: unmatched (no participant matched a contact or lead); "
						  "re-examined when CRM data is imported\n");
		else
			g_string_append_printf(ev.trace, "result: linked (%u link%s)\n", d->links->len,
					       d->links->len == 1 ? "" : "s");
		d->trace = g_string_free(g_steal_pointer(&ev.trace), FALSE);
	}
	if (ev.trace)
		g_string_free(ev.trace, TRUE);
	g_ptr_array_unref(ev.candidates);
	g_hash_table_unref(ev.by_record);
	g_ptr_array_unref(ev.owners);
	g_hash_table_unref(ev.dropboxes);
	return d;
}

gboolean
assoc_decide(Store *store, const CommonConfig *config, gint64 message, const char *reason, AssocFiled *filed,
	     GError **error)
{
	g_autoptr(AssocDecision) d = assoc_evaluate(store, config, message, error);
	if (!d || !assoc_apply(store, d, reason, FALSE, NULL, NULL, error))
		return FALSE;
	if (filed) {
		filed->unmatched = d->unmatched;
		filed->n_links = d->links->len;
	}
	return TRUE;
}
