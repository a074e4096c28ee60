/* store/: migrations, refusal of foreign or newer databases, exactly-once
 * storage, collisions, source identity and streamed raw bytes. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "store/schema.h"
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
	sqlite3_stmt *st = store_prepare(s, sql, NULL);
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
	sqlite3_stmt *st = store_prepare(s, "PRAGMA journal_mode", NULL);
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
	g_assert_cmpint(sqlite3_exec(db, store_schema_migration(1), NULL, NULL, NULL), ==, SQLITE_OK);
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
	sqlite3_stmt *st = store_prepare(s, "PRAGMA integrity_check", NULL);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "ok");
	sqlite3_reset(st);
	fake_message_free(m);
}

static void
test_refuse_newer(void)
{
	g_autofree char *path = db_path("newer.db");
	{
		g_autoptr(Store) s = store_open(path, NULL, NULL);
		g_assert_nonnull(s);
		g_autofree char *sql = g_strdup_printf("PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
		g_assert_true(store_exec(s, sql, NULL));
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

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store/migrate-empty", test_migrate_empty);
	g_test_add_func("/store/migrate-v1", test_migrate_v1);
	g_test_add_func("/store/refuse-newer", test_refuse_newer);
	g_test_add_func("/store/refuse-foreign", test_refuse_foreign);
	g_test_add_func("/store/exactly-once", test_exactly_once);
	g_test_add_func("/store/collision", test_collision);
	g_test_add_func("/store/raw-from-fd", test_raw_from_fd);
	g_test_add_func("/store/readonly", test_readonly_fails_cleanly);
	g_test_add_func("/store/busy", test_busy_is_reported);
	g_test_add_func("/store/source-kinds", test_source_kinds);
	return g_test_run();
}
