/* The association rule, branch by branch: first on facts built by hand (no
 * database: assoc_evaluate and assoc_apply are pure), then end to end with
 * a real SQLite file, CRM data imported from CSV, messages written here and
 * filed through capture_file with the real parser. Each scenario checks the
 * links and what the trace says. */
#include <string.h>

#include "assoc/assoc.h"
#include "capture/capture.h"
#include "store/sqlite/sqlite.h"
#include "tests/unit/testutil.h"

typedef struct {
	Store *store;
	CommonConfig *config;
	char *dir;
} Fixture;

static const char users_csv[] =
	"id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at\n"
	"u1,alice@ourco.com,Alice,alice-drop@bcc.example,alice@oldco.example,public,,2026-01-01\n"
	"u2,bob@sales.example,Bob,bob-drop@bcc.example,,private,,\n"
	"u3,carol@sales.example,Carol,carol-drop@bcc.example,,custom,secret.example,\n";
static const char stages_csv[] = "name,probability\nLost,0\nQualified,20\nWon,100\n";
static const char contacts_csv[] =
	"id,kind,name,emails,owner\n"
	"c1,contact,Zero Newest,zn@client.example,u1\n"
	"c2,contact,Several,sev@client.example,u1\n"
	"c3,contact,All Zero,az@client.example,u1\n"
	"c4,contact,No Deals,nd@client.example,\n"
	"c5,contact,Share A,sa@client.example,u1\n"
	"c6,contact,Share B,sb@client.example,u1\n"
	"c7,lead,A Lead,lead@prospect.example,u1\n"
	"c8,contact,Two Addr,\"Two.Addr@Client.example; second@other.example\",u1\n"
	"c9,contact,Tie,tie@client.example,u1\n"
	"c10,contact,Secret,sec@secret.example,u3\n";
static const char deals_csv[] =
	"id,name,stage,probability,modified_at,contacts\n"
	"d1,Newest Zero,Lost,,2026-03-10T00:00:00Z,c1\n"
	"d2,Older Live,,50,2026-03-01T00:00:00Z,c1\n"
	"d3,Newer 30,,30,2026-03-05T00:00:00Z,c2\n"
	"d4,Older 60,,60,2026-03-01T00:00:00Z,c2\n"
	"d5,Zero A,Lost,,2026-03-05T00:00:00Z,c3\n"
	"d6,Zero B,Won,0,2026-03-01T00:00:00Z,c3\n"
	"d7,Shared,Qualified,,2026-03-01T00:00:00Z,c5;c6\n"
	"d8,Two Addr Deal,Qualified,,2026-03-01T00:00:00Z,c8\n"
	"d9,Tie Nine,,40,2026-03-01T00:00:00Z,c9\n"
	"d10,Tie Ten,,40,2026-03-01T00:00:00Z,c9\n";

static char *
write_file(Fixture *f, const char *name, const char *text)
{
	char *path = g_build_filename(f->dir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void
import_text(Fixture *f, AssocImportKind kind, const char *name, const char *text, AssocImportResult *r)
{
	g_autofree char *path = write_file(f, name, text);
	g_autoptr(GError) error = NULL;
	AssocImportResult local = { 0 };
	gboolean ok = assoc_import(f->store, kind, path, NULL, NULL, r ? r : &local, &error);
	g_assert_no_error(error);
	g_assert_true(ok);
	assoc_import_result_clear(&local);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	static int n;
	f->dir = g_strdup_printf("%s/t%d", testutil_tmpdir(), n++);
	g_assert_cmpint(g_mkdir_with_parents(f->dir, 0700), ==, 0);
	g_autofree char *db = g_build_filename(f->dir, "bccdrop.db", NULL);
	g_autoptr(GError) error = NULL;
	StoreOptions o = STORE_OPTIONS_DEFAULT;
	o.synchronous_full = FALSE;
	f->store = store_open(db, &o, &error);
	g_assert_no_error(error);
	f->config = common_config_defaults();
	g_strfreev(f->config->internal_domains);
	f->config->internal_domains = g_strsplit("ourco.com", ",", -1);
	import_text(f, ASSOC_IMPORT_USERS, "users.csv", users_csv, NULL);
	import_text(f, ASSOC_IMPORT_STAGES, "stages.csv", stages_csv, NULL);
	import_text(f, ASSOC_IMPORT_CONTACTS, "contacts.csv", contacts_csv, NULL);
	import_text(f, ASSOC_IMPORT_DEALS, "deals.csv", deals_csv, NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	store_close(f->store);
	common_config_free(f->config);
	g_free(f->dir);
}

typedef struct {
	const char *kind;    /* bcc_dropbox, imap, pop3, file */
	const char *owner;   /* owner_user_id or NULL */
	const char *from, *to, *cc;
	const char *rcpts;   /* envelope recipients, comma-separated, or NULL */
	const char *in_reply_to;
} Mail;

static void
file_mail_filed(Fixture *f, const char *message_id, const Mail *m, CaptureFiled *filed)
{
	g_autofree char *raw = g_strdup_printf("From: %s\r\nTo: %s\r\n%s%s%sSubject: test %s\r\n"
					       "Message-ID: <%s>\r\n%s%s%sDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
					       "\r\nbody of %s\r\n",
					       m->from, m->to, m->cc ? "Cc: " : "", m->cc ? m->cc : "",
					       m->cc ? "\r\n" : "", message_id, message_id,
					       m->in_reply_to ? "In-Reply-To: <" : "", m->in_reply_to ? m->in_reply_to : "",
					       m->in_reply_to ? ">\r\n" : "", message_id);
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	g_auto(GStrv) rcpts = m->rcpts ? g_strsplit(m->rcpts, ",", -1) : NULL;
	StoreSource s = { 0 };
	g_assert_true(store_source_kind_parse(m->kind, &s.kind));
	s.received_at = 1772445600;
	s.owner_user_id = m->owner;
	s.envelope_rcpts = (const char *const *)rcpts;
	if (s.kind == STORE_SOURCE_BCC_DROPBOX) {
		s.envelope_from = m->from;
		s.dropbox = rcpts ? rcpts[0] : NULL;
	} else if (s.kind == STORE_SOURCE_IMAP || s.kind == STORE_SOURCE_POP3) {
		s.mailbox_id = 1;
		s.folder = s.kind == STORE_SOURCE_IMAP ? "INBOX" : NULL;
		s.uidvalidity = 1;
		s.uid = g_str_hash(message_id) & 0xffff;
		s.uidl = s.kind == STORE_SOURCE_POP3 ? message_id : NULL;
	} else {
		s.file_name = "test.eml";
	}
	g_autoptr(GError) error = NULL;
	gboolean ok = capture_file(f->store, f->config, &in, &s, filed, &error);
	g_assert_no_error(error);
	g_assert_true(ok);
}

static gint64
file_mail(Fixture *f, const char *message_id, const Mail *m)
{
	CaptureFiled filed = { 0 };
	file_mail_filed(f, message_id, m, &filed);
	g_assert_true(filed.new_message);
	gint64 id = filed.message;
	capture_filed_clear(&filed);
	return id;
}

/* The links as "module:id:rule:visibility" joined by spaces, sorted. */
static char *
links_of(Fixture *f, gint64 message)
{
	g_autoptr(GError) error = NULL;
	sqlite3_stmt *st = sq_prepare(f->store,
					 "SELECT module || ':' || record_id || ':' || rule || ':' || visibility "
					 "FROM links WHERE message = ? ORDER BY 1",
					 &error);
	g_assert_no_error(error);
	sqlite3_bind_int64(st, 1, message);
	g_autoptr(GString) out = g_string_new(NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		g_string_append_printf(out, "%s%s", out->len ? " " : "", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *
stored_trace(Fixture *f, gint64 message, char **status)
{
	g_autoptr(GError) error = NULL;
	sqlite3_stmt *st = sq_prepare(f->store, "SELECT status, trace FROM decisions WHERE message = ?", &error);
	g_assert_no_error(error);
	sqlite3_bind_int64(st, 1, message);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	if (status)
		*status = g_strdup((const char *)sqlite3_column_text(st, 0));
	char *trace = g_strdup((const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return trace;
}

/* ---- the rule on hand-built facts: no database ------------------------------ */

static StoreFactSource *
fact_source(StoreDecisionFacts *f, const char *kind, const char *owner, const char *dropbox)
{
	StoreFactSource *s = g_new0(StoreFactSource, 1);
	s->kind = g_strdup(kind);
	s->owner_user_id = g_strdup(owner);
	s->dropbox = g_strdup(dropbox);
	g_ptr_array_add(f->sources, s);
	return s;
}

static StoreFactParticipant *
fact_participant(StoreDecisionFacts *f, const char *role, const char *address)
{
	StoreFactParticipant *p = store_fact_participant_new();
	p->role = g_strdup(role);
	p->position = f->participants->len;
	p->address = g_strdup(address);
	p->key = ingest_address_key(address);
	g_ptr_array_add(f->participants, p);
	return p;
}

static StoreFactContact *
fact_contact(StoreFactParticipant *p, const char *id, const char *kind, const char *name)
{
	StoreFactContact *c = store_fact_contact_new();
	c->id = g_strdup(id);
	c->kind = g_strdup(kind);
	c->name = g_strdup(name);
	g_ptr_array_add(p->contacts, c);
	return c;
}

/* OWN, STAGE_P: a probability, or -1 for NULL. Deals go newest first. */
static void
fact_deal(StoreFactContact *c, const char *id, const char *stage, int own, int stage_p, const char *modified)
{
	StoreFactDeal *d = g_new0(StoreFactDeal, 1);
	d->id = g_strdup(id);
	d->name = g_strdup_printf("Deal %s", id);
	d->stage = g_strdup(stage);
	d->has_probability = own >= 0;
	d->probability = own >= 0 ? own : 0;
	d->has_stage_probability = stage_p >= 0;
	d->stage_probability = stage_p >= 0 ? stage_p : 0;
	d->modified_at = g_strdup(modified);
	g_ptr_array_add(c->deals, d);
}

/* DEALS: comma-separated deal ids the referenced message links to, or "". */
static void
fact_reference(StoreDecisionFacts *f, const char *message_id, const char *deals)
{
	StoreFactReference *r = store_fact_reference_new();
	r->message_id = g_strdup(message_id);
	g_auto(GStrv) ids = g_strsplit(deals, ",", -1);
	for (guint i = 0; ids[i]; i++)
		if (*ids[i])
			g_ptr_array_add(r->deals, g_strdup(ids[i]));
	g_ptr_array_add(f->references, r);
}

static void
fact_owner(StoreDecisionFacts *f, const char *user_id, const char *sharing, const char *excluded)
{
	StoreFactOwner *o = store_fact_owner_new();
	o->user_id = g_strdup(user_id);
	o->sharing = g_strdup(sharing);
	g_auto(GStrv) domains = g_strsplit(excluded ? excluded : "", ",", -1);
	for (guint i = 0; domains[i]; i++)
		if (*domains[i])
			g_ptr_array_add(o->excluded_domains, g_strdup(domains[i]));
	g_ptr_array_add(f->owners, o);
}

/* A dropbox capture by u1 (sharing public) with From alice@ourco.com. */
static StoreDecisionFacts *
dropbox_facts(void)
{
	StoreDecisionFacts *f = store_decision_facts_new(7);
	fact_source(f, "bcc_dropbox", "u1", "Alice-Drop@BCC.example");
	StoreFactParticipant *from = fact_participant(f, "from", "alice@ourco.com");
	from->user_id = g_strdup("u1");
	from->user_kind = g_strdup("email");
	fact_owner(f, "u1", "public", NULL);
	return f;
}

static CommonConfig *
rule_config(void)
{
	CommonConfig *c = common_config_defaults();
	g_strfreev(c->internal_domains);
	c->internal_domains = g_strsplit("ourco.com", ",", -1);
	return c;
}

/* The links as "module:id:rule:visibility" in decision order. */
static char *
decision_links(const AssocDecision *d)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < d->links->len; i++) {
		const AssocLink *l = d->links->pdata[i];
		g_string_append_printf(out, "%s%s:%s:%s:%s", i ? " " : "", l->module, l->record_id, l->rule,
				       l->visibility);
	}
	return g_string_free(out, FALSE);
}

static void
check_rule(const StoreDecisionFacts *f, const CommonConfig *config, const char *links, const char *trace_has)
{
	g_autoptr(AssocDecision) d = assoc_evaluate(f, config);
	g_autofree char *got = decision_links(d);
	if (strcmp(got, links) || !strstr(d->trace, trace_has))
		g_test_message("trace:\n%s", d->trace);
	g_assert_cmpstr(got, ==, links);
	g_assert_cmpint(d->unmatched, ==, *links == '\0');
	g_assert_cmpint(d->message, ==, f->message);
	g_assert_nonnull(strstr(d->trace, trace_has));
}

/* The whole trace, byte for byte: `explain` shows stored traces, so a new
 * build must word an unchanged decision exactly as before. */
static void
test_rule_trace_text(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	g_autoptr(StoreDecisionFacts) f = dropbox_facts();
	StoreFactContact *c = fact_contact(fact_participant(f, "to", "Zn@Client.example"), "c1", "contact", "Zero");
	fact_deal(c, "d1", "Lost", -1, 0, "2026-03-10T00:00:00Z");
	fact_deal(c, "d2", NULL, 50, -1, "2026-03-01T00:00:00Z");
	fact_deal(c, "d3", NULL, -1, -1, "2026-03-01T00:00:00Z");
	fact_participant(f, "cc", "not an address");
	fact_participant(f, "envelope_rcpt", "alice-drop@bcc.example");
	g_autoptr(AssocDecision) d = assoc_evaluate(f, config);
	g_assert_cmpstr(d->trace, ==,
			"source: bcc_dropbox, owner u1\n"
			"participant from alice@ourco.com: CRM user u1's email address: users are never matched as "
			"contacts\n"
			"participant to Zn@Client.example: matches contact c1 \"Zero\"\n"
			"    deal d1 \"Deal d1\" stage Lost, probability 0% (stage Lost), modified "
			"2026-03-10T00:00:00Z: skipped: probability is 0\n"
			"    deal d2 \"Deal d2\", probability 50% (deal's own), modified 2026-03-01T00:00:00Z: WINS: "
			"most recently modified deal whose probability is not 0 (newer deals are at 0)\n"
			"    deal d3 \"Deal d3\", probability unknown (no own value, no stage value), modified "
			"2026-03-01T00:00:00Z: lost: same modified_at as deal d2, tie broken by CRM id (smaller id, "
			"compared as text, wins)\n"
			"    => deal d2 (rule deal_next_nonzero)\n"
			"participant cc not an address: not a usable address\n"
			"participant envelope_rcpt alice-drop@bcc.example: the dropbox address itself: not a "
			"participant\n"
			"link deal d2 (rule deal_next_nonzero): public (owner u1 shares publicly)\n"
			"result: linked (1 link)\n");
	g_assert_cmpstr(((AssocLink *)d->links->pdata[0])->contact_id, ==, "c1");
	g_assert_cmpstr(((AssocLink *)d->links->pdata[0])->matched_address, ==, "zn@client.example");
}

static void
test_rule_deals(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	/* Newest non-zero wins; an older one loses. */
	g_autoptr(StoreDecisionFacts) newest = dropbox_facts();
	StoreFactContact *c = fact_contact(fact_participant(newest, "to", "a@client.example"), "c1", "contact", "A");
	fact_deal(c, "d1", NULL, 30, -1, "2026-03-05T00:00:00Z");
	fact_deal(c, "d2", NULL, 60, -1, "2026-03-01T00:00:00Z");
	check_rule(newest, config, "deal:d1:deal_newest:public", "lost: modified before deal d1");
	/* The newest at 0 (own value over its stage's): the next non-zero. */
	g_autoptr(StoreDecisionFacts) next = dropbox_facts();
	c = fact_contact(fact_participant(next, "to", "a@client.example"), "c1", "contact", "A");
	fact_deal(c, "d1", "Won", 0, 100, "2026-03-05T00:00:00Z");
	fact_deal(c, "d2", "Qualified", -1, 20, "2026-03-01T00:00:00Z");
	check_rule(next, config, "deal:d2:deal_next_nonzero:public", "probability 0% (deal's own)");
	/* Every deal at 0: the contact. */
	g_autoptr(StoreDecisionFacts) zero = dropbox_facts();
	c = fact_contact(fact_participant(zero, "to", "a@client.example"), "c1", "contact", "A");
	fact_deal(c, "d1", "Lost", -1, 0, "2026-03-05T00:00:00Z");
	fact_deal(c, "d2", NULL, 0, -1, "2026-03-01T00:00:00Z");
	check_rule(zero, config, "contact:c1:contact_all_deals_zero:public", "every deal has probability 0");
	/* No deals: the contact (a lead here). */
	g_autoptr(StoreDecisionFacts) none = dropbox_facts();
	fact_contact(fact_participant(none, "to", "l@prospect.example"), "c7", "lead", "L");
	check_rule(none, config, "contact:c7:contact_no_deals:public", "matches lead c7 \"L\"");
}

/* A per-deal address: that deal, whatever its probability; the deals the
 * participants lead to give way, their contact links stay. */
static void
test_rule_deal_address(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	g_autoptr(StoreDecisionFacts) f = dropbox_facts();
	((StoreFactSource *)f->sources->pdata[0])->deal_id = g_strdup("d9");
	StoreFactContact *c = fact_contact(fact_participant(f, "to", "a@client.example"), "c1", "contact", "A");
	fact_deal(c, "d1", NULL, 30, -1, "2026-03-05T00:00:00Z");
	fact_contact(fact_participant(f, "cc", "l@prospect.example"), "c7", "lead", "L");
	check_rule(f, config, "contact:c7:contact_no_deals:public deal:d9:deal_address:public",
		   "deal address: the sender chose deal d9 by its per-deal address");
	/* No participant matches at all: still linked. */
	g_autoptr(StoreDecisionFacts) alone = dropbox_facts();
	((StoreFactSource *)alone->sources->pdata[0])->deal_id = g_strdup("d9");
	check_rule(alone, config, "deal:d9:deal_address:public", "whatever its probability");
}

static void
test_rule_contacts(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	/* One address, two contacts: each contact's own outcome, in id order. */
	g_autoptr(StoreDecisionFacts) two = dropbox_facts();
	StoreFactParticipant *p = fact_participant(two, "to", "team@client.example");
	fact_deal(fact_contact(p, "c1", "contact", "One"), "d1", NULL, 40, -1, "2026-03-01T00:00:00Z");
	fact_contact(p, "c2", "lead", "Two");
	check_rule(two, config, "deal:d1:deal_newest:public contact:c2:contact_no_deals:public",
		   "matches contact c1 \"One\", lead c2 \"Two\"\n  contact c1:\n");
	/* Two participants whose contacts share a deal: one link. */
	g_autoptr(StoreDecisionFacts) shared = dropbox_facts();
	StoreFactContact *a = fact_contact(fact_participant(shared, "to", "a@client.example"), "c5", "contact", "A");
	StoreFactContact *b = fact_contact(fact_participant(shared, "cc", "b@client.example"), "c6", "contact", "B");
	fact_deal(a, "d7", "Qualified", -1, 20, "2026-03-01T00:00:00Z");
	fact_deal(b, "d7", "Qualified", -1, 20, "2026-03-01T00:00:00Z");
	check_rule(shared, config, "deal:d7:deal_newest:public", "already linked through an earlier participant");
	/* The same address in To and Cc is looked at once. */
	g_autoptr(StoreDecisionFacts) dup = dropbox_facts();
	fact_contact(fact_participant(dup, "to", "a@client.example"), "c1", "contact", "A");
	fact_contact(fact_participant(dup, "cc", "A@Client.example"), "c1", "contact", "A");
	g_autoptr(AssocDecision) d = assoc_evaluate(dup, config);
	g_assert_null(strstr(d->trace, "participant cc"));
}

static void
test_rule_excluded(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	/* A CRM user's alias never matches, even when a contact has it. */
	g_autoptr(StoreDecisionFacts) user = dropbox_facts();
	StoreFactParticipant *p = fact_participant(user, "to", "alice@oldco.example");
	p->user_id = g_strdup("u1");
	p->user_kind = g_strdup("alias");
	fact_contact(p, "c1", "contact", "Also a contact");
	check_rule(user, config, "", "CRM user u1's alias address: users are never matched as contacts");
	/* An internal domain (compared without case) never matches. */
	g_autoptr(StoreDecisionFacts) internal = dropbox_facts();
	fact_contact(fact_participant(internal, "to", "someone@OurCo.com"), "c1", "contact", "Inside");
	check_rule(internal, config, "", "internal domain ourco.com (config [assoc] internal_domains): never matched");
	/* The dropbox address hit is not a participant. */
	g_autoptr(StoreDecisionFacts) drop = dropbox_facts();
	fact_contact(fact_participant(drop, "envelope_rcpt", "alice-drop@bcc.example"), "c1", "contact", "Drop");
	check_rule(drop, config, "", "the dropbox address itself: not a participant");
	/* Nobody known. */
	g_autoptr(StoreDecisionFacts) unknown = dropbox_facts();
	fact_participant(unknown, "to", "stranger@nowhere.example");
	check_rule(unknown, config, "", "unknown: no contact or lead has this address\nresult: unmatched");
}

/* A mailbox reply to two references: the first is linked to no deal, the
 * second (an older ancestor) to d5 and d6; the participant rule says c3. */
static StoreDecisionFacts *
reply_facts(const char *kind)
{
	StoreDecisionFacts *f = store_decision_facts_new(9);
	fact_source(f, kind, "u1", NULL);
	fact_owner(f, "u1", "public", NULL);
	fact_contact(fact_participant(f, "from", "az@client.example"), "c3", "contact", "AZ");
	fact_reference(f, "parent@test", "");
	fact_reference(f, "grandparent@test", "d5,d6");
	return f;
}

static void
test_rule_thread(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	config->reply_follows_thread = TRUE;
	g_autoptr(StoreDecisionFacts) imap = reply_facts("imap");
	check_rule(imap, config, "deal:d5:thread_reply:public deal:d6:thread_reply:public",
		   "thread: reply to <grandparent@test>, which is linked to deal(s) d5: the reply follows");
	g_autoptr(StoreDecisionFacts) drop = reply_facts("bcc_dropbox");
	check_rule(drop, config, "contact:c3:contact_no_deals:public",
		   "BCC dropbox mail always follows the participant rule");
	g_autoptr(StoreDecisionFacts) unlinked = reply_facts("pop3");
	g_ptr_array_set_size(unlinked->references, 1);
	check_rule(unlinked, config, "contact:c3:contact_no_deals:public",
		   "thread: no referenced message is linked to a deal");
	g_autoptr(StoreDecisionFacts) file = reply_facts("file");
	g_autoptr(AssocDecision) d = assoc_evaluate(file, config);
	g_assert_null(strstr(d->trace, "thread:"));
	config->reply_follows_thread = FALSE;
	check_rule(imap, config, "contact:c3:contact_no_deals:public",
		   "not followed ([assoc] reply_follows_thread is off)");
}

/* One contact at sec@secret.example, captured by OWNERS ("id:sharing[:excluded]"). */
static void
check_visibility(const char *const *owners, const char *visibility, const char *trace_has)
{
	g_autoptr(CommonConfig) config = rule_config();
	g_autoptr(StoreDecisionFacts) f = store_decision_facts_new(3);
	for (guint i = 0; owners[i]; i++) {
		g_auto(GStrv) o = g_strsplit(owners[i], ":", 3);
		fact_source(f, "bcc_dropbox", o[0], NULL);
		fact_owner(f, o[0], *o[1] ? o[1] : NULL, o[2]);
	}
	if (!owners[0])
		fact_source(f, "file", NULL, NULL);
	fact_contact(fact_participant(f, "to", "sec@secret.example"), "c10", "contact", "Secret");
	g_autofree char *links = g_strdup_printf("contact:c10:contact_no_deals:%s", visibility);
	check_rule(f, config, links, trace_has);
}

static void
test_rule_visibility(void)
{
	check_visibility((const char *[]){ NULL }, "public", "public (no source has an owner)");
	check_visibility((const char *[]){ "u1:public", NULL }, "public", "public (owner u1 shares publicly)");
	check_visibility((const char *[]){ "u9:", NULL }, "public",
			 "public (owner u9 is not a CRM user: default sharing public)");
	check_visibility((const char *[]){ "u2:private", NULL }, "private", "owner u2 shares privately: private\n");
	check_visibility((const char *[]){ "u3:custom:other.example,secret.example", NULL }, "private",
			 "owner u3 shares custom and excludes the matched domain: private\n");
	check_visibility((const char *[]){ "u3:custom:other.example", NULL }, "public",
			 "public (owner u3 shares custom, the matched domain is not excluded)");
	check_visibility((const char *[]){ "u2:private", "u3:custom:secret.example", NULL }, "private",
			 "owner u2 shares privately; owner u3 shares custom and excludes the matched domain: private");
	/* (The trace then runs "owner u2 shares privatelypublic (...)": kept
	 * byte for byte as before this module went pure.) */
	check_visibility((const char *[]){ "u2:private", "u1:public", NULL }, "public",
			 "public (owner u1 shares publicly)\n");
}

static StoreLink *
stored_link(const char *module, const char *id, const char *rule, const char *visibility)
{
	StoreLink *l = g_new0(StoreLink, 1);
	l->module = g_strdup(module);
	l->record_id = g_strdup(id);
	l->rule = g_strdup(rule);
	l->visibility = g_strdup(visibility);
	return l;
}

/* The diff is pure too: old links and a new decision in, writes out. */
static void
test_apply_diff(void)
{
	g_autoptr(CommonConfig) config = rule_config();
	g_autoptr(StoreDecisionFacts) f = dropbox_facts();
	fact_contact(fact_participant(f, "to", "a@client.example"), "c1", "contact", "A");
	fact_deal(fact_contact(fact_participant(f, "cc", "b@client.example"), "c2", "contact", "B"), "d2", NULL, 10,
		  -1, "2026-03-01T00:00:00Z");
	g_autoptr(AssocDecision) d = assoc_evaluate(f, config);
	StoreLinkState state = { g_ptr_array_new_with_free_func((GDestroyNotify)store_link_free), NULL, NULL };
	g_ptr_array_add(state.links, stored_link("contact", "c0", "contact_no_deals", "public"));
	g_ptr_array_add(state.links, stored_link("contact", "c1", "contact_no_deals", "private"));
	g_ptr_array_add(state.links, stored_link("deal", "d1", "deal_newest", "public"));
	g_autoptr(AssocChanges) ch = assoc_apply(d, &state);
	g_assert_cmpuint(ch->lines->len, ==, 4);
	g_assert_cmpstr(ch->lines->pdata[0], ==, "changed contact c1: rule contact_no_deals -> contact_no_deals, "
						 "private -> public");
	g_assert_cmpstr(ch->lines->pdata[1], ==, "added deal d2 (rule deal_newest, public)");
	g_assert_cmpstr(ch->lines->pdata[2], ==, "removed contact c0 (was rule contact_no_deals, public)");
	g_assert_cmpstr(ch->lines->pdata[3], ==, "removed deal d1 (was rule deal_newest, public)");
	g_assert_cmpuint(ch->writes->len, ==, 4);
	StoreLinkChange *w = (StoreLinkChange *)(void *)ch->writes->data;
	g_assert_cmpint(w[0].action, ==, STORE_LINK_CHANGED);
	g_assert_cmpstr(w[0].old_visibility, ==, "private");
	g_assert_true(w[0].link == d->links->pdata[0]);
	g_assert_cmpint(w[1].action, ==, STORE_LINK_ADDED);
	g_assert_cmpint(w[2].action, ==, STORE_LINK_REMOVED);
	g_assert_true(w[2].link == state.links->pdata[0]);
	g_assert_true(ch->write_decision);
	/* Applied, the same decision again changes nothing and keeps the trace. */
	g_ptr_array_set_size(state.links, 0);
	g_ptr_array_add(state.links, stored_link("contact", "c1", "contact_no_deals", "public"));
	g_ptr_array_add(state.links, stored_link("deal", "d2", "deal_newest", "public"));
	state.trace = g_strdup(d->trace);
	g_autoptr(AssocChanges) same = assoc_apply(d, &state);
	g_assert_cmpuint(same->writes->len, ==, 0);
	g_assert_false(same->write_decision);
	/* Same links but a trace worded differently (CRM names changed): the
	 * decision row is rewritten, no link is. */
	g_free(state.trace);
	state.trace = g_strdup("older wording\n");
	g_autoptr(AssocChanges) retrace = assoc_apply(d, &state);
	g_assert_cmpuint(retrace->writes->len, ==, 0);
	g_assert_true(retrace->write_decision);
	g_ptr_array_unref(state.links);
	g_free(state.trace);
}

/* ---- the scenario table ----------------------------------------------------- */

typedef struct {
	const char *name;
	Mail mail;
	const char *links;	/* expected links_of(); "" for unmatched */
	const char *trace_has; /* a phrase the stored trace must contain */
} Scenario;

#define DROPBOX(owner, to, cc) { "bcc_dropbox", owner, "alice@ourco.com", to, cc, "alice-drop@bcc.example", NULL }

static const Scenario scenarios[] = {
	{ "newest deal at 0%, older non-zero wins", DROPBOX("u1", "zn@client.example", NULL),
	  "deal:d2:deal_next_nonzero:public", "deal d1 \"Newest Zero\" stage Lost, probability 0% (stage Lost)" },
	{ "several non-zero deals: newest wins", DROPBOX("u1", "sev@client.example", NULL), "deal:d3:deal_newest:public",
	  "lost: modified before deal d3" },
	{ "all deals at 0%: the contact", DROPBOX("u1", "az@client.example", NULL),
	  "contact:c3:contact_all_deals_zero:public", "every deal has probability 0" },
	{ "deal's own 0 overrides its stage", DROPBOX("u1", "az@client.example", NULL),
	  "contact:c3:contact_all_deals_zero:public", "probability 0% (deal's own)" },
	{ "no deals: the contact", DROPBOX("u1", "nd@client.example", NULL), "contact:c4:contact_no_deals:public",
	  "no deals" },
	{ "two contacts sharing a deal: one link", DROPBOX("u1", "sa@client.example", "sb@client.example"),
	  "deal:d7:deal_newest:public", "already linked through an earlier participant" },
	{ "a lead", DROPBOX("u1", "lead@prospect.example", NULL), "contact:c7:contact_no_deals:public",
	  "matches lead c7" },
	{ "two addresses, case differences", DROPBOX("u1", "SECOND@Other.Example", "two.addr@CLIENT.example"),
	  "deal:d8:deal_newest:public", "probability 20% (stage Qualified)" },
	{ "tie on modified_at: smaller id as text", DROPBOX("u1", "tie@client.example", NULL),
	  "deal:d10:deal_newest:public", "tie broken by CRM id" },
	{ "internal domain only: unmatched", DROPBOX("u1", "someone@ourco.com", NULL), "",
	  "internal domain ourco.com" },
	{ "user to user: unmatched", DROPBOX("u1", "bob@sales.example", "alice@oldco.example"), "",
	  "CRM user u1's alias address" },
	{ "unknown recipient: unmatched", DROPBOX("u1", "stranger@nowhere.example", NULL), "",
	  "unknown: no contact or lead has this address" },
	{ "envelope recipient other than the dropbox",
	  { "bcc_dropbox", "u1", "alice@ourco.com", "undisclosed-recipients:;", NULL,
	    "alice-drop@bcc.example,nd@client.example", NULL },
	  "contact:c4:contact_no_deals:public", "the dropbox address itself" },
	{ "private owner", { "bcc_dropbox", "u2", "bob@sales.example", "nd@client.example", NULL, "bob-drop@bcc.example", NULL },
	  "contact:c4:contact_no_deals:private", "owner u2 shares privately" },
	{ "custom owner, excluded domain", { "bcc_dropbox", "u3", "carol@sales.example", "sec@secret.example", NULL,
					      "carol-drop@bcc.example", NULL },
	  "contact:c10:contact_no_deals:private", "excludes the matched domain" },
	{ "custom owner, other domain", { "bcc_dropbox", "u3", "carol@sales.example", "nd@client.example", NULL,
					   "carol-drop@bcc.example", NULL },
	  "contact:c4:contact_no_deals:public", "not excluded" },
	{ "file source without owner: public", { "file", NULL, "x@elsewhere.example", "nd@client.example", NULL, NULL, NULL },
	  "contact:c4:contact_no_deals:public", "no source has an owner" },
	{ "imap mail follows the rule too", { "imap", "u1", "sev@client.example", "alice@ourco.com", NULL, NULL, NULL },
	  "deal:d3:deal_newest:public", "source: imap, owner u1" },
};

static void
test_scenario(Fixture *f, gconstpointer data)
{
	const Scenario *sc = data;
	g_autofree char *mid = g_strdup_printf("scenario-%p@test", (void *)sc);
	gint64 m = file_mail(f, mid, &sc->mail);
	g_autofree char *links = links_of(f, m);
	g_autofree char *status = NULL;
	g_autofree char *trace = stored_trace(f, m, &status);
	if (strcmp(links, sc->links) || !strstr(trace, sc->trace_has))
		g_test_message("trace:\n%s", trace);
	g_assert_cmpstr(links, ==, sc->links);
	g_assert_cmpstr(status, ==, *sc->links ? "linked" : "unmatched");
	g_assert_nonnull(strstr(trace, sc->trace_has));
}

/* ---- scenarios over time ---------------------------------------------------- */

static void
test_backfill(Fixture *f, gconstpointer data)
{
	const Mail mail = DROPBOX("u1", "newcomer@late.example", NULL);
	gint64 m = file_mail(f, "late@test", &mail);
	g_autofree char *before = links_of(f, m);
	g_assert_cmpstr(before, ==, "");
	AssocImportResult r = { 0 };
	import_text(f, ASSOC_IMPORT_CONTACTS, "more.csv", "id,kind,name,emails,owner\nc20,contact,Late,Newcomer@Late.example,u1\n", &r);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) todo = store_unmatched_for_keys(f->store, r.touched_keys, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(todo->len, ==, 1);
	g_assert_cmpint(g_array_index(todo, gint64, 0), ==, m);
	CaptureRerunStats s = { 0 };
	g_assert_true(capture_rerun(f->store, f->config, todo, "backfill after import of more.csv", FALSE, NULL, NULL, &s,
				  &error));
	g_assert_no_error(error);
	g_assert_cmpuint(s.now_linked, ==, 1);
	g_autofree char *after = links_of(f, m);
	g_assert_cmpstr(after, ==, "contact:c20:contact_no_deals:public");
	sqlite3_stmt *st = sq_prepare(f->store, "SELECT action, record_id, reason FROM link_history WHERE message = ?",
					 &error);
	sqlite3_bind_int64(st, 1, m);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "added");
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 1), ==, "c20");
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 2), ==, "backfill after import of more.csv");
	sqlite3_reset(st);
	assoc_import_result_clear(&r);
}

static void
test_deal_modified_later(Fixture *f, gconstpointer data)
{
	const Mail mail = DROPBOX("u1", "sev@client.example", NULL);
	gint64 m = file_mail(f, "modified@test", &mail);
	import_text(f, ASSOC_IMPORT_DEALS, "update.csv",
		    "id,name,stage,probability,modified_at,contacts\nd4,Older 60,,60,2026-04-01T00:00:00Z,c2\n", NULL);
	/* The stored decision still says what was decided then... */
	g_autofree char *trace = stored_trace(f, m, NULL);
	g_assert_nonnull(strstr(trace, "deal d3 \"Newer 30\", probability 30% (deal's own), modified "
					"2026-03-05T00:00:00Z: WINS"));
	g_autofree char *links = links_of(f, m);
	g_assert_cmpstr(links, ==, "deal:d3:deal_newest:public");
	/* ...while the rule today picks the deal modified since. */
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocDecision) now = capture_evaluate(f->store, f->config, m, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(now->trace, "deal d4 \"Older 60\", probability 60% (deal's own), modified "
					    "2026-04-01T00:00:00Z: WINS"));
	g_autoptr(GPtrArray) changes = capture_changes(f->store, now, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(changes->len, ==, 2);
	g_assert_cmpstr(changes->pdata[0], ==, "added deal d4 (rule deal_newest, public)");
	g_assert_cmpstr(changes->pdata[1], ==, "removed deal d3 (was rule deal_newest, public)");
	g_autofree char *unchanged = links_of(f, m);
	g_assert_cmpstr(unchanged, ==, "deal:d3:deal_newest:public");
	g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_array_append_val(all, m);
	CaptureRerunStats s = { 0 };
	g_assert_true(capture_rerun(f->store, f->config, all, "reassociate --all", FALSE, NULL, NULL, &s, &error));
	g_assert_cmpuint(s.changed, ==, 1);
	g_autofree char *after = links_of(f, m);
	g_assert_cmpstr(after, ==, "deal:d4:deal_newest:public");
	sqlite3_stmt *st = sq_prepare(f->store,
					 "SELECT group_concat(action || ' ' || record_id, ', ') FROM "
					 "(SELECT action, record_id FROM link_history WHERE message = ? ORDER BY id)",
					 &error);
	sqlite3_bind_int64(st, 1, m);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "added d3, added d4, removed d3");
	sqlite3_reset(st);
}

static void
test_thread_reply(Fixture *f, gconstpointer data)
{
	const Mail parent = DROPBOX("u1", "sev@client.example", NULL);
	file_mail(f, "parent@test", &parent);
	/* The reply is to someone whose own rule gives the contact c3: the
	 * thread wins for mailbox mail... */
	const Mail reply = { "imap", "u1", "az@client.example", "alice@ourco.com", NULL, NULL, "parent@test" };
	gint64 r1 = file_mail(f, "reply1@test", &reply);
	g_autofree char *l1 = links_of(f, r1);
	g_assert_cmpstr(l1, ==, "deal:d3:thread_reply:public");
	const Mail pop = { "pop3", "u1", "az@client.example", "alice@ourco.com", NULL, NULL, "parent@test" };
	gint64 r2 = file_mail(f, "reply2@test", &pop);
	g_autofree char *l2 = links_of(f, r2);
	g_assert_cmpstr(l2, ==, "deal:d3:thread_reply:public");
	/* ...never for BCC dropbox mail... */
	const Mail bcc = { "bcc_dropbox", "u1", "alice@ourco.com", "az@client.example", NULL, "alice-drop@bcc.example",
			   "parent@test" };
	gint64 r3 = file_mail(f, "reply3@test", &bcc);
	g_autofree char *l3 = links_of(f, r3);
	g_assert_cmpstr(l3, ==, "contact:c3:contact_all_deals_zero:public");
	g_autofree char *t3 = stored_trace(f, r3, NULL);
	g_assert_nonnull(strstr(t3, "BCC dropbox mail always follows the participant rule"));
	/* ...and not when reply_follows_thread is off. */
	f->config->reply_follows_thread = FALSE;
	const Mail off = { "imap", "u1", "az@client.example", "alice@ourco.com", NULL, NULL, "parent@test" };
	gint64 r4 = file_mail(f, "reply4@test", &off);
	g_autofree char *l4 = links_of(f, r4);
	g_assert_cmpstr(l4, ==, "contact:c3:contact_all_deals_zero:public");
}

static void
test_sharing_change(Fixture *f, gconstpointer data)
{
	const Mail mail = DROPBOX("u1", "nd@client.example", NULL);
	gint64 m = file_mail(f, "sharing@test", &mail);
	import_text(f, ASSOC_IMPORT_USERS, "u1.csv",
		    "id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at\n"
		    "u1,alice@ourco.com,Alice,alice-drop@bcc.example,alice@oldco.example,private,,\n",
		    NULL);
	g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_array_append_val(all, m);
	g_autoptr(GError) error = NULL;
	g_assert_true(capture_rerun(f->store, f->config, all, "reassociate --all", FALSE, NULL, NULL, NULL, &error));
	g_autofree char *links = links_of(f, m);
	g_assert_cmpstr(links, ==, "contact:c4:contact_no_deals:private");
}

/* A CRM writing the tables directly may leave a deal without probability
 * and stage: only a deal known to be at 0 is skipped. */
static void
test_unknown_probability(Fixture *f, gconstpointer data)
{
	g_assert_true(sq_exec(f->store,
				 "INSERT INTO deals(id, name, modified_at) VALUES ('d99', 'Bare', '2026-05-01T00:00:00Z');"
				 "INSERT INTO deal_contacts(deal_id, contact_id) VALUES ('d99', 'c3');",
				 NULL));
	const Mail mail = DROPBOX("u1", "az@client.example", NULL);
	gint64 m = file_mail(f, "bare@test", &mail);
	g_autofree char *links = links_of(f, m);
	g_assert_cmpstr(links, ==, "deal:d99:deal_newest:public");
	g_autofree char *trace = stored_trace(f, m, NULL);
	g_assert_nonnull(strstr(trace, "deal d99 \"Bare\", probability unknown (no own value, no stage value)"));
}

static void
test_redelivery_and_owners(Fixture *f, gconstpointer data)
{
	/* Bob (private) captures it first: private. */
	const Mail bob = { "bcc_dropbox", "u2", "bob@sales.example", "nd@client.example", NULL, "bob-drop@bcc.example",
			   NULL };
	gint64 m = file_mail(f, "twice@test", &bob);
	g_autofree char *l1 = links_of(f, m);
	g_assert_cmpstr(l1, ==, "contact:c4:contact_no_deals:private");
	/* The same delivery again is a no-op that still reports the links. */
	CaptureFiled again = { 0 };
	file_mail_filed(f, "twice@test", &bob, &again);
	g_assert_false(again.new_source);
	g_assert_cmpuint(again.n_links, ==, 1);
	g_assert_false(again.unmatched);
	capture_filed_clear(&again);
	/* Alice (public) captures the same message through her dropbox: any
	 * owner sharing publicly makes the link public, and history says so. */
	const Mail alice = { "bcc_dropbox", "u1", "bob@sales.example", "nd@client.example", NULL,
			     "alice-drop@bcc.example", NULL };
	CaptureFiled second = { 0 };
	file_mail_filed(f, "twice@test", &alice, &second);
	g_assert_false(second.new_message);
	g_assert_true(second.new_source);
	capture_filed_clear(&second);
	g_autofree char *l2 = links_of(f, m);
	g_assert_cmpstr(l2, ==, "contact:c4:contact_no_deals:public");
	g_autoptr(GError) error = NULL;
	sqlite3_stmt *st = sq_prepare(f->store,
					 "SELECT group_concat(action || ' ' || coalesce(old_visibility, '-') || '>' || "
					 "coalesce(new_visibility, '-'), ', ') FROM (SELECT * FROM link_history "
					 "WHERE message = ? ORDER BY id)",
					 &error);
	sqlite3_bind_int64(st, 1, m);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "added ->private, changed private>public");
	sqlite3_reset(st);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
	g_test_add_func("/assoc/rule/trace-text", test_rule_trace_text);
	g_test_add_func("/assoc/rule/deals", test_rule_deals);
	g_test_add_func("/assoc/rule/contacts", test_rule_contacts);
	g_test_add_func("/assoc/rule/deal-address", test_rule_deal_address);
	g_test_add_func("/assoc/rule/excluded", test_rule_excluded);
	g_test_add_func("/assoc/rule/thread", test_rule_thread);
	g_test_add_func("/assoc/rule/visibility", test_rule_visibility);
	g_test_add_func("/assoc/apply/diff", test_apply_diff);
	for (guint i = 0; i < G_N_ELEMENTS(scenarios); i++) {
		g_autofree char *path = g_strdup_printf("/assoc/scenario/%02u %s", i, scenarios[i].name);
		g_test_add(path, Fixture, &scenarios[i], fixture_setup, test_scenario, fixture_teardown);
	}
	g_test_add("/assoc/backfill", Fixture, NULL, fixture_setup, test_backfill, fixture_teardown);
	g_test_add("/assoc/deal-modified-later", Fixture, NULL, fixture_setup, test_deal_modified_later,
		   fixture_teardown);
	g_test_add("/assoc/thread-reply", Fixture, NULL, fixture_setup, test_thread_reply, fixture_teardown);
	g_test_add("/assoc/sharing-change", Fixture, NULL, fixture_setup, test_sharing_change, fixture_teardown);
	g_test_add("/assoc/unknown-probability", Fixture, NULL, fixture_setup, test_unknown_probability,
		   fixture_teardown);
	g_test_add("/assoc/redelivery-and-owners", Fixture, NULL, fixture_setup, test_redelivery_and_owners,
		   fixture_teardown);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
