/* Signed per-deal dropbox addresses: LOCAL DELIM "d-" SLUG "." DEAL "." TAG
 * "@" DOMAIN, where LOCAL@DOMAIN is the user's plain dropbox and TAG an HMAC
 * of the user and deal ids under a server key kept in a 0600 file. */
#include "assoc/assoc.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEALTAG_KEY_LEN 32
/* 40 bits: the tag is only ever checked online, each wrong guess costing
 * the sender a 550 at RCPT, so ~5*10^11 expected guesses per deal (decades
 * at any rate an MTA lets one client sustain) is ample, while 8 characters
 * keep the address short enough to type and to fit 64 octets. */
#define DEALTAG_TAG_BYTES 5
#define DEALTAG_TAG_CHARS 8
#define DEALTAG_SLUG_MAX 24
#define DEALTAG_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */
#define DEALTAG_FILE_MAX 65536
#define DEALTAG_DAY 86400

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
/* A deal id written as is: survives the lower-casing some MTAs and users
 * apply to local parts. Anything else (upper case, dots, non-ASCII) is
 * written '=' + base32 of its bytes. */
static const char plain_id_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";

typedef struct {
	guint8 key[DEALTAG_KEY_LEN];
	gint64 retired_at; /* Unix seconds; 0: the current key */
} DealtagKey;

struct AssocDealtagKeys {
	GArray *keys; /* DealtagKey, the current one first */
};

static gboolean
dealtag_fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
dealtag_fail(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, ASSOC_ERROR, ASSOC_ERROR_FAILED, msg);
	return FALSE;
}

/* ---- base32 (RFC 4648, lower case, no padding) ---- */

static char *
dealtag_base32(const guint8 *data, gsize len)
{
	GString *out = g_string_new(NULL);
	guint32 acc = 0;
	int bits = 0;
	for (gsize i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		for (bits += 8; bits >= 5; bits -= 5)
			g_string_append_c(out, base32_alphabet[(acc >> (bits - 5)) & 31]);
	}
	if (bits > 0)
		g_string_append_c(out, base32_alphabet[(acc << (5 - bits)) & 31]);
	return g_string_free(out, FALSE);
}

/* NULL when TEXT is not base32 or leaves non-zero padding bits. */
static GByteArray *
dealtag_base32_decode(const char *text)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	guint32 acc = 0;
	int bits = 0;
	for (const char *p = text; *p; p++) {
		const char *at = strchr(base32_alphabet, *p);
		if (!at)
			return NULL;
		acc = (acc << 5) | (guint32)(at - base32_alphabet);
		if ((bits += 5) >= 8) {
			guint8 byte = (guint8)(acc >> (bits - 8));
			g_byte_array_append(out, &byte, 1);
			bits -= 8;
		}
	}
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return NULL;
	return g_steal_pointer(&out);
}

/* ---- the key file ---------------------------------------------------------- */

void
assoc_dealtag_keys_free(AssocDealtagKeys *keys)
{
	if (!keys)
		return;
	if (keys->keys->len)
		memset(keys->keys->data, 0, keys->keys->len * sizeof(DealtagKey));
	g_array_unref(keys->keys);
	g_free(keys);
}

static AssocDealtagKeys *
dealtag_keys_new(void)
{
	AssocDealtagKeys *keys = g_new0(AssocDealtagKeys, 1);
	keys->keys = g_array_new(FALSE, TRUE, sizeof(DealtagKey));
	return keys;
}

/* A key set holding one freshly generated current key (for PATH). */
static AssocDealtagKeys *
dealtag_keys_fresh(const char *path, GError **error)
{
	AssocDealtagKeys *keys = dealtag_keys_new();
	g_array_set_size(keys->keys, 1);
	DealtagKey *k = &g_array_index(keys->keys, DealtagKey, 0);
	if (gnutls_rnd(GNUTLS_RND_KEY, k->key, sizeof k->key) != 0) {
		assoc_dealtag_keys_free(keys);
		dealtag_fail(error, "cannot generate a key for %s", path);
		return NULL;
	}
	return keys;
}

/* One line per key, current first: "current B64" or "retired ISO-DATE B64". */
static char *
dealtag_keys_format(const AssocDealtagKeys *keys)
{
	GString *out = g_string_new("# bccdrop per-deal address keys: keep secret (mode 0600), back up.\n"
				    "# Rewritten by `bccdrop dropbox-address rotate-key`.\n");
	for (guint i = 0; i < keys->keys->len; i++) {
		const DealtagKey *k = &g_array_index(keys->keys, DealtagKey, i);
		g_autofree char *b64 = g_base64_encode(k->key, sizeof k->key);
		g_autofree char *date = k->retired_at ? common_iso8601(k->retired_at) : NULL;
		if (date)
			g_string_append_printf(out, "retired %s %s\n", date, b64);
		else
			g_string_append_printf(out, "current %s\n", b64);
		memset(b64, 0, strlen(b64));
	}
	return g_string_free(out, FALSE);
}

static gboolean
dealtag_key_parse_line(char *line, DealtagKey *k)
{
	g_auto(GStrv) f = g_strsplit(g_strstrip(line), " ", -1);
	guint n = g_strv_length(f);
	const char *b64 = NULL;
	k->retired_at = 0;
	if (n == 2 && !strcmp(f[0], "current"))
		b64 = f[1];
	else if (n == 3 && !strcmp(f[0], "retired") && common_parse_iso8601(f[1], &k->retired_at) &&
		 k->retired_at > 0)
		b64 = f[2];
	if (!b64)
		return FALSE;
	gsize len = 0;
	g_autofree guint8 *raw = g_base64_decode(b64, &len);
	gboolean ok = len == DEALTAG_KEY_LEN;
	if (ok)
		memcpy(k->key, raw, len);
	if (raw)
		memset(raw, 0, len);
	return ok;
}

static AssocDealtagKeys *
dealtag_keys_parse(const char *path, char *text, GError **error)
{
	g_autoptr(AssocDealtagKeys) keys = dealtag_keys_new();
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		if (!*g_strstrip(lines[i]) || lines[i][0] == '#')
			continue;
		DealtagKey k;
		gboolean first = keys->keys->len == 0;
		if (!dealtag_key_parse_line(lines[i], &k) || first != (k.retired_at == 0)) {
			dealtag_fail(error, "%s:%u: not a key line (the first must be 'current BASE64', the others "
				     "'retired DATE BASE64')", path, i + 1);
			return NULL;
		}
		g_array_append_val(keys->keys, k);
		memset(&k, 0, sizeof k);
	}
	if (!keys->keys->len) {
		dealtag_fail(error, "%s holds no key", path);
		return NULL;
	}
	return g_steal_pointer(&keys);
}

/* Read PATH only when it is a regular file that only its owner can read:
 * whoever reads the key can sign addresses for any deal. */
static char *
dealtag_read_private(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		dealtag_fail(error, "cannot open key file %s ([dropbox] tag_key_file): %s", path, g_strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
		close(fd);
		dealtag_fail(error, "key file %s must be a regular file readable by its owner only (chmod 0600), "
			     "refusing it", path);
		return NULL;
	}
	char *buf = g_malloc0(DEALTAG_FILE_MAX + 1);
	ssize_t n = read(fd, buf, DEALTAG_FILE_MAX);
	int saved = errno;
	close(fd);
	if (n < 0 || n == DEALTAG_FILE_MAX) {
		g_free(buf);
		dealtag_fail(error, "cannot read key file %s: %s", path, n < 0 ? g_strerror(saved) : "too large");
		return NULL;
	}
	return buf;
}

/* TEXT into a fresh 0600 file beside PATH, synced; its name is returned. */
static char *
dealtag_write_text(const char *path, const char *text, GError **error)
{
	char *tmp = g_strdup_printf("%s.XXXXXX", path);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		dealtag_fail(error, "cannot create key file %s: %s", path, g_strerror(errno));
		g_free(tmp);
		return NULL;
	}
	gsize len = strlen(text);
	gboolean ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	if (!ok) {
		unlink(tmp);
		dealtag_fail(error, "cannot write key file %s: %s", path, g_strerror(saved));
		g_clear_pointer(&tmp, g_free);
	}
	return tmp;
}

/* KEYS into a fresh 0600 file beside PATH; its name is returned. */
static char *
dealtag_write_temp(const char *path, const AssocDealtagKeys *keys, GError **error)
{
	g_autofree char *text = dealtag_keys_format(keys);
	char *tmp = dealtag_write_text(path, text, error);
	memset(text, 0, strlen(text));
	return tmp;
}

/* link(), not rename(): when two first uses race, one key wins and both
 * processes then read it, so no address is ever signed with a lost key. */
static gboolean
dealtag_keys_create(const char *path, GError **error)
{
	g_autoptr(AssocDealtagKeys) keys = dealtag_keys_fresh(path, error);
	g_autofree char *tmp = keys ? dealtag_write_temp(path, keys, error) : NULL;
	if (!tmp)
		return FALSE;
	int rc = link(tmp, path);
	int saved = errno;
	unlink(tmp);
	if (rc != 0 && saved != EEXIST)
		return dealtag_fail(error, "cannot create key file %s: %s", path, g_strerror(saved));
	if (rc == 0)
		g_message("created key file %s (mode 0600): back it up, no per-deal address verifies without it", path);
	return TRUE;
}

AssocDealtagKeys *
assoc_dealtag_keys_load(const char *path, gboolean create, GError **error)
{
	if (!path || !*path) {
		dealtag_fail(error, "no key file configured ([dropbox] tag_key_file)");
		return NULL;
	}
	if (create && !g_file_test(path, G_FILE_TEST_EXISTS) && !dealtag_keys_create(path, error))
		return NULL;
	g_autofree char *text = dealtag_read_private(path, error);
	if (!text)
		return NULL;
	AssocDealtagKeys *keys = dealtag_keys_parse(path, text, error);
	memset(text, 0, strlen(text));
	return keys;
}

static gboolean
dealtag_key_usable(const DealtagKey *k, gint64 now, int grace_days)
{
	return k->retired_at == 0 || now < k->retired_at + (gint64)grace_days * DEALTAG_DAY;
}

/* Rename TMP over PATH, keeping PATH's owner: root rotating the key must
 * not leave the milter's user unable to read it. */
static gboolean
dealtag_replace(const char *path, const char *tmp, GError **error)
{
	struct stat sb;
	if (stat(path, &sb) != 0 || chown(tmp, sb.st_uid, sb.st_gid) != 0 || rename(tmp, path) != 0) {
		int saved = errno;
		unlink(tmp);
		return dealtag_fail(error, "cannot replace key file %s: %s", path, g_strerror(saved));
	}
	return TRUE;
}

gboolean
assoc_dealtag_rotate(const char *path, gint64 now, int grace_days, GError **error)
{
	g_autoptr(AssocDealtagKeys) old = assoc_dealtag_keys_load(path, TRUE, error);
	if (!old)
		return FALSE;
	g_autoptr(AssocDealtagKeys) keys = dealtag_keys_fresh(path, error);
	if (!keys)
		return FALSE;
	g_array_index(old->keys, DealtagKey, 0).retired_at = now;
	/* A key past its grace verifies nothing any more: keeping it would only
	 * widen what a stolen file reveals. */
	for (guint i = 0; i < old->keys->len; i++)
		if (dealtag_key_usable(&g_array_index(old->keys, DealtagKey, i), now, grace_days))
			g_array_append_val(keys->keys, g_array_index(old->keys, DealtagKey, i));
	g_autofree char *tmp = dealtag_write_temp(path, keys, error);
	return tmp && dealtag_replace(path, tmp, error);
}

/* ---- tags ------------------------------------------------------------------ */

static void
dealtag_tag_with(const DealtagKey *k, const char *user_id, const char *deal_id, char out[DEALTAG_TAG_CHARS + 1])
{
	/* The 0x00 separator: no (user, deal) pair shares its input with
	 * another ("u1"+"2" vs "u"+"12"); ids never contain NUL. */
	gsize ulen = strlen(user_id), dlen = strlen(deal_id);
	g_autofree guint8 *data = g_malloc(ulen + 1 + dlen);
	memcpy(data, user_id, ulen);
	data[ulen] = 0;
	memcpy(data + ulen + 1, deal_id, dlen);
	guint8 mac[32];
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, k->key, sizeof k->key, data, ulen + 1 + dlen, mac) < 0)
		g_error("HMAC-SHA256 is not available in GnuTLS");
	g_autofree char *b32 = dealtag_base32(mac, DEALTAG_TAG_BYTES);
	memcpy(out, b32, DEALTAG_TAG_CHARS + 1);
}

char *
assoc_dealtag_tag(const AssocDealtagKeys *keys, const char *user_id, const char *deal_id)
{
	char tag[DEALTAG_TAG_CHARS + 1];
	dealtag_tag_with(&g_array_index(keys->keys, DealtagKey, 0), user_id, deal_id, tag);
	return g_strdup(tag);
}

gboolean
assoc_dealtag_verify(const AssocDealtagKeys *keys, const char *user_id, const char *deal_id, const char *tag,
		     gint64 now, int grace_days)
{
	if (strlen(tag) != DEALTAG_TAG_CHARS)
		return FALSE;
	gboolean ok = FALSE;
	for (guint i = 0; i < keys->keys->len; i++) {
		const DealtagKey *k = &g_array_index(keys->keys, DealtagKey, i);
		char want[DEALTAG_TAG_CHARS + 1];
		dealtag_tag_with(k, user_id, deal_id, want);
		/* Constant time: a timing difference must not tell a guesser how
		 * many leading characters were right. */
		if (gnutls_memcmp(want, tag, DEALTAG_TAG_CHARS) == 0 && dealtag_key_usable(k, now, grace_days))
			ok = TRUE;
	}
	return ok;
}

/* ---- addresses ------------------------------------------------------------- */

void
assoc_dealtag_address_clear(AssocDealtagAddress *a)
{
	g_clear_pointer(&a->dropbox, g_free);
	g_clear_pointer(&a->deal_id, g_free);
	g_clear_pointer(&a->slug, g_free);
	g_clear_pointer(&a->tag, g_free);
}

/* Word separator of slugs: never a delimiter, so that the extension starts
 * at the only delimiter followed by "d-" whose remainder has none. */
static char
dealtag_slug_separator(const char *delimiters)
{
	if (!strchr(delimiters, '-'))
		return '-';
	return strchr(delimiters, '_') ? 0 : '_';
}

static char *
dealtag_slug(const char *name, const char *delimiters)
{
	char sep = dealtag_slug_separator(delimiters);
	g_autofree char *ascii = g_str_to_ascii(name ? name : "", "C");
	GString *out = g_string_new(NULL);
	gboolean gap = FALSE;
	for (const char *p = ascii; *p && out->len < DEALTAG_SLUG_MAX; p++) {
		if (!g_ascii_isalnum(*p)) {
			gap = TRUE;
			continue;
		}
		if (gap && out->len && sep)
			g_string_append_c(out, sep);
		g_string_append_c(out, g_ascii_tolower(*p));
		gap = FALSE;
	}
	if (!out->len)
		g_string_assign(out, "deal");
	return g_string_free(out, FALSE);
}

static char *
dealtag_id_encode(const char *deal_id)
{
	if (deal_id[strspn(deal_id, plain_id_chars)] == '\0')
		return g_strdup(deal_id);
	g_autofree char *b32 = dealtag_base32((const guint8 *)deal_id, strlen(deal_id));
	return g_strconcat("=", b32, NULL);
}

static char *
dealtag_id_decode(const char *text)
{
	if (text[0] != '=')
		return *text && !text[strspn(text, plain_id_chars)] ? g_strdup(text) : NULL;
	g_autoptr(GByteArray) raw = dealtag_base32_decode(text + 1);
	if (!raw || !raw->len || memchr(raw->data, 0, raw->len) ||
	    !g_utf8_validate((const char *)raw->data, raw->len, NULL))
		return NULL;
	return g_strndup((const char *)raw->data, raw->len);
}

char *
assoc_dealtag_address(const AssocDealtagKeys *keys, const char *dropbox, const char *delimiters,
		      const char *user_id, const char *deal_id, const char *deal_name, GError **error)
{
	const char *at = strrchr(dropbox, '@');
	if (!at || at == dropbox || !at[1]) {
		dealtag_fail(error, "user %s's dropbox '%s' is not an email address", user_id, dropbox);
		return NULL;
	}
	if (!*deal_id) {
		dealtag_fail(error, "empty deal id");
		return NULL;
	}
	g_autofree char *slug = dealtag_slug(deal_name, delimiters);
	g_autofree char *id = dealtag_id_encode(deal_id);
	g_autofree char *tag = assoc_dealtag_tag(keys, user_id, deal_id);
	gsize fixed = (gsize)(at - dropbox) + 1 + 2 + 1 + strlen(id) + 1 + DEALTAG_TAG_CHARS;
	if (fixed + 1 > DEALTAG_LOCAL_MAX) {
		dealtag_fail(error, "the address of deal %s would be longer than the %d characters a local part may "
			     "have (the dropbox or the deal id is too long)", deal_id, DEALTAG_LOCAL_MAX);
		return NULL;
	}
	/* The slug is cosmetic: it gives way to keep the address valid. */
	if (fixed + strlen(slug) > DEALTAG_LOCAL_MAX)
		slug[DEALTAG_LOCAL_MAX - fixed] = '\0';
	if (slug[0] && !g_ascii_isalnum(slug[strlen(slug) - 1]))
		slug[strlen(slug) - 1] = '\0';
	return g_strdup_printf("%.*s%cd-%s.%s.%s%s", (int)(at - dropbox), dropbox, delimiters[0], slug, id, tag, at);
}

/* The rightmost "d-" after a delimiter with no delimiter in what follows. */
static const char *
dealtag_find_extension(const char *prefix, gsize len, const char *delimiters)
{
	for (gsize p = len >= 2 ? len - 2 : 0; p >= 1; p--) {
		if (prefix[p] == 'd' && prefix[p + 1] == '-' && strchr(delimiters, prefix[p - 1]) &&
		    !strpbrk(prefix + p + 2, delimiters))
			return prefix + p - 1;
	}
	return NULL;
}

gboolean
assoc_dealtag_parse(const char *address, const char *delimiters, AssocDealtagAddress *out)
{
	memset(out, 0, sizeof *out);
	g_autofree char *lower = g_ascii_strdown(address, -1);
	char *at = strrchr(lower, '@');
	if (!at || !delimiters || !*delimiters)
		return FALSE;
	*at = '\0';
	char *tag = strrchr(lower, '.');
	if (!tag || strlen(tag + 1) != DEALTAG_TAG_CHARS || tag[1 + strspn(tag + 1, base32_alphabet)])
		return FALSE;
	*tag++ = '\0';
	char *id = strrchr(lower, '.');
	if (!id)
		return FALSE;
	*id++ = '\0';
	const char *ext = dealtag_find_extension(lower, strlen(lower), delimiters);
	g_autofree char *deal_id = dealtag_id_decode(id);
	if (!ext || ext == lower || !deal_id)
		return FALSE;
	out->dropbox = g_strdup_printf("%.*s@%s", (int)(ext - lower), lower, at + 1);
	out->deal_id = g_steal_pointer(&deal_id);
	out->slug = g_strdup(ext + 3);
	out->tag = g_strdup(tag);
	return TRUE;
}
