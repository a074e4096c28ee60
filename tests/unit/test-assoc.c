/* The association rule, branch by branch: a real SQLite file, CRM data
 * imported from CSV, messages written here and filed through capture_file with
 * the real parser. Each scenario checks the links and what the trace says. */
#include <string.h>

#include "assoc/assoc-internal.h"
#include "assoc/assoc.h"
#include "capture/capture.h"
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
	sqlite3_stmt *st = store_prepare(f->store,
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
	sqlite3_stmt *st = store_prepare(f->store, "SELECT status, trace FROM decisions WHERE message = ?", &error);
	g_assert_no_error(error);
	sqlite3_bind_int64(st, 1, message);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	if (status)
		*status = g_strdup((const char *)sqlite3_column_text(st, 0));
	char *trace = g_strdup((const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return trace;
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
	g_autoptr(GArray) todo = assoc_unmatched_for_keys(f->store, r.touched_keys, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(todo->len, ==, 1);
	g_assert_cmpint(g_array_index(todo, gint64, 0), ==, m);
	AssocRerunStats s = { 0 };
	g_assert_true(assoc_rerun(f->store, f->config, todo, "backfill after import of more.csv", FALSE, NULL, NULL, &s,
				  &error));
	g_assert_no_error(error);
	g_assert_cmpuint(s.now_linked, ==, 1);
	g_autofree char *after = links_of(f, m);
	g_assert_cmpstr(after, ==, "contact:c20:contact_no_deals:public");
	sqlite3_stmt *st = store_prepare(f->store, "SELECT action, record_id, reason FROM link_history WHERE message = ?",
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
	g_autoptr(AssocDecision) now = assoc_evaluate(f->store, f->config, m, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(now->trace, "deal d4 \"Older 60\", probability 60% (deal's own), modified "
					    "2026-04-01T00:00:00Z: WINS"));
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(g_free);
	guint n = 0;
	g_assert_true(assoc_apply(f->store, now, "dry", TRUE, changes, &n, &error));
	g_assert_cmpuint(n, ==, 2);
	g_autofree char *unchanged = links_of(f, m);
	g_assert_cmpstr(unchanged, ==, "deal:d3:deal_newest:public");
	g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_array_append_val(all, m);
	AssocRerunStats s = { 0 };
	g_assert_true(assoc_rerun(f->store, f->config, all, "reassociate --all", FALSE, NULL, NULL, &s, &error));
	g_assert_cmpuint(s.changed, ==, 1);
	g_autofree char *after = links_of(f, m);
	g_assert_cmpstr(after, ==, "deal:d4:deal_newest:public");
	sqlite3_stmt *st = store_prepare(f->store,
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
	g_assert_true(assoc_rerun(f->store, f->config, all, "reassociate --all", FALSE, NULL, NULL, NULL, &error));
	g_autofree char *links = links_of(f, m);
	g_assert_cmpstr(links, ==, "contact:c4:contact_no_deals:private");
}

/* A CRM writing the tables directly may leave a deal without probability
 * and stage: only a deal known to be at 0 is skipped. */
static void
test_unknown_probability(Fixture *f, gconstpointer data)
{
	g_assert_true(store_exec(f->store,
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
	sqlite3_stmt *st = store_prepare(f->store,
					 "SELECT group_concat(action || ' ' || coalesce(old_visibility, '-') || '>' || "
					 "coalesce(new_visibility, '-'), ', ') FROM (SELECT * FROM link_history "
					 "WHERE message = ? ORDER BY id)",
					 &error);
	sqlite3_bind_int64(st, 1, m);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "added ->private, changed private>public");
	sqlite3_reset(st);
}

/* Every statement of a decision is index-backed: no full SCAN of a table
 * that grows with the CRM or the mail. */
static void
test_query_plans(Fixture *f, gconstpointer data)
{
	const char *const sqls[] = ASSOC_SQL_DECISION_LIST;
	const char *const big[] = { "contacts", "contact_addresses", "deals", "deal_contacts", "participants",
				    "messages", "links", "sources", "users", "user_addresses", "message_references",
				    "user_excluded_domains", NULL };
	for (guint i = 0; sqls[i]; i++) {
		g_autofree char *eqp = g_strdup_printf("EXPLAIN QUERY PLAN %s", sqls[i]);
		sqlite3_stmt *st = NULL;
		g_assert_cmpint(sqlite3_prepare_v2(store_handle(f->store), eqp, -1, &st, NULL), ==, SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			for (guint b = 0; big[b]; b++) {
				g_autofree char *scan = g_strdup_printf("SCAN %s", big[b]);
				gboolean bad = g_str_has_prefix(detail, scan) &&
					       (detail[strlen(scan)] == '\0' || detail[strlen(scan)] == ' ');
				if (bad)
					g_test_message("%s\n  -> %s", sqls[i], detail);
				g_assert_false(bad);
			}
			/* A search on the low-selectivity module column alone is
			 * a scan in disguise (links_record, module=?). */
			g_assert_null(strstr(detail, "(module=?)"));
			/* An alias hides the table name: any plain SCAN fails too. */
			g_assert_false(g_str_has_prefix(detail, "SCAN ") && !strstr(detail, "CONSTANT"));
		}
		sqlite3_finalize(st);
	}
	const char *const backfill[] = {
		"EXPLAIN QUERY PLAN SELECT p.message FROM participants p JOIN decisions d ON d.message = p.message "
		"WHERE p.address_key = ? AND d.status = 'unmatched'",
		NULL,
	};
	for (guint i = 0; backfill[i]; i++) {
		sqlite3_stmt *st = NULL;
		g_assert_cmpint(sqlite3_prepare_v2(store_handle(f->store), backfill[i], -1, &st, NULL), ==, SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			g_assert_false(g_str_has_prefix((const char *)sqlite3_column_text(st, 3), "SCAN "));
		sqlite3_finalize(st);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
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
	g_test_add("/assoc/query-plans", Fixture, NULL, fixture_setup, test_query_plans, fixture_teardown);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
