/* store/crm.c and store/reports.c: the typed CRM writes of `bccdrop import`
 * and the rows the admin commands print. What was written is checked through
 * a second, plain SQLite connection, as a CRM reading the file would. */
#include <sqlite3.h>
#include <string.h>

#include "store/sqlite/sqlite.h"
#include "capture/capture.h"
#include "tests/unit/testutil.h"

typedef struct {
	Store *store;
	char *db;
	sqlite3 *peek; /* a second connection, for checking what was written */
	CommonConfig *config;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	static int n;
	f->db = g_strdup_printf("%s/crm%d.db", testutil_tmpdir(), n++);
	g_autoptr(GError) error = NULL;
	StoreOptions o = STORE_OPTIONS_DEFAULT;
	o.synchronous_full = FALSE;
	f->store = store_open(f->db, &o, &error);
	g_assert_no_error(error);
	g_assert_cmpint(sqlite3_open(f->db, &f->peek), ==, SQLITE_OK);
	f->config = common_config_defaults();
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	sqlite3_close(f->peek);
	store_close(f->store);
	common_config_free(f->config);
	g_free(f->db);
}

/* The rows of SQL, one line each, columns joined by '|' (NULL as "NULL"). */
static char *
peek(Fixture *f, const char *sql)
{
	sqlite3_stmt *st = NULL;
	g_assert_cmpint(sqlite3_prepare_v2(f->peek, sql, -1, &st, NULL), ==, SQLITE_OK);
	g_autoptr(GString) out = g_string_new(NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (out->len)
			g_string_append_c(out, '\n');
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);
			g_string_append_printf(out, "%s%s", c ? "|" : "", v ? v : "NULL");
		}
	}
	sqlite3_finalize(st);
	return g_strdup(out->str);
}

#define assert_peek(f, sql, want)                          \
	do {                                               \
		g_autofree char *got_ = peek((f), (sql));  \
		g_assert_cmpstr(got_, ==, (want));         \
	} while (0)

static GPtrArray *
strings(const char *first, ...)
{
	GPtrArray *a = g_ptr_array_new();
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		g_ptr_array_add(a, (gpointer)s);
	va_end(ap);
	return a;
}

static void
in_txn(Fixture *f, gboolean (*put)(Store *, gconstpointer, GError **), gconstpointer record, gboolean want_ok)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(store_begin(f->store, &error));
	gboolean ok = put(f->store, record, &error);
	if (want_ok) {
		g_assert_no_error(error);
		g_assert_true(ok);
		g_assert_true(store_commit(f->store, &error));
	} else {
		g_assert_error(error, STORE_ERROR, STORE_ERROR_INVALID);
		store_rollback(f->store);
	}
}

#define PUT(f, fn, rec, ok) in_txn((f), (gboolean (*)(Store *, gconstpointer, GError **))(fn), (rec), (ok))

static void
put_user(Fixture *f, const char *id, const char *email, GPtrArray *aliases)
{
	StoreCrmUser u = { .id = id, .email = email, .name = id, .sharing = "public", .aliases = aliases };
	PUT(f, store_crm_put_user, &u, TRUE);
}

static void
test_user_upsert(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) aliases = strings("a@old.example", "a@x.example", "a@old.example", NULL);
	g_autoptr(GPtrArray) domains = strings("spam.example", "spam.example", NULL);
	StoreCrmUser u = { .id = "u1", .email = "a@x.example", .name = NULL, .dropbox = "a-drop@bcc.example",
			   .sharing = "private", .last_active_at = 1767225600, .aliases = aliases,
			   .excluded_domains = domains };
	PUT(f, store_crm_put_user, &u, TRUE);
	assert_peek(f, "SELECT id, email, name, dropbox, sharing, last_active_at FROM users",
		    "u1|a@x.example||a-drop@bcc.example|private|2026-01-01T00:00:00Z");
	/* The email once, as email; repeats and the email among the aliases
	 * are ignored. */
	assert_peek(f, "SELECT address_key, kind FROM user_addresses ORDER BY address_key",
		    "a@old.example|alias\na@x.example|email");
	assert_peek(f, "SELECT domain FROM user_excluded_domains", "spam.example");
	/* The lists are replaced, 0 is an unknown last activity. */
	g_autoptr(GPtrArray) aliases2 = strings("a@new.example", NULL);
	StoreCrmUser u2 = { .id = "u1", .email = "a@x.example", .name = "A", .sharing = "public",
			    .aliases = aliases2 };
	PUT(f, store_crm_put_user, &u2, TRUE);
	assert_peek(f, "SELECT name, dropbox, sharing, last_active_at FROM users", "A|NULL|public|NULL");
	assert_peek(f, "SELECT address_key FROM user_addresses ORDER BY address_key", "a@new.example\na@x.example");
	assert_peek(f, "SELECT count(*) FROM user_excluded_domains", "0");
}

static void
test_user_lookups(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) aliases = strings("a@old.example", NULL);
	put_user(f, "u1", "a@x.example", aliases);
	g_autoptr(GError) error = NULL;
	g_autofree char *owner = NULL, *nobody = NULL;
	g_assert_true(store_crm_address_user(f->store, "a@old.example", &owner, &error));
	g_assert_cmpstr(owner, ==, "u1");
	g_assert_true(store_crm_address_user(f->store, "b@x.example", &nobody, &error));
	g_assert_null(nobody);
	g_autoptr(GPtrArray) keys = store_crm_user_keys(f->store, "u1", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(keys->len, ==, 2);
	g_autoptr(GPtrArray) none = store_crm_user_keys(f->store, "u2", &error);
	g_assert_cmpuint(none->len, ==, 0);
	/* Another user's address is refused by the schema, nothing is written. */
	g_autoptr(GPtrArray) taken = strings("a@old.example", NULL);
	StoreCrmUser u2 = { .id = "u2", .email = "b@x.example", .sharing = "public", .aliases = taken };
	PUT(f, store_crm_put_user, &u2, FALSE);
	assert_peek(f, "SELECT count(*) FROM users", "1");
}

static void
test_exists(Fixture *f, gconstpointer data)
{
	put_user(f, "u1", "a@x.example", NULL);
	StoreCrmStage s = { "Won", 100 };
	PUT(f, store_crm_put_stage, &s, TRUE);
	StoreCrmContact c = { .id = "c1", .kind = "contact", .addresses = strings(NULL),
			      .address_keys = strings(NULL) };
	PUT(f, store_crm_put_contact, &c, TRUE);
	g_ptr_array_unref(c.addresses);
	g_ptr_array_unref(c.address_keys);
	StoreCrmDeal d = { .id = "d1", .stage = "Won", .probability = -1, .modified_at = 1 };
	PUT(f, store_crm_put_deal, &d, TRUE);
	const struct {
		StoreCrmKind kind;
		const char *id;
		gboolean want;
	} cases[] = {
		{ STORE_CRM_USER, "u1", TRUE },	    { STORE_CRM_USER, "c1", FALSE },   { STORE_CRM_STAGE, "Won", TRUE },
		{ STORE_CRM_STAGE, "won", FALSE },  { STORE_CRM_CONTACT, "c1", TRUE }, { STORE_CRM_CONTACT, "u1", FALSE },
		{ STORE_CRM_DEAL, "d1", TRUE },	    { STORE_CRM_DEAL, "d2", FALSE },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean found = !cases[i].want;
		g_assert_true(store_crm_exists(f->store, cases[i].kind, cases[i].id, &found, &error));
		g_assert_no_error(error);
		g_assert_cmpint(found, ==, cases[i].want);
	}
}

static void
test_contact_and_deal(Fixture *f, gconstpointer data)
{
	put_user(f, "u1", "a@x.example", NULL);
	StoreCrmStage s = { "Lost", 0 };
	PUT(f, store_crm_put_stage, &s, TRUE);
	s.probability = 5;
	PUT(f, store_crm_put_stage, &s, TRUE);
	assert_peek(f, "SELECT name, probability FROM stages", "Lost|5");
	g_autoptr(GPtrArray) addrs = strings("Zed@Client.example", "zed@client.example", NULL);
	g_autoptr(GPtrArray) keys = strings("zed@client.example", "zed@client.example", NULL);
	StoreCrmContact c = { .id = "c1", .kind = "lead", .name = "Zed", .owner_id = "u1", .addresses = addrs,
			      .address_keys = keys };
	PUT(f, store_crm_put_contact, &c, TRUE);
	assert_peek(f, "SELECT id, kind, name, owner_id FROM contacts", "c1|lead|Zed|u1");
	assert_peek(f, "SELECT address, address_key FROM contact_addresses", "Zed@Client.example|zed@client.example");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) old = store_crm_contact_keys(f->store, "c1", &error);
	g_assert_cmpuint(old->len, ==, 1);
	g_assert_cmpstr(old->pdata[0], ==, "zed@client.example");
	g_autoptr(GPtrArray) ids = strings("c1", "c1", NULL);
	StoreCrmDeal d = { .id = "d1", .name = "Big", .stage = "Lost", .probability = -1, .modified_at = 1772323200,
			   .contact_ids = ids };
	PUT(f, store_crm_put_deal, &d, TRUE);
	assert_peek(f, "SELECT id, name, stage, probability, modified_at FROM deals",
		    "d1|Big|Lost|NULL|2026-03-01T00:00:00Z");
	assert_peek(f, "SELECT deal_id, contact_id FROM deal_contacts", "d1|c1");
	/* A deal's own probability; its contacts are replaced. */
	StoreCrmDeal d2 = { .id = "d1", .probability = 40, .modified_at = 1772323200 };
	PUT(f, store_crm_put_deal, &d2, TRUE);
	assert_peek(f, "SELECT name, stage, probability FROM deals", "|NULL|40");
	assert_peek(f, "SELECT count(*) FROM deal_contacts", "0");
	/* An unknown stage or owner is refused by the schema. */
	StoreCrmDeal bad = { .id = "d2", .stage = "Nope", .probability = -1, .modified_at = 1 };
	PUT(f, store_crm_put_deal, &bad, FALSE);
	StoreCrmContact badc = { .id = "c2", .kind = "contact", .owner_id = "u9", .addresses = addrs,
				 .address_keys = keys };
	PUT(f, store_crm_put_contact, &badc, FALSE);
	assert_peek(f, "SELECT count(*) FROM deals", "1");
}

/* ---- reports ---------------------------------------------------------------- */

static gint64
file_mail(Fixture *f, const char *message_id, const char *to, const char *date, StoreSourceKind kind)
{
	g_autofree char *raw = g_strdup_printf("From: Alice <a@x.example>\r\n%s%s%sSubject: about %s\r\n"
					       "Message-ID: <%s>\r\nDate: %s\r\n\r\nhello\r\n",
					       to ? "To: " : "", to ? to : "", to ? "\r\n" : "", message_id, message_id,
					       date);
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	StoreSource s = { .kind = kind, .received_at = 1772445600, .owner_user_id = "u1" };
	if (kind == STORE_SOURCE_IMAP) {
		s.mailbox_id = 1;
		s.folder = "INBOX";
		s.uidvalidity = 1;
		s.uid = g_str_hash(message_id) & 0xffff;
	}
	CaptureFiled filed = { 0 };
	g_autoptr(GError) error = NULL;
	g_assert_true(capture_file(f->store, f->config, &in, &s, &filed, &error));
	g_assert_no_error(error);
	gint64 m = filed.message;
	capture_filed_clear(&filed);
	return m;
}

/* u1 with contacts c1 (deal d1) and c2 (no deal); three messages: one to
 * each contact and one unmatched. */
static void
reports_setup(Fixture *f, gconstpointer data)
{
	fixture_setup(f, data);
	put_user(f, "u1", "a@x.example", NULL);
	const char *const contacts[][3] = { { "c1", "Zed", "zed@client.example" }, { "c2", "Ann", "ann@client.example" } };
	for (guint i = 0; i < G_N_ELEMENTS(contacts); i++) {
		g_autoptr(GPtrArray) a = strings(contacts[i][2], NULL);
		StoreCrmContact c = { .id = contacts[i][0], .kind = "contact", .name = contacts[i][1], .owner_id = "u1",
				      .addresses = a, .address_keys = a };
		PUT(f, store_crm_put_contact, &c, TRUE);
	}
	g_autoptr(GPtrArray) ids = strings("c1", NULL);
	StoreCrmDeal d = { .id = "d1", .name = "Big", .probability = 50, .modified_at = 1772323200, .contact_ids = ids };
	PUT(f, store_crm_put_deal, &d, TRUE);
}

static void
test_message_views(Fixture *f, gconstpointer data)
{
	gint64 m = file_mail(f, "m1@test", "zed@client.example", "Mon, 02 Mar 2026 10:00:00 +0000",
			     STORE_SOURCE_BCC_DROPBOX);
	g_autoptr(GError) error = NULL;
	g_autoptr(StoreMessageSummary) s = store_message_summary(f->store, m, &error);
	g_assert_no_error(error);
	g_assert_cmpint(s->message, ==, m);
	g_assert_cmpstr(s->message_id, ==, "m1@test");
	g_assert_cmpstr(s->date, ==, "2026-03-02T10:00:00Z");
	g_assert_cmpstr(s->subject, ==, "about m1@test");
	g_assert_null(store_message_summary(f->store, m + 100, &error));
	g_assert_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	g_autoptr(StoreDecisionRow) d = store_decision_row(f->store, m, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(d->status, ==, "linked");
	g_assert_nonnull(strstr(d->trace, "deal d1 \"Big\""));
	g_assert_null(store_decision_row(f->store, m + 100, &error));
	g_assert_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);

	g_autoptr(GPtrArray) links = store_message_links(f->store, m, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(links->len, ==, 1);
	const StoreLinkRow *deal = links->pdata[0];
	g_assert_cmpstr(deal->module, ==, "deal");
	g_assert_cmpstr(deal->record_id, ==, "d1");
	g_assert_cmpstr(deal->record_name, ==, "Big");
	g_assert_cmpstr(deal->visibility, ==, "public");
	gint64 m2 = file_mail(f, "m2@test", "ann@client.example", "Mon, 02 Mar 2026 10:00:00 +0000",
			      STORE_SOURCE_BCC_DROPBOX);
	g_autoptr(GPtrArray) links2 = store_message_links(f->store, m2, &error);
	g_assert_cmpuint(links2->len, ==, 1);
	const StoreLinkRow *contact = links2->pdata[0];
	g_assert_cmpstr(contact->module, ==, "contact");
	g_assert_cmpstr(contact->record_name, ==, "Ann");
	g_assert_cmpstr(contact->rule, ==, "contact_no_deals");
	/* A record deleted from the CRM keeps its link but has no name. */
	g_assert_cmpint(sqlite3_exec(f->peek, "DELETE FROM deals WHERE id = 'd1'", NULL, NULL, NULL), ==, SQLITE_OK);
	g_autoptr(GPtrArray) dangling = store_message_links(f->store, m, &error);
	g_assert_null(((StoreLinkRow *)dangling->pdata[0])->record_name);
}

static void
test_history_and_ids(Fixture *f, gconstpointer data)
{
	gint64 m1 = file_mail(f, "m1@test", "zed@client.example", "Mon, 02 Mar 2026 10:00:00 +0000",
			      STORE_SOURCE_BCC_DROPBOX);
	gint64 m2 = file_mail(f, "m2@test", "nobody@nowhere.example", "Mon, 02 Mar 2026 11:00:00 +0000",
			      STORE_SOURCE_BCC_DROPBOX);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) all = store_message_ids(f->store, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(all->len, ==, 2);
	g_assert_cmpint(g_array_index(all, gint64, 0), ==, m1);
	g_autoptr(GArray) unmatched = store_message_ids(f->store, TRUE, &error);
	g_assert_cmpuint(unmatched->len, ==, 1);
	g_assert_cmpint(g_array_index(unmatched, gint64, 0), ==, m2);

	/* The deal goes away: rerunning removes its link. */
	g_assert_cmpint(sqlite3_exec(f->peek, "DELETE FROM deal_contacts", NULL, NULL, NULL), ==, SQLITE_OK);
	CaptureRerunStats stats = { 0 };
	g_assert_true(capture_rerun(f->store, f->config, all, "test rerun", FALSE, NULL, NULL, &stats, &error));
	g_assert_no_error(error);
	g_autoptr(GPtrArray) h = store_link_history(f->store, m1, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(h->len, >=, 3);
	const StoreHistoryEntry *first = h->pdata[0], *last = h->pdata[h->len - 1];
	g_assert_cmpstr(first->action, ==, "added");
	g_assert_null(first->old_rule);
	g_assert_null(first->old_visibility);
	g_assert_nonnull(first->new_rule);
	g_assert_cmpstr(last->reason, ==, "test rerun");
	gboolean removed = FALSE;
	for (guint i = 0; i < h->len; i++) {
		const StoreHistoryEntry *c = h->pdata[i];
		if (!strcmp(c->action, "removed")) {
			removed = TRUE;
			g_assert_cmpstr(c->record_id, ==, "d1");
			g_assert_null(c->new_rule);
			g_assert_cmpstr(c->old_visibility, ==, "public");
		}
	}
	g_assert_true(removed);
	g_autoptr(GPtrArray) none = store_link_history(f->store, m2, &error);
	g_assert_cmpuint(none->len, ==, 0);
}

static void
test_report_rows(Fixture *f, gconstpointer data)
{
	file_mail(f, "late@test", "ann@client.example", "Tue, 03 Mar 2026 10:00:00 +0000", STORE_SOURCE_IMAP);
	file_mail(f, "early@test", NULL, "Mon, 02 Mar 2026 10:00:00 +0000", STORE_SOURCE_BCC_DROPBOX);
	file_mail(f, "deal@test", "zed@client.example", "Mon, 02 Mar 2026 12:00:00 +0000", STORE_SOURCE_BCC_DROPBOX);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = store_report_rows(f->store, NULL, &error);
	g_assert_no_error(error);
	/* early@test has no To and matches nobody: not in the report. */
	g_assert_cmpuint(all->len, ==, 2);
	const StoreReportRow *r0 = all->pdata[0], *r2 = all->pdata[1];
	g_assert_cmpstr(r0->message_id, ==, "deal@test");
	g_assert_cmpstr(r0->module, ==, "Deals");
	g_assert_cmpstr(r0->record, ==, "Big");
	g_assert_cmpstr(r0->source, ==, "BCC Dropbox");
	g_assert_cmpstr(r0->owner, ==, "u1");
	g_assert_cmpstr(r0->from, ==, "Alice <a@x.example>");
	g_assert_cmpstr(r0->to, ==, "zed@client.example");
	g_assert_cmpstr(r2->message_id, ==, "late@test");
	g_assert_cmpstr(r2->source, ==, "IMAP");
	g_assert_cmpstr(r2->date, ==, "2026-03-03T10:00:00Z");

	StoreReportFilter by_source = { .by_source = TRUE, .source = STORE_SOURCE_IMAP };
	g_autoptr(GPtrArray) imap = store_report_rows(f->store, &by_source, &error);
	g_assert_cmpuint(imap->len, ==, 1);
	g_assert_cmpstr(((StoreReportRow *)imap->pdata[0])->message_id, ==, "late@test");
	StoreReportFilter by_since = { .by_since = TRUE, .since = 1772445600 }; /* 2026-03-02T10:00:00Z */
	g_autoptr(GPtrArray) since = store_report_rows(f->store, &by_since, &error);
	g_assert_cmpuint(since->len, ==, 2);
	by_since.since = 1772445601;
	g_autoptr(GPtrArray) later = store_report_rows(f->store, &by_since, &error);
	g_assert_cmpuint(later->len, ==, 2); /* 12:00 and the next day */
	by_since.since = 1772532000;	      /* 2026-03-03T10:00:00Z: on or after */
	g_autoptr(GPtrArray) last = store_report_rows(f->store, &by_since, &error);
	g_assert_cmpuint(last->len, ==, 1);
	by_since.by_source = TRUE;
	by_since.source = STORE_SOURCE_BCC_DROPBOX;
	g_autoptr(GPtrArray) both = store_report_rows(f->store, &by_since, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(both->len, ==, 0);
}

static void
test_report_no_to(Fixture *f, gconstpointer data)
{
	/* A From-less To-less message linked through Cc has NULL from/to. */
	const char raw[] = "Cc: zed@client.example\r\nSubject: cc only\r\nMessage-ID: <cc@test>\r\n"
			   "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nhi\r\n";
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	StoreSource s = { .kind = STORE_SOURCE_FILE, .received_at = 1772445600, .owner_user_id = "u1",
			  .file_name = "cc.eml" };
	CaptureFiled filed = { 0 };
	g_autoptr(GError) error = NULL;
	g_assert_true(capture_file(f->store, f->config, &in, &s, &filed, &error));
	capture_filed_clear(&filed);
	g_autoptr(GPtrArray) rows = store_report_rows(f->store, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(rows->len, ==, 1);
	const StoreReportRow *r = rows->pdata[0];
	g_assert_cmpstr(r->source, ==, "File");
	g_assert_null(r->from);
	g_assert_null(r->to);
	g_assert_cmpstr(r->subject, ==, "cc only");
}

/* ---- full sync: state, retire, merge, inactive users ------------------------ */

static char *
state_of(Fixture *f, StoreCrmKind kind, const char *id)
{
	g_autoptr(GError) error = NULL;
	char *state = NULL;
	g_assert_true(store_crm_state(f->store, kind, id, &state, &error));
	g_assert_no_error(error);
	return state;
}

static void
run_ok(Fixture *f, gboolean ok, GError *error)
{
	g_assert_no_error(error);
	g_assert_true(ok);
}

static void
test_full_sync_ops(Fixture *f, gconstpointer data)
{
	file_mail(f, "m1@x.example", "zed@client.example", "Mon, 02 Mar 2026 10:00:00 +0000", STORE_SOURCE_FILE);
	assert_peek(f, "SELECT module || ':' || record_id FROM links ORDER BY 1", "deal:d1");
	g_autofree char *absent = state_of(f, STORE_CRM_DEAL, "d9");
	g_assert_null(absent);
	g_autofree char *before = state_of(f, STORE_CRM_DEAL, "d1");
	g_assert_nonnull(before);
	GError *error = NULL;
	g_autoptr(GPtrArray) live = store_crm_live_ids(f->store, STORE_CRM_DEAL, &error);
	g_assert_cmpuint(live->len, ==, 1);
	/* Retired: kept with its link and a history row, no candidate for new mail. */
	run_ok(f, store_begin(f->store, &error) &&
			  store_crm_retire(f->store, STORE_CRM_DEAL, "d1", "retired in CRM export of X", &error) &&
			  store_commit(f->store, &error),
	       error);
	g_autofree char *retired = state_of(f, STORE_CRM_DEAL, "d1");
	g_assert_cmpstr(retired, !=, before);
	g_autoptr(GPtrArray) none = store_crm_live_ids(f->store, STORE_CRM_DEAL, &error);
	g_assert_cmpuint(none->len, ==, 0);
	assert_peek(f, "SELECT action, record_id, old_rule = new_rule, reason FROM link_history WHERE reason LIKE 'retired%'",
		    "changed|d1|1|retired in CRM export of X");
	file_mail(f, "m2@x.example", "zed@client.example", "Mon, 02 Mar 2026 11:00:00 +0000", STORE_SOURCE_FILE);
	assert_peek(f, "SELECT count(*) FROM links WHERE record_id = 'd1'", "1");
	/* A put un-retires: the state is the one before. */
	g_autoptr(GPtrArray) ids = strings("c1", NULL);
	StoreCrmDeal d = { .id = "d1", .name = "Big", .probability = 50, .modified_at = 1772323200, .contact_ids = ids };
	PUT(f, store_crm_put_deal, &d, TRUE);
	g_autofree char *back = state_of(f, STORE_CRM_DEAL, "d1");
	g_assert_cmpstr(back, ==, before);
	/* Merge c2 into c1: addresses move, c2 is retired naming c1. */
	run_ok(f, store_begin(f->store, &error) && store_crm_merge_contact(f->store, "c2", "c1", "merged", &error) &&
			  store_commit(f->store, &error),
	       error);
	assert_peek(f, "SELECT contact_id, address_key FROM contact_addresses ORDER BY 2",
		    "c1|ann@client.example\nc1|zed@client.example");
	assert_peek(f, "SELECT merged_into, retired_at IS NOT NULL FROM contacts WHERE id = 'c2'", "c1|1");
	/* Inactive: deactivated or retired; an unknown user is not. */
	gboolean inactive = TRUE;
	run_ok(f, store_user_inactive(f->store, "u1", &inactive, &error), error);
	g_assert_false(inactive);
	StoreCrmUser u = { .id = "u1", .email = "a@x.example", .sharing = "public", .deactivated = TRUE };
	PUT(f, store_crm_put_user, &u, TRUE);
	run_ok(f, store_user_inactive(f->store, "u1", &inactive, &error), error);
	g_assert_true(inactive);
	run_ok(f, store_user_inactive(f->store, "nobody", &inactive, &error), error);
	g_assert_false(inactive);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
	g_test_add("/store-crm/user-upsert", Fixture, NULL, fixture_setup, test_user_upsert, fixture_teardown);
	g_test_add("/store-crm/user-lookups", Fixture, NULL, fixture_setup, test_user_lookups, fixture_teardown);
	g_test_add("/store-crm/exists", Fixture, NULL, fixture_setup, test_exists, fixture_teardown);
	g_test_add("/store-crm/contact-and-deal", Fixture, NULL, fixture_setup, test_contact_and_deal,
		   fixture_teardown);
	g_test_add("/store-reports/message-views", Fixture, NULL, reports_setup, test_message_views, fixture_teardown);
	g_test_add("/store-reports/history-and-ids", Fixture, NULL, reports_setup, test_history_and_ids,
		   fixture_teardown);
	g_test_add("/store-reports/report-rows", Fixture, NULL, reports_setup, test_report_rows, fixture_teardown);
	g_test_add("/store-crm/full-sync-ops", Fixture, NULL, reports_setup, test_full_sync_ops, fixture_teardown);
	g_test_add("/store-reports/report-no-to", Fixture, NULL, reports_setup, test_report_no_to, fixture_teardown);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
