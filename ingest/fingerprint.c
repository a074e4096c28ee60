/* The content fingerprint and the synthetic Message-ID (docs/ingest.md).
 *
 * Both must come out the same for a message that reached us through Postfix
 * (Received headers added, 8bit downgraded to quoted-printable, CRLF line
 * ends, long lines broken) and through IMAP or a file. So they are built from
 * decoded values only, never raw bytes, and whitespace is left out of every
 * free-text field: what transports do to mail is, almost entirely, to change
 * its whitespace. */
#include "ingest/internal.h"

#include <string.h>

#define INGEST_SYNTHETIC_DOMAIN "bccdrop.invalid"

static gboolean
ingest_is_ws(guint8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Whitespace-free runs are gathered into blocks: hashing each short run on
 * its own costs more than the copy. */
static void
ingest_sum_update_nows(IngestSha256 *sum, const guint8 *data, gsize len)
{
	guint8 block[4096];
	gsize n = 0;
	for (gsize i = 0; i < len; i++) {
		if (ingest_is_ws(data[i]))
			continue;
		block[n++] = data[i];
		if (n == sizeof block) {
			ingest_sha256_update(sum, block, n);
			n = 0;
		}
	}
	ingest_sha256_update(sum, block, n);
}

void
ingest_fp_hash_init(IngestFpHash *h)
{
	ingest_sha256_init(&h->sum);
}

void
ingest_fp_hash_update(IngestFpHash *h, const guint8 *data, gsize len)
{
	ingest_sum_update_nows(&h->sum, data, len);
}

char *
ingest_fp_hash_finish(IngestFpHash *h)
{
	char hex[65];
	ingest_sha256_finish(&h->sum, hex);
	return g_strdup(hex);
}

static void
ingest_sum_field(IngestSha256 *sum, const char *text, gboolean strip_ws)
{
	if (text && strip_ws)
		ingest_sum_update_nows(sum, (const guint8 *)text, strlen(text));
	else if (text)
		ingest_sha256_update(sum, (const guint8 *)text, strlen(text));
	ingest_sha256_update(sum, (const guint8 *)"", 1); /* the NUL between fields */
}

/* Keys of one role in header order, '\n' between them (a key never holds a
 * line end). An address without a key counts as written, lower-cased. */
static void
ingest_sum_role(IngestSha256 *sum, const IngestMessage *msg, IngestRole role)
{
	gboolean first = TRUE;
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		if (a->role != role)
			continue;
		if (!first)
			ingest_sha256_update(sum, (const guint8 *)"\n", 1);
		g_autofree char *fallback = a->key ? NULL : g_utf8_strdown(a->address, -1);
		const char *key = a->key ? a->key : fallback;
		ingest_sha256_update(sum, (const guint8 *)key, strlen(key));
		first = FALSE;
	}
	ingest_sha256_update(sum, (const guint8 *)"", 1);
}

/* Everything but the Message-ID, in a fixed order. */
static void
ingest_sum_content(IngestSha256 *sum, const IngestCtx *ctx)
{
	const IngestMessage *msg = ctx->msg;
	ingest_sum_field(sum, ctx->raw_date ? ctx->raw_date : "", TRUE);
	ingest_sum_role(sum, msg, INGEST_ROLE_FROM);
	ingest_sum_role(sum, msg, INGEST_ROLE_TO);
	ingest_sum_role(sum, msg, INGEST_ROLE_CC);
	ingest_sum_field(sum, msg->subject, TRUE);
	ingest_sum_field(sum, msg->body_text, TRUE);
	for (guint i = 0; i < ctx->fp_attachments->len; i++) {
		const char *hex = g_ptr_array_index(ctx->fp_attachments, i);
		ingest_sha256_update(sum, (const guint8 *)hex, strlen(hex));
		ingest_sha256_update(sum, (const guint8 *)"\n", 1);
	}
}

static char *
ingest_sum_with_tag(const IngestCtx *ctx, const char *tag, const char *message_id)
{
	IngestSha256 sum;
	ingest_sha256_init(&sum);
	ingest_sum_field(&sum, tag, FALSE);
	if (message_id)
		ingest_sum_field(&sum, message_id, FALSE);
	ingest_sum_content(&sum, ctx);
	char hex[65];
	ingest_sha256_finish(&sum, hex);
	return g_strdup(hex);
}

void
ingest_fingerprint_finish(IngestCtx *ctx)
{
	IngestMessage *msg = ctx->msg;
	if (!msg->message_id) {
		/* From content, not bytes: the MTA's copy and the mailbox's copy
		 * of one message get one ID. 128 bits is ample for uniqueness. */
		g_autofree char *hex = ingest_sum_with_tag(ctx, "bccdrop-mid-v1", NULL);
		msg->message_id = g_strdup_printf("%.32s@" INGEST_SYNTHETIC_DOMAIN, hex);
		msg->message_id_synthetic = TRUE;
	}
	g_autofree char *fp = ingest_sum_with_tag(ctx, "bccdrop-fp-v1", msg->message_id);
	g_strlcpy(msg->fingerprint, fp, sizeof msg->fingerprint);
}
