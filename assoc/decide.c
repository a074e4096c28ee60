/* The association rule (docs/association.md): participants -> contacts ->
 * deals, the thread rule for mailbox replies, visibility from the owner's
 * sharing, and the trace that lets `explain` say why afterwards.
 *
 * Pure: everything it needs about the message comes in a
 * StoreDecisionFacts (gathered by store/facts.c through indexes), so a rule
 * test needs no database and the cost of a decision is the store's. */
#include "assoc/assoc.h"

#include <string.h>

typedef struct {
	AssocLink link;
	GPtrArray *addresses; /* char*: every participant address that led here */
} Candidate;

typedef struct {
	const StoreDecisionFacts *facts;
	const CommonConfig *config;
	GString *trace;
	GPtrArray *candidates; /* Candidate*, decision order */
	GHashTable *by_record; /* "module:id" -> Candidate* (borrowed) */
	gboolean has_dropbox;  /* some source is a BCC dropbox */
	gboolean has_mailbox;  /* some source is imap/pop3 */
	GHashTable *dropboxes; /* address keys of the dropboxes hit */
	const char *deal_address; /* the deal a per-deal address named, or NULL */
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

static gboolean
str_in(GPtrArray *strings, const char *s)
{
	return s && g_ptr_array_find_with_equal_func(strings, s, g_str_equal, NULL);
}

/* ---- sources and participants --------------------------------------------- */

static void
eval_sources(Eval *ev)
{
	for (guint i = 0; i < ev->facts->sources->len; i++) {
		const StoreFactSource *s = ev->facts->sources->pdata[i];
		g_string_append_printf(ev->trace, "source: %s%s%s\n", s->kind,
				       s->owner_user_id ? ", owner " : ", no owner",
				       s->owner_user_id ? s->owner_user_id : "");
		if (!strcmp(s->kind, "bcc_dropbox"))
			ev->has_dropbox = TRUE;
		if (!strcmp(s->kind, "imap") || !strcmp(s->kind, "pop3"))
			ev->has_mailbox = TRUE;
		char *key = s->dropbox ? ingest_address_key(s->dropbox) : NULL;
		if (key)
			g_hash_table_add(ev->dropboxes, key);
		if (s->deal_id && !ev->deal_address)
			ev->deal_address = s->deal_id;
	}
}

/* Why P is never a contact, or NULL when it may be one. */
static char *
excluded_reason(Eval *ev, const StoreFactParticipant *p)
{
	if (g_hash_table_contains(ev->dropboxes, p->key))
		return g_strdup("the dropbox address itself: not a participant");
	if (p->user_id)
		return g_strdup_printf("CRM user %s's %s address: users are never matched as contacts", p->user_id,
				       p->user_kind);
	if (is_internal(ev->config, address_domain(p->key)))
		return g_strdup_printf("internal domain %s (config [assoc] internal_domains): never matched",
				       address_domain(p->key));
	return NULL;
}

static Candidate *
eval_add(Eval *ev, const char *module, const char *record_id, const char *rule, const char *contact_id,
	 const char *address)
{
	g_autofree char *k = g_strdup_printf("%s:%s", module, record_id);
	Candidate *c = g_hash_table_lookup(ev->by_record, k);
	if (c) {
		if (address && !str_in(c->addresses, address))
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

/* The deal's probability: its own, else its stage's, else -1 (unknown). */
static int
deal_probability(const StoreFactDeal *d, char **text)
{
	if (d->has_probability) {
		*text = g_strdup_printf("probability %d%% (deal's own)", d->probability);
		return d->probability;
	}
	if (d->has_stage_probability) {
		*text = g_strdup_printf("probability %d%% (stage %s)", d->stage_probability, d->stage);
		return d->stage_probability;
	}
	*text = g_strdup("probability unknown (no own value, no stage value)");
	return -1;
}

/* One deal's line of the trace; *WINNER is set when it wins. */
static void
eval_deal(Eval *ev, const StoreFactDeal *d, const StoreFactDeal **winner, guint *skipped)
{
	g_autofree char *probtext = NULL;
	int prob = deal_probability(d, &probtext);
	g_string_append_printf(ev->trace, "    deal %s \"%s\"%s%s, %s, modified %s: ", d->id, d->name,
			       d->stage ? " stage " : "", d->stage ? d->stage : "", probtext, d->modified_at);
	if (*winner && !strcmp(d->modified_at, (*winner)->modified_at)) {
		g_string_append_printf(ev->trace,
				       "lost: same modified_at as deal %s, tie broken by CRM id "
				       "(smaller id, compared as text, wins)\n",
				       (*winner)->id);
	} else if (*winner) {
		g_string_append_printf(ev->trace, "lost: modified before deal %s\n", (*winner)->id);
	} else if (prob == 0) {
		(*skipped)++;
		g_string_append(ev->trace, "skipped: probability is 0\n");
	} else {
		*winner = d;
		g_string_append_printf(ev->trace, "WINS: %s\n",
				       *skipped ? "most recently modified deal whose probability is not 0 "
						  "(newer deals are at 0)"
						: "most recently modified deal, probability not 0");
	}
}

/* One contact's deals, newest first; the first whose probability is not 0
 * wins. Equal modified_at: the smaller CRM id (compared as text) first. */
static void
eval_contact(Eval *ev, const StoreFactContact *contact, const char *address)
{
	const StoreFactDeal *winner = NULL;
	guint n = contact->deals->len, skipped = 0;
	for (guint i = 0; i < n; i++)
		eval_deal(ev, contact->deals->pdata[i], &winner, &skipped);
	const char *rule = winner ? (skipped ? "deal_next_nonzero" : "deal_newest")
				  : (n ? "contact_all_deals_zero" : "contact_no_deals");
	const char *module = winner ? "deal" : "contact";
	const char *id = winner ? winner->id : contact->id;
	if (!winner)
		g_string_append_printf(ev->trace, "    %s: the contact itself\n",
				       n ? "every deal has probability 0" : "no deals");
	if (!eval_add(ev, module, id, rule, contact->id, address))
		g_string_append_printf(ev->trace, "    => %s %s, already linked through an earlier participant: "
						  "one link\n",
				       module, id);
	else
		g_string_append_printf(ev->trace, "    => %s %s (rule %s)\n", module, id, rule);
}

static void
eval_matches(Eval *ev, const StoreFactParticipant *p)
{
	g_autoptr(GString) names = g_string_new(NULL);
	for (guint i = 0; i < p->contacts->len; i++) {
		const StoreFactContact *c = p->contacts->pdata[i];
		g_string_append_printf(names, "%s%s %s \"%s\"", names->len ? ", " : "", c->kind, c->id, c->name);
	}
	g_string_append_printf(ev->trace, "matches %s\n", names->str);
	for (guint i = 0; i < p->contacts->len; i++) {
		const StoreFactContact *c = p->contacts->pdata[i];
		if (p->contacts->len > 1)
			g_string_append_printf(ev->trace, "  contact %s:\n", c->id);
		eval_contact(ev, c, p->key);
	}
}

static void
eval_participant(Eval *ev, const StoreFactParticipant *p)
{
	g_string_append_printf(ev->trace, "participant %s %s: ", p->role, p->address);
	if (!p->key) {
		g_string_append(ev->trace, "not a usable address\n");
		return;
	}
	g_autofree char *why = excluded_reason(ev, p);
	if (why)
		g_string_append_printf(ev->trace, "%s\n", why);
	else if (p->contacts->len == 0)
		g_string_append(ev->trace, "unknown: no contact or lead has this address\n");
	else
		eval_matches(ev, p);
}

static void
eval_participants(Eval *ev)
{
	/* From, To, Cc, then envelope recipients; Reply-To is not a participant. */
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < ev->facts->participants->len; i++) {
		const StoreFactParticipant *p = ev->facts->participants->pdata[i];
		if (p->key && !g_hash_table_add(seen, p->key))
			continue; /* the same address in another role */
		eval_participant(ev, p);
	}
}

/* ---- thread --------------------------------------------------------------- */

/* Whether the thread rule may replace the participant rule; says why not. */
static gboolean
thread_applies(Eval *ev)
{
	if (!ev->has_mailbox && !ev->has_dropbox)
		return FALSE;
	if (ev->facts->references->len == 0)
		return FALSE;
	if (ev->has_dropbox) {
		g_string_append(ev->trace, "thread: a reply, but not followed: BCC dropbox mail always follows the "
					   "participant rule\n");
		return FALSE;
	}
	if (!ev->config || !ev->config->reply_follows_thread) {
		g_string_append(ev->trace, "thread: a reply, but not followed ([assoc] reply_follows_thread is off)\n");
		return FALSE;
	}
	return TRUE;
}

/* In-Reply-To first, then References from the newest: the nearest ancestor
 * linked to a deal decides. */
static void
eval_thread(Eval *ev)
{
	if (!thread_applies(ev))
		return;
	GPtrArray *refs = ev->facts->references;
	for (guint i = 0; i < refs->len; i++) {
		const StoreFactReference *r = refs->pdata[i];
		if (r->deals->len == 0)
			continue;
		g_string_append_printf(ev->trace,
				       "thread: reply to <%s>, which is linked to deal(s) %s: the reply follows "
				       "(reply_follows_thread); the participant rule above is not used\n",
				       r->message_id, (char *)r->deals->pdata[0]);
		g_ptr_array_set_size(ev->candidates, 0);
		g_hash_table_remove_all(ev->by_record);
		for (guint j = 0; j < r->deals->len; j++)
			eval_add(ev, "deal", r->deals->pdata[j], "thread_reply", NULL, NULL);
		return;
	}
	g_string_append(ev->trace, "thread: no referenced message is linked to a deal\n");
}

/* ---- per-deal address ------------------------------------------------------ */

static void
eval_drop_deals(Eval *ev)
{
	for (guint i = ev->candidates->len; i-- > 0;) {
		Candidate *c = ev->candidates->pdata[i];
		if (strcmp(c->link.module, "deal") != 0)
			continue;
		g_autofree char *k = g_strdup_printf("deal:%s", c->link.record_id);
		g_hash_table_remove(ev->by_record, k);
		g_ptr_array_remove_index(ev->candidates, i);
	}
}

/* The sender chose the deal by its address: it is the message's one deal,
 * whatever its probability. Contact links the participants found stay
 * (the mail still concerns those people); the deals they would have picked
 * give way. */
static void
eval_deal_address(Eval *ev)
{
	if (!ev->deal_address)
		return;
	g_string_append_printf(ev->trace,
			       "deal address: the sender chose deal %s by its per-deal address: linked whatever "
			       "its probability; deals found through participants give way, contact links stay\n",
			       ev->deal_address);
	eval_drop_deals(ev);
	eval_add(ev, "deal", ev->deal_address, "deal_address", NULL, NULL);
}

/* ---- visibility ----------------------------------------------------------- */

static gboolean
owner_excludes(const StoreFactOwner *owner, const Candidate *c)
{
	for (guint i = 0; i < c->addresses->len; i++)
		if (str_in(owner->excluded_domains, address_domain(c->addresses->pdata[i])))
			return TRUE;
	return FALSE;
}

/* Whether OWNER's setting makes C public; the trace says why. */
static gboolean
owner_shares(Eval *ev, const StoreFactOwner *owner, const Candidate *c, gboolean first)
{
	const char *sharing = owner->sharing;
	gboolean custom = sharing && !strcmp(sharing, "custom");
	if (!sharing || !strcmp(sharing, "public") || (custom && !owner_excludes(owner, c))) {
		g_string_append_printf(ev->trace, "public (owner %s %s)\n", owner->user_id,
				       !sharing ? "is not a CRM user: default sharing public"
				       : !custom ? "shares publicly"
						 : "shares custom, the matched domain is not excluded");
		return TRUE;
	}
	g_string_append_printf(ev->trace, "%sowner %s %s", first ? "" : "; ", owner->user_id,
			       !strcmp(sharing, "private") ? "shares privately"
							   : "shares custom and excludes the matched domain");
	return FALSE;
}

/* Public when any owner's setting makes it public: each owner shared their
 * copy on their own terms. */
static void
eval_visibility(Eval *ev, Candidate *c)
{
	GPtrArray *owners = ev->facts->owners;
	g_string_append_printf(ev->trace, "link %s %s (rule %s): ", c->link.module, c->link.record_id,
			       c->link.rule);
	if (owners->len == 0) {
		c->link.visibility = g_strdup("public");
		g_string_append(ev->trace, "public (no source has an owner)\n");
		return;
	}
	for (guint i = 0; i < owners->len; i++) {
		if (owner_shares(ev, owners->pdata[i], c, i == 0)) {
			c->link.visibility = g_strdup("public");
			return;
		}
	}
	c->link.visibility = g_strdup("private");
	g_string_append(ev->trace, ": private\n");
}

/* ---- the decision --------------------------------------------------------- */

static AssocDecision *
eval_result(Eval *ev)
{
	AssocDecision *d = g_new0(AssocDecision, 1);
	d->message = ev->facts->message;
	d->links = g_ptr_array_new_with_free_func((GDestroyNotify)store_link_free);
	for (guint i = 0; i < ev->candidates->len; i++) {
		Candidate *c = ev->candidates->pdata[i];
		AssocLink *l = g_new(AssocLink, 1);
		*l = c->link;
		memset(&c->link, 0, sizeof c->link);
		g_ptr_array_add(d->links, l);
	}
	d->unmatched = d->links->len == 0;
	if (d->unmatched)
		g_string_append(ev->trace, "result: unmatched (no participant matched a contact or lead); "
					   "re-examined when CRM data is imported\n");
	else
		g_string_append_printf(ev->trace, "result: linked (%u link%s)\n", d->links->len,
				       d->links->len == 1 ? "" : "s");
	d->trace = g_string_free(g_steal_pointer(&ev->trace), FALSE);
	return d;
}

AssocDecision *
assoc_evaluate(const StoreDecisionFacts *facts, const CommonConfig *config)
{
	Eval ev = { .facts = facts, .config = config };
	ev.trace = g_string_new(NULL);
	ev.candidates = g_ptr_array_new_with_free_func(candidate_free);
	ev.by_record = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ev.dropboxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	eval_sources(&ev);
	eval_participants(&ev);
	eval_thread(&ev);
	eval_deal_address(&ev);
	for (guint i = 0; i < ev.candidates->len; i++)
		eval_visibility(&ev, ev.candidates->pdata[i]);
	AssocDecision *d = eval_result(&ev);
	g_ptr_array_unref(ev.candidates);
	g_hash_table_unref(ev.by_record);
	g_hash_table_unref(ev.dropboxes);
	return d;
}
