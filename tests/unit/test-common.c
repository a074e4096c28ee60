/* common/: configuration errors name the key; every key is documented and in
 * the sample file; sizes and times parse. */
#include <string.h>

#include "common/common.h"
#include "tests/unit/testutil.h"

static char *
write_conf(const char *text)
{
	char *path = g_build_filename(testutil_tmpdir(), "t.conf", NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void
test_defaults(void)
{
	g_autoptr(CommonConfig) c = common_config_defaults();
	g_assert_cmpstr(c->database, ==, COMMON_DEFAULT_DATABASE);
	g_assert_cmpint(c->busy_timeout_ms, ==, 5000);
	g_assert_true(c->reply_follows_thread);
	g_assert_cmpuint(c->daily_budget, ==, (guint64)(2.5 * 1024 * 1024 * 1024));
	g_assert_cmpint(c->pause_after_inactive_days, ==, 150);
	g_assert_cmpstrv(c->internal_domains, ((const char *[]){ NULL }));
}

static void
test_values(void)
{
	g_autofree char *path = write_conf("[store]\ndatabase = /tmp/x.db\nsynchronous = normal\n"
					   "[assoc]\ninternal_domains = Example.COM; example.net, bücher.example\n"
					   "reply_follows_thread = no\n[milter]\nmemory_limit = 512k\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(CommonConfig) c = common_config_load(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(c->database, ==, "/tmp/x.db");
	g_assert_cmpstr(c->synchronous, ==, "normal");
	g_assert_false(c->reply_follows_thread);
	g_assert_cmpstrv(c->internal_domains, ((const char *[]){ "example.com", "example.net", "xn--bcher-kva.example", NULL }));
	g_assert_cmpuint(c->milter_memory_limit, ==, 512 * 1024);
}

static void
expect_error(const char *text, const char *needle)
{
	g_autofree char *path = write_conf(text);
	g_autoptr(GError) error = NULL;
	g_autoptr(CommonConfig) c = common_config_load(path, &error);
	g_assert_null(c);
	g_assert_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG);
	if (!strstr(error->message, needle))
		g_error("'%s' does not mention '%s'", error->message, needle);
}

static void
test_errors_name_the_key(void)
{
	expect_error("[store]\nbusy_timeout_ms = soon\n", "[store] busy_timeout_ms");
	expect_error("[store]\nbusy_timeout = 5\n", "[store] busy_timeout: unknown key");
	expect_error("[stor]\ndatabase = x\n", "[stor] database: unknown key");
	expect_error("[store]\nsynchronous = sometimes\n", "[store] synchronous");
	expect_error("[milter]\nmemory_limit = lots\n", "[milter] memory_limit");
	expect_error("[assoc]\nreply_follows_thread = maybe\n", "[assoc] reply_follows_thread");
	expect_error("[poll]\npoll_interval = 1\n", "outside");
	expect_error("[store\n", "t.conf");
	expect_error("[store]\nbusy_timeout_ms = 10\n[bogus]\n", "[bogus]: unknown section");
	expect_error("[milter]\nmemory_limit = inf\n", "[milter] memory_limit");
	expect_error("[poll]\ndaily_budget = 1e30\n", "[poll] daily_budget");
	expect_error("[milter]\nowner_proof = sender\n", "[milter] owner_proof");
}

static void
test_documented(void)
{
	const char *top = g_getenv("BCCDROP_TOP");
	g_autofree char *doc_path = g_build_filename(top ? top : ".", "docs", "configuration.md", NULL);
	g_autofree char *sample_path = g_build_filename(top ? top : ".", "contrib", "bccdrop.conf", NULL);
	g_autoptr(GBytes) doc = testutil_read(doc_path);
	g_autoptr(GBytes) sample = testutil_read(sample_path);
	g_autofree char *doc_text = g_strndup(g_bytes_get_data(doc, NULL), g_bytes_get_size(doc));
	g_autofree char *sample_text = g_strndup(g_bytes_get_data(sample, NULL), g_bytes_get_size(sample));
	g_auto(GStrv) keys = common_config_keys();
	for (char **k = keys; *k; k++) {
		g_auto(GStrv) parts = g_strsplit(*k, ".", 2);
		g_autofree char *heading = g_strdup_printf("## [%s]", parts[0]);
		g_autofree char *row = g_strdup_printf("| `%s` |", parts[1]);
		const char *sec = strstr(doc_text, heading);
		if (!sec || !strstr(sec, row))
			g_error("%s is not documented under %s in docs/configuration.md", *k, heading);
		g_autofree char *line = g_strdup_printf("\n#%s =", parts[1]);
		if (!strstr(sample_text, line))
			g_error("%s is missing from contrib/bccdrop.conf", *k);
	}
	/* The sample, uncommented, must load: its values are valid defaults. */
	g_autoptr(GRegex) re = g_regex_new("^#([a-z_]+ =)", G_REGEX_MULTILINE, 0, NULL);
	g_autofree char *active = g_regex_replace(re, sample_text, -1, 0, "\\1", 0, NULL);
	g_autofree char *path = write_conf(active);
	g_autoptr(GError) error = NULL;
	g_autoptr(CommonConfig) c = common_config_load(path, &error);
	g_assert_no_error(error);
}

static void
test_sizes_and_times(void)
{
	guint64 v;
	g_assert_true(common_parse_size("10M", &v));
	g_assert_cmpuint(v, ==, 10 * 1024 * 1024);
	g_assert_true(common_parse_size("2.5G", &v));
	g_assert_cmpuint(v, ==, G_GUINT64_CONSTANT(5) << 29);
	g_assert_true(common_parse_size("16T", &v));
	g_assert_cmpuint(v, ==, G_GUINT64_CONSTANT(16) << 40);
	g_assert_true(common_parse_size("1KiB", &v));
	g_assert_cmpuint(v, ==, 1024);
	g_assert_true(common_parse_size("123", &v));
	g_assert_cmpuint(v, ==, 123);
	/* No float syntax beyond "digits[.digits]": each of these was once
	 * an undefined float-to-integer conversion or a surprise. */
	const char *bad[] = { "inf", "nan", "1e30", "0x10", "-1", "", "1.5e3k", "20000000000000000000", "1000000000T" };
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		if (common_parse_size(bad[i], &v))
			g_error("'%s' parsed as a size", bad[i]);
	g_assert_true(common_parse_size("512kB", &v));
	g_assert_cmpuint(v, ==, 512 * 1024);
	g_assert_false(common_parse_size("ten", &v));
	g_assert_false(common_parse_size("5X", &v));
	gint64 t;
	g_assert_true(common_parse_iso8601("2024-03-01T10:00:00Z", &t));
	g_assert_cmpint(t, ==, 1709287200);
	g_assert_true(common_parse_iso8601("2024-03-01T12:00:00+02:00", &t));
	g_assert_cmpint(t, ==, 1709287200);
	g_assert_true(common_parse_iso8601("2024-03-01 10:00", &t));
	g_assert_cmpint(t, ==, 1709287200);
	g_assert_true(common_parse_iso8601("2024-03-01", &t));
	g_assert_cmpint(t, ==, 1709251200);
	g_assert_false(common_parse_iso8601("yesterday", &t));
	g_assert_false(common_parse_iso8601("2024-13-01", &t));
	g_autofree char *s = common_iso8601(1709287200);
	g_assert_cmpstr(s, ==, "2024-03-01T10:00:00Z");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/common/config/defaults", test_defaults);
	g_test_add_func("/common/config/values", test_values);
	g_test_add_func("/common/config/errors-name-the-key", test_errors_name_the_key);
	g_test_add_func("/common/config/documented", test_documented);
	g_test_add_func("/common/sizes-and-times", test_sizes_and_times);
	return g_test_run();
}
