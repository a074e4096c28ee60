/* ingest_parse(): from raw bytes (or a file) to an IngestMessage. */
#include "ingest/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(bccdrop-ingest-error-quark, ingest_error)

static GMutex ingest_init_lock;
static guint ingest_init_count;
static GMimeParserOptions *ingest_base_options;

/* ---- life cycle ------------------------------------------------------------ */

static GMimeParserOptions *
ingest_base_options_new(void)
{
	static const char *fallback[] = { "utf-8", "windows-1252", "iso-8859-1", NULL };
	GMimeParserOptions *o = g_mime_parser_options_new();
	g_mime_parser_options_set_address_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_rfc2047_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	/* "MAILER-DAEMON" and friends are participants too, only without a key. */
	g_mime_parser_options_set_allow_addresses_without_domain(o, TRUE);
	g_mime_parser_options_set_fallback_charsets(o, fallback);
	return o;
}

void
ingest_init(void)
{
	g_mutex_lock(&ingest_init_lock);
	if (ingest_init_count++ == 0) {
		g_mime_init();
		ingest_base_options = ingest_base_options_new();
		ingest_charset_init();
	}
	g_mutex_unlock(&ingest_init_lock);
}

void
ingest_shutdown(void)
{
	g_mutex_lock(&ingest_init_lock);
	if (ingest_init_count > 0 && --ingest_init_count == 0) {
		ingest_charset_shutdown();
		g_mime_parser_options_free(ingest_base_options);
		ingest_base_options = NULL;
		g_mime_shutdown();
	}
	g_mutex_unlock(&ingest_init_lock);
}

/* ---- warnings ------------------------------------------------------------- */

/* Warnings are stored one per line and shown to people: no control
 * characters, valid UTF-8, bounded length. */
static char *
ingest_warning_clean(const char *text)
{
	char *valid = g_utf8_make_valid(text, -1);
	for (char *p = valid; *p; p++)
		if ((guint8)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (strlen(valid) > 300) {
		char *cut = g_utf8_find_prev_char(valid, valid + 297);
		strcpy(cut ? cut : valid + 297, "...");
	}
	return valid;
}

void
ingest_warn(IngestCtx *ctx, const char *format, ...)
{
	if (!ctx)
		return;
	va_list args;
	va_start(args, format);
	g_autofree char *raw = g_strdup_vprintf(format, args);
	va_end(args);
	char *text = ingest_warning_clean(raw);
	GPtrArray *w = ctx->msg->warnings;
	for (guint i = 0; i < w->len; i++) {
		if (!strcmp(g_ptr_array_index(w, i), text)) {
			g_free(text);
			return;
		}
	}
	if (w->len >= INGEST_MAX_WARNINGS) {
		ctx->warnings_dropped++;
		g_free(text);
		return;
	}
	g_ptr_array_add(w, text);
}

static const char *
ingest_parser_warning_text(GMimeParserWarning code)
{
	switch (code) {
	case GMIME_WARN_DUPLICATED_HEADER: return "header repeated";
	case GMIME_WARN_DUPLICATED_PARAMETER: return "parameter repeated";
	case GMIME_WARN_UNENCODED_8BIT_HEADER: return "header with unencoded 8-bit bytes";
	case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid Content-Type, taken as application/octet-stream";
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: return "invalid RFC 2047 encoded header value";
	case GMIME_WARN_MALFORMED_MULTIPART: return "multipart without parts (boundary missing or wrong)";
	case GMIME_WARN_TRUNCATED_MESSAGE: return "message truncated (closing boundary missing)";
	case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
	case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
	case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting headers";
	case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting parameters";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart without a boundary parameter";
	case GMIME_WARN_INVALID_PARAMETER: return "invalid header parameter";
	case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid address list";
	case GMIME_CRIT_NESTING_OVERFLOW: return "MIME nesting too deep, the rest taken as content";
	case GMIME_WARN_PART_WITHOUT_CONTENT: return "part headers ended by a boundary (no content)";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "part without headers or content";
	}
	return "parser warning";
}

static void
ingest_parser_warning(gint64 offset, GMimeParserWarning code, const char *item, gpointer user_data)
{
	IngestCtx *ctx = user_data;
	if (ctx->quiet)
		return;
	if (item && *item)
		ingest_warn(user_data, "%s: \"%.60s\"", ingest_parser_warning_text(code), item);
	else
		ingest_warn(user_data, "%s", ingest_parser_warning_text(code));
}

static GMimeParserOptions *
ingest_parser_options_new(IngestCtx *ctx)
{
	GMimeParserOptions *o = g_mime_parser_options_clone(ingest_base_options);
	g_mime_parser_options_set_warning_callback(o, ingest_parser_warning, ctx);
	return o;
}

/* ---- the record ------------------------------------------------------------- */

static void
ingest_address_free(gpointer p)
{
	IngestAddress *a = p;
	g_free(a->name);
	g_free(a->address);
	g_free(a->key);
	g_free(a);
}

static void
ingest_attachment_free(gpointer p)
{
	IngestAttachment *a = p;
	g_free(a->filename);
	g_free(a->content_type);
	g_free(a);
}

static IngestMessage *
ingest_message_new(void)
{
	IngestMessage *m = g_new0(IngestMessage, 1);
	m->addresses = g_ptr_array_new_with_free_func(ingest_address_free);
	m->references = g_ptr_array_new_with_free_func(g_free);
	m->attachments = g_ptr_array_new_with_free_func(ingest_attachment_free);
	m->warnings = g_ptr_array_new_with_free_func(g_free);
	return m;
}

void
ingest_message_free(IngestMessage *msg)
{
	if (!msg)
		return;
	g_free(msg->message_id);
	g_free(msg->subject);
	g_ptr_array_unref(msg->addresses);
	g_free(msg->in_reply_to);
	g_ptr_array_unref(msg->references);
	g_free(msg->body_text);
	g_free(msg->body_type);
	g_ptr_array_unref(msg->attachments);
	g_ptr_array_unref(msg->warnings);
	g_free(msg);
}

/* ---- input ------------------------------------------------------------------- */

/* The whole input as bytes; for a file, its memory map (no copy). */
typedef struct {
	const guint8 *data;
	gsize len;
	GMimeStream *mapped; /* the file's map, or NULL for bytes */
	GByteArray *owned;   /* the input read into memory (not a regular file) */
} IngestSource;

static void
ingest_source_clear(IngestSource *src)
{
	g_clear_object(&src->mapped);
	if (src->owned)
		g_byte_array_unref(src->owned);
}

gboolean
ingest_check_array_size(guint64 len, const char *what, GError **error)
{
	if (len <= G_MAXUINT)
		return TRUE;
	g_set_error(error, INGEST_ERROR, INGEST_ERROR_TOO_LARGE,
		    "%s of %" G_GUINT64_FORMAT " bytes is over the 4 GiB limit of an in-memory copy", what, len);
	return FALSE;
}

static gboolean
ingest_read_all(int fd, IngestSource *src, GError **error)
{
	src->owned = g_byte_array_new();
	guint8 buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			g_set_error(error, INGEST_ERROR, INGEST_ERROR_IO, "reading the message: %s",
				    g_strerror(e));
			return FALSE;
		}
		if (!ingest_check_array_size((guint64)src->owned->len + (guint64)n, "a message read from a pipe", error))
			return FALSE;
		g_byte_array_append(src->owned, buf, (guint)n);
	}
	src->data = src->owned->data;
	src->len = src->owned->len;
	return TRUE;
}

static gboolean
ingest_source_map(int fd, gsize size, IngestSource *src, GError **error)
{
	/* A dup: GMime's map stream closes the descriptor it owns. */
	int own = dup(fd);
	if (own < 0) {
		int e = errno;
		g_set_error(error, INGEST_ERROR, INGEST_ERROR_IO, "duplicating the message descriptor: %s",
			    g_strerror(e));
		return FALSE;
	}
	src->mapped = g_mime_stream_mmap_new_with_bounds(own, PROT_READ, MAP_PRIVATE, 0, (gint64)size);
	if (!src->mapped) {
		int e = errno;
		close(own);
		g_set_error(error, INGEST_ERROR, INGEST_ERROR_IO, "mapping the message: %s", g_strerror(e));
		return FALSE;
	}
	src->data = (const guint8 *)GMIME_STREAM_MMAP(src->mapped)->map;
	src->len = size;
	return TRUE;
}

static gboolean
ingest_source_open(const IngestInput *input, IngestSource *src, GError **error)
{
	memset(src, 0, sizeof *src);
	if (input->fd < 0) {
		src->data = input->data;
		src->len = input->data ? input->len : 0;
		return TRUE;
	}
	struct stat st;
	if (fstat(input->fd, &st) < 0) {
		int e = errno;
		g_set_error(error, INGEST_ERROR, INGEST_ERROR_IO, "examining the message file: %s",
			    g_strerror(e));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode))
		return ingest_read_all(input->fd, src, error);
	if (st.st_size == 0)
		return TRUE;
	return ingest_source_map(input->fd, (gsize)st.st_size, src, error);
}

/* ---- is it a message at all, and where does it start ---------------------------- */

typedef struct {
	gsize start;	    /* the first header line */
	gboolean bare_cr;   /* lines end in CR alone (old Mac) */
	gboolean indented;  /* the first header line starts with whitespace */
	guint skipped;	    /* blank or junk lines before the first header */
} IngestLayout;

/* End of the line starting at POS; *NEXT is where the next one starts. */
static gsize
ingest_line_end(const guint8 *d, gsize len, gsize pos, gboolean bare_cr, gsize *next)
{
	gsize i = pos;
	while (i < len && d[i] != '\n' && !(bare_cr && d[i] == '\r'))
		i++;
	*next = i < len ? i + 1 : len;
	if (bare_cr && i < len && d[i] == '\r' && i + 1 < len && d[i + 1] == '\n')
		*next = i + 2;
	return i > pos && d[i - 1] == '\r' && !bare_cr ? i - 1 : i;
}

/* "Name:" with a name of printable ASCII (RFC 5322 ftext), allowing the
 * obsolete whitespace before the colon. */
static gboolean
ingest_is_header_line(const guint8 *p, gsize n)
{
	gsize i = 0;
	while (i < n && p[i] >= 33 && p[i] <= 126 && p[i] != ':')
		i++;
	if (i == 0)
		return FALSE;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

static gboolean
ingest_is_blank(const guint8 *p, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\f' && p[i] != '\v')
			return FALSE;
	return TRUE;
}

static gboolean
ingest_first_eol_is_bare_cr(const guint8 *d, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (d[i] == '\n')
			return FALSE;
		if (d[i] == '\r')
			return i + 1 == len || d[i + 1] != '\n';
	}
	return FALSE;
}

static gboolean
ingest_not_a_message(GError **error, const guint8 *line, gsize n, const char *why)
{
	g_autofree char *shown = g_utf8_make_valid((const char *)line, MIN(n, 40));
	for (char *p = shown; *p; p++)
		if ((guint8)*p < 0x20 || *p == 0x7f)
			*p = '?';
	g_set_error(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE, "%s (first line: \"%s\")", why, shown);
	return FALSE;
}

static gboolean
ingest_layout_scan(const guint8 *d, gsize len, IngestLayout *lay, GError **error)
{
	memset(lay, 0, sizeof *lay);
	if (len == 0) {
		g_set_error_literal(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE, "empty input");
		return FALSE;
	}
	lay->bare_cr = ingest_first_eol_is_bare_cr(d, len);
	gsize pos = 0, next;
	if (len >= 5 && !memcmp(d, "From ", 5)) /* an mbox From_ line: not a header */
		ingest_line_end(d, len, 0, lay->bare_cr, &pos);
	for (guint lines = 0; pos < len && lines < 64; lines++) {
		gsize end = ingest_line_end(d, len, pos, lay->bare_cr, &next);
		const guint8 *line = d + pos;
		gsize n = end - pos;
		if (ingest_is_header_line(line, n)) {
			lay->start = pos;
			return TRUE;
		}
		gsize ws = 0;
		while (ws < n && (line[ws] == ' ' || line[ws] == '\t'))
			ws++;
		if (ws && ingest_is_header_line(line + ws, n - ws)) {
			lay->start = pos;
			lay->indented = TRUE;
			return TRUE;
		}
		if (!ingest_is_blank(line, n))
			return ingest_not_a_message(error, line, n, "does not start with a header field");
		lay->skipped++;
		pos = next;
	}
	g_set_error_literal(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE, "no header field found");
	return FALSE;
}

/* A copy of the input from the first header with the layout repaired:
 * GMime knows only LF and CRLF line ends. */
static GByteArray *
ingest_layout_repair(const guint8 *d, gsize len, const IngestLayout *lay)
{
	gsize pos = lay->start;
	if (lay->indented)
		while (pos < len && (d[pos] == ' ' || d[pos] == '\t'))
			pos++;
	GByteArray *out = g_byte_array_sized_new((guint)(len - pos));
	g_byte_array_set_size(out, (guint)(len - pos));
	memcpy(out->data, d + pos, len - pos);
	if (lay->bare_cr) {
		for (gsize i = 0; i < out->len; i++)
			if (out->data[i] == '\r' && (i + 1 == out->len || out->data[i + 1] != '\n'))
				out->data[i] = '\n';
	}
	return out;
}

static void
ingest_layout_warn(IngestCtx *ctx, const IngestLayout *lay)
{
	if (lay->skipped)
		ingest_warn(ctx, "%u blank line(s) before the first header field skipped", lay->skipped);
	if (lay->indented)
		ingest_warn(ctx, "first header line is indented: leading whitespace removed");
	if (lay->bare_cr)
		ingest_warn(ctx, "CR-only line ends (old Mac format) converted to LF");
}

/* The caller's bytes are lent to GMime, not copied: a GByteArray wrapped
 * around them (GMime only reads), released without freeing its data once
 * the message objects are gone. */
static GMimeStream *
ingest_borrow_stream(const guint8 *data, gsize len, GByteArray **borrowed)
{
	*borrowed = g_byte_array_new_take((guint8 *)data, len);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(*borrowed);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	return stream;
}

/* Only a mapped file is read in place whatever its size; every other
 * stream is a GMime memory stream, whose length is 32-bit. */
static GMimeStream *
ingest_parse_stream(const IngestSource *src, const IngestLayout *lay, GByteArray **borrowed, GError **error)
{
	*borrowed = NULL;
	gboolean repair = lay->bare_cr || lay->indented;
	if (src->mapped && !repair)
		return g_mime_stream_substream(src->mapped, (gint64)lay->start, (gint64)src->len);
	if (!ingest_check_array_size(src->len - lay->start, repair ? "a message whose line ends need repair" : "a message",
				     error))
		return NULL;
	if (repair)
		return g_mime_stream_mem_new_with_byte_array(ingest_layout_repair(src->data, src->len, lay));
	return ingest_borrow_stream(src->data + lay->start, src->len - lay->start, borrowed);
}

static void
ingest_borrow_end(GByteArray *borrowed)
{
	if (borrowed)
		g_byte_array_free(borrowed, FALSE); /* the data stays the caller's */
}

/* ---- headers ------------------------------------------------------------------ */

/* Unusable: nothing left once decoded, absurdly long, or control bytes. */
static gboolean
ingest_message_id_usable(const char *id)
{
	if (!id || !*id || strlen(id) > 998 || !g_utf8_validate(id, -1, NULL))
		return FALSE;
	for (const char *p = id; *p; p++)
		if ((guint8)*p < 0x20 || *p == 0x7f)
			return FALSE;
	return TRUE;
}

static void
ingest_header_message_id(IngestCtx *ctx, const char *raw)
{
	if (!raw) {
		ingest_warn(ctx, "no Message-ID: a synthetic one derived from the content is used");
		return;
	}
	g_autofree char *value = ingest_header_unfold(raw);
	g_autofree char *id = g_mime_utils_decode_message_id(value);
	if (id)
		g_strstrip(id);
	if (ingest_message_id_usable(id)) {
		ctx->msg->message_id = g_steal_pointer(&id);
		return;
	}
	ingest_warn(ctx, "unusable Message-ID \"%.80s\": a synthetic one derived from the content is used",
		    value);
}

static void
ingest_header_date(IngestCtx *ctx, const char *raw, gint64 received_at)
{
	IngestMessage *msg = ctx->msg;
	msg->date = received_at;
	msg->date_synthetic = TRUE;
	if (!raw) {
		ingest_warn(ctx, "no Date: the receipt time is used");
		return;
	}
	ctx->raw_date = ingest_header_unfold(raw);
	GDateTime *dt = g_mime_utils_header_decode_date(ctx->raw_date);
	if (!dt) {
		ingest_warn(ctx, "unparsable Date \"%.80s\": the receipt time is used", ctx->raw_date);
		return;
	}
	msg->date = g_date_time_to_unix(dt);
	msg->date_synthetic = FALSE;
	g_date_time_unref(dt);
}

static void
ingest_header_references(IngestCtx *ctx, const char *raw)
{
	g_autofree char *value = ingest_header_unfold(raw);
	g_autoptr(GMimeReferences) refs = g_mime_references_parse(ctx->options, value);
	int n = refs ? g_mime_references_length(refs) : 0;
	for (int i = 0; i < n; i++) {
		const char *id = g_mime_references_get_message_id(refs, i);
		if (ingest_message_id_usable(id))
			g_ptr_array_add(ctx->msg->references, g_strdup(id));
	}
}

/* The first msg-id; senders that forget the brackets get the benefit of the
 * doubt when the value is one word. */
static void
ingest_header_in_reply_to(IngestCtx *ctx, const char *raw)
{
	g_autofree char *value = ingest_header_unfold(raw);
	g_autoptr(GMimeReferences) refs = g_mime_references_parse(ctx->options, value);
	const char *first = refs && g_mime_references_length(refs) ? g_mime_references_get_message_id(refs, 0)
								     : NULL;
	if (ingest_message_id_usable(first)) {
		ctx->msg->in_reply_to = g_strdup(first);
		return;
	}
	if (*value && !strpbrk(value, " \t<>") && ingest_message_id_usable(value))
		ctx->msg->in_reply_to = g_strdup(value);
}

typedef struct {
	const char *message_id, *date, *subject, *in_reply_to, *references;
} IngestFirstHeaders;

static void
ingest_header_one(IngestCtx *ctx, IngestFirstHeaders *first, const char *name, const char *raw)
{
	static const struct {
		const char *name;
		IngestRole role;
	} roles[] = { { "From", INGEST_ROLE_FROM },
		      { "To", INGEST_ROLE_TO },
		      { "Cc", INGEST_ROLE_CC },
		      { "Reply-To", INGEST_ROLE_REPLY_TO } };
	for (gsize i = 0; i < G_N_ELEMENTS(roles); i++) {
		if (!g_ascii_strcasecmp(name, roles[i].name)) {
			ingest_addresses_add(ctx, roles[i].role, raw);
			return;
		}
	}
	const char **slot = !g_ascii_strcasecmp(name, "Message-ID")    ? &first->message_id
			    : !g_ascii_strcasecmp(name, "Date")	       ? &first->date
			    : !g_ascii_strcasecmp(name, "Subject")     ? &first->subject
			    : !g_ascii_strcasecmp(name, "In-Reply-To") ? &first->in_reply_to
			    : !g_ascii_strcasecmp(name, "References")  ? &first->references
								       : NULL;
	if (slot && !*slot)
		*slot = raw ? raw : "";
}

static void
ingest_headers(IngestCtx *ctx, GMimeMessage *message, gint64 received_at)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(message));
	IngestFirstHeaders first = { 0 };
	int n = g_mime_header_list_get_count(list);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		ingest_header_one(ctx, &first, g_mime_header_get_name(h), g_mime_header_get_raw_value(h));
	}
	ingest_header_message_id(ctx, first.message_id);
	ingest_header_date(ctx, first.date, received_at);
	ctx->msg->subject = ingest_rfc2047_decode(ctx, first.subject, "Subject");
	if (first.in_reply_to)
		ingest_header_in_reply_to(ctx, first.in_reply_to);
	if (first.references)
		ingest_header_references(ctx, first.references);
}

/* ---- the whole ---------------------------------------------------------------------- */

static void
ingest_ctx_clear(IngestCtx *ctx)
{
	g_clear_pointer(&ctx->options, g_mime_parser_options_free);
	g_clear_pointer(&ctx->raw_date, g_free);
	g_clear_pointer(&ctx->header_charset, g_free);
	g_clear_pointer(&ctx->fp_attachments, g_ptr_array_unref);
}

/* GMime decodes raw 8-bit display names with the fallback charsets: the
 * body's charset goes before windows-1252 (see ingest_decode_hinted()). */
static void
ingest_header_charset_setup(IngestCtx *ctx, GMimeMessage *message)
{
	ctx->header_charset = ingest_body_charset_hint(g_mime_message_get_mime_part(message));
	if (!ctx->header_charset)
		return;
	const char *fallback[] = { "utf-8", ctx->header_charset, "windows-1252", NULL };
	g_mime_parser_options_set_fallback_charsets(ctx->options, fallback);
}

static void
ingest_extract(IngestCtx *ctx, GMimeMessage *message, gint64 received_at)
{
	ingest_header_charset_setup(ctx, message);
	ingest_headers(ctx, message, received_at);
	ingest_body_walk(ctx, g_mime_message_get_mime_part(message));
	ingest_body_extract(ctx);
	ingest_fingerprint_finish(ctx);
	if (ctx->warnings_dropped)
		g_ptr_array_add(ctx->msg->warnings,
				g_strdup_printf("%u further warning(s) omitted", ctx->warnings_dropped));
}

static IngestMessage *
ingest_parse_source(const IngestSource *src, gint64 received_at, GError **error)
{
	IngestLayout lay;
	if (!ingest_layout_scan(src->data, src->len, &lay, error))
		return NULL;
	g_autoptr(IngestMessage) msg = ingest_message_new();
	IngestCtx ctx = { .msg = msg, .fp_attachments = g_ptr_array_new_with_free_func(g_free) };
	ctx.options = ingest_parser_options_new(&ctx);
	msg->raw_size = src->len;
	ingest_layout_warn(&ctx, &lay);
	GByteArray *borrowed;
	GMimeStream *stream = ingest_parse_stream(src, &lay, &borrowed, error);
	if (!stream) {
		ingest_ctx_clear(&ctx);
		return NULL;
	}
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeMessage *message = g_mime_parser_construct_message(parser, ctx.options);
	if (message)
		ingest_extract(&ctx, message, received_at);
	/* The message goes first: its parts read the stream's memory, and GMime
	 * objects keep a pointer to the options. */
	g_clear_object(&message);
	g_object_unref(parser);
	g_object_unref(stream);
	ingest_borrow_end(borrowed);
	ingest_ctx_clear(&ctx);
	if (!msg->fingerprint[0]) {
		g_set_error_literal(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE,
				    "no message header block could be parsed");
		return NULL;
	}
	return g_steal_pointer(&msg);
}

IngestMessage *
ingest_parse(const IngestInput *input, gint64 received_at, GError **error)
{
	g_return_val_if_fail(input != NULL, NULL);
	g_return_val_if_fail(g_atomic_int_get(&ingest_init_count) > 0, NULL);
	IngestSource src;
	if (!ingest_source_open(input, &src, error))
		return NULL;
	IngestMessage *msg = ingest_parse_source(&src, received_at, error);
	ingest_source_clear(&src);
	return msg;
}
