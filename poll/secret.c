/* Mailbox secrets sealed with AES-256-GCM under a key file that only the
 * poller (and root) can read: a reader of the database sees ciphertext. */
#include "poll/poll.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_KEY_LEN 32
#define SECRET_NONCE_LEN 12
#define SECRET_TAG_LEN 16
/* 1: bound to the user id only (read, never written); 2: bound to the
 * mailbox's server too (poll_secret_context). */
#define SECRET_VERSION_USER 1
#define SECRET_VERSION 2

G_DEFINE_QUARK(bccdrop-poll-error-quark, poll_error)

static gboolean
secret_key_create(const char *path, GError **error)
{
	guint8 key[SECRET_KEY_LEN];
	if (gnutls_rnd(GNUTLS_RND_KEY, key, sizeof key) != 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot generate a key for %s", path);
		return FALSE;
	}
	/* O_EXCL: two concurrent `mailbox add` never overwrite each other's key. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return TRUE;
		g_autofree char *dir = g_path_get_dirname(path);
		/* A source install without the package has no /etc/bccdrop yet. */
		if (errno == ENOENT)
			g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET,
				    "cannot create key file %s: directory %s does not exist (install the bccdrop "
				    "package, or run: install -d -m 0750 %s)", path, dir, dir);
		else
			g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot create key file %s: %s", path,
				    g_strerror(errno));
		return FALSE;
	}
	gboolean ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	memset(key, 0, sizeof key);
	if (!ok) {
		unlink(path);
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot write key file %s: %s", path,
			    g_strerror(saved));
		return FALSE;
	}
	g_message("created key file %s (mode 0600): back it up, the mailbox passwords cannot be read without it",
		  path);
	return TRUE;
}

GBytes *
poll_secret_key_load(const char *path, gboolean create, GError **error)
{
	if (!path || !*path) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "no key file configured ([poll] key_file)");
		return NULL;
	}
	if (create && !g_file_test(path, G_FILE_TEST_EXISTS) && !secret_key_create(path, error))
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot open key file %s: %s%s", path,
			    g_strerror(errno), errno == ENOENT ? " (`bccdrop mailbox add` creates it)" : "");
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
		close(fd);
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET,
			    "key file %s must be a regular file readable by its owner only (chmod 0600), refusing it",
			    path);
		return NULL;
	}
	guint8 key[SECRET_KEY_LEN + 1];
	ssize_t n = read(fd, key, sizeof key);
	close(fd);
	if (n != SECRET_KEY_LEN) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "key file %s does not hold a %d-byte key", path,
			    SECRET_KEY_LEN);
		return NULL;
	}
	GBytes *out = g_bytes_new(key, SECRET_KEY_LEN);
	memset(key, 0, sizeof key);
	return out;
}

static gnutls_aead_cipher_hd_t
secret_cipher(GBytes *key, GError **error)
{
	gsize len = 0;
	const void *data = g_bytes_get_data(key, &len);
	gnutls_datum_t k = { (unsigned char *)data, (unsigned int)len };
	gnutls_aead_cipher_hd_t h = NULL;
	int rc = len == SECRET_KEY_LEN ? gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k)
				       : GNUTLS_E_INVALID_REQUEST;
	if (rc < 0) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot set up AES-256-GCM: %s", gnutls_strerror(rc));
		return NULL;
	}
	return h;
}

GBytes *
poll_secret_seal(GBytes *key, const char *plaintext, const char *context, GError **error)
{
	gnutls_aead_cipher_hd_t h = secret_cipher(key, error);
	if (!h)
		return NULL;
	gsize plen = strlen(plaintext);
	gsize total = 1 + SECRET_NONCE_LEN + plen + SECRET_TAG_LEN;
	guint8 *out = g_malloc(total);
	out[0] = SECRET_VERSION;
	/* A fresh random nonce per secret: GCM must never reuse one with a key. */
	int rc = gnutls_rnd(GNUTLS_RND_NONCE, out + 1, SECRET_NONCE_LEN);
	size_t clen = plen + SECRET_TAG_LEN;
	if (rc == 0)
		rc = gnutls_aead_cipher_encrypt(h, out + 1, SECRET_NONCE_LEN, context, strlen(context), SECRET_TAG_LEN,
						plaintext, plen, out + 1 + SECRET_NONCE_LEN, &clen);
	gnutls_aead_cipher_deinit(h);
	if (rc < 0) {
		g_free(out);
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot encrypt the secret: %s", gnutls_strerror(rc));
		return NULL;
	}
	return g_bytes_new_take(out, 1 + SECRET_NONCE_LEN + clen);
}

char *
poll_secret_unseal(GBytes *key, GBytes *sealed, const char *context, GError **error)
{
	gsize len = 0;
	const guint8 *in = g_bytes_get_data(sealed, &len);
	if (len < 1 + SECRET_NONCE_LEN + SECRET_TAG_LEN || (in[0] != SECRET_VERSION && in[0] != SECRET_VERSION_USER)) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the stored secret is not in a known format");
		return NULL;
	}
	gnutls_aead_cipher_hd_t h = secret_cipher(key, error);
	if (!h)
		return NULL;
	gsize clen = len - 1 - SECRET_NONCE_LEN;
	char *out = g_malloc0(clen + 1);
	size_t plen = clen;
	int rc = gnutls_aead_cipher_decrypt(h, in + 1, SECRET_NONCE_LEN, context, strlen(context), SECRET_TAG_LEN,
					    in + 1 + SECRET_NONCE_LEN, clen, out, &plen);
	gnutls_aead_cipher_deinit(h);
	if (rc < 0) {
		g_free(out);
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET,
			    "cannot decrypt the stored secret (wrong key file, or the row was tampered with): %s",
			    gnutls_strerror(rc));
		return NULL;
	}
	out[plen] = '\0';
	return out;
}

char *
poll_secret_context(const StoreMailbox *m)
{
	/* Length-prefixed, so that no two mailboxes share a context. */
	const char *fields[] = { m->user_id, m->protocol, m->host, m->tls, m->username, m->auth };
	GString *out = g_string_new("bccdrop-mailbox-2");
	for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
		g_string_append_printf(out, ";%zu:%s", strlen(fields[i] ? fields[i] : ""), fields[i] ? fields[i] : "");
	g_string_append_printf(out, ";%d", m->port);
	return g_string_free(out, FALSE);
}

/* Version 2 secrets open only for the server they were sealed for; the
 * older, user-bound ones still open, with a notice to re-seal them. */
static char *
secret_unseal_mailbox(const StoreMailbox *m, GBytes *key, GError **error)
{
	gsize len = 0;
	const guint8 *in = m->secret ? g_bytes_get_data(m->secret, &len) : NULL;
	if (len > 0 && in[0] == SECRET_VERSION_USER) {
		g_warning("mailbox %" G_GINT64_FORMAT ": its secret is bound to the user only, not to %s:%d; run "
			  "'bccdrop mailbox set-password %" G_GINT64_FORMAT "' to bind it to its server",
			  m->id, m->host, m->port, m->id);
		return poll_secret_unseal(key, m->secret, m->user_id, error);
	}
	if (!m->secret) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "mailbox %" G_GINT64_FORMAT " has no secret", m->id);
		return NULL;
	}
	g_autofree char *context = poll_secret_context(m);
	return poll_secret_unseal(key, m->secret, context, error);
}

/* Seconds a token command may take (BCCDROP_TOKEN_TIMEOUT overrides it, for
 * tests): a hung helper must not hang the mailbox's worker. */
#define SECRET_TOKEN_TIMEOUT 30

typedef struct {
	gboolean done;
	GBytes *out, *err;
	GError *error;
} TokenRun;

static void
token_done(GObject *source, GAsyncResult *result, gpointer data)
{
	TokenRun *r = data;
	g_subprocess_communicate_finish(G_SUBPROCESS(source), result, &r->out, &r->err, &r->error);
	r->done = TRUE;
}

static gboolean
token_timeout(gpointer cancellable)
{
	g_cancellable_cancel(cancellable);
	return G_SOURCE_REMOVE;
}

static int
token_timeout_seconds(void)
{
	const char *env = g_getenv("BCCDROP_TOKEN_TIMEOUT");
	gint64 v = env ? g_ascii_strtoll(env, NULL, 10) : 0;
	return v > 0 && v <= 3600 ? (int)v : SECRET_TOKEN_TIMEOUT;
}

/* Run P to its end (or kill it after the timeout) in a private main
 * context: poller workers are plain threads without a loop of their own. */
static gboolean
token_communicate(GSubprocess *p, TokenRun *r, int seconds)
{
	g_autoptr(GMainContext) ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	GSource *timer = g_timeout_source_new_seconds((guint)seconds);
	g_source_set_callback(timer, token_timeout, cancel, NULL);
	g_source_attach(timer, ctx);
	g_subprocess_communicate_async(p, NULL, cancel, token_done, r);
	while (!r->done)
		g_main_context_iteration(ctx, TRUE);
	g_source_destroy(timer);
	g_source_unref(timer);
	gboolean timed_out = g_cancellable_is_cancelled(cancel);
	if (timed_out)
		g_subprocess_force_exit(p);
	g_subprocess_wait(p, NULL, NULL);
	g_main_context_pop_thread_default(ctx);
	return !timed_out;
}

/* The token (stdout, trimmed) of a finished token command, or the error. */
static char *
token_result(GSubprocess *p, const TokenRun *r, gboolean in_time, const char *program, int seconds, GError **error)
{
	if (!in_time) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the OAuth2 token command %s did not finish within %d s",
			    program, seconds);
		return NULL;
	}
	g_autofree char *out = r->out ? g_strndup(g_bytes_get_data(r->out, NULL), g_bytes_get_size(r->out)) : g_strdup("");
	if (!g_subprocess_get_successful(p)) {
		g_autofree char *err = r->err ? g_strndup(g_bytes_get_data(r->err, NULL), g_bytes_get_size(r->err))
					      : g_strdup("");
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the OAuth2 token command failed (exit status %d): %s",
			    g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1, g_strstrip(err));
		return NULL;
	}
	g_strstrip(out);
	if (!*out) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the OAuth2 token command printed no token");
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* The command is split like a shell would (quotes, backslashes) but run
 * without one: no expansion, no second command after a ';'. The token is
 * its standard output. */
static char *
secret_run_token_command(const char *command, GError **error)
{
	g_auto(GStrv) argv = NULL;
	g_autoptr(GError) e = NULL;
	if (!g_shell_parse_argv(command, NULL, &argv, &e)) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the OAuth2 token command cannot be split: %s",
			    e->message);
		return NULL;
	}
	g_autoptr(GSubprocess) p = g_subprocess_newv((const char *const *)argv,
						     G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &e);
	if (!p) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot run the OAuth2 token command: %s", e->message);
		return NULL;
	}
	TokenRun r = { 0 };
	int seconds = token_timeout_seconds();
	gboolean in_time = token_communicate(p, &r, seconds);
	char *token = token_result(p, &r, in_time, argv[0], seconds, error);
	g_clear_pointer(&r.out, g_bytes_unref);
	g_clear_pointer(&r.err, g_bytes_unref);
	g_clear_error(&r.error);
	return token;
}


char *
poll_credentials(const StoreMailbox *m, GBytes *key, GError **error)
{
	g_autofree char *secret = secret_unseal_mailbox(m, key, error);
	if (!secret)
		return NULL;
	if (g_strcmp0(m->auth, "oauth2") == 0)
		return secret_run_token_command(secret, error);
	return g_steal_pointer(&secret);
}
