/* Signed per-deal addresses: round trip, tampering, wrong user or deal, key
 * rotation and its grace, delimiter variants, the key file's mode. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assoc/assoc.h"
#include "tests/unit/testutil.h"

#define DAY 86400
#define T0 1800000000 /* 2027-01-15 */

static const char *const dropbox = "alice-drop@crm.example";

/* A fresh key file in its own name under the test's temporary folder. */
static char *
key_path(const char *name)
{
	char *path = g_build_filename(testutil_tmpdir(), name, NULL);
	unlink(path);
	return path;
}

static AssocDealtagKeys *
load(const char *path)
{
	g_autoptr(GError) error = NULL;
	AssocDealtagKeys *keys = assoc_dealtag_keys_load(path, TRUE, &error);
	g_assert_no_error(error);
	return keys;
}

static char *
address(const AssocDealtagKeys *keys, const char *delims, const char *user, const char *deal, const char *name)
{
	g_autoptr(GError) error = NULL;
	char *a = assoc_dealtag_address(keys, dropbox, delims, user, deal, name, &error);
	g_assert_no_error(error);
	return a;
}

/* What the RCPT check will do: parse, the dropbox must be DROPBOX (its
 * owner u1), the tag must verify for u1 and the deal parsed, which must be
 * DEAL unless that is NULL. */
static gboolean
accepted(const AssocDealtagKeys *keys, const char *addr, const char *delims, const char *deal, gint64 now)
{
	g_auto(AssocDealtagAddress) a = { 0 };
	if (!assoc_dealtag_parse(addr, delims, &a) || strcmp(a.dropbox, dropbox) ||
	    (deal && strcmp(a.deal_id, deal)))
		return FALSE;
	return assoc_dealtag_verify(keys, "u1", a.deal_id, a.tag, now, 30);
}

static void
test_round_trip(void)
{
	g_autofree char *path = key_path("rt.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	g_autofree char *a = address(keys, "+", "u1", "d17", "Renewal 2027!");
	g_assert_true(g_regex_match_simple("^alice-drop\\+d-renewal-2027\\.d17\\.[a-z2-7]{8}@crm\\.example$", a, 0, 0));
	g_autofree char *again = address(keys, "+", "u1", "d17", "Renewal 2027!");
	g_assert_cmpstr(a, ==, again);
	g_auto(AssocDealtagAddress) p = { 0 };
	g_assert_true(assoc_dealtag_parse(a, "+", &p));
	g_assert_cmpstr(p.dropbox, ==, dropbox);
	g_assert_cmpstr(p.deal_id, ==, "d17");
	g_assert_cmpstr(p.slug, ==, "renewal-2027");
	g_assert_true(assoc_dealtag_verify(keys, "u1", "d17", p.tag, T0, 30));
	/* Some MTAs and people upper-case addresses. */
	g_autofree char *upper = g_ascii_strup(a, -1);
	g_assert_true(accepted(keys, upper, "+", "d17", T0));
}

/* Every character of the local part changed in turn: only a slug change
 * (cosmetic by design) is still accepted. */
static void
test_tamper_every_character(void)
{
	g_autofree char *path = key_path("tamper.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	g_autofree char *a = address(keys, "+", "u1", "d17", "Renewal");
	const char *slug = strstr(a, "+d-") + 3;
	gsize slug_start = (gsize)(slug - a), slug_end = slug_start + strlen("renewal");
	gsize local = (gsize)(strchr(a, '@') - a);
	for (gsize i = 0; i < local; i++) {
		for (const char *r = "a7"; *r; r++) {
			g_autofree char *t = g_strdup(a);
			if (t[i] == *r)
				continue;
			t[i] = *r;
			gboolean in_slug = i >= slug_start && i < slug_end;
			if (accepted(keys, t, "+", NULL, T0) != in_slug)
				g_error("%s (position %" G_GSIZE_FORMAT ") is %s", t, i,
					in_slug ? "refused" : "accepted");
		}
	}
}

static void
test_wrong_user_or_deal(void)
{
	g_autofree char *path = key_path("wrong.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	g_autofree char *tag = assoc_dealtag_tag(keys, "u1", "d17");
	g_assert_true(assoc_dealtag_verify(keys, "u1", "d17", tag, T0, 30));
	g_assert_false(assoc_dealtag_verify(keys, "u2", "d17", tag, T0, 30));
	g_assert_false(assoc_dealtag_verify(keys, "u1", "d18", tag, T0, 30));
	g_assert_false(assoc_dealtag_verify(keys, "u1", "d17", "", T0, 30));
	/* The 0x00 separator keeps the boundary between the two ids. */
	g_autofree char *a = assoc_dealtag_tag(keys, "u1", "2");
	g_autofree char *b = assoc_dealtag_tag(keys, "u", "12");
	g_assert_cmpstr(a, !=, b);
	/* Another key (another server) signs differently. */
	g_autofree char *other_path = key_path("other.key");
	g_autoptr(AssocDealtagKeys) other = load(other_path);
	g_assert_false(assoc_dealtag_verify(other, "u1", "d17", tag, T0, 30));
}

static guint
count_lines(const char *path, const char *prefix)
{
	g_autoptr(GBytes) text = testutil_read(path);
	g_autofree char *s = g_strndup(g_bytes_get_data(text, NULL), g_bytes_get_size(text));
	g_auto(GStrv) lines = g_strsplit(s, "\n", -1);
	guint n = 0;
	for (char **l = lines; *l; l++)
		n += g_str_has_prefix(*l, prefix);
	return n;
}

static void
rotate(const char *path, gint64 now, int grace)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(assoc_dealtag_rotate(path, now, grace, &error));
	g_assert_no_error(error);
	struct stat sb;
	g_assert_cmpint(stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_mode & 0777, ==, 0600);
}

static void
test_rotation_grace(void)
{
	g_autofree char *path = key_path("rotate.key");
	g_autoptr(AssocDealtagKeys) before = load(path);
	g_autofree char *old = assoc_dealtag_tag(before, "u1", "d17");
	rotate(path, T0, 30);
	g_autoptr(AssocDealtagKeys) keys = load(path);
	g_autofree char *fresh = assoc_dealtag_tag(keys, "u1", "d17");
	g_assert_cmpstr(fresh, !=, old);
	g_assert_true(assoc_dealtag_verify(keys, "u1", "d17", old, T0 + 29 * DAY, 30));
	g_assert_true(assoc_dealtag_verify(keys, "u1", "d17", old, T0 + 30 * DAY - 1, 30));
	g_assert_false(assoc_dealtag_verify(keys, "u1", "d17", old, T0 + 30 * DAY, 30));
	g_assert_false(assoc_dealtag_verify(keys, "u1", "d17", old, T0 + 31 * DAY, 30));
	g_assert_true(assoc_dealtag_verify(keys, "u1", "d17", fresh, T0 + 400 * DAY, 30));
	/* The grace is the configured one, read at verification. */
	g_assert_false(assoc_dealtag_verify(keys, "u1", "d17", old, T0 + 29 * DAY, 7));
	g_assert_cmpuint(count_lines(path, "retired "), ==, 1);
	/* A second rotation within the grace keeps both old keys; one past it
	 * drops the key that no longer verifies. */
	rotate(path, T0 + 10 * DAY, 30);
	g_assert_cmpuint(count_lines(path, "retired "), ==, 2);
	rotate(path, T0 + 35 * DAY, 30);
	g_assert_cmpuint(count_lines(path, "retired "), ==, 2);
	g_assert_cmpuint(count_lines(path, "current "), ==, 1);
	rotate(path, T0 + 36 * DAY, 0);
	g_assert_cmpuint(count_lines(path, "retired "), ==, 0);
}

/* Rotating as root keeps the file's owner (the milter's user reads it). */
static void
test_rotation_keeps_owner(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to give the key file to another user");
		return;
	}
	g_autofree char *path = key_path("owner.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	g_assert_cmpint(chown(path, 65534, 65534), ==, 0);
	rotate(path, T0, 30);
	struct stat sb;
	g_assert_cmpint(stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_uid, ==, 65534);
	g_assert_cmpint(sb.st_gid, ==, 65534);
}

typedef struct {
	const char *delims;	/* [dropbox] recipient_delimiter */
	const char *want;	/* regex of the printed address */
	const char *alternate; /* the same address written with another delimiter, or NULL */
} DelimCase;

static const DelimCase delim_cases[] = {
	{ "+", "^alice-drop\\+d-plan-b-d-day\\.d-7\\.[a-z2-7]{8}@crm\\.example$", NULL },
	/* '-' is a delimiter: slug words join with '_', so "alice-drop" keeps
	 * its own '-' and the extension is still found. */
	{ "-", "^alice-drop-d-plan_b_d_day\\.d-7\\.[a-z2-7]{8}@crm\\.example$", NULL },
	{ "+-", "^alice-drop\\+d-plan_b_d_day\\.d-7\\.[a-z2-7]{8}@crm\\.example$", "-" },
	{ "-_", "^alice-drop-d-planbdday\\.d-7\\.[a-z2-7]{8}@crm\\.example$", "_" },
};

static void
test_delimiter(gconstpointer data)
{
	const DelimCase *c = data;
	g_autofree char *path = key_path("delim.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	g_autofree char *a = address(keys, c->delims, "u1", "d-7", "Plan B - D-Day");
	if (!g_regex_match_simple(c->want, a, 0, 0))
		g_error("%s does not match %s", a, c->want);
	g_assert_true(accepted(keys, a, c->delims, "d-7", T0));
	if (c->alternate) {
		g_autofree char *alt = g_strdup(a);
		alt[strlen("alice-drop")] = c->alternate[0];
		g_assert_true(accepted(keys, alt, c->delims, "d-7", T0));
	}
}

static void
test_deal_ids(void)
{
	g_autofree char *path = key_path("ids.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	const char *ids[] = { "D.17/X", "Ünï", "4151000000123456789", "deal-9" };
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autofree char *a = address(keys, "+", "u1", ids[i], "Big Deal");
		g_assert_cmpuint(strchr(a, '@') - a, <=, 64);
		g_assert_true(accepted(keys, a, "+", ids[i], T0));
	}
	/* Upper case would not survive lower-casing: such ids are encoded. */
	g_autofree char *enc = address(keys, "+", "u1", "D.17/X", "x");
	g_assert_nonnull(strstr(enc, ".="));
	/* A long name gives way to the 64-character local part. */
	g_autofree char *lng = address(keys, "+", "u1", "4151000000123456789", "A very long deal name indeed, yes");
	g_assert_cmpuint(strchr(lng, '@') - lng, <=, 64);
	g_assert_cmpuint(strchr(lng, '@') - lng, >=, 63); /* 64, less a trailing '-' */
	g_assert_true(accepted(keys, lng, "+", "4151000000123456789", T0));
	g_autoptr(GError) error = NULL;
	g_autofree char *none = assoc_dealtag_address(keys, dropbox, "+", "u1", "D-0123456789-0123456789-0123456789",
						       "x", &error);
	g_assert_null(none);
	g_assert_error(error, ASSOC_ERROR, ASSOC_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "64"));
}

static void
test_not_per_deal(void)
{
	const char *addrs[] = {
		"alice-drop@crm.example",		 /* the plain dropbox */
		"alice-drop+renewal@crm.example",	 /* an ordinary subaddress */
		"alice-drop+d-x.d1.short@crm.example", /* tag of the wrong length */
		"alice-drop+d-x.d1.abcdefg1@crm.example", /* '1' is not base32 */
		"",
		"+d-x.d1.abcdefgh@crm.example",	 /* no dropbox before it */
		"alice-drop+d-x.=a.abcdefgh@crm.example", /* not whole base32 bytes */
		"alice-drop+d-x..abcdefgh@crm.example",	 /* empty deal id */
	};
	for (guint i = 0; i < G_N_ELEMENTS(addrs); i++) {
		g_auto(AssocDealtagAddress) a = { 0 };
		if (assoc_dealtag_parse(addrs[i], "+", &a))
			g_error("'%s' parsed as a per-deal address", addrs[i]);
	}
}

static void
expect_refused(const char *path, const char *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocDealtagKeys) keys = assoc_dealtag_keys_load(path, TRUE, &error);
	g_assert_null(keys);
	g_assert_error(error, ASSOC_ERROR, ASSOC_ERROR_FAILED);
	if (!strstr(error->message, needle) || !strstr(error->message, path))
		g_error("'%s' does not name %s and '%s'", error->message, path, needle);
}

static void
test_key_file_mode(void)
{
	g_autofree char *path = key_path("mode.key");
	g_autoptr(AssocDealtagKeys) keys = load(path);
	struct stat sb;
	g_assert_cmpint(stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_mode & 0777, ==, 0600);
	const mode_t refused[] = { 0640, 0604, 0644, 0660 };
	for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
		g_assert_cmpint(chmod(path, refused[i]), ==, 0);
		expect_refused(path, "chmod 0600");
		g_autoptr(GError) error = NULL;
		g_assert_false(assoc_dealtag_rotate(path, T0, 30, &error));
		g_assert_nonnull(error);
	}
	g_assert_cmpint(chmod(path, 0600), ==, 0);
	g_autoptr(AssocDealtagKeys) again = load(path);
	g_autofree char *a = assoc_dealtag_tag(keys, "u1", "d1");
	g_assert_true(assoc_dealtag_verify(again, "u1", "d1", a, T0, 30));
	/* A symlink to a good key file is refused too: whoever can replace
	 * the link chooses the key. */
	g_autofree char *link = key_path("link.key");
	g_assert_cmpint(symlink(path, link), ==, 0);
	expect_refused(link, "cannot open");
	g_autofree char *junk = key_path("junk.key");
	g_assert_true(g_file_set_contents_full(junk, "current notbase64\n", -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
	expect_refused(junk, ":1: not a key line");
	g_autoptr(GError) error = NULL;
	g_assert_null(assoc_dealtag_keys_load("", TRUE, &error));
	g_assert_nonnull(strstr(error->message, "[dropbox] tag_key_file"));
}

static void
test_config(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "d.conf", NULL);
	const char *bad[] = { ".", "", "+a", "+.", "@" };
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *text = g_strdup_printf("[dropbox]\nrecipient_delimiter = %s\n", bad[i]);
		g_assert_true(g_file_set_contents(path, text, -1, NULL));
		g_autoptr(GError) error = NULL;
		g_autoptr(CommonConfig) c = common_config_load(path, &error);
		g_assert_null(c);
		g_assert_nonnull(strstr(error->message, "[dropbox] recipient_delimiter"));
	}
	g_assert_true(g_file_set_contents(path, "[dropbox]\nrecipient_delimiter = +-\ntag_grace_days = 7\n", -1, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(CommonConfig) c = common_config_load(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(c->dropbox_recipient_delimiter, ==, "+-");
	g_assert_cmpint(c->dropbox_tag_grace_days, ==, 7);
	g_autoptr(CommonConfig) d = common_config_defaults();
	g_assert_cmpstr(d->dropbox_recipient_delimiter, ==, "+");
	g_assert_cmpint(d->dropbox_tag_grace_days, ==, 30);
	g_assert_cmpstr(d->dropbox_tag_key_file, ==, "/etc/bccdrop/tag.key");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dealtag/round-trip", test_round_trip);
	g_test_add_func("/dealtag/tamper-every-character", test_tamper_every_character);
	g_test_add_func("/dealtag/wrong-user-or-deal", test_wrong_user_or_deal);
	g_test_add_func("/dealtag/rotation-grace", test_rotation_grace);
	g_test_add_func("/dealtag/rotation-keeps-owner", test_rotation_keeps_owner);
	for (guint i = 0; i < G_N_ELEMENTS(delim_cases); i++) {
		g_autofree char *name = g_strdup_printf("/dealtag/delimiter/%s", delim_cases[i].delims);
		g_test_add_data_func(name, &delim_cases[i], test_delimiter);
	}
	g_test_add_func("/dealtag/deal-ids", test_deal_ids);
	g_test_add_func("/dealtag/not-per-deal", test_not_per_deal);
	g_test_add_func("/dealtag/key-file-mode", test_key_file_mode);
	g_test_add_func("/dealtag/config", test_config);
	return g_test_run();
}
