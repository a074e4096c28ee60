/* store/: migrations, refusal of foreign or newer databases, exactly-once
 * storage, collisions, source identity and streamed raw bytes. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite.h"
#include "store/sqlite/schema.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

static char *
db_path(const char *name)
{
	return g_build_filename(testutil_tmpdir(), name, NULL);
}

/* A parsed record built by hand, so these tests do not depend on GMime. */
static IngestMessage *
fake_message(const char *message_id, const char *fingerprint_seed)
{
	IngestMessage *m = g_new0(IngestMessage, 1);
	m->message_id = g_strdup(message_id);
	m->date = 1700000000;
	m->subject = g_strdup("Quarterly numbers");
	m->addresses = g_ptr_array_new();
	m->references = g_ptr_array_new_with_free_func(g_free);
	m->attachments = g_ptr_array_new();
	m->warnings = g_ptr_array_new_with_free_func(g_free);
	m->body_text = g_strdup("hello");
	m->body_type = g_strdup("text/plain");
	g_autofree char *fp = g_compute_checksum_for_string(G_CHECKSUM_SHA256, fingerprint_seed, -1);
	memcpy(m->fingerprint, fp, 64);
	m->raw_size = 5;
	IngestAddress *a = g_new0(IngestAddress, 1);
	a->role = INGEST_ROLE_FROM;
	a->address = g_strdup("Ann@Example.COM");
	a->key = g_strdup("ann@example.com");
	g_ptr_array_add(m->addresses, a);
	g_ptr_array_add(m->references, g_strdup("older@example.com"));
	IngestAttachment *at = g_new0(IngestAttachment, 1);
	at->filename = g_strdup("q3.pdf");
	at->content_type = g_strdup("application/pdf");
	at->size = 3;
	memcpy(at->sha256, fp, 64);
	g_ptr_array_add(m->attachments, at);
	return m;
}

static void
fake_message_free(IngestMessage *m)
{
	for (guint i = 0; i < m->addresses->len; i++) {
		IngestAddress *a = g_ptr_array_index(m->addresses, i);
		g_free(a->address);
		g_free(a->key);
		g_free(a->name);
		g_free(a);
	}
	for (guint i = 0; i < m->attachments->len; i++) {
		IngestAttachment *a = g_ptr_array_index(m->attachments, i);
		g_free(a->filename);
		g_free(a->content_type);
		g_free(a);
	}
	g_ptr_array_unref(m->addresses);
	g_ptr_array_unref(m->attachments);
	g_ptr_array_unref(m->references);
	g_ptr_array_unref(m->warnings);
	g_free(m->message_id);
	g_free(m->subject);
	g_free(m->body_text);
	g_free(m->body_type);
	g_free(m);
}

static gint64
count(Store *s, const char *sql)
{
	sqlite3_stmt *st = sq_prepare(s, sql, NULL);
	g_assert_nonnull(st);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	gint64 v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

static void
put(Store *s, IngestMessage *m, const StoreSource *src, StorePutResult *r)
{
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_BYTES("hello", 5);
	g_assert_true(store_begin(s, &error));
	g_assert_true(store_put_message(s, m, &in, src, r, &error));
	g_assert_no_error(error);
	g_assert_true(store_commit(s, &error));
}

static void
lease_exec(Store *s, const char *sql)
{
	g_autoptr(GError) e = NULL;
	g_assert_true(sq_exec(s, sql, &e));
	g_assert_no_error(e);
}

/* Two pollers on one file: two connections. */
static void
test_mailbox_leases(void)
{
	g_autofree char *path = db_path("leases.db");
	g_autoptr(Store) a = store_open(path, NULL, NULL);
	g_autoptr(Store) b = store_open(path, NULL, NULL);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	testutil_lease_contract(a, b, lease_exec);
}

static void
test_migrate_empty(void)
{
	g_autofree char *path = db_path("empty.db");
	g_assert_true(g_file_set_contents(path, "", 0, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(store_schema_version(s), ==, STORE_SCHEMA_VERSION);
	g_assert_cmpint(count(s, "SELECT count(*) FROM sqlite_master WHERE name = 'messages'"), ==, 1);
	g_assert_cmpint(count(s, "PRAGMA foreign_keys"), ==, 1);
	sqlite3_stmt *st = sq_prepare(s, "PRAGMA journal_mode", NULL);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "wal");
	sqlite3_reset(st);
	g_assert_cmpint(count(s, "PRAGMA page_size"), ==, 8192);
}

/* A database as bccdrop with schema 1 left it: default 4 KiB pages, one
 * message with a reference and an attachment. */
static void
make_v1_database(const char *path)
{
	sqlite3 *db = NULL;
	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_exec(db, sq_schema_migration(1), NULL, NULL, NULL), ==, SQLITE_OK);
	const char *rows =
		"PRAGMA application_id=1111704658; PRAGMA user_version=1;"
		"INSERT INTO messages(id, message_id, fingerprint, date, raw_size, stored_at)"
		" VALUES (1, 'old@example.com', 'fp-old', '2026-01-01T00:00:00Z', 3, '2026-01-01T00:00:00Z');"
		"INSERT INTO message_references VALUES (1, 0, 'parent@example.com');"
		"INSERT INTO attachments VALUES (1, 0, 'a.pdf', 'application/pdf', 3, 'abc');"
		"INSERT INTO raw_messages VALUES (1, x'414243');";
	g_assert_cmpint(sqlite3_exec(db, rows, NULL, NULL, NULL), ==, SQLITE_OK);
	sqlite3_close(db);
}

static void
test_migrate_v1(void)
{
	g_autofree char *path = db_path("v1.db");
	make_v1_database(path);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(store_schema_version(s), ==, STORE_SCHEMA_VERSION);
	g_assert_cmpint(count(s, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
				 "('messages_in_reply_to', 'message_references_ref', 'attachments_sha256')"),
			==, 0);
	g_assert_cmpint(count(s, "SELECT count(*) FROM sqlite_master WHERE name = 'messages_message_id'"), ==, 1);
	/* Its page size cannot change in WAL mode: the old one stays, and works. */
	g_assert_cmpint(count(s, "PRAGMA page_size"), ==, 4096);
	g_assert_cmpint(count(s, "SELECT count(*) FROM message_references WHERE ref = 'parent@example.com'"), ==, 1);
	g_autoptr(GBytes) raw = store_raw_get(s, 1, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw), "ABC", 3);
	IngestMessage *m = fake_message("new@example.com", "after-migration");
	StoreSource file = { .kind = STORE_SOURCE_FILE, .received_at = 1, .file_name = "x.eml" };
	StorePutResult r;
	put(s, m, &file, &r);
	g_assert_true(r.new_message);
	g_assert_cmpint(count(s, "SELECT count(*) FROM messages"), ==, 2);
	sqlite3_stmt *st = sq_prepare(s, "PRAGMA integrity_check", NULL);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "ok");
	sqlite3_reset(st);
	fake_message_free(m);
}

/* The location picks the backend: a file path is SQLite, a PostgreSQL URI
 * the PostgreSQL backend — which refuses a password inside the URI before
 * connecting, without repeating it, and without creating a file of that
 * name. */
static void
test_backend_by_location(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "seam.db", NULL);
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(store_backend_name(s), ==, "sqlite");
	g_assert_true(store_backend_built("postgresql"));
	const char *uris[] = { "postgresql://ann:s3cret@db.example/crm", "postgres://ann:s3cret@db.example/crm" };
	for (guint i = 0; i < G_N_ELEMENTS(uris); i++) {
		g_autoptr(Store) pg = store_open(uris[i], NULL, &error);
		g_assert_null(pg);
		g_assert_error(error, STORE_ERROR, STORE_ERROR_OPEN);
		g_assert_null(strstr(error->message, "s3cret"));
		g_clear_error(&error);
	}
	g_assert_false(g_file_test("postgresql:", G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test("postgres:", G_FILE_TEST_EXISTS));
}

static void
test_refuse_newer(void)
{
	g_autofree char *path = db_path("newer.db");
	{
		g_autoptr(Store) s = store_open(path, NULL, NULL);
		g_assert_nonnull(s);
		g_autofree char *sql = g_strdup_printf("PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
		g_assert_true(sq_exec(s, sql, NULL));
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_null(s);
	g_assert_error(error, STORE_ERROR, STORE_ERROR_SCHEMA);
	g_assert_nonnull(strstr(error->message, "newer"));
	g_assert_nonnull(strstr(error->message, path));
}

static void
test_refuse_foreign(void)
{
	g_autofree char *path = db_path("foreign.db");
	sqlite3 *db = NULL;
	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), ==, SQLITE_OK);
	sqlite3_close(db);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_null(s);
	g_assert_error(error, STORE_ERROR, STORE_ERROR_SCHEMA);
	g_assert_nonnull(strstr(error->message, "not a bccdrop database"));
}

static void
test_exactly_once(void)
{
	g_autofree char *path = db_path("once.db");
	g_autoptr(Store) s = store_open(path, NULL, NULL);
	IngestMessage *m = fake_message("a1@example.com", "one");
	const char *rcpts[] = { "Drop+ann@crm.example", "bob@example.org", NULL };
	StoreSource dropbox = { .kind = STORE_SOURCE_BCC_DROPBOX, .received_at = 1, .owner_user_id = "u1",
				.envelope_from = "ann@example.com", .envelope_rcpts = rcpts };
	StorePutResult r;
	put(s, m, &dropbox, &r);
	g_assert_true(r.new_message);
	g_assert_true(r.new_source);
	g_assert_false(r.id_collision);
	gint64 first = r.message;

	/* The MTA retries after a lost reply: nothing new at all. */
	put(s, m, &dropbox, &r);
	g_assert_false(r.new_message);
	g_assert_false(r.new_source);
	g_assert_cmpint(r.message, ==, first);

	/* The same message seen again in the owner's IMAP mailbox. */
	StoreSource imap = { .kind = STORE_SOURCE_IMAP, .owner_user_id = "u1", .mailbox_id = 7, .folder = "Sent",
			     .uidvalidity = 100, .uid = 5 };
	put(s, m, &imap, &r);
	g_assert_false(r.new_message);
	g_assert_true(r.new_source);

	/* UIDVALIDITY changed: same message, same folder; the source moves. */
	imap.uidvalidity = 200;
	imap.uid = 1;
	put(s, m, &imap, &r);
	g_assert_false(r.new_source);
	g_assert_cmpint(count(s, "SELECT uidvalidity * 1000 + uid FROM sources WHERE kind = 'imap'"), ==, 200001);

	g_assert_cmpint(count(s, "SELECT count(*) FROM messages"), ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM sources"), ==, 2);
	g_assert_cmpint(count(s, "SELECT count(*) FROM raw_messages"), ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM attachments"), ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM participants WHERE role = 'envelope_rcpt'"), ==, 2);
	g_assert_cmpint(count(s, "SELECT count(*) FROM participants WHERE address_key = 'drop+ann@crm.example'"), ==,
			1);
	fake_message_free(m);
}

static void
test_collision(void)
{
	g_autofree char *path = db_path("collision.db");
	g_autoptr(Store) s = store_open(path, NULL, NULL);
	IngestMessage *a = fake_message("same@example.com", "first content");
	IngestMessage *b = fake_message("same@example.com", "second content");
	StoreSource file = { .kind = STORE_SOURCE_FILE, .file_name = "a.eml" };
	StorePutResult r;
	put(s, a, &file, &r);
	g_assert_false(r.id_collision);
	g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*collision*");
	put(s, b, &file, &r);
	g_test_assert_expected_messages();
	g_assert_true(r.new_message);
	g_assert_true(r.id_collision);
	g_autoptr(GArray) ids = store_find_message_id(s, "<same@example.com>", NULL);
	g_assert_cmpuint(ids->len, ==, 2);
	fake_message_free(a);
	fake_message_free(b);
}

static void
test_raw_from_fd(void)
{
	g_autofree char *path = db_path("fd.db");
	g_autoptr(Store) s = store_open(path, NULL, NULL);
	g_autofree char *spool = db_path("spool.eml");
	/* Larger than one copy buffer, with every byte value, to catch offset bugs. */
	gsize len = 200000;
	g_autofree guint8 *data = g_malloc(len);
	for (gsize i = 0; i < len; i++)
		data[i] = (guint8)(i * 7 + i / 256);
	g_assert_true(g_file_set_contents(spool, (const char *)data, (gssize)len, NULL));
	int fd = open(spool, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	IngestMessage *m = fake_message("big@example.com", "big");
	IngestInput in = INGEST_INPUT_FD(fd);
	StoreSource src = { .kind = STORE_SOURCE_FILE, .file_name = "spool" };
	StorePutResult r;
	g_autoptr(GError) error = NULL;
	g_assert_true(store_begin(s, &error));
	g_assert_true(store_put_message(s, m, &in, &src, &r, &error));
	g_assert_true(store_commit(s, &error));
	close(fd);
	g_autoptr(GBytes) back = store_raw_get(s, r.message, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(g_bytes_get_data(back, NULL), g_bytes_get_size(back), data, len);
	fake_message_free(m);
}

static void
test_readonly_fails_cleanly(void)
{
	/* A read-only connection: file modes do not stop root, who runs the tests. */
	g_autofree char *path = db_path("ro.db");
	{
		g_autoptr(Store) s = store_open(path, NULL, NULL);
		g_assert_nonnull(s);
	}
	StoreOptions o = STORE_OPTIONS_DEFAULT;
	o.readonly = TRUE;
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, &o, &error);
	g_assert_no_error(error);
	IngestMessage *m = fake_message("ro@example.com", "ro");
	IngestInput in = INGEST_INPUT_BYTES("hello", 5);
	StoreSource src = { .kind = STORE_SOURCE_FILE, .file_name = "ro" };
	if (store_begin(s, &error)) {
		g_assert_false(store_put_message(s, m, &in, &src, NULL, &error));
		store_rollback(s);
	}
	g_assert_error(error, STORE_ERROR, STORE_ERROR_READONLY);
	g_assert_false(store_in_transaction(s));
	fake_message_free(m);
}

static void
test_busy_is_reported(void)
{
	g_autofree char *path = db_path("busy.db");
	StoreOptions o = STORE_OPTIONS_DEFAULT;
	o.busy_timeout_ms = 50;
	g_autoptr(Store) a = store_open(path, &o, NULL);
	g_autoptr(Store) b = store_open(path, &o, NULL);
	g_autoptr(GError) error = NULL;
	g_assert_true(store_begin(a, &error));
	g_assert_false(store_begin(b, &error));
	g_assert_error(error, STORE_ERROR, STORE_ERROR_BUSY);
	store_rollback(a);
}

static void
test_source_kinds(void)
{
	StoreSourceKind k;
	g_assert_true(store_source_kind_parse("bcc_dropbox", &k));
	g_assert_cmpint(k, ==, STORE_SOURCE_BCC_DROPBOX);
	g_assert_cmpstr(store_source_kind_name(STORE_SOURCE_POP3), ==, "pop3");
	g_assert_false(store_source_kind_parse("smtp", &k));
}

static const char decision_crm_sql[] =
	"INSERT INTO users(id, email, dropbox, sharing) VALUES ('u1', 'u1@ourco.example', 'u1-drop@bcc.example', "
	"'custom');"
	"INSERT INTO user_excluded_domains VALUES ('u1', 'b.example'), ('u1', 'a.example');"
	"INSERT INTO stages(name, probability) VALUES ('Qualified', 20);"
	"INSERT INTO contacts(id, name) VALUES ('c2', 'Two'), ('c1', 'One');"
	"INSERT INTO contact_addresses VALUES ('c2', 'ann@example.com', 'ann@example.com'), "
	"('c1', 'Ann@Example.com', 'ann@example.com');"
	"INSERT INTO deals(id, name, stage, probability, modified_at) VALUES "
	"('dA', 'A', NULL, NULL, '2026-03-01T00:00:00Z'), ('dC', 'C', NULL, 10, '2026-03-05T00:00:00Z'), "
	"('dB', 'B', 'Qualified', NULL, '2026-03-05T00:00:00Z');"
	"INSERT INTO deal_contacts VALUES ('dA', 'c1'), ('dB', 'c1'), ('dC', 'c1');";

static char *
deal_ids(GPtrArray *deals)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < deals->len; i++) {
		const StoreFactDeal *d = deals->pdata[i];
		g_string_append_printf(s, "%s%s:%d/%d:%d/%d", i ? " " : "", d->id, d->has_probability, d->probability,
				       d->has_stage_probability, d->stage_probability);
	}
	return g_string_free(s, FALSE);
}

static void
write_one(Store *s, gint64 message, const StoreLinkChange *c, gboolean decision, const char *trace)
{
	g_autoptr(GError) error = NULL;
	StoreDecisionWrite w = { message, "2026-03-02T10:00:00Z", "test", c, c ? 1 : 0, decision, "linked", trace };
	g_assert_true(store_begin(s, &error));
	g_assert_true(store_decision_write(s, &w, &error));
	g_assert_no_error(error);
	g_assert_true(store_commit(s, &error));
}

/* The facts of a decision, gathered as the rule expects them, and the
 * writes of its outcome: exactly what the caller says, nothing more. */
static void
test_decision_facts_and_writes(void)
{
	g_autofree char *path = db_path("facts.db");
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(sq_exec(s, decision_crm_sql, &error));
	IngestMessage *parent = fake_message("older@example.com", "parent");
	IngestMessage *m = fake_message("m1@example.com", "m1");
	StoreSource file = { .kind = STORE_SOURCE_FILE, .file_name = "f" };
	StoreSource drop = { .kind = STORE_SOURCE_BCC_DROPBOX, .owner_user_id = "u1", .dropbox = "u1-drop@bcc.example" };
	StorePutResult rp, rm;
	put(s, parent, &file, &rp);
	put(s, m, &drop, &rm);
	StoreLink dx = { "deal", "dX", "deal_newest", "public", NULL, NULL };
	StoreLinkChange add = { STORE_LINK_ADDED, &dx, NULL, NULL };
	write_one(s, rp.message, &add, TRUE, "first\n");

	g_autoptr(StoreDecisionFacts) f = store_decision_facts(s, rm.message, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(f->sources->len, ==, 1);
	StoreFactSource *src = f->sources->pdata[0];
	g_assert_cmpstr(src->kind, ==, "bcc_dropbox");
	g_assert_cmpstr(src->owner_user_id, ==, "u1");
	g_assert_cmpstr(src->dropbox, ==, "u1-drop@bcc.example");
	g_assert_cmpuint(f->participants->len, >=, 1);
	StoreFactParticipant *p = f->participants->pdata[0];
	g_assert_cmpstr(p->role, ==, "from");
	g_assert_cmpstr(p->key, ==, "ann@example.com");
	g_assert_null(p->user_id);
	g_assert_cmpuint(p->contacts->len, ==, 2);
	StoreFactContact *c1 = p->contacts->pdata[0];
	g_assert_cmpstr(c1->id, ==, "c1");
	g_assert_cmpstr(((StoreFactContact *)p->contacts->pdata[1])->id, ==, "c2");
	g_autofree char *deals = deal_ids(c1->deals);
	g_assert_cmpstr(deals, ==, "dB:0/0:1/20 dC:1/10:0/0 dA:0/0:0/0");
	g_assert_cmpuint(f->references->len, ==, 1);
	StoreFactReference *r = f->references->pdata[0];
	g_assert_cmpstr(r->message_id, ==, "older@example.com");
	g_assert_cmpuint(r->deals->len, ==, 1);
	g_assert_cmpstr(r->deals->pdata[0], ==, "dX");
	g_assert_cmpuint(f->owners->len, ==, 1);
	StoreFactOwner *o = f->owners->pdata[0];
	g_assert_cmpstr(o->sharing, ==, "custom");
	g_assert_cmpuint(o->excluded_domains->len, ==, 2);
	g_assert_cmpstr(o->excluded_domains->pdata[0], ==, "a.example");

	/* A change without the decision row keeps the stored trace. */
	StoreLink dx2 = { "deal", "dX", "thread_reply", "private", NULL, NULL };
	StoreLinkChange change = { STORE_LINK_CHANGED, &dx2, "deal_newest", "public" };
	write_one(s, rp.message, &change, FALSE, "second\n");
	g_autoptr(StoreLinkState) st = store_link_state(s, rp.message, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(st->links->len, ==, 1);
	g_assert_cmpstr(((StoreLink *)st->links->pdata[0])->rule, ==, "thread_reply");
	g_assert_cmpstr(st->status, ==, "linked");
	g_assert_cmpstr(st->trace, ==, "first\n");
	StoreLinkChange removal = { STORE_LINK_REMOVED, &dx2, NULL, NULL };
	write_one(s, rp.message, &removal, TRUE, "third\n");
	g_autoptr(StoreLinkState) gone = store_link_state(s, rp.message, &error);
	g_assert_cmpuint(gone->links->len, ==, 0);
	g_assert_cmpstr(gone->trace, ==, "third\n");
	g_autoptr(StoreLinkState) never = store_link_state(s, rm.message, &error);
	g_assert_null(never->status);
	g_assert_null(never->trace);
	sqlite3_stmt *h = sq_prepare(s,
					"SELECT group_concat(action || ' ' || coalesce(old_rule, '-') || '>' || "
					"coalesce(new_rule, '-'), ', ') FROM (SELECT * FROM link_history ORDER BY id)",
					&error);
	g_assert_cmpint(sqlite3_step(h), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(h, 0), ==,
			"added ->deal_newest, changed deal_newest>thread_reply, removed thread_reply>-");
	sqlite3_reset(h);
	g_autoptr(GPtrArray) keys = g_ptr_array_new();
	g_ptr_array_add(keys, "ann@example.com");
	g_autoptr(GArray) none = store_unmatched_for_keys(s, keys, &error);
	g_assert_cmpuint(none->len, ==, 0); /* linked, and m1 never decided */
	fake_message_free(parent);
	fake_message_free(m);
}

/* Every statement of a decision (store/facts.c, store/links.c) is
 * index-backed: no full SCAN of a table that grows with the CRM or the mail. */
static void
test_decision_query_plans(void)
{
	g_autofree char *path = db_path("plans.db");
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(path, NULL, &error);
	g_assert_no_error(error);
	const char *const sqls[] = STORE_SQL_DECISION_LIST;
	const char *const big[] = { "contacts", "contact_addresses", "deals", "deal_contacts", "participants",
				    "messages", "links", "sources", "users", "user_addresses", "message_references",
				    "user_excluded_domains", NULL };
	for (guint i = 0; sqls[i]; i++) {
		g_autofree char *eqp = g_strdup_printf("EXPLAIN QUERY PLAN %s", sqls[i]);
		sqlite3_stmt *st = NULL;
		g_assert_cmpint(sqlite3_prepare_v2(sq_handle(store), eqp, -1, &st, NULL), ==, SQLITE_OK);
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
	const char *const backfill[] = { "EXPLAIN QUERY PLAN " STORE_SQL_UNMATCHED_FOR_KEY, NULL };
	for (guint i = 0; backfill[i]; i++) {
		sqlite3_stmt *st = NULL;
		g_assert_cmpint(sqlite3_prepare_v2(sq_handle(store), backfill[i], -1, &st, NULL), ==, SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			g_assert_false(g_str_has_prefix((const char *)sqlite3_column_text(st, 3), "SCAN "));
		sqlite3_finalize(st);
	}
}

/* The typed retention operations a backend implements: a held message is
 * kept, an unheld old one goes with its parts and is logged, the log
 * refuses changes, a hold on nothing is refused. */
static void
test_retention(void)
{
	g_autofree char *path = db_path("retention.db");
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) s = store_open(path, NULL, &error);
	g_assert_no_error(error);
	StoreSource src = { .kind = STORE_SOURCE_FILE, .received_at = 1700000000, .file_name = "f" };
	IngestMessage *held = fake_message("held@example.com", "held");
	IngestMessage *gone = fake_message("gone@example.com", "gone");
	StorePutResult r;
	put(s, held, &src, &r);
	put(s, gone, &src, &r);
	gint64 id = 0;
	g_assert_false(store_hold_add(s, STORE_HOLD_DEAL, "d404", "x", 0, &id, &error));
	g_assert_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_true(store_hold_add(s, STORE_HOLD_MESSAGE, "held@example.com", "audit", 0, &id, &error));
	g_autoptr(GPtrArray) due = store_retention_due(s, 1700000001, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(due->len, ==, 2);
	guint deleted = 0;
	g_assert_true(store_retention_purge(s, 1700000001, "test", 500, &deleted, &error));
	g_assert_cmpuint(deleted, ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM messages WHERE message_id = 'held@example.com'"), ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM attachments"), ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM retention_log WHERE message_id = 'gone@example.com'"), ==, 1);
	g_assert_false(sq_exec(s, "DELETE FROM retention_log", NULL));
	g_assert_false(sq_exec(s, "UPDATE retention_log SET reason = ''", NULL));
	g_assert_true(store_hold_release(s, id, &error));
	g_assert_false(store_hold_release(s, id, &error));
	g_assert_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND);
	g_assert_true(store_retention_purge(s, 1700000001, "test", 500, &deleted, NULL));
	g_assert_cmpuint(deleted, ==, 1);
	g_assert_cmpint(count(s, "SELECT count(*) FROM retention_log"), ==, 2);
	fake_message_free(held);
	fake_message_free(gone);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store/migrate-empty", test_migrate_empty);
	g_test_add_func("/store/backend-by-location", test_backend_by_location);
	g_test_add_func("/store/migrate-v1", test_migrate_v1);
	g_test_add_func("/store/refuse-newer", test_refuse_newer);
	g_test_add_func("/store/refuse-foreign", test_refuse_foreign);
	g_test_add_func("/store/exactly-once", test_exactly_once);
	g_test_add_func("/store/collision", test_collision);
	g_test_add_func("/store/raw-from-fd", test_raw_from_fd);
	g_test_add_func("/store/readonly", test_readonly_fails_cleanly);
	g_test_add_func("/store/busy", test_busy_is_reported);
	g_test_add_func("/store/source-kinds", test_source_kinds);
	g_test_add_func("/store/decision-query-plans", test_decision_query_plans);
	g_test_add_func("/store/decision-facts-and-writes", test_decision_facts_and_writes);
	g_test_add_func("/store/retention", test_retention);
	g_test_add_func("/store/mailbox-leases", test_mailbox_leases);
	return g_test_run();
}
