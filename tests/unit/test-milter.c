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
	g_test_add_func("/milter/config-check", test_config_check);
	g_test_add_func("/milter/pool-and-users", test_pool_and_users);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
