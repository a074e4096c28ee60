/* RFC 2047 encoded-words, decoded here rather than by GMime.
 *
 * GMime 3.2.13 merges adjacent B-encoded words of one charset and base64-
 * decodes them as one stream; its decoder stops at the first '=' padding, so
 * "=?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IHdvcmxk?=" comes out as "Hello" (upstream
 * gmime issue #133). We decode each word on its own; only the decoded bytes
 * of adjacent words in one charset are joined (a multi-byte character may be
 * split across words) before the charset conversion. */
#include "ingest/internal.h"

#include <string.h>

typedef struct {
	char charset[65];
	char encoding; /* 'B' or 'Q' */
	const char *text;
	gsize text_len;
	const char *end; /* just past "?=" */
} IngestWord;

char *
ingest_header_unfold(const char *raw)
{
	if (!raw)
		return NULL;
	gsize n = strlen(raw);
	char *out = g_malloc(n + 1);
	gsize j = 0;
	for (gsize i = 0; i < n; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			out[j++] = raw[i];
	out[j] = '\0';
	return g_strstrip(out);
}

/* P points at "=?". Strict about the delimiters, lenient about nothing else:
 * a false match would eat literal text. */
static gboolean
ingest_word_parse(const char *p, IngestWord *w)
{
	const char *cs = p + 2;
	const char *q = cs;
	while (*q && *q != '?' && !g_ascii_isspace(*q))
		q++;
	if (*q != '?' || q == cs || (gsize)(q - cs) >= sizeof w->charset)
		return FALSE;
	char enc = g_ascii_toupper(q[1]);
	if ((enc != 'B' && enc != 'Q') || q[2] != '?')
		return FALSE;
	const char *t = q + 3;
	const char *e = t;
	while (*e && *e != '?' && !g_ascii_isspace(*e))
		e++;
	if (e[0] != '?' || e[1] != '=')
		return FALSE;
	memcpy(w->charset, cs, q - cs);
	w->charset[q - cs] = '\0';
	w->encoding = enc;
	w->text = t;
	w->text_len = e - t;
	w->end = e + 2;
	return TRUE;
}

static int
ingest_hex(char c)
{
	return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

static void
ingest_word_decode_q(const IngestWord *w, GByteArray *out)
{
	for (gsize i = 0; i < w->text_len; i++) {
		guint8 c = (guint8)w->text[i];
		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < w->text_len && ingest_hex(w->text[i + 1]) >= 0 &&
			 ingest_hex(w->text[i + 2]) >= 0) {
			c = (guint8)(ingest_hex(w->text[i + 1]) * 16 + ingest_hex(w->text[i + 2]));
			i += 2;
		}
		g_byte_array_append(out, &c, 1);
	}
}

/* Each word is decoded as a unit, padding repaired: senders drop it, and a
 * lone trailing character carries no whole byte. */
static void
ingest_word_decode_b(const IngestWord *w, GByteArray *out)
{
	g_autofree char *clean = g_malloc(w->text_len + 4);
	gsize n = 0;
	for (gsize i = 0; i < w->text_len; i++) {
		char c = w->text[i];
		if (g_ascii_isalnum(c) || c == '+' || c == '/' || c == '=')
			clean[n++] = c;
	}
	while (n > 0 && clean[n - 1] == '=')
		n--;
	switch (n % 4) {
	case 1: n--; break;
	case 2: clean[n++] = '='; clean[n++] = '='; break;
	case 3: clean[n++] = '='; break;
	}
	gsize old = out->len;
	g_byte_array_set_size(out, old + n / 4 * 3 + 3);
	gint state = 0;
	guint save = 0;
	gsize got = g_base64_decode_step(clean, n, out->data + old, &state, &save);
	g_byte_array_set_size(out, old + got);
}

static gboolean
ingest_all_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!g_ascii_isspace(*p))
			return FALSE;
	return TRUE;
}

/* Adjacent words are collected per charset before conversion. */
typedef struct {
	IngestCtx *ctx;
	const char *what;
	GString *out;
	GByteArray *pending;
	char charset[65];
} IngestWordRun;

static void
ingest_run_flush(IngestWordRun *run)
{
	if (run->pending->len) {
		g_autofree char *text = ingest_charset_decode(run->ctx, (const char *)run->pending->data,
							      run->pending->len, run->charset, run->what);
		g_string_append(run->out, text);
		g_byte_array_set_size(run->pending, 0);
	}
	run->charset[0] = '\0';
}

static void
ingest_run_add(IngestWordRun *run, const IngestWord *w)
{
	if (run->charset[0] && g_ascii_strcasecmp(run->charset, w->charset))
		ingest_run_flush(run);
	g_strlcpy(run->charset, w->charset, sizeof run->charset);
	if (w->encoding == 'B')
		ingest_word_decode_b(w, run->pending);
	else
		ingest_word_decode_q(w, run->pending);
}

/* Calls LITERAL for text outside encoded-words and WORD for each word; the
 * whitespace between two words is dropped (RFC 2047 section 6.2). */
typedef void (*IngestLiteralFunc)(const char *p, gsize len, gpointer user_data);
typedef void (*IngestWordFunc)(const IngestWord *w, gpointer user_data);

static gboolean
ingest_rfc2047_scan(const char *text, IngestLiteralFunc literal, IngestWordFunc word, gpointer user_data)
{
	const char *p = text;
	const char *lit = text;
	gboolean prev_word = FALSE, any = FALSE;
	IngestWord w;
	while ((p = strstr(p, "=?"))) {
		if (!ingest_word_parse(p, &w)) {
			p += 2;
			continue;
		}
		if (!(prev_word && ingest_all_space(lit, p)) && p > lit)
			literal(lit, p - lit, user_data);
		word(&w, user_data);
		any = prev_word = TRUE;
		p = lit = w.end;
	}
	if (*lit)
		literal(lit, strlen(lit), user_data);
	return any;
}

static void
ingest_decode_literal(const char *p, gsize len, gpointer user_data)
{
	IngestWordRun *run = user_data;
	ingest_run_flush(run);
	g_autofree char *text = ingest_charset_decode(run->ctx, p, len, NULL, run->what);
	g_string_append(run->out, text);
}

static void
ingest_decode_word(const IngestWord *w, gpointer user_data)
{
	ingest_run_add(user_data, w);
}

/* Control characters (a stray tab or NUL) in a subject only get in the way of
 * display and comparison. */
static char *
ingest_text_tidy(GString *s)
{
	for (gsize i = 0; i < s->len; i++)
		if ((guint8)s->str[i] < 0x20 || s->str[i] == 0x7f)
			s->str[i] = ' ';
	return g_strstrip(g_string_free(s, FALSE));
}

char *
ingest_rfc2047_decode(IngestCtx *ctx, const char *raw, const char *what)
{
	if (!raw)
		return g_strdup("");
	g_autofree char *text = ingest_header_unfold(raw);
	IngestWordRun run = { ctx, what, g_string_sized_new(strlen(text) + 1), g_byte_array_new(), "" };
	ingest_rfc2047_scan(text, ingest_decode_literal, ingest_decode_word, &run);
	ingest_run_flush(&run);
	g_byte_array_unref(run.pending);
	return ingest_text_tidy(run.out);
}

/* ---- normalising structured headers for GMime ----------------------------- */

typedef struct {
	IngestWordRun run;
	GString *result;
} IngestNormalise;

static void
ingest_normalise_emit(IngestNormalise *n)
{
	ingest_run_flush(&n->run);
	if (n->run.out->len == 0)
		return;
	g_autofree char *b64 = g_base64_encode((const guchar *)n->run.out->str, n->run.out->len);
	g_string_append_printf(n->result, "=?UTF-8?B?%s?=", b64);
	g_string_truncate(n->run.out, 0);
}

static void
ingest_normalise_literal(const char *p, gsize len, gpointer user_data)
{
	IngestNormalise *n = user_data;
	ingest_normalise_emit(n);
	g_string_append_len(n->result, p, len);
}

static void
ingest_normalise_word(const IngestWord *w, gpointer user_data)
{
	IngestNormalise *n = user_data;
	ingest_run_add(&n->run, w);
}

char *
ingest_rfc2047_normalise(IngestCtx *ctx, const char *raw, const char *what)
{
	if (!raw || !strstr(raw, "=?"))
		return NULL;
	IngestNormalise n = {
		{ ctx, what, g_string_new(NULL), g_byte_array_new(), "" },
		g_string_sized_new(strlen(raw) + 16),
	};
	gboolean any = ingest_rfc2047_scan(raw, ingest_normalise_literal, ingest_normalise_word, &n);
	ingest_normalise_emit(&n);
	g_string_free(n.run.out, TRUE);
	g_byte_array_unref(n.run.pending);
	if (!any) {
		g_string_free(n.result, TRUE);
		return NULL;
	}
	return g_string_free(n.result, FALSE);
}
