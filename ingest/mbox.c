/* mbox: reading mboxo/mboxrd files and writing mboxrd.
 *
 * A separator is a line "From SENDER DATE" where DATE looks like asctime()
 * ("Tue Mar  5 10:00:00 2024"). Requiring the date, not only "From ", keeps
 * an unquoted "From time to time" in a body (mboxo writers that forgot to
 * quote, or none at all) from splitting a message in two. */
#include "ingest/internal.h"

#include <string.h>

static const char *const ingest_wdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const ingest_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

gboolean
ingest_is_mbox(const guint8 *data, gsize len)
{
	return data && len >= 5 && !memcmp(data, "From ", 5);
}

static gboolean
ingest_word_in(const guint8 *p, const char *const *words, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (!memcmp(p, words[i], 3))
			return TRUE;
	return FALSE;
}

static gsize
ingest_skip(const guint8 *p, gsize i, gsize n, gboolean (*pred)(gchar))
{
	while (i < n && pred((gchar)p[i]))
		i++;
	return i;
}

static gboolean
ingest_is_sp(gchar c)
{
	return c == ' ';
}

static gboolean
ingest_is_digit(gchar c)
{
	return g_ascii_isdigit(c);
}

/* "Www Mmm dd hh:mm" at I, then a four-digit year somewhere after. */
static gboolean
ingest_mbox_date_at(const guint8 *p, gsize i, gsize n)
{
	if (i + 16 > n || !ingest_word_in(p + i, ingest_wdays, 7) || p[i + 3] != ' ')
		return FALSE;
	i = ingest_skip(p, i + 3, n, ingest_is_sp);
	if (i + 3 > n || !ingest_word_in(p + i, ingest_months, 12))
		return FALSE;
	i = ingest_skip(p, i + 3, n, ingest_is_sp);
	gsize d = ingest_skip(p, i, n, ingest_is_digit);
	if (d == i || d - i > 2)
		return FALSE;
	i = ingest_skip(p, d, n, ingest_is_sp);
	gsize h = ingest_skip(p, i, n, ingest_is_digit);
	if (h == i || h - i > 2 || h + 3 > n || p[h] != ':' || !g_ascii_isdigit(p[h + 1]) ||
	    !g_ascii_isdigit(p[h + 2]))
		return FALSE;
	for (i = h + 3; i + 4 <= n; i++)
		if (g_ascii_isdigit(p[i]) && g_ascii_isdigit(p[i + 1]) && g_ascii_isdigit(p[i + 2]) &&
		    g_ascii_isdigit(p[i + 3]))
			return TRUE;
	return FALSE;
}

static gboolean
ingest_mbox_is_from_line(const guint8 *p, gsize n)
{
	if (n < 5 || memcmp(p, "From ", 5))
		return FALSE;
	for (gsize i = 5; i < n; i++)
		if (p[i - 1] == ' ' && ingest_mbox_date_at(p, i, n))
			return TRUE;
	return FALSE;
}

static gsize
ingest_next_line(const guint8 *data, gsize len, gsize pos)
{
	const guint8 *nl = memchr(data + pos, '\n', len - pos);
	return nl ? (gsize)(nl - data) + 1 : len;
}

/* Start of the next separator line at or after POS, or LEN. */
static gsize
ingest_mbox_next_separator(const guint8 *data, gsize len, gsize pos)
{
	while (pos < len) {
		gsize next = ingest_next_line(data, len, pos);
		gsize n = next - pos;
		if (data[pos] == 'F' && ingest_mbox_is_from_line(data + pos, n))
			return pos;
		pos = next;
	}
	return len;
}

/* mboxrd quoting: a line ">...>From " lost one '>' when it was written. */
static gboolean
ingest_mbox_quoted_at(const guint8 *p, gsize n)
{
	gsize i = 0;
	while (i < n && p[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && !memcmp(p + i, "From ", 5);
}

static GByteArray *
ingest_mbox_unquote(const guint8 *data, gsize len)
{
	GByteArray *out = NULL;
	gsize pos = 0;
	while (pos < len) {
		gsize next = ingest_next_line(data, len, pos);
		gboolean quoted = ingest_mbox_quoted_at(data + pos, next - pos);
		if (quoted && !out) {
			out = g_byte_array_sized_new((guint)len);
			g_byte_array_append(out, data, (guint)pos);
		}
		if (out)
			g_byte_array_append(out, data + pos + (quoted ? 1 : 0), (guint)(next - pos - (quoted ? 1 : 0)));
		pos = next;
	}
	return out;
}

/* The writer's separator: the blank line after each message. */
static gsize
ingest_mbox_trim(const guint8 *data, gsize len)
{
	if (len >= 2 && data[len - 1] == '\n' && data[len - 2] == '\n')
		return len - 1;
	if (len >= 4 && !memcmp(data + len - 4, "\r\n\r\n", 4))
		return len - 2;
	return len;
}

static gboolean
ingest_mbox_entry(const guint8 *data, gsize len, guint index, IngestMboxFunc func, gpointer user_data,
		  GError **error)
{
	if (!ingest_check_array_size(len, "an mbox message", error))
		return FALSE;
	g_autoptr(GByteArray) unquoted = ingest_mbox_unquote(data, len);
	if (unquoted)
		return func(unquoted->data, unquoted->len, index, user_data, error);
	return func(data, len, index, user_data, error);
}

gboolean
ingest_mbox_foreach(const guint8 *data, gsize len, IngestMboxFunc func, gpointer user_data, GError **error)
{
	if (!ingest_is_mbox(data, len))
		return func(data, len, 1, user_data, error);
	guint index = 0;
	gsize pos = 0;
	while (pos < len) {
		gsize start = ingest_next_line(data, len, pos); /* past the From_ line */
		gsize sep = ingest_mbox_next_separator(data, len, start);
		gsize end = start + ingest_mbox_trim(data + start, sep - start);
		if (end > start && !ingest_mbox_entry(data + start, end - start, ++index, func, user_data, error))
			return FALSE;
		pos = sep;
	}
	if (index == 0) {
		g_set_error_literal(error, INGEST_ERROR, INGEST_ERROR_MBOX, "the mbox holds no message");
		return FALSE;
	}
	return TRUE;
}

/* ---- writing ------------------------------------------------------------------ */

/* The envelope sender is one word on the From_ line. */
static char *
ingest_mbox_sender(const char *sender)
{
	if (!sender || !*sender)
		return g_strdup("MAILER-DAEMON");
	char *s = g_strdup(sender);
	for (char *p = s; *p; p++)
		if ((guint8)*p <= ' ' || *p == 0x7f)
			*p = '_';
	return s;
}

/* asctime() format in UTC, with English names whatever the locale. */
static void
ingest_mbox_append_date(GString *out, gint64 date)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(date);
	if (!dt)
		dt = g_date_time_new_from_unix_utc(0);
	g_string_append_printf(out, "%s %s %2d %02d:%02d:%02d %d", ingest_wdays[g_date_time_get_day_of_week(dt) - 1],
			       ingest_months[g_date_time_get_month(dt) - 1], g_date_time_get_day_of_month(dt),
			       g_date_time_get_hour(dt), g_date_time_get_minute(dt), g_date_time_get_second(dt),
			       g_date_time_get_year(dt));
}

void
ingest_mboxrd_append(GString *out, const char *sender, gint64 date, const guint8 *raw, gsize len)
{
	g_autofree char *who = ingest_mbox_sender(sender);
	g_string_append_printf(out, "From %s ", who);
	ingest_mbox_append_date(out, date);
	g_string_append_c(out, '\n');
	gsize pos = 0;
	while (pos < len) {
		gsize next = ingest_next_line(raw, len, pos);
		gsize i = pos;
		while (i < next && raw[i] == '>')
			i++;
		if (next - i >= 5 && !memcmp(raw + i, "From ", 5))
			g_string_append_c(out, '>');
		g_string_append_len(out, (const char *)raw + pos, (gssize)(next - pos));
		pos = next;
	}
	if (len == 0 || raw[len - 1] != '\n')
		g_string_append_c(out, '\n');
	g_string_append_c(out, '\n');
}
