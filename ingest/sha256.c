/* SHA-256 through GnuTLS (already linked by every bccdrop program): its
 * hardware-accelerated code hashes about five times faster than GLib's
 * GChecksum here, and every decoded attachment byte goes through it. */
#include "ingest/internal.h"

#include <gnutls/crypto.h>

void
ingest_sha256_init(IngestSha256 *s)
{
	s->fallback = NULL;
	if (gnutls_hash_init((gnutls_hash_hd_t *)&s->hd, GNUTLS_DIG_SHA256) < 0) /* a crippled GnuTLS: FIPS policy */
		s->fallback = g_checksum_new(G_CHECKSUM_SHA256);
}

void
ingest_sha256_update(IngestSha256 *s, const void *data, gsize len)
{
	if (!len)
		return;
	if (s->fallback)
		g_checksum_update(s->fallback, data, (gssize)len);
	else
		gnutls_hash((gnutls_hash_hd_t)s->hd, data, len);
}

void
ingest_sha256_finish(IngestSha256 *s, char hex[65])
{
	if (s->fallback) {
		g_strlcpy(hex, g_checksum_get_string(s->fallback), 65);
		g_checksum_free(s->fallback);
		s->fallback = NULL;
		return;
	}
	guint8 digest[32];
	gnutls_hash_deinit((gnutls_hash_hd_t)s->hd, digest);
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
	}
	hex[64] = '\0';
}
