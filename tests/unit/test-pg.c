/* store/pg/: the PostgreSQL backend against a real server (BCCDROP_PG_URI,
 * set by tests/integration/pg-store.sh; skipped without it). Migrations,
 * re-open, two hosts migrating at once, dedup and source identity, two
 * connections storing one message concurrently, savepoints, a stopped
 * server (BUSY and recovery), passwords and their redaction. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/pg/pg.h"
#include "tests/unit/testutil.h"

/* Each pg_store_X has exactly store_X's type: store/pg/pg.h declares them
 * from store/ops.h and store/pg/backend.c's table points at them, so a
 * mismatch fails to compile. Opening is the one entry outside the table. */
G_STATIC_ASSERT(__builtin_types_compatible_p(__typeof__(&pg_store_open), __typeof__(&store_open)));

/* pg_store_open() with [store] password_file set to PWFILE. */
static Store *
open_with_password_file(const char *uri, const char *pwfile, GError **error)
{
	StoreOptions o = STORE_OPTIONS_DEFAULT;
	o.password_file = pwfile;
	return pg_store_open(uri, &o, error);
}

static const char *base_uri;

/* Until store_close() dispatches to the backend, close PostgreSQL stores
 * with pg_store_close(). */
typedef Store PgTestStore;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PgTestStore, pg_store_close)

/* BASE's URI with its database replaced by NAME. */
static char *
uri_with_db(const char *base, const char *name)
{
	const char *auth = strstr(base, "://") + 3;
	const char *path = auth + strcspn(auth, "/?");
	const char *rest = path + strcspn(path, "?");
	return g_strdup_printf("%.*s/%s%s", (int)(path - base), base, name, rest);
}

static PGconn *
admin_connect(void)
{
	PGconn *c = PQconnectdb(base_uri);
	g_assert_cmpint(PQstatus(c), ==, CONNECTION_OK);
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static void
admin_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		g_error("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

/* A new empty database NAME; its URI. */
static char *
fresh_db(const char *name)
{
	PGconn *c = admin_connect();
	char *id = PQescapeIdentifier(c, name, strlen(name));
	g_autofree char *drop = g_strdup_printf("DROP DATABASE IF EXISTS %s WITH (FORCE)", id);
	g_autofree char *create = g_strdup_printf("CREATE DATABASE %s", id);
	admin_exec(c, drop);
	admin_exec(c, create);
	PQfreemem(id);
	PQfinish(c);
	return uri_with_db(base_uri, name);
}

static Store *
open_ok(const char *uri)
{
	g_autoptr(GError) e = NULL;
	Store *s = pg_store_open(uri, NULL, &e);
	g_assert_no_error(e);
	g_assert_nonnull(s);
	return s;
}

/* An open store on a new empty database NAME. */
static Store *
fresh_store(const char *name)
{
	g_autofree char *uri = fresh_db(name);
	return open_ok(uri);
}

/* The first column of SQL's first row, as text (NULL for SQL NULL). */
static char *
query_text(Store *s, const char *sql)
{
	g_autoptr(GError) e = NULL;
	PGresult *r = pg_store_query(pg_store_cast(s), sql, NULL, 0, "test", &e);
	g_assert_no_error(e);
	g_assert_cmpint(PQntuples(r), >, 0);
	char *v = PQgetisnull(r, 0, 0) ? NULL : g_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static gint64
query_int(Store *s, const char *sql)
{
	g_autofree char *v = query_text(s, sql);
	return v ? g_ascii_strtoll(v, NULL, 10) : 0;
}

static const char raw_a[] = "From: Ann <ann@client.example>\r\n"
			    "To: bob@ourco.com, carol@ourco.com\r\n"
			    "Subject: Offer\r\n"
			    "Message-ID: <offer-1@client.example>\r\n"
			    "References: <older@client.example>\r\n"
			    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
			    "\r\n"
			    "Hello Bob.\r\n";

static IngestMessage *
parse(const char *raw)
{
	g_autoptr(GError) e = NULL;
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	IngestMessage *m = ingest_parse(&in, 1772445600, &e);
	g_assert_no_error(e);
	return m;
}

static const char *const rcpts_1[] = { "bob-drop@bcc.example", NULL };

static StoreSource
dropbox_source(const char *owner)
{
	return (StoreSource){ .kind = STORE_SOURCE_BCC_DROPBOX,
			      .received_at = 1772445600,
			      .owner_user_id = owner,
			      .envelope_from = "ann@client.example",
			      .envelope_rcpts = rcpts_1,
			      .dropbox = "bob-drop@bcc.example" };
}

static StorePutResult
put(Store *s, const char *raw, const StoreSource *src)
{
	g_autoptr(IngestMessage) m = parse(raw);
	g_autoptr(GError) e = NULL;
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	StorePutResult r = { 0 };
	g_assert_true(pg_store_put_message(s, m, &in, src, &r, &e));
	g_assert_no_error(e);
	return r;
}

static void
commit_ok(Store *s)
{
	g_autoptr(GError) e = NULL;
	g_assert_true(pg_store_commit(s, &e));
	g_assert_no_error(e);
}

static void
begin_ok(Store *s)
{
	g_autoptr(GError) e = NULL;
	g_assert_true(pg_store_begin(s, &e));
	g_assert_no_error(e);
}

/* ---- schema ---- */

static void
test_migrate_empty(void)
{
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_migrate");
	g_assert_cmpint(pg_store_schema_version(s), ==, STORE_SCHEMA_VERSION);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM bccdrop_schema"), ==, STORE_SCHEMA_VERSION);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM pg_views WHERE viewname IN ('email_links', "
				     "'email_report', 'unmatched_emails', 'mailbox_status')"),
			==, 4);
	g_autofree char *sync = query_text(s, "SHOW synchronous_commit");
	g_assert_cmpstr(sync, ==, "on");
	/* The ISO text default, as SQLite's strftime writes it. */
	pg_store_exec(pg_store_cast(s), "INSERT INTO users(id, email) VALUES ('u1', 'u1@ourco.com')", "t", NULL);
	g_autofree char *at = query_text(s, "SELECT updated_at FROM users");
	g_assert_true(g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$", at, 0, 0));
	g_autoptr(GError) e = NULL;
	g_assert_false(pg_store_exec(pg_store_cast(s), "INSERT INTO users(id, email) VALUES ('u1', 'x')", "t", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_INVALID);
	g_assert_nonnull(strstr(e->message, "23505"));
	g_assert_cmpint(pg_store_in_transaction(s), ==, FALSE);
}

/* Rows of SQL, one line each with the columns joined by '.'. */
static char *
sqlite_lines(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
	GString *out = g_string_new(NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		g_string_append_printf(out, "%s.%s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	return g_string_free(out, FALSE);
}

static char *
pg_lines(Store *s, const char *sql)
{
	g_autoptr(GError) e = NULL;
	PGresult *r = pg_store_query(pg_store_cast(s), sql, NULL, 0, "test", &e);
	g_assert_no_error(e);
	GString *out = g_string_new(NULL);
	for (int i = 0; i < PQntuples(r); i++)
		g_string_append_printf(out, "%s.%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	return g_string_free(out, FALSE);
}

/* Every table, view and column, and every index, by the same name as in the
 * SQLite schema: queries written for one run on the other. */
static void
test_same_schema_as_sqlite(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "schema.db", NULL);
	store_close(store_open(path, NULL, NULL));
	sqlite3 *db = NULL;
	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_columns");
	g_autofree char *lite_cols = sqlite_lines(db, "SELECT m.name, p.name FROM sqlite_master m, "
						  "pragma_table_info(m.name) p WHERE m.type IN ('table', 'view') "
						  /* The full-text index is each engine's own: FTS5's
						   * tables here, a tsvector column there. */
						  "AND m.name NOT LIKE 'message_search%' "
						  "ORDER BY m.name COLLATE BINARY, p.cid");
	g_autofree char *pg_cols = pg_lines(s, "SELECT table_name, column_name FROM information_schema.columns "
					       "WHERE table_schema = 'public' AND table_name <> 'bccdrop_schema' "
					       "AND NOT (table_name = 'messages' AND column_name = 'search_vector') "
					       "ORDER BY table_name COLLATE \"C\", ordinal_position");
	g_assert_cmpstr(pg_cols, ==, lite_cols);
	g_autofree char *lite_idx = sqlite_lines(db, "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' "
						 "AND name NOT LIKE 'sqlite_autoindex%' ORDER BY 2");
	g_autofree char *pg_idx = pg_lines(s, "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' "
					      "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = indexname) "
					      "AND indexname <> 'messages_search' " /* the tsvector's GIN index */
					      "ORDER BY indexname COLLATE \"C\"");
	g_assert_cmpstr(pg_idx, ==, lite_idx);
	sqlite3_close(db);
}

static void
test_reopen(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_reopen");
	pg_store_close(open_ok(uri));
	g_autoptr(PgTestStore) s = open_ok(uri);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM bccdrop_schema"), ==, STORE_SCHEMA_VERSION);
	g_assert_cmpstr(pg_store_path(s), ==, uri);
	/* Read-only: no migration, the version is only checked. */
	StoreOptions ro = STORE_OPTIONS_DEFAULT;
	ro.readonly = TRUE;
	g_autoptr(GError) e = NULL;
	g_autoptr(PgTestStore) r = pg_store_open(uri, &ro, &e);
	g_assert_no_error(e);
	g_assert_cmpint(pg_store_begin(r, NULL), ==, TRUE);
	g_assert_false(pg_store_exec(pg_store_cast(r), "DELETE FROM messages", "t", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_READONLY);
	pg_store_rollback(r);
}

static void
test_refuse_newer_and_foreign(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_refuse");
	g_autoptr(PgTestStore) s = open_ok(uri);
	g_assert_true(pg_store_exec(pg_store_cast(s), "INSERT INTO bccdrop_schema VALUES (99, 'x')", "t", NULL));
	g_autoptr(GError) e = NULL;
	g_assert_null(pg_store_open(uri, NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_SCHEMA);
	g_assert_nonnull(strstr(e->message, "newer"));
	g_clear_error(&e);

	g_autofree char *other = fresh_db("bccdrop_t_foreign");
	PGconn *c = PQconnectdb(other);
	admin_exec(c, "CREATE TABLE invoices (id int)");
	PQfinish(c);
	g_assert_null(pg_store_open(other, NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_SCHEMA);
	g_assert_nonnull(strstr(e->message, "not a bccdrop database"));
}

static gpointer
open_thread(gpointer uri)
{
	GError *e = NULL;
	Store *s = pg_store_open(uri, NULL, &e);
	if (e)
		g_printerr("# open: %s\n", e->message);
	g_clear_error(&e);
	return s;
}

static void
test_concurrent_migrate(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_race");
	GThread *t[4];
	for (guint i = 0; i < G_N_ELEMENTS(t); i++)
		t[i] = g_thread_new("open", open_thread, uri);
	for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
		Store *s = g_thread_join(t[i]);
		g_assert_nonnull(s);
		g_assert_cmpint(pg_store_schema_version(s), ==, STORE_SCHEMA_VERSION);
		g_assert_cmpint(query_int(s, "SELECT count(*) FROM bccdrop_schema"), ==, STORE_SCHEMA_VERSION);
		pg_store_close(s);
	}
}

/* ---- messages ---- */

static void
test_put_dedup(void)
{
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_put");
	StoreSource drop = dropbox_source("u1");
	begin_ok(s);
	StorePutResult r1 = put(s, raw_a, &drop);
	g_assert_true(r1.new_message && r1.new_source && !r1.id_collision);
	StorePutResult r2 = put(s, raw_a, &drop);
	g_assert_true(!r2.new_message && !r2.new_source);
	g_assert_cmpint(r2.message, ==, r1.message);
	StoreSource imap = { .kind = STORE_SOURCE_IMAP, .owner_user_id = "u1", .mailbox_id = 7, .folder = "INBOX",
			     .uidvalidity = 1, .uid = 42 };
	StorePutResult r3 = put(s, raw_a, &imap);
	g_assert_true(!r3.new_message && r3.new_source);
	imap.uidvalidity = 2;
	imap.uid = 5;
	StorePutResult r4 = put(s, raw_a, &imap);
	g_assert_false(r4.new_source);
	commit_ok(s);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM messages"), ==, 1);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM sources"), ==, 2);
	g_assert_cmpint(query_int(s, "SELECT uid FROM sources WHERE kind = 'imap'"), ==, 5);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM participants WHERE role = 'to'"), ==, 2);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM participants WHERE role = 'envelope_rcpt'"), ==, 1);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM message_references"), ==, 1);
	g_autofree char *date = query_text(s, "SELECT date FROM messages");
	g_assert_cmpstr(date, ==, "2026-03-02T10:00:00Z");

	g_autoptr(GBytes) b = pg_store_raw_get(s, r1.message, NULL);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), raw_a, strlen(raw_a));
	g_autoptr(GArray) ids = pg_store_find_message_id(s, " <offer-1@client.example> ", NULL);
	g_assert_cmpuint(ids->len, ==, 1);
	g_assert_cmpint(g_array_index(ids, gint64, 0), ==, r1.message);
	guint links = 99;
	g_assert_true(pg_store_message_link_count(s, r1.message, &links, NULL));
	g_assert_cmpuint(links, ==, 0);
	g_autoptr(GError) e = NULL;
	g_assert_null(pg_store_raw_get(s, r1.message + 1000, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_NOT_FOUND);
}

/* A different message with the same Message-ID is kept; a spooled (fd)
 * message with a NUL byte comes back byte for byte. */
static void
test_collision_and_fd(void)
{
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_fd");
	StoreSource drop = dropbox_source("u1");
	begin_ok(s);
	gint64 first = put(s, raw_a, &drop).message;
	static const char raw_b[] = "From: ann@client.example\r\nMessage-ID: <offer-1@client.example>\r\n"
				    "Subject: Other\r\n\r\nbinary \0 byte\r\n";
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "spool", NULL);
	g_assert_true(g_file_set_contents(path, raw_b, sizeof raw_b - 1, NULL));
	int fd = open(path, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	IngestInput in = INGEST_INPUT_FD(fd);
	g_autoptr(IngestMessage) m = ingest_parse(&in, 1772445600, NULL);
	StorePutResult r = { 0 };
	g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*collision*");
	g_assert_true(pg_store_put_message(s, m, &in, &drop, &r, NULL));
	g_test_assert_expected_messages();
	close(fd);
	g_assert_true(r.new_message && r.id_collision);
	commit_ok(s);
	g_autoptr(GArray) ids = pg_store_find_message_id(s, "offer-1@client.example", NULL);
	g_assert_cmpuint(ids->len, ==, 2);
	g_assert_cmpint(g_array_index(ids, gint64, 0), ==, first);
	g_autoptr(GBytes) b = pg_store_raw_get(s, r.message, NULL);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), raw_b, sizeof raw_b - 1);
}

typedef struct {
	Store *store;
	const char *owner;
	const char *const *rcpts;
	StorePutResult result;
	gboolean ok;
} PutJob;

static gpointer
put_thread(gpointer data)
{
	PutJob *job = data;
	StoreSource src = dropbox_source(job->owner);
	if (job->rcpts)
		src.envelope_rcpts = job->rcpts;
	g_autoptr(IngestMessage) m = parse(raw_a);
	IngestInput in = INGEST_INPUT_BYTES(raw_a, strlen(raw_a));
	job->ok = pg_store_begin(job->store, NULL) &&
		  pg_store_put_message(job->store, m, &in, &src, &job->result, NULL) &&
		  pg_store_commit(job->store, NULL);
	return NULL;
}

/* Whether some backend waits for a lock (the second writer, blocked on the
 * first one's uncommitted row). */
static gboolean
someone_waits(Store *watcher)
{
	for (int i = 0; i < 200; i++) {
		if (query_int(watcher, "SELECT count(*) FROM pg_locks WHERE NOT granted") > 0)
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

/* Two hosts, one message, at the same moment: one message row, two sources. */
static void
test_concurrent_insert(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_twohosts");
	g_autoptr(PgTestStore) a = open_ok(uri);
	g_autoptr(PgTestStore) watcher = open_ok(uri);
	PutJob job = { .store = open_ok(uri), .owner = "u2" };
	StoreSource src = dropbox_source("u1");
	begin_ok(a);
	StorePutResult ra = put(a, raw_a, &src);
	g_assert_true(ra.new_message);
	GThread *t = g_thread_new("host-b", put_thread, &job);
	g_assert_true(someone_waits(watcher));
	commit_ok(a);
	g_thread_join(t);
	g_assert_true(job.ok);
	g_assert_false(job.result.new_message);
	g_assert_true(job.result.new_source);
	g_assert_cmpint(job.result.message, ==, ra.message);
	g_assert_cmpint(query_int(watcher, "SELECT count(*) FROM messages"), ==, 1);
	g_assert_cmpint(query_int(watcher, "SELECT count(*) FROM raw_messages"), ==, 1);
	g_assert_cmpint(query_int(watcher, "SELECT count(*) FROM sources"), ==, 2);

	/* Both add an envelope recipient to the stored message at once: both
	 * want the next position; the second takes the one after. */
	static const char *const rcpt_x[] = { "x-drop@bcc.example", NULL };
	static const char *const rcpt_y[] = { "y-drop@bcc.example", NULL };
	StoreSource src3 = dropbox_source("u3");
	src3.envelope_rcpts = rcpt_x;
	begin_ok(a);
	g_assert_true(put(a, raw_a, &src3).new_source);
	PutJob job2 = { .store = job.store, .owner = "u4", .rcpts = rcpt_y };
	t = g_thread_new("host-b", put_thread, &job2);
	g_assert_true(someone_waits(watcher));
	commit_ok(a);
	g_thread_join(t);
	g_assert_true(job2.ok && job2.result.new_source);
	g_autofree char *rcpts = query_text(watcher, "SELECT string_agg(position || '=' || address, ' ' ORDER BY position) "
						     "FROM participants WHERE role = 'envelope_rcpt'");
	g_assert_cmpstr(rcpts, ==, "0=bob-drop@bcc.example 1=x-drop@bcc.example 2=y-drop@bcc.example");
	pg_store_close(job.store);
}

/* A writer waiting for another host's transaction longer than
 * busy_timeout_ms gives up as BUSY (the milter answers 451), as on SQLite. */
static void
test_lock_timeout(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_locktimeout");
	g_autoptr(PgTestStore) a = open_ok(uri);
	StoreOptions o = STORE_OPTIONS_DEFAULT;
	o.busy_timeout_ms = 300;
	g_autoptr(GError) e = NULL;
	g_autoptr(PgTestStore) b = pg_store_open(uri, &o, &e);
	g_assert_no_error(e);
	StoreSource src = dropbox_source("u1");
	begin_ok(a);
	put(a, raw_a, &src);
	begin_ok(b);
	g_autoptr(IngestMessage) m = parse(raw_a);
	IngestInput in = INGEST_INPUT_BYTES(raw_a, strlen(raw_a));
	gint64 start = g_get_monotonic_time();
	g_assert_false(pg_store_put_message(b, m, &in, &src, NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_BUSY);
	g_assert_nonnull(strstr(e->message, "55P03"));
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 250000);
	pg_store_rollback(b);
	commit_ok(a);
}

static const char raw_c[] = "From: dan@client.example\r\nTo: bob@ourco.com\r\nMessage-ID: <c@client.example>\r\n"
			    "Subject: Third\r\n\r\nthird\r\n";

static void
test_savepoint(void)
{
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_savepoint");
	StoreSource src = dropbox_source("u1");
	begin_ok(s);
	put(s, raw_a, &src);
	g_assert_true(pg_store_savepoint(s, NULL));
	put(s, raw_c, &src);
	g_assert_true(pg_store_savepoint_rollback(s, NULL));
	/* A failed statement aborts a PostgreSQL transaction; the savepoint
	 * rollback must make it usable again. */
	g_assert_true(pg_store_savepoint(s, NULL));
	g_autoptr(GError) e = NULL;
	g_assert_false(pg_store_exec(pg_store_cast(s), "INSERT INTO stages VALUES ('x', 500)", "t", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_INVALID);
	g_clear_error(&e);
	g_assert_true(pg_store_savepoint_rollback(s, NULL));
	commit_ok(s);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM messages"), ==, 1);
	g_autofree char *subject = query_text(s, "SELECT subject FROM messages");
	g_assert_cmpstr(subject, ==, "Offer");

	/* Without a savepoint the failure poisons the transaction: COMMIT must
	 * not pretend it stored anything. */
	begin_ok(s);
	put(s, raw_c, &src);
	g_assert_false(pg_store_exec(pg_store_cast(s), "INSERT INTO stages VALUES ('x', 500)", "t", NULL));
	g_assert_false(pg_store_commit(s, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_FAILED);
	g_assert_false(pg_store_in_transaction(s));
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM messages"), ==, 1);
}

/* ---- failures ---- */

static void terminate_backend_of(Store *s);

static void
add_stage(PgBatch *batch, const char *name, int probability)
{
	PgParams *p = pg_batch_add(batch, "INSERT INTO stages(name, probability) VALUES ($1, $2)");
	pg_params_text(p, name);
	pg_params_int(p, probability);
}

/* A failing job in a batch (one round trip) fails the batch with its own
 * error; the connection stays usable, in the pipeline's state and after a
 * lost connection. */
static void
test_batch_errors(void)
{
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_batch");
	PgStore *pg = pg_store_cast(s);
	begin_ok(s);
	g_assert_true(pg_store_savepoint(s, NULL));
	g_auto(PgBatch) bad = { 0 };
	add_stage(&bad, "a", 10);
	add_stage(&bad, "b", 500);
	add_stage(&bad, "c", 30);
	g_autoptr(GError) e = NULL;
	g_assert_false(pg_store_run_batch(pg, &bad, "t", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_INVALID);
	g_assert_nonnull(strstr(e->message, "23514"));
	g_clear_error(&e);
	g_assert_true(pg_store_savepoint_rollback(s, NULL));
	g_auto(PgBatch) good = { 0 };
	add_stage(&good, "d", 40);
	add_stage(&good, "e", 50);
	g_assert_true(pg_store_run_batch(pg, &good, "t", &e));
	g_assert_no_error(e);
	commit_ok(s);
	g_autofree char *stages = query_text(s, "SELECT string_agg(name, ',' ORDER BY name) FROM stages");
	g_assert_cmpstr(stages, ==, "d,e");

	terminate_backend_of(s);
	g_auto(PgBatch) lost = { 0 };
	add_stage(&lost, "f", 60);
	g_assert_false(pg_store_run_batch(pg, &lost, "t", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_BUSY);
	g_assert_true(pg_store_run_batch(pg, &lost, "t", NULL));
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM stages"), ==, 3);
}

static void
terminate_backend_of(Store *s)
{
	gint64 pid = query_int(s, "SELECT pg_backend_pid()");
	PGconn *c = admin_connect();
	g_autofree char *sql = g_strdup_printf("SELECT pg_terminate_backend(%" G_GINT64_FORMAT ")", pid);
	admin_exec(c, sql);
	PQfinish(c);
	g_usleep(200000);
}

/* The server drops the connection (restart, failover): the operation fails
 * as BUSY, the next one reconnects. Inside a transaction, the transaction
 * is gone: BUSY until rolled back. */
static void
test_connection_lost(void)
{
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_lost");
	StoreSource src = dropbox_source("u1");
	terminate_backend_of(s);
	g_autoptr(GError) e = NULL;
	g_assert_null(pg_store_find_message_id(s, "x@y", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_BUSY);
	g_clear_error(&e);
	g_autoptr(GArray) ids = pg_store_find_message_id(s, "x@y", &e);
	g_assert_no_error(e);
	/* The session settings came back with the new connection. */
	g_autofree char *lock_timeout = query_text(s, "SHOW lock_timeout");
	g_assert_cmpstr(lock_timeout, ==, "5s");
	g_autofree char *sync = query_text(s, "SHOW synchronous_commit");
	g_assert_cmpstr(sync, ==, "on");

	begin_ok(s);
	put(s, raw_a, &src);
	terminate_backend_of(s);
	g_autoptr(IngestMessage) m = parse(raw_c);
	IngestInput in = INGEST_INPUT_BYTES(raw_c, strlen(raw_c));
	g_assert_false(pg_store_put_message(s, m, &in, &src, NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_BUSY);
	g_clear_error(&e);
	g_assert_false(pg_store_commit(s, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_BUSY);
	g_assert_false(pg_store_in_transaction(s));
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM messages"), ==, 0);
}

static void
run_shell(const char *var)
{
	g_autoptr(GError) e = NULL;
	int status = 0;
	const char *argv[] = { "/bin/sh", "-c", g_getenv(var), NULL };
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &e));
	g_assert_no_error(e);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
}

/* The server itself stopped: BUSY while it is down (each operation tries
 * one reconnection), working again once it is back, with no re-open. */
static void
test_server_stopped(void)
{
	if (!g_getenv("BCCDROP_PG_STOP") || !g_getenv("BCCDROP_PG_START")) {
		g_test_skip("BCCDROP_PG_STOP/START not set");
		return;
	}
	g_autofree char *uri = fresh_db("bccdrop_t_stopped");
	g_autoptr(PgTestStore) s = open_ok(uri);
	run_shell("BCCDROP_PG_STOP");
	for (int i = 0; i < 2; i++) {
		g_autoptr(GError) e = NULL;
		g_assert_false(pg_store_begin(s, &e));
		g_assert_error(e, STORE_ERROR, STORE_ERROR_BUSY);
		g_assert_nonnull(strstr(e->message, uri));
	}
	run_shell("BCCDROP_PG_START");
	begin_ok(s);
	StoreSource src = dropbox_source("u1");
	g_assert_true(put(s, raw_a, &src).new_message);
	commit_ok(s);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM messages"), ==, 1);
}

static void
test_error_codes(void)
{
	g_assert_cmpint(pg_store_error_code("23505"), ==, STORE_ERROR_INVALID);
	g_assert_cmpint(pg_store_error_code("40001"), ==, STORE_ERROR_BUSY);
	g_assert_cmpint(pg_store_error_code("40P01"), ==, STORE_ERROR_BUSY);
	g_assert_cmpint(pg_store_error_code("08006"), ==, STORE_ERROR_BUSY);
	g_assert_cmpint(pg_store_error_code("57P01"), ==, STORE_ERROR_BUSY);
	g_assert_cmpint(pg_store_error_code(NULL), ==, STORE_ERROR_BUSY);
	g_assert_cmpint(pg_store_error_code("25006"), ==, STORE_ERROR_READONLY);
	g_assert_cmpint(pg_store_error_code("53100"), ==, STORE_ERROR_FULL);
	g_assert_cmpint(pg_store_error_code("42601"), ==, STORE_ERROR_FAILED);
	g_autoptr(GError) e = NULL;
	g_assert_null(pg_store_open("/var/lib/bccdrop/bccdrop.db", NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
	g_assert_false(pg_store_is_uri("/var/lib/bccdrop/bccdrop.db"));
	g_assert_true(pg_store_is_uri("postgres://h/db"));
	g_clear_error(&e);
	g_assert_null(pg_store_open("postgresql://[::1/db", NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
	g_assert_nonnull(strstr(e->message, "not a valid PostgreSQL URI"));
}

/* ---- passwords ---- */

static void
test_redact(void)
{
	static const char *const cases[][2] = {
		{ "postgresql://bob:s3cret@db1.example:5432/crm?sslmode=verify-full",
		  "postgresql://bob:***@db1.example:5432/crm?sslmode=verify-full" },
		{ "postgres://bob:p%40ss@db1/crm", "postgres://bob:***@db1/crm" },
		{ "postgresql://db1/crm?user=bob&password=s3cret&sslmode=require",
		  "postgresql://db1/crm?user=bob&password=***&sslmode=require" },
		{ "postgresql://db1/crm?password=s3cret", "postgresql://db1/crm?password=***" },
		{ "host=db1 password='a b\\' c' dbname=crm", "host=db1 password=*** dbname=crm" },
		{ "postgresql://bob@db1/crm?passfile=/etc/bccdrop/pgpass", "postgresql://bob@db1/crm?passfile=/etc/bccdrop/pgpass" },
		{ "postgresql:///crm?host=/run/postgresql", "postgresql:///crm?host=/run/postgresql" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *r = pg_store_redact_uri(cases[i][0]);
		g_assert_cmpstr(r, ==, cases[i][1]);
	}
	g_assert_null(pg_store_redact_uri(NULL));
}

static void
test_password_in_uri_refused(void)
{
	const char *uris[] = { "postgresql://bob:s3cret@127.0.0.1:1/crm", "postgresql://127.0.0.1:1/crm?password=s3cret" };
	for (guint i = 0; i < G_N_ELEMENTS(uris); i++) {
		g_autoptr(GError) e = NULL;
		g_assert_null(pg_store_open(uris[i], NULL, &e));
		g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
		g_assert_nonnull(strstr(e->message, "password_file"));
		g_assert_null(strstr(e->message, "s3cret"));
	}
}

static char *
write_file(const char *name, const char *text, int mode)
{
	char *path = g_build_filename(testutil_tmpdir(), name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
	return path;
}

/* Over TCP the test server asks for a password (scram-sha-256). */
static void
test_password_sources(void)
{
	const char *tcp = g_getenv("BCCDROP_PG_TCP_URI");
	const char *pwfile = g_getenv("BCCDROP_PG_PASSWORD_FILE");
	if (!tcp || !pwfile) {
		g_test_skip("BCCDROP_PG_TCP_URI/PASSWORD_FILE not set");
		return;
	}
	g_autofree char *uri = uri_with_db(tcp, "postgres");
	g_setenv("PGPASSFILE", "/nonexistent", TRUE); /* no ~/.pgpass by accident */
	g_autoptr(GError) e = NULL;
	g_assert_null(pg_store_open(uri, NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
	g_clear_error(&e);

	/* [store] password_file, mode checked */
	g_free(fresh_db("bccdrop_t_password"));
	g_autofree char *db = uri_with_db(tcp, "bccdrop_t_password");
	Store *s = open_with_password_file(db, pwfile, &e);
	g_assert_no_error(e);
	pg_store_close(s);
	g_autofree char *password = NULL;
	g_assert_true(g_file_get_contents(pwfile, &password, NULL, NULL));
	g_strstrip(password);
	g_autofree char *loose = write_file("loose-pw", password, 0644);
	g_assert_null(open_with_password_file(db, loose, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
	g_assert_nonnull(strstr(e->message, "chmod 600"));
	g_clear_error(&e);
	g_autofree char *wrong = write_file("wrong-pw", "not-it\n", 0600);
	g_assert_null(open_with_password_file(db, wrong, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
	g_assert_null(strstr(e->message, "not-it"));
	g_clear_error(&e);

	/* passfile= in the URI (libpq's pgpass format) */
	g_autofree char *line = g_strdup_printf("*:*:*:*:%s\n", password);
	g_autofree char *pgpass = write_file("pgpass", line, 0600);
	g_autofree char *with_passfile = g_strdup_printf("%s%cpassfile=%s", db, strchr(db, '?') ? '&' : '?', pgpass);
	s = pg_store_open(with_passfile, NULL, &e);
	g_assert_no_error(e);
	pg_store_close(s);
	g_unsetenv("PGPASSFILE");
}

/* `test-pg --open URI`: open (and so migrate) URI and exit; what
 * tests/integration/pg-store.sh uses to create a schema it then fills. */
static int
open_only(const char *uri)
{
	g_autoptr(GError) e = NULL;
	Store *s = pg_store_open(uri, NULL, &e);
	if (!s)
		g_printerr("%s\n", e->message);
	pg_store_close(s);
	return s ? 0 : 1;
}

/* sslmode=verify-full across hosts: the server's certificate must chain to
 * sslrootcert and name the host; a certificate from another CA is refused. */
static void
test_ssl_verify_full(void)
{
	const char *tcp = g_getenv("BCCDROP_PG_TCP_URI");
	const char *pwfile = g_getenv("BCCDROP_PG_PASSWORD_FILE");
	const char *ca = g_getenv("BCCDROP_PG_SSL_CA");
	const char *other = g_getenv("BCCDROP_PG_SSL_OTHER_CA");
	if (!tcp || !pwfile || !ca || !other) {
		g_test_skip("BCCDROP_PG_TCP_URI/PASSWORD_FILE/SSL_CA/SSL_OTHER_CA not set");
		return;
	}
	g_free(fresh_db("bccdrop_t_ssl"));
	g_autofree char *db = uri_with_db(tcp, "bccdrop_t_ssl");
	g_autofree char *good = g_strdup_printf("%s?sslmode=verify-full&sslrootcert=%s", db, ca);
	g_autoptr(GError) e = NULL;
	g_autoptr(PgTestStore) s = open_with_password_file(good, pwfile, &e);
	g_assert_no_error(e);
	g_autofree char *ssl = query_text(s, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
	g_assert_cmpstr(ssl, ==, "t");
	g_autofree char *bad = g_strdup_printf("%s?sslmode=verify-full&sslrootcert=%s", db, other);
	g_assert_null(open_with_password_file(bad, pwfile, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_OPEN);
	g_assert_nonnull(strstr(e->message, "certificate"));
}

/* N messages (BCCDROP_PG_BENCH_N, default 200), BATCH to a durable
 * transaction (BCCDROP_PG_BENCH_BATCH, default 1, as capture/'s group
 * commit would), on PostgreSQL and on SQLite (synchronous=FULL): the rates,
 * as a first look at the 0.8x target (bench/ will measure it properly). */
static gboolean
store_rate_put(Store *s, gboolean pg, int i)
{
	/* A typical business message: several recipients, a thread. */
	g_autofree char *raw = g_strdup_printf("From: Ann <a@client.example>\r\nTo: b@ourco.com, c@ourco.com, "
					       "d@ourco.com\r\nCc: e@client.example\r\nMessage-ID: <bench-%d@x>\r\n"
					       "References: <r1@x> <r2@x>\r\nSubject: n %d\r\n\r\nbody %d\r\n",
					       i, i, i);
	g_autoptr(IngestMessage) m = parse(raw);
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	StoreSource src = dropbox_source("u1");
	return pg ? pg_store_put_message(s, m, &in, &src, NULL, NULL) : store_put_message(s, m, &in, &src, NULL, NULL);
}

static double
store_rate(Store *s, gboolean pg, int n, int batch)
{
	gint64 start = g_get_monotonic_time();
	for (int i = 0; i < n; i += batch) {
		g_assert_true(pg ? pg_store_begin(s, NULL) : store_begin(s, NULL));
		for (int j = i; j < i + batch && j < n; j++)
			g_assert_true(store_rate_put(s, pg, j));
		g_assert_true(pg ? pg_store_commit(s, NULL) : store_commit(s, NULL));
	}
	return n / ((g_get_monotonic_time() - start) / 1e6);
}

static void
test_throughput(void)
{
	const char *env = g_getenv("BCCDROP_PG_BENCH_N");
	const char *benv = g_getenv("BCCDROP_PG_BENCH_BATCH");
	int n = env ? atoi(env) : 200;
	int batch = benv ? MAX(atoi(benv), 1) : 1;
	g_autoptr(PgTestStore) s = fresh_store("bccdrop_t_bench");
	double pg = store_rate(s, TRUE, n, batch);
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "bench.db", NULL);
	Store *lite = store_open(path, NULL, NULL);
	double sqlite = store_rate(lite, FALSE, n, batch);
	store_close(lite);
	g_test_message("%d messages, %d per durable transaction: PostgreSQL %.0f/s, SQLite %.0f/s (%.2fx)", n, batch,
		       pg, sqlite, pg / sqlite);
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM messages"), ==, n);
}

/* Whether DB on the standby has caught up with the primary's schema. */
static gboolean
standby_has_schema(const char *uri)
{
	for (int i = 0; i < 200; i++) {
		PGconn *c = PQconnectdb(uri);
		PGresult *r = PQexec(c, "SELECT count(*) FROM bccdrop_schema");
		gboolean ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		PQfinish(c);
		if (ok)
			return TRUE;
		g_usleep(50000);
	}
	return FALSE;
}

/* A hot standby (what the URI may name after a failover) refuses writers
 * at open as READONLY, and serves read-only stores (reports). */
static void
test_standby(void)
{
	const char *standby = g_getenv("BCCDROP_PG_STANDBY_URI");
	if (!standby) {
		g_test_skip("BCCDROP_PG_STANDBY_URI not set");
		return;
	}
	g_autofree char *uri = fresh_db("bccdrop_t_standby");
	g_autoptr(PgTestStore) primary = open_ok(uri);
	begin_ok(primary);
	StoreSource src = dropbox_source("u1");
	gint64 id = put(primary, raw_a, &src).message;
	commit_ok(primary);
	g_autofree char *suri = uri_with_db(standby, "bccdrop_t_standby");
	g_assert_true(standby_has_schema(suri));
	g_autoptr(GError) e = NULL;
	g_assert_null(pg_store_open(suri, NULL, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_READONLY);
	g_assert_nonnull(strstr(e->message, "standby"));
	g_clear_error(&e);
	StoreOptions ro = STORE_OPTIONS_DEFAULT;
	ro.readonly = TRUE;
	g_autoptr(PgTestStore) reader = pg_store_open(suri, &ro, &e);
	g_assert_no_error(e);
	for (int i = 0; i < 200 && query_int(reader, "SELECT count(*) FROM messages") == 0; i++)
		g_usleep(50000);
	g_autoptr(GBytes) b = pg_store_raw_get(reader, id, &e);
	g_assert_no_error(e);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), raw_a, strlen(raw_a));
	begin_ok(reader);
	g_assert_false(pg_store_exec(pg_store_cast(reader), "DELETE FROM messages", "t", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_READONLY);
	g_assert_nonnull(strstr(e->message, "25006"));
	pg_store_rollback(reader);
}

static void
lease_exec(Store *s, const char *sql)
{
	g_autoptr(GError) e = NULL;
	g_assert_true(pg_store_exec(pg_store_cast(s), sql, "test", &e));
	g_assert_no_error(e);
}

static void
test_mailbox_leases(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_leases");
	g_autoptr(PgTestStore) a = open_ok(uri);
	g_autoptr(PgTestStore) b = open_ok(uri);
	testutil_lease_contract(a, b, lease_exec);
}

typedef struct {
	const char *uri;
	char holder[8];
	GArray *held;
} LeaseRacer;

static gpointer
lease_racer(gpointer data)
{
	LeaseRacer *r = data;
	g_autoptr(PgTestStore) s = open_ok(r->uri);
	g_autoptr(GError) e = NULL;
	r->held = store_mailbox_lease(s, r->holder, 0, 60, &e);
	g_assert_no_error(e);
	return NULL;
}

/* Eight pollers asking at the same moment: every mailbox is leased once,
 * none twice (the upsert only takes over an expired lease). */
static void
test_mailbox_leases_race(void)
{
	g_autofree char *uri = fresh_db("bccdrop_t_lease_race");
	g_autoptr(PgTestStore) s = open_ok(uri);
	lease_exec(s, "INSERT INTO users(id, email) SELECT 'u' || g, 'x' FROM generate_series(1, 40) g");
	lease_exec(s, "INSERT INTO mailboxes(user_id, protocol, host, port, tls, username, auth, secret, active, "
		      "created_at, config_changed_at) SELECT 'u' || g, 'imap', 'h', 993, 'implicit', 'u', 'password', "
		      "'', 1, 't', 't' FROM generate_series(1, 40) g");
	LeaseRacer r[8];
	GThread *t[8];
	for (int i = 0; i < 8; i++) {
		r[i] = (LeaseRacer){ uri, "", NULL };
		g_snprintf(r[i].holder, sizeof r[i].holder, "p%d", i);
		t[i] = g_thread_new("racer", lease_racer, &r[i]);
	}
	guint total = 0;
	for (int i = 0; i < 8; i++) {
		g_thread_join(t[i]);
		total += r[i].held->len;
		g_array_unref(r[i].held);
	}
	g_assert_cmpint(query_int(s, "SELECT count(*) FROM mailbox_leases"), ==, 40);
	g_assert_cmpint(total, ==, 40);
}

/* A mailbox for user u1 with SECRET as its secret. */
static gint64
add_mailbox(Store *s, GBytes *secret, gboolean *activated)
{
	StoreMailbox m = { .user_id = (char *)"u1", .protocol = (char *)"imap", .host = (char *)"127.0.0.1",
			   .port = 993, .tls = (char *)"implicit", .username = (char *)"alice",
			   .auth = (char *)"password", .secret = secret };
	g_autoptr(GError) e = NULL;
	g_assert_true(store_mailbox_add(s, &m, activated, &e));
	g_assert_no_error(e);
	return m.id;
}

/* Mailbox ids come from an identity column: a removed mailbox's id is
 * never handed out again (SQLite reuses the highest rowid). The first
 * mailbox of a user is the active one; the secret comes back byte for byte. */
static void
test_mailbox_ids(void)
{
	g_autoptr(Store) s = fresh_store("bccdrop_test_mailbox_ids");
	StoreCrmUser u = { .id = "u1", .email = "alice@corp.example", .name = "Alice", .sharing = "public" };
	g_autoptr(GError) e = NULL;
	g_assert_true(store_crm_put_user(s, &u, &e));
	static const char raw[] = { 'k', 0, '\\', 'x', (char)0xff };
	g_autoptr(GBytes) secret = g_bytes_new_static(raw, sizeof raw);
	gboolean active1 = FALSE, active2 = TRUE;
	gint64 first = add_mailbox(s, secret, &active1);
	gint64 second = add_mailbox(s, secret, &active2);
	g_assert_true(active1);
	g_assert_false(active2);
	g_assert_true(store_mailbox_remove(s, second, &e));
	gint64 third = add_mailbox(s, secret, NULL);
	g_assert_cmpint(third, >, second);
	g_autoptr(StoreMailbox) m = store_mailbox_get(s, third, &e);
	g_assert_no_error(e);
	g_assert_true(g_bytes_equal(m->secret, secret));
	g_assert_false(store_mailbox_remove(s, second, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_NOT_FOUND);
	g_clear_error(&e);
	g_assert_true(store_mailbox_activate(s, third, &e));
	g_autoptr(GPtrArray) act = store_mailbox_list(s, "u1", TRUE, &e);
	g_assert_cmpuint(act->len, ==, 1);
	g_assert_cmpint(((StoreMailbox *)act->pdata[0])->id, ==, third);
	(void)first;
}

/* Address keys as one text[] parameter: quotes, backslashes, commas and
 * braces survive the array literal. */
static void
test_text_array(void)
{
	g_autoptr(Store) s = fresh_store("bccdrop_test_text_array");
	g_autoptr(GError) e = NULL;
	g_assert_true(pg_store_exec(pg_store_cast(s),
				    "INSERT INTO users(id, email) VALUES ('u1', 'a@x'); "
				    "INSERT INTO messages(id, message_id, fingerprint, date, raw_size, stored_at) "
				    "VALUES (7, 'm', 'f', 'd', 1, 's'); "
				    "INSERT INTO participants(message, role, position, address, address_key) "
				    "VALUES (7, 'to', 0, 'x', 'a\"b\\c,{d}@x'); "
				    "INSERT INTO decisions(message, status, decided_at, trace) VALUES (7, 'unmatched', 'd', 't')",
				    "t", &e));
	g_assert_no_error(e);
	g_autoptr(GPtrArray) keys = g_ptr_array_new();
	g_ptr_array_add(keys, (gpointer) "other@x");
	g_ptr_array_add(keys, (gpointer) "a\"b\\c,{d}@x");
	g_autoptr(GArray) ids = store_unmatched_for_keys(s, keys, &e);
	g_assert_no_error(e);
	g_assert_cmpuint(ids->len, ==, 1);
	g_assert_cmpint(g_array_index(ids, gint64, 0), ==, 7);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--open"))
		return open_only(argv[2]);
	base_uri = g_getenv("BCCDROP_PG_URI");
	if (!base_uri || !*base_uri) {
		printf("1..0 # SKIP BCCDROP_PG_URI is not set (tests/integration/pg-store.sh sets it)\n");
		return 0;
	}
	ingest_init();
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pg/redact", test_redact);
	g_test_add_func("/pg/error-codes", test_error_codes);
	g_test_add_func("/pg/password-in-uri-refused", test_password_in_uri_refused);
	g_test_add_func("/pg/password-sources", test_password_sources);
	g_test_add_func("/pg/ssl-verify-full", test_ssl_verify_full);
	g_test_add_func("/pg/migrate-empty", test_migrate_empty);
	g_test_add_func("/pg/same-schema-as-sqlite", test_same_schema_as_sqlite);
	g_test_add_func("/pg/reopen", test_reopen);
	g_test_add_func("/pg/refuse-newer-and-foreign", test_refuse_newer_and_foreign);
	g_test_add_func("/pg/concurrent-migrate", test_concurrent_migrate);
	g_test_add_func("/pg/put-dedup", test_put_dedup);
	g_test_add_func("/pg/collision-and-fd", test_collision_and_fd);
	g_test_add_func("/pg/concurrent-insert", test_concurrent_insert);
	g_test_add_func("/pg/lock-timeout", test_lock_timeout);
	g_test_add_func("/pg/savepoint", test_savepoint);
	g_test_add_func("/pg/connection-lost", test_connection_lost);
	g_test_add_func("/pg/batch-errors", test_batch_errors);
	g_test_add_func("/pg/server-stopped", test_server_stopped);
	g_test_add_func("/pg/standby", test_standby);
	g_test_add_func("/pg/mailbox-ids", test_mailbox_ids);
	g_test_add_func("/pg/text-array", test_text_array);
	g_test_add_func("/pg/throughput", test_throughput);
	g_test_add_func("/pg/mailbox-leases", test_mailbox_leases);
	g_test_add_func("/pg/mailbox-leases-race", test_mailbox_leases_race);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
