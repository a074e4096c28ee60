/* Unit tests of the milter's building blocks: the DMARC check, the Store
 * pool and the user lookups it relies on. (The spool and the group commit
 * are capture's: tests/unit/test-capture.c.) */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/sqlite.h"
#include "milter/milter.h"
#include "tests/unit/testutil.h"

static void
test_dmarc(void)
{
	g_assert_true(milter_dmarc_pass("mx.corp.example; spf=pass smtp.mailfrom=a@corp.example; dmarc=pass "
					"header.from=corp.example",
					"mx.corp.example"));
	g_assert_true(milter_dmarc_pass(" MX.Corp.Example 1; dmarc = pass (p=reject)", "mx.corp.example"));
	/* Someone else's verdict, a failure, or a look-alike method: no. */
	g_assert_false(milter_dmarc_pass("evil.example; dmarc=pass", "mx.corp.example"));
	g_assert_false(milter_dmarc_pass("mx.corp.example; dmarc=fail", "mx.corp.example"));
	g_assert_false(milter_dmarc_pass("mx.corp.example; dmarc=passed", "mx.corp.example"));
	g_assert_false(milter_dmarc_pass("mx.corp.example; spf=pass", "mx.corp.example"));
	g_assert_false(milter_dmarc_pass("mx.corp.example; dmarc=pass", ""));
	g_assert_cmpstr(milter_key_domain("a@b.example"), ==, "b.example");
	g_assert_cmpstr(milter_key_domain("postmaster"), ==, "");
}

static void
test_pool_and_users(void)
{
	g_autoptr(CommonConfig) config = testutil_config("pool.db", 200);
	MilterPool *pool = milter_pool_new(config, 2);
	g_autoptr(GError) error = NULL;
	Store *a = milter_pool_get(pool, &error);
	g_assert_no_error(error);
	g_assert_true(sq_exec(a,
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

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
	g_test_add_func("/milter/dmarc", test_dmarc);
	g_test_add_func("/milter/pool-and-users", test_pool_and_users);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
