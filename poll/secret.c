/* Mailbox secrets sealed with AES-256-GCM under a key file that only the
 * poller (and root) can read: a reader of the database sees ciphertext. */
#include "poll/poll.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_KEY_LEN 32
#define SECRET_NONCE_LEN 12
#define SECRET_TAG_LEN 16
#define SECRET_VERSION 1

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
	if (len < 1 + SECRET_NONCE_LEN + SECRET_TAG_LEN || in[0] != SECRET_VERSION) {
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

static char *
secret_run_token_command(const char *command, GError **error)
{
	const char *argv[] = { "/bin/sh", "-c", command, NULL };
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	int status = 0;
	g_autoptr(GError) e = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &e)) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "cannot run the OAuth2 token command: %s", e->message);
		return NULL;
	}
	if (!g_spawn_check_wait_status(status, &e)) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the OAuth2 token command failed (%s): %s", e->message,
			    g_strstrip(err));
		return NULL;
	}
	g_strstrip(out);
	if (!*out) {
		g_set_error(error, POLL_ERROR, POLL_ERROR_SECRET, "the OAuth2 token command printed no token");
		return NULL;
	}
	return g_steal_pointer(&out);
}

char *
poll_credentials(const StoreMailbox *m, GBytes *key, GError **error)
{
	g_autofree char *secret = poll_secret_unseal(key, m->secret, m->user_id, error);
	if (!secret)
		return NULL;
	if (g_strcmp0(m->auth, "oauth2") == 0)
		return secret_run_token_command(secret, error);
	return g_steal_pointer(&secret);
}
