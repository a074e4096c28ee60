/* HTML reduced to readable text for an HTML-only message.
 *
 * Not a browser: the text is for search and display in a CRM, so it is enough
 * to drop markup, scripts and styles, decode entities, keep paragraph breaks
 * and collapse everything else to single spaces. One pass, no recursion, so
 * hostile markup costs linear time. */
#include "ingest/internal.h"

#include <string.h>

/* HTML 4 names for U+00A0..U+00FF, in code point order. */
static const char *const ingest_latin1_entities[96] = {
	"nbsp",	  "iexcl",  "cent",   "pound",	"curren", "yen",    "brvbar", "sect",  "uml",    "copy",
	"ordf",	  "laquo",  "not",    "shy",	"reg",	  "macr",   "deg",    "plusmn", "sup2",	 "sup3",
	"acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",   "raquo", "frac14", "frac12",
	"frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring", "AElig",	 "Ccedil",
	"Egrave", "Eacute", "Ecirc",  "Euml",	"Igrave", "Iacute", "Icirc",  "Iuml",  "ETH",	 "Ntilde",
	"Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",	  "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",
	"Uuml",	  "Yacute", "THORN",  "szlig",	"agrave", "aacute", "acirc",  "atilde", "auml",	 "aring",
	"aelig",  "ccedil", "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc", "iuml",
	"eth",	  "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
	"uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

static const struct {
	const char *name;
	gunichar ch;
} ingest_entities[] = {
	{ "amp", '&' },	       { "lt", '<' },	       { "gt", '>' },	       { "quot", '"' },
	{ "apos", '\'' },      { "euro", 0x20AC },     { "trade", 0x2122 },    { "hellip", 0x2026 },
	{ "mdash", 0x2014 },   { "ndash", 0x2013 },    { "lsquo", 0x2018 },    { "rsquo", 0x2019 },
	{ "sbquo", 0x201A },   { "ldquo", 0x201C },    { "rdquo", 0x201D },    { "bdquo", 0x201E },
	{ "lsaquo", 0x2039 },  { "rsaquo", 0x203A },   { "bull", 0x2022 },     { "dagger", 0x2020 },
	{ "Dagger", 0x2021 },  { "permil", 0x2030 },   { "prime", 0x2032 },    { "Prime", 0x2033 },
	{ "OElig", 0x0152 },   { "oelig", 0x0153 },    { "Scaron", 0x0160 },   { "scaron", 0x0161 },
	{ "Yuml", 0x0178 },    { "fnof", 0x0192 },     { "circ", 0x02C6 },     { "tilde", 0x02DC },
	{ "ensp", 0x2002 },    { "emsp", 0x2003 },     { "thinsp", 0x2009 },   { "zwnj", 0x200C },
	{ "zwj", 0x200D },     { "lrm", 0x200E },      { "rlm", 0x200F },      { "larr", 0x2190 },
	{ "rarr", 0x2192 },    { "uarr", 0x2191 },     { "darr", 0x2193 },     { "harr", 0x2194 },
	{ "minus", 0x2212 },   { "infin", 0x221E },    { "ne", 0x2260 },       { "le", 0x2264 },
	{ "ge", 0x2265 },      { "asymp", 0x2248 },
};

typedef struct {
	GString *out;
	guint newlines;	    /* line breaks owed before the next text */
	gboolean space;	    /* a space owed before the next text */
} IngestHtmlOut;

static void
ingest_html_text(IngestHtmlOut *o, const char *p, gsize len)
{
	if (o->out->len) {
		if (o->newlines)
			g_string_append(o->out, o->newlines > 1 ? "\n\n" : "\n");
		else if (o->space)
			g_string_append_c(o->out, ' ');
	}
	o->newlines = 0;
	o->space = FALSE;
	g_string_append_len(o->out, p, len);
}

static void
ingest_html_char(IngestHtmlOut *o, gunichar c)
{
	if (c == 0xA0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
		o->space = TRUE;
		return;
	}
	if (c == 0xAD || c == 0x200B || c == 0 || c == 0xFEFF)
		return; /* soft hyphen and invisible characters: nothing to read */
	char buf[6];
	ingest_html_text(o, buf, g_unichar_to_utf8(c, buf));
}

static void
ingest_html_break(IngestHtmlOut *o, guint n)
{
	o->newlines = MAX(o->newlines, n);
	o->space = FALSE;
}

static gunichar
ingest_entity_named(const char *name, gsize len)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ingest_entities); i++)
		if (strlen(ingest_entities[i].name) == len && !memcmp(ingest_entities[i].name, name, len))
			return ingest_entities[i].ch;
	for (gsize i = 0; i < G_N_ELEMENTS(ingest_latin1_entities); i++)
		if (strlen(ingest_latin1_entities[i]) == len && !memcmp(ingest_latin1_entities[i], name, len))
			return 0xA0 + (gunichar)i;
	return 0;
}

static gunichar
ingest_entity_numeric(const char *p, gsize len)
{
	guint64 v = 0;
	gboolean hex = len > 0 && (p[0] == 'x' || p[0] == 'X');
	gsize i = hex ? 1 : 0;
	if (i == len)
		return 0;
	for (; i < len; i++) {
		int d = hex ? g_ascii_xdigit_value(p[i]) : g_ascii_digit_value(p[i]);
		if (d < 0)
			return 0;
		v = v * (hex ? 16 : 10) + (guint)d;
		if (v > 0x10FFFF)
			return 0xFFFD;
	}
	/* Old mail writes Windows-1252 code points as numbers (&#150;). */
	if (v >= 0x80 && v < 0xA0)
		return ingest_cp1252_char((guint8)v);
	if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
		return 0xFFFD;
	return (gunichar)v;
}

/* P is at '&'. Returns the bytes consumed (0: not an entity, keep the '&'). */
static gsize
ingest_html_entity(const char *p, const char *end, gunichar *out)
{
	const char *semi = memchr(p, ';', MIN((gsize)(end - p), 34));
	if (!semi || semi == p + 1)
		return 0;
	const char *name = p + 1;
	gsize len = semi - name;
	*out = name[0] == '#' ? ingest_entity_numeric(name + 1, len - 1) : ingest_entity_named(name, len);
	return *out ? (gsize)(semi + 1 - p) : 0;
}

static gboolean
ingest_tag_is(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!g_ascii_strcasecmp(name, *list))
			return TRUE;
	return FALSE;
}

/* Elements whose content is not text for a reader. */
static gboolean
ingest_tag_is_hidden(const char *name)
{
	static const char *const hidden[] = { "script", "style", "title", "template", "noscript",
					      "xml", "object", "svg", NULL };
	return ingest_tag_is(name, hidden);
}

static guint
ingest_tag_breaks(const char *name)
{
	static const char *const paragraph[] = { "p",	   "h1",	 "h2",	"h3",	"h4",	"h5",
						 "h6",	   "table",	 "ul",	"ol",	"blockquote", "pre",
						 "hr",	   "dl",	 "form", "section", "article", "header",
						 "footer", "address", NULL };
	static const char *const line[] = { "br", "div", "li", "tr", "dt", "dd", "center", "caption",
					    "figcaption", "nav", "main", "aside", "fieldset", "legend", NULL };
	static const char *const cell[] = { "td", "th", NULL };
	if (ingest_tag_is(name, paragraph))
		return 2;
	if (ingest_tag_is(name, line))
		return 1;
	return ingest_tag_is(name, cell) ? 3 : 0;
}

/* P is at '<' and a tag follows: reads the name and returns the position just
 * past the closing '>' (attribute values may hold '>' inside quotes). */
static const char *
ingest_html_tag(const char *p, const char *end, char *name, gsize name_size, gboolean *closing)
{
	p++;
	*closing = p < end && *p == '/';
	if (*closing)
		p++;
	gsize n = 0;
	while (p < end && (g_ascii_isalnum(*p) || *p == '-' || *p == ':')) {
		if (n + 1 < name_size)
			name[n++] = *p;
		p++;
	}
	name[n] = '\0';
	char quote = 0;
	for (; p < end; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '>') {
			return p + 1;
		}
	}
	return end;
}

/* Skips to just past </NAME ...>, or to the end when it never comes. */
static const char *
ingest_html_skip_element(const char *p, const char *end, const char *name)
{
	gsize n = strlen(name);
	for (; p + 2 + n <= end; p++) {
		if (p[0] == '<' && p[1] == '/' && !g_ascii_strncasecmp(p + 2, name, n) &&
		    (p + 2 + n == end || !g_ascii_isalnum(p[2 + n]))) {
			const char *gt = memchr(p, '>', end - p);
			return gt ? gt + 1 : end;
		}
	}
	return end;
}

static const char *
ingest_html_markup(IngestHtmlOut *o, const char *p, const char *end)
{
	if (end - p >= 4 && !memcmp(p, "<!--", 4)) {
		const char *close = g_strstr_len(p + 4, end - p - 4, "-->");
		return close ? close + 3 : end;
	}
	if (p + 1 < end && (p[1] == '!' || p[1] == '?')) {
		const char *gt = memchr(p, '>', end - p);
		return gt ? gt + 1 : end;
	}
	char name[16];
	gboolean closing;
	const char *next = ingest_html_tag(p, end, name, sizeof name, &closing);
	if (!closing && ingest_tag_is_hidden(name) && next[-1] == '>' && next[-2] != '/')
		return ingest_html_skip_element(next, end, name);
	guint breaks = ingest_tag_breaks(name);
	if (breaks == 3)
		o->space = TRUE;
	else if (breaks)
		ingest_html_break(o, breaks);
	return next;
}

static gboolean
ingest_html_is_tag_start(const char *p, const char *end)
{
	if (p + 1 >= end)
		return FALSE;
	char c = p[1];
	return g_ascii_isalpha(c) || c == '/' || c == '!' || c == '?';
}

char *
ingest_html_to_text(const char *html, gsize len)
{
	IngestHtmlOut o = { g_string_sized_new(len / 2 + 16), 0, FALSE };
	const char *p = html, *end = html + len;
	while (p < end) {
		if (*p == '<' && ingest_html_is_tag_start(p, end)) {
			p = ingest_html_markup(&o, p, end);
			continue;
		}
		gunichar c;
		gsize used;
		if (*p == '&' && (used = ingest_html_entity(p, end, &c))) {
			ingest_html_char(&o, c);
			p += used;
			continue;
		}
		const char *next = g_utf8_next_char(p);
		if (next > end)
			next = end;
		c = g_utf8_get_char_validated(p, end - p);
		if (c == (gunichar)-1 || c == (gunichar)-2)
			ingest_html_char(&o, 0xFFFD);
		else
			ingest_html_char(&o, c);
		p = next;
	}
	return g_string_free(o.out, FALSE);
}

char *
ingest_html_sniff_charset(const char *html, gsize len)
{
	if (!html || !len)
		return NULL;
	gsize n = MIN(len, 4096);
	g_autofree char *head = g_ascii_strdown(html, n);
	const char *p = strstr(head, "charset");
	if (!p || !strstr(head, "<meta"))
		return NULL;
	p += 7;
	while (*p == ' ' || *p == '=' || *p == '"' || *p == '\'')
		p++;
	const char *e = p;
	while (g_ascii_isalnum(*e) || *e == '-' || *e == '_' || *e == '.' || *e == ':')
		e++;
	return e > p ? g_strndup(p, e - p) : NULL;
}
