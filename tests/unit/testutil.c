#include "store/sqlite/sqlite.h"
#include "tests/unit/testutil.h"

#include "store/store.h"

#include <glib/gstdio.h>
#include <stdlib.h>

static char *tmpdir;

const char *
testutil_corpus_dir(void)
{
	static char *dir;
	if (dir)
		return dir;
	const char *env = g_getenv("BCCDROP_CORPUS");
	const char *top = g_getenv("BCCDROP_TOP");
	g_autofree char *guess = g_build_filename(top ? top : ".", "..", "shared", "corpus", NULL);
	const char *cand = env && *env ? env : guess;
	g_autofree char *manifest = g_build_filename(cand, "MANIFEST.tsv", NULL);
	if (g_file_test(manifest, G_FILE_TEST_EXISTS))
		dir = g_strdup(cand);
	return dir;
}

GBytes *
testutil_read(const char *path)
{
	g_autoptr(GError) error = NULL;
	char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, &error))
		g_error("%s", error->message);
	return g_bytes_new_take(data, len);
}

static void
testutil_rm_tmpdir(void)
{
	if (tmpdir) {
		g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			g_printerr("could not remove %s\n", tmpdir);
		g_free(tmpdir);
	}
}

const char *
testutil_tmpdir(void)
{
	if (!tmpdir) {
		tmpdir = g_dir_make_tmp("bccdrop-unit-XXXXXX", NULL);
		g_assert_nonnull(tmpdir);
		atexit(testutil_rm_tmpdir);
	}
	return tmpdir;
}

CommonConfig *
testutil_config(const char *name, int busy_timeout_ms)
{
	CommonConfig *c = common_config_defaults();
	g_free(c->database);
	c->database = g_build_filename(testutil_tmpdir(), name, NULL);
	c->busy_timeout_ms = busy_timeout_ms;
	return c;
}

gint64
testutil_count(Store *store, const char *sql)
{
	sqlite3_stmt *st = sq_prepare(store, sql, NULL);
	g_assert_nonnull(st);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	gint64 n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* HELD holds exactly the ids of the comma-separated list WANT. */
static void
testutil_assert_ids(GArray *held, const char *want)
{
	g_assert_nonnull(held);
	GString *got = g_string_new("");
	for (guint i = 0; i < held->len; i++)
		g_string_append_printf(got, "%s%" G_GINT64_FORMAT, i ? "," : "", g_array_index(held, gint64, i));
	g_assert_cmpstr(got->str, ==, want);
	g_string_free(got, TRUE);
	g_array_unref(held);
}

#define LEASE(s, holder, max, secs, want) testutil_assert_ids(store_mailbox_lease(s, holder, max, secs, NULL), want)

void
testutil_lease_contract(Store *a, Store *b, TestutilExecFunc exec)
{
	for (int i = 1; i <= 5; i++) {
		g_autofree char *u = g_strdup_printf("INSERT INTO users(id, email) VALUES ('u%d', 'u%d@x.example')", i, i);
		g_autofree char *m = g_strdup_printf(
			"INSERT INTO mailboxes(user_id, protocol, host, port, tls, username, auth, secret, active, "
			"created_at, config_changed_at) VALUES ('u%d', 'imap', 'h', 993, 'implicit', 'u', 'password', "
			"'', 1, 't', 't')",
			i);
		exec(a, u);
		exec(a, m);
	}
	/* A cap, the rest to another poller, renewals keep what each has. */
	LEASE(a, "a", 3, 60, "1,2,3");
	LEASE(b, "b", 0, 60, "4,5");
	LEASE(a, "a", 3, 60, "1,2,3");
	LEASE(b, "b", 0, 60, "4,5");
	/* A deactivated mailbox is let go; a held one is not taken instead. */
	exec(a, "UPDATE mailboxes SET active = 0 WHERE id = 2");
	LEASE(a, "a", 3, 60, "1,3");
	/* B dies: its leases expire, A takes one up to its cap, B (back) keeps
	 * only what nobody took. */
	exec(a, "UPDATE mailbox_leases SET expires_at = 0 WHERE holder = 'b'");
	LEASE(a, "a", 3, 60, "1,3,4");
	LEASE(b, "b", 0, 60, "5");
	/* LEASE_SECONDS counts: a lease already over is free at once. */
	LEASE(b, "b", 0, -10, "5");
	LEASE(a, "a", 0, 60, "1,3,4,5");
	LEASE(b, "b", 0, 60, "");
	/* Release one, then all. */
	g_assert_true(store_mailbox_lease_release(a, "a", 1, NULL));
	LEASE(b, "b", 0, 60, "1");
	g_assert_true(store_mailbox_lease_release(a, "a", 0, NULL));
	LEASE(b, "b", 0, 60, "1,3,4,5");
	/* Holders, expired ones included. */
	LEASE(a, "a", 0, -10, "");
	exec(a, "UPDATE mailbox_leases SET holder = 'c', expires_at = 0 WHERE mailbox_id = 5");
	g_autoptr(GPtrArray) holders = store_mailbox_lease_holders(a, NULL);
	g_assert_nonnull(holders);
	g_assert_cmpint(holders->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(holders, 0), ==, "b");
	g_assert_cmpstr(g_ptr_array_index(holders, 1), ==, "c");
}
