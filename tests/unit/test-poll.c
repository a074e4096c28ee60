/* Unit tests of the poller's building blocks: secrets, presets, the spool
 * and the mailbox tables (one active mailbox per user). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/sqlite.h"
#include "poll/net.h"
#include "poll/poll.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

static char *
tmp_path(const char *name)
{
	static int n;
	return g_strdup_printf("%s/%d-%s", testutil_tmpdir(), n++, name);
}

static void
test_key_file_created_0600(void)
{
	g_autofree char *path = tmp_path("key");
	g_autoptr(GError) e = NULL;
	g_assert_null(poll_secret_key_load(path, FALSE, &e));
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
	g_clear_error(&e);
	g_autoptr(GBytes) key = poll_secret_key_load(path, TRUE, &e);
	g_assert_no_error(e);
	g_assert_cmpuint(g_bytes_get_size(key), ==, 32);
	struct stat sb;
	g_assert_cmpint(stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_mode & 0777, ==, 0600);
	/* Loading again gives the same key, not a new one. */
	g_autoptr(GBytes) again = poll_secret_key_load(path, TRUE, &e);
	g_assert_true(g_bytes_equal(key, again));
}

static void
test_key_file_group_readable_refused(void)
{
	g_autofree char *path = tmp_path("key");
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) key = poll_secret_key_load(path, TRUE, &e);
	g_assert_nonnull(key);
	g_assert_cmpint(chmod(path, 0640), ==, 0);
	g_autoptr(GBytes) refused = poll_secret_key_load(path, FALSE, &e);
	g_assert_null(refused);
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
	g_assert_nonnull(strstr(e->message, "0600"));
}

static void
test_seal_roundtrip(void)
{
	g_autofree char *path = tmp_path("key");
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) key = poll_secret_key_load(path, TRUE, &e);
	g_autoptr(GBytes) a = poll_secret_seal(key, "hunter2", "u1", &e);
	g_autoptr(GBytes) b = poll_secret_seal(key, "hunter2", "u1", &e);
	g_assert_no_error(e);
	/* Random nonce: the same secret never gives the same bytes. */
	g_assert_false(g_bytes_equal(a, b));
	gsize len;
	const guint8 *p = g_bytes_get_data(a, &len);
	g_assert_null(memmem(p, len, "hunter2", 7));
	g_autofree char *plain = poll_secret_unseal(key, a, "u1", &e);
	g_assert_no_error(e);
	g_assert_cmpstr(plain, ==, "hunter2");
}

static void
test_seal_tamper_and_context(void)
{
	g_autofree char *path = tmp_path("key");
	g_autofree char *path2 = tmp_path("key");
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) key = poll_secret_key_load(path, TRUE, &e);
	g_autoptr(GBytes) other = poll_secret_key_load(path2, TRUE, &e);
	g_autoptr(GBytes) sealed = poll_secret_seal(key, "hunter2", "u1", &e);
	/* Another user's row: the context (associated data) differs. */
	g_assert_null(poll_secret_unseal(key, sealed, "u2", &e));
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
	g_clear_error(&e);
	g_assert_null(poll_secret_unseal(other, sealed, "u1", &e));
	g_clear_error(&e);
	gsize len;
	guint8 *copy = g_memdup2(g_bytes_get_data(sealed, &len), g_bytes_get_size(sealed));
	copy[len - 1] ^= 1;
	g_autoptr(GBytes) bad = g_bytes_new_take(copy, len);
	g_assert_null(poll_secret_unseal(key, bad, "u1", &e));
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
}

/* The secret opens only for the server it was sealed for: a database writer
 * who repoints the mailbox (host, port, protocol, username, TLS, auth) gets
 * an error, not the password sent to a server of their choosing. */
static void
test_secret_bound_to_server(void)
{
	g_autofree char *path = tmp_path("key");
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) key = poll_secret_key_load(path, TRUE, &e);
	StoreMailbox m = { .id = 7, .user_id = "u1", .protocol = "imap", .host = "imap.corp.example", .port = 993,
			   .tls = "implicit", .username = "alice", .auth = "password" };
	g_autofree char *context = poll_secret_context(&m);
	m.secret = poll_secret_seal(key, "hunter2", context, &e);
	g_autofree char *plain = poll_credentials(&m, key, &e);
	g_assert_no_error(e);
	g_assert_cmpstr(plain, ==, "hunter2");
	StoreMailbox moved[] = { m, m, m, m, m, m };
	moved[0].host = "evil.example";
	moved[1].port = 1993;
	moved[2].protocol = "pop3";
	moved[3].username = "alice2";
	moved[4].tls = "none";
	moved[5].auth = "oauth2";
	for (gsize i = 0; i < G_N_ELEMENTS(moved); i++) {
		g_autofree char *leaked = poll_credentials(&moved[i], key, &e);
		g_assert_null(leaked);
		g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
		g_clear_error(&e);
	}
	/* A version-1 secret (user id only) still opens, with a notice. */
	g_autoptr(GBytes) v2 = poll_secret_seal(key, "old", "u1", &e);
	guint8 *raw = g_memdup2(g_bytes_get_data(v2, NULL), g_bytes_get_size(v2));
	raw[0] = 1;
	g_autoptr(GBytes) v1 = g_bytes_new_take(raw, g_bytes_get_size(v2));
	g_bytes_unref(m.secret);
	m.secret = v1;
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*bound to the user only*set-password 7*");
	g_autofree char *old = poll_credentials(&m, key, &e);
	g_test_assert_expected_messages();
	g_assert_no_error(e);
	g_assert_cmpstr(old, ==, "old");
	m.secret = NULL;
}

static char *
token_of(GBytes *key, const char *command, GError **error)
{
	StoreMailbox m = { .id = 3, .user_id = "u1", .protocol = "imap", .host = "h", .port = 993,
			   .tls = "implicit", .username = "alice", .auth = "oauth2" };
	g_autofree char *context = poll_secret_context(&m);
	m.secret = poll_secret_seal(key, command, context, error);
	char *token = poll_credentials(&m, key, error);
	g_bytes_unref(m.secret);
	return token;
}

/* Split like a shell, run without one, read from stdout, killed when late. */
static void
test_token_command(void)
{
	g_autofree char *path = tmp_path("key");
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) key = poll_secret_key_load(path, TRUE, &e);
	g_autofree char *t1 = token_of(key, "/bin/echo 'tok en;' $HOME; echo `id`", &e);
	g_assert_no_error(e);
	g_assert_cmpstr(t1, ==, "tok en; $HOME; echo `id`");
	g_autofree char *t2 = token_of(key, "exit 3", &e);
	g_assert_null(t2);
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
	g_clear_error(&e);
	g_autofree char *t3 = token_of(key, "'unterminated", &e);
	g_assert_null(t3);
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
	g_clear_error(&e);
	g_setenv("BCCDROP_TOKEN_TIMEOUT", "1", TRUE);
	gint64 start = g_get_monotonic_time();
	g_autofree char *t4 = token_of(key, "sleep 20", &e);
	g_unsetenv("BCCDROP_TOKEN_TIMEOUT");
	g_assert_null(t4);
	g_assert_error(e, POLL_ERROR, POLL_ERROR_SECRET);
	g_assert_nonnull(strstr(e->message, "did not finish within 1 s"));
	g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
}

static void
test_presets(void)
{
	g_assert_cmpstr(poll_preset_find("gmail")->imap_host, ==, "imap.gmail.com");
	g_assert_cmpstr(poll_preset_find("Microsoft365")->imap_host, ==, "outlook.office365.com");
	g_assert_cmpstr(poll_preset_for_username("bob@yahoo.com")->name, ==, "yahoo");
	g_assert_cmpstr(poll_preset_for_username("bob@ICLOUD.com")->name, ==, "icloud");
	g_assert_null(poll_preset_for_username("bob@corp.example"));
	g_assert_null(poll_preset_find("nonesuch"));
	g_assert_cmpint(poll_default_port("imap", "implicit"), ==, 993);
	g_assert_cmpint(poll_default_port("imap", "starttls"), ==, 143);
	g_assert_cmpint(poll_default_port("pop3", "implicit"), ==, 995);
	g_assert_cmpint(poll_default_port("pop3", "none"), ==, 110);
}

static Store *
open_db(void)
{
	g_autofree char *path = tmp_path("db");
	g_autoptr(GError) e = NULL;
	Store *store = store_open(path, NULL, &e);
	g_assert_no_error(e);
	g_assert_true(sq_exec(store,
				 "INSERT INTO users(id, email) VALUES ('u1', 'a@x.example'), ('u2', 'b@x.example')",
				 &e));
	return store;
}

static gint64
add_mailbox(Store *store, const char *user, gboolean *activated)
{
	g_autoptr(GBytes) secret = g_bytes_new_static("\x01sealed", 7);
	StoreMailbox m = { .user_id = (char *)user, .protocol = "imap", .host = "h", .port = 993,
			   .tls = "implicit", .username = "u", .auth = "password", .secret = secret };
	g_autoptr(GError) e = NULL;
	g_assert_true(store_mailbox_add(store, &m, activated, &e));
	g_assert_no_error(e);
	return m.id;
}

static gboolean
is_active(Store *store, gint64 id)
{
	g_autoptr(StoreMailbox) m = store_mailbox_get(store, id, NULL);
	return m->active;
}

static void
test_one_active_mailbox(void)
{
	g_autoptr(Store) store = open_db();
	gboolean act = FALSE;
	gint64 a = add_mailbox(store, "u1", &act);
	g_assert_true(act);
	gint64 b = add_mailbox(store, "u1", &act);
	g_assert_false(act);
	gint64 c = add_mailbox(store, "u2", &act);
	g_assert_true(act);
	g_autoptr(GError) e = NULL;
	g_assert_true(store_mailbox_activate(store, b, &e));
	g_assert_false(is_active(store, a));
	g_assert_true(is_active(store, b));
	g_assert_true(is_active(store, c));
	/* The schema itself refuses a second active mailbox for a user. */
	g_assert_false(sq_exec(store, "UPDATE mailboxes SET active = 1", &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_INVALID);
	g_clear_error(&e);
	g_assert_true(store_mailbox_deactivate(store, b, &e));
	g_assert_false(is_active(store, b));
	g_autoptr(GPtrArray) active = store_mailbox_list(store, NULL, TRUE, &e);
	g_assert_cmpuint(active->len, ==, 1);
	g_assert_true(store_mailbox_remove(store, a, &e));
	g_assert_null(store_mailbox_get(store, a, &e));
	g_assert_error(e, STORE_ERROR, STORE_ERROR_NOT_FOUND);
}

static void
test_secret_change_clears_auth_failed(void)
{
	g_autoptr(Store) store = open_db();
	gint64 id = add_mailbox(store, "u1", NULL);
	g_autoptr(GError) e = NULL;
	StoreMailboxSync st = { .status = "auth_failed", .reason = "refused", .failures = 1 };
	g_assert_true(store_mailbox_sync_set(store, id, &st, &e));
	StoreMailboxSync got = { 0 };
	g_assert_true(store_mailbox_sync_get(store, id, &got, &e));
	g_assert_cmpstr(got.status, ==, "auth_failed");
	store_mailbox_sync_clear(&got);
	g_autoptr(GBytes) secret = g_bytes_new_static("\x01new", 4);
	g_assert_true(store_mailbox_set_secret(store, id, secret, &e));
	g_assert_true(store_mailbox_sync_get(store, id, &got, &e));
	g_assert_cmpstr(got.status, ==, "pending");
	g_assert_null(got.reason);
	store_mailbox_sync_clear(&got);
}

static void
test_cursors_and_budget(void)
{
	g_autoptr(Store) store = open_db();
	gint64 id = add_mailbox(store, "u1", NULL);
	g_autoptr(GError) e = NULL;
	gboolean found = TRUE;
	gint64 v, last;
	g_assert_true(store_mailbox_folder_get(store, id, "INBOX", &found, &v, &last, &e));
	g_assert_false(found);
	g_assert_true(store_mailbox_folder_set(store, id, "INBOX", 77, 1234, &e));
	g_assert_true(store_mailbox_folder_get(store, id, "INBOX", &found, &v, &last, &e));
	g_assert_true(found);
	g_assert_cmpint(v, ==, 77);
	g_assert_cmpint(last, ==, 1234);
	guint64 bytes = 1;
	g_assert_true(store_mailbox_budget_get(store, id, "2026-01-01", &bytes, &e));
	g_assert_cmpuint(bytes, ==, 0);
	g_assert_true(store_mailbox_budget_add(store, id, "2026-01-01", 100, &e));
	g_assert_true(store_mailbox_budget_add(store, id, "2026-01-01", 50, &e));
	g_assert_true(store_mailbox_budget_add(store, id, "2026-01-02", 7, &e));
	g_assert_true(store_mailbox_budget_get(store, id, "2026-01-01", &bytes, &e));
	g_assert_cmpuint(bytes, ==, 150);
	g_assert_true(store_mailbox_uidl_add(store, id, "abc", &e));
	g_assert_true(store_mailbox_uidl_add(store, id, "abc", &e));
	g_autoptr(GHashTable) uidls = store_mailbox_uidls(store, id, &e);
	g_assert_cmpuint(g_hash_table_size(uidls), ==, 1);
	g_assert_true(g_hash_table_contains(uidls, "abc"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/poll/secret/key-created-0600", test_key_file_created_0600);
	g_test_add_func("/poll/secret/key-group-readable-refused", test_key_file_group_readable_refused);
	g_test_add_func("/poll/secret/roundtrip", test_seal_roundtrip);
	g_test_add_func("/poll/secret/tamper-and-context", test_seal_tamper_and_context);
	g_test_add_func("/poll/secret/bound-to-server", test_secret_bound_to_server);
	g_test_add_func("/poll/secret/token-command", test_token_command);
	g_test_add_func("/poll/presets", test_presets);
	g_test_add_func("/poll/store/one-active-mailbox", test_one_active_mailbox);
	g_test_add_func("/poll/store/secret-change-clears-auth-failed", test_secret_change_clears_auth_failed);
	g_test_add_func("/poll/store/cursors-and-budget", test_cursors_and_budget);
	return g_test_run();
}
