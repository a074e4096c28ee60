/* Bytes in a declared (or undeclared, or wrongly declared) charset to valid
 * UTF-8. Mail in the wild mislabels its charset often enough that every path
 * ends in something readable rather than in an error. */
#include "ingest/internal.h"

#include <errno.h>
#include <string.h>

/* Windows-1252 for 0x80..0x9F; the five undefined bytes keep their Latin-1
 * (C1 control) meaning, as the WHATWG encoding standard does. */
static const gunichar ingest_cp1252_high[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* Names mail software writes that glibc's iconv does not know, mapped to the
 * superset that decodes what those senders really produce. */
static const struct {
	const char *alias;
	const char *iconv_name;
} ingest_charset_aliases[] = {
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601", "CP949" },      { "ksc5601", "CP949" },
	{ "ksc_5601", "CP949" },       { "euc-kr", "CP949" },	      { "x-euc-kr", "CP949" },
	{ "gb2312", "GB18030" },       { "gbk", "GB18030" },	      { "x-gbk", "GB18030" },
	{ "euc-cn", "GB18030" },       { "cp936", "GB18030" },	      { "iso-8859-8-i", "ISO-8859-8" },
	{ "iso-8859-8-e", "ISO-8859-8" }, { "iso-8859-6-i", "ISO-8859-6" }, { "iso-8859-6-e", "ISO-8859-6" },
	{ "x-sjis", "CP932" },	       { "shift_jis", "CP932" },      { "shift-jis", "CP932" },
	{ "sjis", "CP932" },	       { "x-shift_jis", "CP932" },    { "windows-31j", "CP932" },
	{ "x-mac-roman", "MACINTOSH" }, { "unicode-1-1-utf-7", "UTF-7" }, { "x-euc-jp", "EUC-JP" },
};

static gboolean
ingest_charset_is(const char *lower, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(lower, *names))
			return TRUE;
	return FALSE;
}

static gboolean
ingest_charset_is_utf8ish(const char *lower)
{
	static const char *const names[] = { "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
					     "us_ascii", "iso-646-us", "7bit", "8bit", NULL };
	return !lower || !*lower || ingest_charset_is(lower, names);
}

static gboolean
ingest_charset_is_latin1ish(const char *lower)
{
	static const char *const names[] = { "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1",
					     "l1", "windows-1252", "cp1252", "x-cp1252", "cp819", NULL };
	return ingest_charset_is(lower, names);
}

gunichar
ingest_cp1252_char(guint8 byte)
{
	return byte >= 0x80 && byte < 0xA0 ? ingest_cp1252_high[byte - 0x80] : byte;
}

static void
ingest_append_cp1252(GString *out, const guint8 *p, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (p[i] < 0x80)
			g_string_append_c(out, (char)p[i]);
		else if (p[i] < 0xA0)
			g_string_append_unichar(out, ingest_cp1252_high[p[i] - 0x80]);
		else
			g_string_append_unichar(out, p[i]);
	}
}

static char *
ingest_cp1252_decode(const char *data, gsize len)
{
	GString *out = g_string_sized_new(len + len / 4 + 1);
	ingest_append_cp1252(out, (const guint8 *)data, len);
	return g_string_free(out, FALSE);
}

/* iconv that does not give up at the first bad byte: each undecodable byte
 * becomes U+FFFD and decoding resumes after it. */
static char *
ingest_iconv_lossy(GIConv cd, const char *data, gsize len, gsize *n_bad)
{
	GString *out = g_string_sized_new(len * 2 + 16);
	char *in = (char *)data;
	gsize inleft = len;
	char buf[4096];
	*n_bad = 0;
	while (inleft > 0) {
		char *outp = buf;
		gsize outleft = sizeof buf;
		gsize r = g_iconv(cd, &in, &inleft, &outp, &outleft);
		g_string_append_len(out, buf, outp - buf);
		if (r != (gsize)-1 || errno == E2BIG)
			continue;
		g_string_append(out, "\xEF\xBF\xBD");
		(*n_bad)++;
		if (errno != EILSEQ)
			break; /* EINVAL: truncated sequence at the very end */
		in++;
		inleft--;
	}
	char *outp = buf;
	gsize outleft = sizeof buf;
	g_iconv(cd, NULL, NULL, &outp, &outleft); /* shift back (ISO-2022-JP) */
	g_string_append_len(out, buf, outp - buf);
	return g_string_free(out, FALSE);
}

static const char *
ingest_charset_iconv_name(const char *lower)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ingest_charset_aliases); i++)
		if (!strcmp(lower, ingest_charset_aliases[i].alias))
			return ingest_charset_aliases[i].iconv_name;
	return lower;
}

/* g_strndup() would stop at the first NUL. */
static char *
ingest_memdup0(const char *data, gsize len)
{
	char *copy = g_malloc(len + 1);
	memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

/* NUL is valid UTF-8 but ends every C string downstream; it never carries
 * meaning in mail text, so it is dropped. */
static char *
ingest_strip_nul(char *text, gsize len)
{
	gsize j = 0;
	for (gsize i = 0; i < len; i++)
		if (text[i])
			text[j++] = text[i];
	text[j] = '\0';
	return text;
}

static char *
ingest_utf8_finish(char *text)
{
	if (g_utf8_validate(text, -1, NULL))
		return text;
	char *valid = g_utf8_make_valid(text, -1);
	g_free(text);
	return valid;
}

/* Is broken UTF-8 still mostly UTF-8 (a few bad bytes among real multi-byte
 * sequences), or text in some 8-bit charset? Legacy CJK bytes form a valid
 * UTF-8 pair now and then, so it takes a clear majority. */
static gboolean
ingest_mostly_utf8(const char *data, gsize len)
{
	gsize valid = 0, invalid = 0;
	for (gsize i = 0; i < len;) {
		if ((guint8)data[i] < 0x80) {
			i++;
			continue;
		}
		gunichar c = g_utf8_get_char_validated(data + i, (gssize)(len - i));
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			invalid++;
			i++;
		} else {
			valid++;
			i += g_unichar_to_utf8(c, NULL);
		}
	}
	return valid > 0 && invalid * 2 <= valid;
}

static char *
ingest_decode_utf8ish(IngestCtx *ctx, const char *data, gsize len, const char *lower, const char *what)
{
	g_autofree char *copy = ingest_strip_nul(ingest_memdup0(data, len), len);
	gsize n = strlen(copy);
	if (g_utf8_validate(copy, n, NULL))
		return g_steal_pointer(&copy);
	if (ingest_mostly_utf8(copy, n)) {
		if (ctx)
			ingest_warn(ctx, "%s: invalid UTF-8 bytes replaced by U+FFFD", what);
		return g_utf8_make_valid(copy, n);
	}
	if (ctx && lower && *lower)
		ingest_warn(ctx, "%s: declared charset %s but not valid in it: decoded as windows-1252", what,
			    lower);
	else if (ctx)
		ingest_warn(ctx, "%s: undeclared 8-bit text that is not UTF-8: decoded as windows-1252", what);
	return ingest_cp1252_decode(copy, n);
}

static char *
ingest_decode_latin1ish(IngestCtx *ctx, const char *data, gsize len, const char *lower, const char *what)
{
	g_autofree char *copy = ingest_strip_nul(ingest_memdup0(data, len), len);
	gsize n = strlen(copy);
	/* Latin-1 text with high bytes is practically never valid UTF-8, while
	 * UTF-8 labelled Latin-1 is a common sender bug. */
	gboolean high = FALSE;
	for (gsize i = 0; i < n && !high; i++)
		high = (guint8)copy[i] >= 0x80;
	if (high && g_utf8_validate(copy, n, NULL)) {
		if (ctx)
			ingest_warn(ctx, "%s: declared charset %s but the text is UTF-8: taken as UTF-8", what,
				    lower);
		return g_steal_pointer(&copy);
	}
	return ingest_cp1252_decode(copy, n);
}

/* glibc unloads a gconv module soon after its last descriptor is closed and
 * loads it again (dlopen) at the next iconv_open(): that was a tenth of the
 * parse time, in GMime's header decoding and ours. Holding one descriptor
 * per charset once seen keeps its module loaded. */
#define INGEST_MAX_PINS 256
static GMutex ingest_pin_lock;
static GHashTable *ingest_pins; /* iconv name -> GIConv, never used to convert */

static void
ingest_iconv_close_pin(gpointer cd)
{
	g_iconv_close((GIConv)cd);
}

static void
ingest_charset_pin(const char *iconv_name)
{
	g_mutex_lock(&ingest_pin_lock);
	if (ingest_pins && g_hash_table_size(ingest_pins) < INGEST_MAX_PINS &&
	    !g_hash_table_contains(ingest_pins, iconv_name)) {
		GIConv cd = g_iconv_open("UTF-8", iconv_name);
		if (cd != (GIConv)-1)
			g_hash_table_insert(ingest_pins, g_strdup(iconv_name), cd);
	}
	g_mutex_unlock(&ingest_pin_lock);
}

void
ingest_charset_init(void)
{
	g_mutex_lock(&ingest_pin_lock);
	ingest_pins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ingest_iconv_close_pin);
	g_mutex_unlock(&ingest_pin_lock);
	/* GMime's fallback charsets for raw 8-bit headers (ingest.c). */
	ingest_charset_pin("CP1252");
	ingest_charset_pin("ISO-8859-1");
}

void
ingest_charset_shutdown(void)
{
	g_mutex_lock(&ingest_pin_lock);
	g_clear_pointer(&ingest_pins, g_hash_table_unref);
	g_mutex_unlock(&ingest_pin_lock);
}

static char *
ingest_decode_iconv(IngestCtx *ctx, const char *data, gsize len, const char *lower, const char *what)
{
	const char *name = ingest_charset_iconv_name(lower);
	g_autofree char *dashed = NULL;
	GIConv cd = g_iconv_open("UTF-8", name);
	if (cd == (GIConv)-1 && strchr(lower, '_')) {
		/* "koi8_r", "shift_jis": iconv wants hyphens. */
		dashed = g_strdelimit(g_strdup(lower), "_", '-');
		name = ingest_charset_iconv_name(dashed);
		cd = g_iconv_open("UTF-8", name);
	}
	if (cd == (GIConv)-1) {
		if (ctx)
			ingest_warn(ctx, "%s: unknown charset \"%s\": decoded as UTF-8 or windows-1252", what,
				    lower);
		return ingest_decode_utf8ish(NULL, data, len, NULL, what);
	}
	ingest_charset_pin(name);
	gsize n_bad = 0;
	char *text = ingest_iconv_lossy(cd, data, len, &n_bad);
	g_iconv_close(cd);
	if (n_bad && ctx)
		ingest_warn(ctx, "%s: %" G_GSIZE_FORMAT " byte(s) not valid in charset %s replaced by U+FFFD",
			    what, n_bad, lower);
	return ingest_strip_nul(text, strlen(text));
}

/* Raw 8-bit header text carries no charset; senders that write it use their
 * own, which is nearly always the one they declare for the body. */
static char *
ingest_decode_hinted(IngestCtx *ctx, const char *data, gsize len, const char *what)
{
	ingest_warn(ctx, "%s: undeclared 8-bit text decoded as %s (the body's charset)", what,
		    ctx->header_charset);
	return ingest_charset_decode(NULL, data, len, ctx->header_charset, what);
}

/* Charset names arrive with quotes, spaces and RFC 2231 language tags. */
static char *
ingest_charset_clean(const char *charset)
{
	if (!charset)
		return NULL;
	char *lower = g_ascii_strdown(charset, -1);
	g_strstrip(lower);
	gsize n = strlen(lower);
	if (n >= 2 && lower[0] == '"' && lower[n - 1] == '"') {
		memmove(lower, lower + 1, n - 2);
		lower[n - 2] = '\0';
	}
	char *star = strchr(lower, '*');
	if (star)
		*star = '\0';
	return lower;
}

static gboolean
ingest_is_ascii(const char *data, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if ((guint8)data[i] >= 0x80 || data[i] == '\0')
			return FALSE;
	return TRUE;
}

char *
ingest_charset_decode(IngestCtx *ctx, const char *data, gsize len, const char *charset, const char *what)
{
	if (!data || len == 0)
		return g_strdup("");
	g_autofree char *lower = ingest_charset_clean(charset);
	char *text;
	/* The common case first: plain ASCII is the same in every charset mail
	 * uses except the 7-bit stateful and UTF-16/32 ones. */
	if ((ingest_charset_is_utf8ish(lower) || ingest_charset_is_latin1ish(lower)) &&
	    ingest_is_ascii(data, len))
		return g_strndup(data, len);
	if (!lower && ctx && ctx->header_charset && !g_utf8_validate(data, len, NULL) &&
	    !ingest_mostly_utf8(data, len))
		text = ingest_decode_hinted(ctx, data, len, what);
	else if (ingest_charset_is_utf8ish(lower))
		text = ingest_decode_utf8ish(ctx, data, len, lower, what);
	else if (ingest_charset_is_latin1ish(lower))
		text = ingest_decode_latin1ish(ctx, data, len, lower, what);
	else
		text = ingest_decode_iconv(ctx, data, len, lower, what);
	return ingest_utf8_finish(text);
}
