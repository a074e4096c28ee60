/* The MIME tree: which leaf is the body, which leaves are attachments.
 *
 * The rule (docs/ingest.md): a leaf is an attachment when its disposition is
 * "attachment", or it has a filename, or its type is not text; a
 * message/rfc822 part is one attachment as a whole (its insides are not
 * searched for a body). Of the remaining inline text leaves, the first text/plain is the
 * body, else the first text/html reduced to text. Other inline text leaves
 * (an HTML alternative, text/rfc822-headers, ...) are neither. */
#include "ingest/internal.h"

#include <string.h>

static char *
ingest_mime_type(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	g_autofree char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	return g_ascii_strdown(type ? type : "application/octet-stream", -1);
}

/* Parameter values from GMime, except when the header holds encoded-words:
 * GMime's decoding of those is hit by gmime #133 (see rfc2047.c), so the
 * header is re-parsed after normalising them. */
static char *
ingest_param_reparse(IngestCtx *ctx, const char *header, const char *normalised, const char *param)
{
	const char *value = NULL;
	char *result = NULL;
	ctx->quiet = TRUE; /* GMime reported this header's defects while parsing the message */
	if (!g_ascii_strcasecmp(header, "Content-Disposition")) {
		g_autoptr(GMimeContentDisposition) d = g_mime_content_disposition_parse(ctx->options, normalised);
		value = d ? g_mime_content_disposition_get_parameter(d, param) : NULL;
		result = g_strdup(value);
	} else {
		g_autoptr(GMimeContentType) t = g_mime_content_type_parse(ctx->options, normalised);
		value = t ? g_mime_content_type_get_parameter(t, param) : NULL;
		result = g_strdup(value);
	}
	ctx->quiet = FALSE;
	return result;
}

static char *
ingest_text_clean(const char *value)
{
	if (!value)
		return NULL;
	char *text = g_utf8_make_valid(value, -1);
	for (char *p = text; *p; p++)
		if ((guint8)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	g_strstrip(text);
	if (!*text) {
		g_free(text);
		return NULL;
	}
	return text;
}

char *
ingest_object_param(IngestCtx *ctx, GMimeObject *obj, const char *header, const char *param)
{
	GMimeHeader *h = g_mime_header_list_get_header(g_mime_object_get_header_list(obj), header);
	if (!h)
		return NULL;
	g_autofree char *normalised = ingest_rfc2047_normalise(ctx, g_mime_header_get_raw_value(h), param);
	if (normalised) {
		g_autofree char *value = ingest_param_reparse(ctx, header, normalised, param);
		return ingest_text_clean(value);
	}
	if (!g_ascii_strcasecmp(header, "Content-Disposition"))
		return ingest_text_clean(g_mime_object_get_content_disposition_parameter(obj, param));
	return ingest_text_clean(g_mime_object_get_content_type_parameter(obj, param));
}

static char *
ingest_filename(IngestCtx *ctx, GMimeObject *obj)
{
	char *name = ingest_object_param(ctx, obj, "Content-Disposition", "filename");
	return name ? name : ingest_object_param(ctx, obj, "Content-Type", "name");
}

/* ---- attachments --------------------------------------------------------- */

typedef struct {
	IngestSha256 sum;
	IngestFpHash fp;
	gboolean want_fp;
	guint64 size;
} IngestDigest;

static void
ingest_digest_chunk(const guint8 *data, gsize len, gpointer user_data)
{
	IngestDigest *d = user_data;
	ingest_sha256_update(&d->sum, data, len);
	if (d->want_fp)
		ingest_fp_hash_update(&d->fp, data, len);
	d->size += len;
}

/* Base64 content decodes to the same bytes whatever an MTA did to line ends,
 * so its real hash serves the fingerprint; anything else gets the
 * whitespace-blind hash (see docs/ingest.md). */
static void
ingest_attachment_finish(IngestCtx *ctx, IngestDigest *d, char *type, char *filename)
{
	IngestAttachment *att = g_new0(IngestAttachment, 1);
	att->filename = filename;
	att->content_type = type;
	att->size = d->size;
	ingest_sha256_finish(&d->sum, att->sha256);
	g_ptr_array_add(ctx->fp_attachments, d->want_fp ? ingest_fp_hash_finish(&d->fp) : g_strdup(att->sha256));
	g_ptr_array_add(ctx->msg->attachments, att);
}

static void
ingest_digest_init(IngestDigest *d, gboolean want_fp)
{
	ingest_sha256_init(&d->sum);
	d->want_fp = want_fp;
	d->size = 0;
	if (want_fp)
		ingest_fp_hash_init(&d->fp);
}

static void
ingest_attachment_part(IngestCtx *ctx, GMimePart *part, char *type, char *filename)
{
	IngestDigest d;
	ingest_digest_init(&d, g_mime_part_get_content_encoding(part) != GMIME_CONTENT_ENCODING_BASE64);
	ingest_part_decode(ctx, part, ingest_digest_chunk, &d);
	ingest_attachment_finish(ctx, &d, type, filename);
}

/* An attached message counts as its bytes as GMime writes them back out,
 * which for a parsed message are its original headers and content. */
static void
ingest_attachment_message(IngestCtx *ctx, GMimeObject *obj)
{
	GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
	IngestDigest d;
	ingest_digest_init(&d, TRUE);
	if (inner) {
		g_autoptr(GMimeStream) mem = g_mime_stream_mem_new();
		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, mem);
		GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		ingest_digest_chunk(bytes->data, bytes->len, &d);
	} else {
		ingest_warn(ctx, "message/rfc822 part without a message: stored as empty");
	}
	ingest_attachment_finish(ctx, &d, ingest_mime_type(obj), ingest_filename(ctx, obj));
}

/* ---- the walk -------------------------------------------------------------- */

static void
ingest_leaf(IngestCtx *ctx, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	char *type = ingest_mime_type(obj);
	char *filename = ingest_filename(ctx, obj);
	const char *disposition = g_mime_object_get_disposition(obj);
	gboolean attachment = (disposition && !g_ascii_strcasecmp(disposition, "attachment")) || filename ||
			      !g_str_has_prefix(type, "text/");
	if (attachment) {
		ingest_attachment_part(ctx, part, type, filename);
		return;
	}
	if (!strcmp(type, "text/plain") && !ctx->plain_part)
		ctx->plain_part = part;
	else if (!strcmp(type, "text/html") && !ctx->html_part)
		ctx->html_part = part;
	g_free(type);
}

static void
ingest_walk(IngestCtx *ctx, GMimeObject *obj, guint depth)
{
	if (!obj)
		return;
	if (depth > INGEST_MAX_DEPTH) {
		ingest_warn(ctx, "MIME nesting deeper than %d levels: the deeper parts are ignored",
			    INGEST_MAX_DEPTH);
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			ingest_walk(ctx, g_mime_multipart_get_part(mp, i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		ingest_attachment_message(ctx, obj);
	} else if (GMIME_IS_PART(obj)) {
		ingest_leaf(ctx, GMIME_PART(obj));
	}
}

void
ingest_body_walk(IngestCtx *ctx, GMimeObject *root)
{
	ingest_walk(ctx, root, 0);
}

/* The first charset declared on a text part that is not ASCII or UTF-8
 * (those say nothing about 8-bit header bytes). */
static char *
ingest_charset_hint_walk(GMimeObject *obj, guint depth)
{
	if (!obj || depth > 8)
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (int i = 0; i < n; i++) {
			char *hint = ingest_charset_hint_walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
							      depth + 1);
			if (hint)
				return hint;
		}
		return NULL;
	}
	const char *cs = g_mime_object_get_content_type_parameter(obj, "charset");
	if (!cs || !*cs || !GMIME_IS_PART(obj))
		return NULL;
	g_autofree char *lower = g_ascii_strdown(cs, -1);
	g_strstrip(lower);
	if (!strcmp(lower, "us-ascii") || !strcmp(lower, "utf-8") || !strcmp(lower, "utf8") ||
	    !strcmp(lower, "ascii") || strlen(lower) > 40)
		return NULL;
	return g_steal_pointer(&lower);
}

char *
ingest_body_charset_hint(GMimeObject *root)
{
	return ingest_charset_hint_walk(root, 0);
}

/* ---- the body text ----------------------------------------------------------- */

static void
ingest_bytes_chunk(const guint8 *data, gsize len, gpointer user_data)
{
	g_byte_array_append(user_data, data, len);
}

/* One line-end convention for the stored text, whatever the transport used. */
static char *
ingest_eol_normalise(char *text)
{
	char *w = text;
	for (const char *r = text; *r; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return text;
}

static char *
ingest_part_charset(GMimePart *part, gboolean html, const GByteArray *bytes)
{
	const char *declared = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (declared && *declared)
		return g_strdup(declared);
	return html ? ingest_html_sniff_charset((const char *)bytes->data, bytes->len) : NULL;
}

static char *
ingest_part_text(IngestCtx *ctx, GMimePart *part, gboolean html)
{
	g_autoptr(GByteArray) bytes = g_byte_array_new();
	ingest_part_decode(ctx, part, ingest_bytes_chunk, bytes);
	g_autofree char *charset = ingest_part_charset(part, html, bytes);
	char *text = ingest_eol_normalise(
		ingest_charset_decode(ctx, (const char *)bytes->data, bytes->len, charset, "body"));
	if (!html)
		return text;
	char *reduced = ingest_html_to_text(text, strlen(text));
	g_free(text);
	return reduced;
}

static gboolean
ingest_is_blank_text(const char *text)
{
	for (; *text; text++)
		if (!g_ascii_isspace(*text))
			return FALSE;
	return TRUE;
}

void
ingest_body_extract(IngestCtx *ctx)
{
	IngestMessage *msg = ctx->msg;
	if (ctx->plain_part) {
		msg->body_text = ingest_part_text(ctx, ctx->plain_part, FALSE);
		msg->body_type = g_strdup("text/plain");
		/* An empty plain alternative beside real HTML says nothing. */
		if (!ctx->html_part || !ingest_is_blank_text(msg->body_text))
			return;
		g_clear_pointer(&msg->body_text, g_free);
		g_clear_pointer(&msg->body_type, g_free);
	}
	if (ctx->html_part) {
		msg->body_text = ingest_part_text(ctx, ctx->html_part, TRUE);
		msg->body_type = g_strdup("text/html");
		return;
	}
	msg->body_text = g_strdup("");
}
