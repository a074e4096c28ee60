/* Content-transfer decoding of one leaf part, streamed in chunks so that an
 * attachment is hashed without being held in memory.
 *
 * Base64 is not decoded by GMime: GMime 3.2.13 stops at the first '=' even
 * when more base64 follows (upstream gmime issue #150), so two blocks
 * concatenated ("aGVsbG8=d29ybGQ=") decode to "hello" instead of
 * "helloworld". GLib's g_base64_decode_step() ranks '=' as a zero digit and
 * only drops the padded bytes of its own group, so it carries on; the
 * decoder here follows GLib's rule exactly, in a single table-driven pass. */
#include "ingest/internal.h"

#include <string.h>

#define INGEST_CHUNK 65536

/* Digit values; 64 is '=', 65 whitespace, 66 anything else. */
enum { INGEST_B64_PAD = 64, INGEST_B64_SPACE = 65, INGEST_B64_INVALID = 66 };
static guint8 ingest_b64_rank[256];

static void
ingest_b64_rank_init(void)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	memset(ingest_b64_rank, INGEST_B64_INVALID, sizeof ingest_b64_rank);
	for (int i = 0; i < 64; i++)
		ingest_b64_rank[(guint8)digits[i]] = (guint8)i;
	ingest_b64_rank['='] = INGEST_B64_PAD;
	ingest_b64_rank[' '] = ingest_b64_rank['\t'] = ingest_b64_rank['\r'] = ingest_b64_rank['\n'] = INGEST_B64_SPACE;
}

void
ingest_base64_init(IngestBase64 *b64)
{
	static gsize once;
	if (g_once_init_enter(&once)) {
		ingest_b64_rank_init();
		g_once_init_leave(&once, 1);
	}
	memset(b64, 0, sizeof *b64);
}

/* The same arithmetic as GLib's g_base64_decode_step() (the differential
 * test in tests/unit holds it to that): '=' is a zero digit, and a complete
 * group of four yields one byte less for each of its last two digits that
 * is a '='. So padding in the middle ends one block and the next block is
 * decoded as well. One table lookup per byte: this loop is where the bytes
 * of every attachment go. */
gsize
ingest_base64_step(IngestBase64 *b64, const char *in, gsize len, guint8 *out)
{
	const guint8 *p = (const guint8 *)in, *end = p + len;
	guint8 *o = out;
	guint32 v = b64->save;
	int n = b64->state, eq = b64->eq;
	gboolean padded = b64->padded, restarted = b64->restarted;
	gsize invalid = b64->invalid;
	while (p < end) {
		/* Four plain digits at a group boundary: nearly all of the input. */
		if (n == 0 && end - p >= 4) {
			guint8 a = ingest_b64_rank[p[0]], b = ingest_b64_rank[p[1]];
			guint8 c = ingest_b64_rank[p[2]], d = ingest_b64_rank[p[3]];
			if ((a | b | c | d) < INGEST_B64_PAD) {
				guint32 w = (guint32)a << 18 | (guint32)b << 12 | (guint32)c << 6 | d;
				o[0] = (guint8)(w >> 16);
				o[1] = (guint8)(w >> 8);
				o[2] = (guint8)w;
				o += 3;
				p += 4;
				restarted |= padded;
				eq = 0;
				continue;
			}
		}
		guint8 r = ingest_b64_rank[*p++];
		if (r < INGEST_B64_PAD) {
			restarted |= padded;
			v = v << 6 | r;
			eq = (eq << 1) & 3;
		} else if (r == INGEST_B64_PAD) {
			padded = TRUE;
			v <<= 6;
			eq = ((eq << 1) | 1) & 3;
		} else {
			invalid += r == INGEST_B64_INVALID;
			continue;
		}
		if (++n == 4) {
			*o++ = (guint8)(v >> 16);
			if (!(eq & 2))
				*o++ = (guint8)(v >> 8);
			if (!(eq & 1))
				*o++ = (guint8)v;
			n = 0;
			v = 0;
		}
	}
	b64->save = v;
	b64->state = n;
	b64->eq = eq;
	b64->padded = padded;
	b64->restarted = restarted;
	b64->invalid = invalid;
	return (gsize)(o - out);
}

gsize
ingest_base64_finish(IngestBase64 *b64, guint8 *out, gboolean *incomplete)
{
	*incomplete = b64->state == 1;
	if (b64->state < 2)
		return 0;
	/* Two or three digits of a final group still hold one or two bytes. */
	gboolean padded = b64->padded, restarted = b64->restarted;
	gsize got = ingest_base64_step(b64, "==", (gsize)(4 - b64->state), out);
	b64->padded = padded;
	b64->restarted = restarted;
	return got;
}

static char *
ingest_part_label(GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	return type ? type : g_strdup("application/octet-stream");
}

static void
ingest_decode_base64(IngestCtx *ctx, GMimePart *part, GMimeStream *raw, IngestChunkFunc func,
		     gpointer user_data)
{
	g_autofree char *in = g_malloc(INGEST_CHUNK);
	g_autofree guint8 *out = g_malloc(INGEST_CHUNK / 4 * 3 + 3);
	IngestBase64 b64;
	ingest_base64_init(&b64);
	ssize_t n;
	while ((n = g_mime_stream_read(raw, in, INGEST_CHUNK)) > 0) {
		gsize got = ingest_base64_step(&b64, in, (gsize)n, out);
		if (got)
			func(out, got, user_data);
	}
	gboolean incomplete;
	gsize got = ingest_base64_finish(&b64, out, &incomplete);
	if (got)
		func(out, got, user_data);
	if (!b64.invalid && !b64.restarted && !incomplete && n >= 0)
		return;
	g_autofree char *label = ingest_part_label(part);
	if (n < 0)
		ingest_warn(ctx, "%s part: reading its content failed: content may be incomplete", label);
	if (b64.restarted)
		ingest_warn(ctx, "%s part: base64 continues after '=' padding (concatenated blocks): "
				 "all blocks decoded", label);
	if (b64.invalid)
		ingest_warn(ctx, "%s part: %" G_GSIZE_FORMAT " byte(s) outside the base64 alphabet skipped",
			    label, b64.invalid);
	if (incomplete)
		ingest_warn(ctx, "%s part: base64 ends with an incomplete group: last character dropped", label);
}

static void
ingest_decode_plain(IngestCtx *ctx, GMimePart *part, GMimeStream *stream, IngestChunkFunc func,
		    gpointer user_data)
{
	g_autofree guint8 *buf = g_malloc(INGEST_CHUNK);
	ssize_t n;
	while ((n = g_mime_stream_read(stream, (char *)buf, INGEST_CHUNK)) > 0)
		func(buf, (gsize)n, user_data);
	if (n < 0) {
		g_autofree char *label = ingest_part_label(part);
		ingest_warn(ctx, "%s part: reading its content failed: content may be incomplete", label);
	}
}

/* A Content-Transfer-Encoding GMime did not recognise leaves the content as
 * it is, which is the only sensible reading; say so. */
static void
ingest_check_encoding_name(IngestCtx *ctx, GMimePart *part, GMimeContentEncoding enc)
{
	if (enc != GMIME_CONTENT_ENCODING_DEFAULT)
		return;
	const char *value = g_mime_object_get_header(GMIME_OBJECT(part), "Content-Transfer-Encoding");
	if (!value)
		return;
	g_autofree char *name = ingest_header_unfold(value);
	if (*name)
		ingest_warn(ctx, "unknown Content-Transfer-Encoding \"%.40s\": content taken as is", name);
}

/* Length of the memory or map under STREAM, or -1 for other streams. */
static gint64
ingest_stream_extent(GMimeStream *stream)
{
	if (GMIME_IS_STREAM_MEM(stream)) {
		GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
		return a ? (gint64)a->len : -1;
	}
	if (GMIME_IS_STREAM_MMAP(stream))
		return (gint64)GMIME_STREAM_MMAP(stream)->maplen;
	return -1;
}

/* The byte just after STREAM's bounds in the memory it was cut from (a
 * parser's content streams are substreams), or -1 when there is none.
 * GMime does not check a substream's bounds against that memory: this
 * must. */
static int
ingest_byte_after(GMimeStream *stream)
{
	if (stream->bound_end < 0 || stream->bound_end >= ingest_stream_extent(stream))
		return -1;
	g_autoptr(GMimeStream) next = g_mime_stream_substream(stream, stream->bound_end, stream->bound_end + 1);
	char c;
	if (!next || g_mime_stream_reset(next) != 0 || g_mime_stream_read(next, &c, 1) != 1)
		return -1;
	return (guint8)c;
}

/* GMime 3.2.13 drops only the LF of the line break before a boundary when
 * the boundary line itself does not end in CRLF (a closing boundary at the
 * very end of the file, or an LF-only boundary line in CRLF mail), leaving a
 * stray CR on the content. That CR is recognised by the LF that follows it
 * outside the content: a CR that is the content's own last byte (a binary
 * part ending in CR, followed by a whole CRLF or by the end of the input)
 * stays. */
static GMimeStream *
ingest_content_without_stray_cr(GMimeStream *raw)
{
	gint64 end = g_mime_stream_seek(raw, 0, GMIME_STREAM_SEEK_END);
	char last = 0;
	if (end > raw->bound_start && g_mime_stream_seek(raw, end - 1, GMIME_STREAM_SEEK_SET) == end - 1 &&
	    g_mime_stream_read(raw, &last, 1) == 1 && last == '\r' && ingest_byte_after(raw) == '\n')
		return g_mime_stream_substream(raw, raw->bound_start, end - 1);
	g_mime_stream_reset(raw);
	return g_object_ref(raw);
}

void
ingest_part_decode(IngestCtx *ctx, GMimePart *part, IngestChunkFunc func, gpointer user_data)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *raw = content ? g_mime_data_wrapper_get_stream(content) : NULL;
	if (!raw)
		return;
	GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);
	ingest_check_encoding_name(ctx, part, g_mime_part_get_content_encoding(part));
	g_mime_stream_reset(raw);
	switch (enc) {
	case GMIME_CONTENT_ENCODING_BASE64:
		ingest_decode_base64(ctx, part, raw, func, user_data);
		break;
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
	case GMIME_CONTENT_ENCODING_UUENCODE: {
		g_autoptr(GMimeStream) trimmed = ingest_content_without_stray_cr(raw);
		g_autoptr(GMimeStream) filtered = g_mime_stream_filter_new(trimmed);
		g_autoptr(GMimeFilter) filter = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), filter);
		ingest_decode_plain(ctx, part, filtered, func, user_data);
		break;
	}
	default: {
		g_autoptr(GMimeStream) trimmed = ingest_content_without_stray_cr(raw);
		ingest_decode_plain(ctx, part, trimmed, func, user_data);
		break;
	}
	}
}
