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
