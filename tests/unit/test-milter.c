/* Unit tests of the milter's building blocks: the spool, the DMARC check,
 * the Store pool and the user lookups it relies on. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milter/milter.h"
#include "tests/unit/testutil.h"

static void
test_spool_memory(void)
{
	MilterSpool spool;
	milter_spool_init(&spool, 64);
	g_assert_true(milter_spool_append(&spool, "Subject: x\r\n", 12, NULL));
	g_assert_true(milter_spool_append(&spool, "\r\nbody\r\n", 8, NULL));
	g_assert_cmpint(spool.fd, ==, -1);
	IngestInput in;
	g_assert_true(milter_spool_input(&spool, &in, NULL));
	g_assert_cmpint(in.fd, ==, -1);
	g_assert_cmpmem(in.data, in.len, "Subject: x\r\n\r\nbody\r\n", 20);
	milter_spool_clear(&spool);
}

static void
test_spool_spills(void)
{
	MilterSpool spool;
	milter_spool_init(&spool, 1000);
	GString *want = g_string_new(NULL);
	for (int i = 0; i < 500; i++) {
		g_autofree char *line = g_strdup_printf("line %d of a large message\r\n", i);
		g_string_append(want, line);
		g_assert_true(milter_spool_append(&spool, line, strlen(line), NULL));
	}
	/* Beyond the limit the bytes live in an unlinked file, not in memory. */
	g_assert_cmpint(spool.fd, >=, 0);
	g_assert_cmpuint(spool.mem->len, ==, 0);
	struct stat sb;
	g_assert_cmpint(fstat(spool.fd, &sb), ==, 0);
	g_assert_cmpuint(sb.st_nlink, ==, 0);
	g_assert_cmpuint((guint64)sb.st_size, ==, want->len);
	IngestInput in;
	g_assert_true(milter_spool_input(&spool, &in, NULL));
	g_assert_cmpint(in.fd, ==, spool.fd);
	char *buf = g_malloc(want->len);
	g_assert_cmpint(pread(in.fd, buf, want->len, 0), ==, (ssize_t)want->len);
	g_assert_cmpmem(buf, want->len, want->str, want->len);
	g_free(buf);
	g_string_free(want, TRUE);
	milter_spool_clear(&spool);
	g_assert_cmpint(spool.fd, ==, -1);
}

/* The header.from of a trusted dmarc=pass in VALUE, or "" for a trusted
 * header without one, or NULL for someone else's header. */
static char *
ar(const char *value)
{
	char *from = NULL;
	if (milter_auth_results(value, "mx.corp.example", &from) == MILTER_AR_OTHER) {
		g_assert_null(from);
		return NULL;
	}
	return from ? from : g_strdup("");
}

#define assert_ar(value, want)                                                                                  \
	do {                                                                                                     \
		g_autofree char *got_ = ar(value);                                                               \
		g_assert_cmpstr(got_, ==, want);                                                                 \
	} while (0)

static void
test_dmarc(void)
{
	assert_ar("mx.corp.example; spf=pass smtp.mailfrom=a@corp.example; dmarc=pass header.from=corp.example",
		  "corp.example");
	assert_ar(" MX.Corp.Example 1; dmarc = pass (p=reject) header.from = Corp.Example", "corp.example");
	assert_ar("(our MX) mx.corp.example (v1) 1 (x); dkim=pass (good) header.d=corp.example "
		  "header.i=@corp.example;\r\n\tdmarc=pass (p=none dis=none) header.from=corp.example",
		  "corp.example");
	assert_ar("\"mx.corp.example\"; dmarc/1=pass policy.dmarc=reject header.from=corp.example", "corp.example");
	assert_ar("mx.corp.example; dmarc=pass reason=\"aligned; ok\" header.from=corp.example", "corp.example");
	/* Someone else's verdict: not ours at all. */
	g_assert_null(ar("evil.example; dmarc=pass header.from=corp.example"));
	g_assert_null(ar("mx.corp.example.evil.example; dmarc=pass header.from=corp.example"));
	g_assert_null(ar("(mx.corp.example) evil.example; dmarc=pass header.from=corp.example"));
	/* Ours, but no pass: a failure, a look-alike, no header.from. */
	assert_ar("mx.corp.example; dmarc=fail header.from=corp.example", "");
	assert_ar("mx.corp.example; dmarc=passed header.from=corp.example", "");
	assert_ar("mx.corp.example; spf=pass smtp.mailfrom=corp.example", "");
	assert_ar("mx.corp.example; dmarc=pass", "");
	assert_ar("mx.corp.example; none", "");
	/* "dmarc=pass" inside a comment or a quoted string is not a verdict. */
	assert_ar("mx.corp.example; dmarc=fail (dmarc=pass) header.from=corp.example", "");
	assert_ar("mx.corp.example; dmarc=fail reason=\"x; dmarc=pass header.from=corp.example\" "
		  "header.from=corp.example",
		  "");
	assert_ar("mx.corp.example; dmarc=fail header.from=corp.example (; dmarc=pass header.from=corp.example)", "");
	assert_ar("mx.corp.example (\\) ; dmarc=pass header.from=corp.example); dmarc=fail", "");
	/* Two DMARC verdicts that disagree, or name different domains. */
	assert_ar("mx.corp.example; dmarc=pass header.from=corp.example; dmarc=fail header.from=corp.example", "");
	assert_ar("mx.corp.example; dmarc=pass header.from=corp.example; dmarc=pass header.from=evil.example", "");
	/* Broken syntax: ours, worthless. */
	assert_ar("mx.corp.example; dmarc=pass header.from=corp.example (unterminated", "");
	assert_ar("mx.corp.example; dmarc=pass header.from=\"corp.example", "");
	assert_ar("mx.corp.example; dmarc=pass header.from", "");
	assert_ar("mx.corp.example; =pass header.from=corp.example", "");
	char *from = (char *)"x";
	g_assert_cmpint(milter_auth_results("mx.corp.example; dmarc=pass header.from=a", "", &from), ==,
			MILTER_AR_OTHER);
	g_assert_null(from);
	g_assert_cmpstr(milter_key_domain("a@b.example"), ==, "b.example");
	g_assert_cmpstr(milter_key_domain("postmaster"), ==, "");
}

static void
test_config_check(void)
{
	g_autoptr(CommonConfig) c = common_config_defaults();
	MilterOwnerProof proof = MILTER_PROOF_AUTH_OR_SENDER;
	g_autoptr(GError) error = NULL;
	/* Without dropbox domains every recipient would cost a lookup. */
	g_assert_false(milter_config_check(c, &proof, &error));
	g_assert_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "dropbox_domains"));
	g_clear_error(&error);
	c->dropbox_anywhere = TRUE;
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*dropbox_anywhere*");
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*without trusted_authserv_id*");
	g_assert_true(milter_config_check(c, &proof, &error));
	g_test_assert_expected_messages();
	g_assert_cmpint(proof, ==, MILTER_PROOF_AUTH_OR_DMARC); /* the default */
	c->dropbox_anywhere = FALSE;
	g_strfreev(c->dropbox_domains);
	c->dropbox_domains = g_strsplit("crm.example", ",", -1);
	g_free(c->owner_proof);
	c->owner_proof = g_strdup("auth-or-sender");
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*auth-or-sender*forges*");
	g_assert_true(milter_config_check(c, &proof, &error));
	g_test_assert_expected_messages();
	g_assert_cmpint(proof, ==, MILTER_PROOF_AUTH_OR_SENDER);
	g_free(c->owner_proof);
	c->owner_proof = g_strdup("auth");
	g_assert_true(milter_config_check(c, &proof, &error));
	g_assert_cmpint(proof, ==, MILTER_PROOF_AUTH);
	g_assert_no_error(error);
}

static CommonConfig *
test_config(const char *name)
{
	CommonConfig *c = common_config_defaults();
	g_free(c->database);
	c->database = g_build_filename(testutil_tmpdir(), name, NULL);
	c->busy_timeout_ms = 200;
	return c;
}

static void
test_pool_and_users(void)
{
	g_autoptr(CommonConfig) config = test_config("pool.db");
	MilterPool *pool = milter_pool_new(config, 2);
	g_autoptr(GError) error = NULL;
	Store *a = milter_pool_get(pool, &error);
	g_assert_no_error(error);
	g_assert_true(store_exec(a,
				 "INSERT INTO users(id, email, dropbox) VALUES ('u1', 'Ann@Corp.example', 'ann-drop@crm.example');"
				 "INSERT INTO user_addresses(address_key, user_id, kind) VALUES ('ann.alias@corp.example', 'u1', 'alias');",
				 &error));
	g_assert_no_error(error);
	Store *b = milter_pool_get(pool, &error);
	g_assert_nonnull(b);
	g_assert_true(a != b);
	/* Both connections are out: the third caller waits, then gets BUSY. */
	Store *c = milter_pool_get(pool, &error);
	g_assert_null(c);
	g_assert_error(error, STORE_ERROR, STORE_ERROR_BUSY);
	g_clear_error(&error);
	milter_pool_put(pool, b, FALSE);
	c = milter_pool_get(pool, &error);
	g_assert_true(c == b);

	char *user = NULL;
	g_assert_true(store_user_by_dropbox(c, "ann-drop@crm.example", &user, &error));
	g_assert_cmpstr(user, ==, "u1");
	g_free(user);
	g_assert_true(store_user_by_dropbox(c, "ann@corp.example", &user, &error));
	g_assert_null(user);
	gboolean owns = FALSE;
	g_assert_true(store_user_owns_address(c, "u1", "ann@corp.example", &owns, &error));
	g_assert_true(owns); /* users.email counts even without a user_addresses row */
	g_assert_true(store_user_owns_address(c, "u1", "ann.alias@corp.example", &owns, &error));
	g_assert_true(owns);
	g_assert_true(store_user_owns_address(c, "u1", "mallory@evil.example", &owns, &error));
	g_assert_false(owns);
	g_assert_true(store_user_owns_login(c, "u1", "u1", &owns, &error));
	g_assert_true(owns);
	g_assert_true(store_user_owns_login(c, "u1", "<ANN.ALIAS@corp.example>", &owns, &error));
	g_assert_true(owns);
	g_assert_true(store_user_owns_login(c, "u1", "ann", &owns, &error));
	g_assert_false(owns);
	g_assert_no_error(error);

	/* A broken connection is closed, and its place freed for a new one. */
	milter_pool_put(pool, c, TRUE);
	milter_pool_put(pool, a, FALSE);
	Store *d = milter_pool_get(pool, &error);
	Store *e = milter_pool_get(pool, &error);
	g_assert_nonnull(d);
	g_assert_nonnull(e);
	g_assert_no_error(error);
	milter_pool_put(pool, d, FALSE);
	milter_pool_put(pool, e, FALSE);
	milter_pool_free(pool);
}

/* ---- group commit ---- */

typedef struct {
	CommonConfig *config;
	MilterWriter *writer;
	int n;
	gboolean ok;
	GError *error;
} WriterThread;

/* COMMITs on every thread's connection, and whether a job already ran. */
static gint writer_commits, writer_first_done;

static int
writer_count_commit(void *unused)
{
	g_atomic_int_inc(&writer_commits);
	return 0; /* let it commit */
}

static gboolean
writer_insert_stage(Store *store, gpointer data, GError **error)
{
	WriterThread *t = data;
	/* The first job to run is slow: every other thread queues meanwhile,
	 * and their jobs must then share the next transaction. */
	if (g_atomic_int_compare_and_exchange(&writer_first_done, 0, 1))
		g_usleep(400 * 1000);
	sqlite3_stmt *st = store_prepare(store, "INSERT INTO stages(name, probability) VALUES (?, ?)", error);
	if (!st)
		return FALSE;
	g_autofree char *name = g_strdup_printf("stage %d", t->n);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	/* Thread 3 breaks the CHECK (probability BETWEEN 0 AND 100). */
	sqlite3_bind_int(st, 2, t->n == 3 ? 500 : t->n);
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_fail(store, error, "inserting a stage");
	return TRUE;
}

static gpointer
writer_thread(gpointer data)
{
	WriterThread *t = data;
	StoreOptions o = { 5000, FALSE, FALSE };
	Store *store = store_open(t->config->database, &o, &t->error);
	if (!store)
		return NULL;
	sqlite3_commit_hook(store_handle(store), writer_count_commit, NULL);
	t->ok = milter_writer_run(t->writer, store, writer_insert_stage, t, &t->error);
	store_close(store);
	return NULL;
}

static void
test_writer(void)
{
	g_autoptr(CommonConfig) config = test_config("writer.db");
	g_autoptr(GError) error = NULL;
	Store *main_store = store_open(config->database, NULL, &error);
	g_assert_no_error(error);
	MilterWriter *writer = milter_writer_new();
	g_atomic_int_set(&writer_commits, 0);
	g_atomic_int_set(&writer_first_done, 0);
	WriterThread t[8];
	GThread *th[8];
	for (int i = 0; i < 8; i++) {
		t[i] = (WriterThread){ config, writer, i, FALSE, NULL };
		th[i] = g_thread_new("writer", writer_thread, &t[i]);
	}
	for (int i = 0; i < 8; i++)
		g_thread_join(th[i]);
	for (int i = 0; i < 8; i++) {
		if (i == 3) {
			g_assert_false(t[i].ok);
			g_assert_error(t[i].error, STORE_ERROR, STORE_ERROR_INVALID);
		} else {
			g_assert_no_error(t[i].error);
			g_assert_true(t[i].ok);
		}
		g_clear_error(&t[i].error);
	}
	/* Every other job was committed, the failing one alone rolled back. */
	sqlite3_stmt *st = store_prepare(main_store, "SELECT count(*), sum(name = 'stage 3') FROM stages", &error);
	g_assert_nonnull(st);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpint(sqlite3_column_int(st, 0), ==, 7);
	g_assert_cmpint(sqlite3_column_int(st, 1), ==, 0);
	sqlite3_reset(st);
	/* Group commit, counted: the slow first job alone, then the seven that
	 * queued behind it together (one more if a thread started late). */
	g_assert_cmpint(g_atomic_int_get(&writer_commits), >=, 2);
	g_assert_cmpint(g_atomic_int_get(&writer_commits), <=, 3);
	milter_writer_free(writer);
	store_close(main_store);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
	g_test_add_func("/milter/spool/memory", test_spool_memory);
	g_test_add_func("/milter/spool/spills", test_spool_spills);
	g_test_add_func("/milter/dmarc", test_dmarc);
	g_test_add_func("/milter/config-check", test_config_check);
	g_test_add_func("/milter/pool-and-users", test_pool_and_users);
	g_test_add_func("/milter/writer/group-commit", test_writer);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
