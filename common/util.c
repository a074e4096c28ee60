#include "common/common.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static gboolean log_to_syslog;
static GLogLevelFlags log_threshold = G_LOG_LEVEL_INFO;
static char *log_ident;

static int
syslog_priority(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_FLAG_FATAL))
		return LOG_ERR;
	if (level & G_LOG_LEVEL_CRITICAL)
		return LOG_CRIT;
	if (level & G_LOG_LEVEL_WARNING)
		return LOG_WARNING;
	if (level & G_LOG_LEVEL_MESSAGE)
		return LOG_NOTICE;
	if (level & G_LOG_LEVEL_INFO)
		return LOG_INFO;
	return LOG_DEBUG;
}

static void
log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
	/* GLib levels grow numerically as they get less severe. */
	if ((level & G_LOG_LEVEL_MASK) > log_threshold)
		return;
	if (log_to_syslog) {
		syslog(syslog_priority(level), "%s", message);
		return;
	}
	const char *tag = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? "error"
			  : (level & G_LOG_LEVEL_WARNING)			    ? "warning"
			  : (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))	    ? "info"
										    : "debug";
	fprintf(stderr, "%s: %s: %s\n", log_ident ? log_ident : "bccdrop", tag, message);
}

void
common_log_init(const char *ident, gboolean use_syslog, const char *level)
{
	g_free(log_ident);
	log_ident = g_strdup(ident);
	log_to_syslog = use_syslog;
	if (!level || !strcmp(level, "info"))
		log_threshold = G_LOG_LEVEL_INFO;
	else if (!strcmp(level, "error"))
		log_threshold = G_LOG_LEVEL_CRITICAL;
	else if (!strcmp(level, "warning"))
		log_threshold = G_LOG_LEVEL_WARNING;
	else
		log_threshold = G_LOG_LEVEL_DEBUG;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	g_log_set_default_handler(log_handler, NULL);
}

/* The multiplier of a unit letter ('\0': bytes), 0 when unknown. */
static guint64
size_unit(char c)
{
	switch (g_ascii_tolower(c)) {
	case '\0': return 1;
	case 'k': return G_GUINT64_CONSTANT(1) << 10;
	case 'm': return G_GUINT64_CONSTANT(1) << 20;
	case 'g': return G_GUINT64_CONSTANT(1) << 30;
	case 't': return G_GUINT64_CONSTANT(1) << 40;
	default: return 0;
	}
}

/* Digits only ("inf", "nan", "1e30" and hex floats are not sizes), and the
 * product checked before the conversion: a double beyond 2^64 has no
 * defined integer value. */
gboolean
common_parse_size(const char *text, guint64 *out)
{
	if (!text || !g_ascii_isdigit(*text))
		return FALSE;
	gsize n = strspn(text, "0123456789");
	if (text[n] == '.')
		n += 1 + strspn(text + n + 1, "0123456789");
	g_autofree char *number = g_strndup(text, n);
	const char *end = text + n;
	guint64 mult = size_unit(*end);
	if (!mult)
		return FALSE;
	if (*end)
		end++;
	if (g_ascii_tolower(*end) == 'i' && mult > 1)
		end++;
	if (g_ascii_tolower(*end) == 'b')
		end++;
	double v = g_ascii_strtod(number, NULL) * (double)mult;
	if (*end || !(v < 18446744073709551616.0))
		return FALSE;
	*out = (guint64)v;
	return TRUE;
}

gint64
common_now(void)
{
	const char *fake = g_getenv("BCCDROP_NOW");
	if (fake && *fake)
		return g_ascii_strtoll(fake, NULL, 10);
	return g_get_real_time() / G_USEC_PER_SEC;
}

char *
common_iso8601(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	if (!dt)
		return g_strdup("");
	return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

gboolean
common_parse_iso8601(const char *text, gint64 *out)
{
	if (!text || !*text)
		return FALSE;
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, utc);
	if (!dt) {
		/* A bare date or "YYYY-MM-DD HH:MM[:SS]" as spreadsheets write it. */
		int y, mo, d, h = 0, mi = 0, s = 0;
		char tail;
		int n = sscanf(text, "%4d-%2d-%2d%c", &y, &mo, &d, &tail);
		if (n == 3) {
			dt = g_date_time_new(utc, y, mo, d, 0, 0, 0);
		} else if (sscanf(text, "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail) == 6 ||
			   sscanf(text, "%4d-%2d-%2d %2d:%2d%c", &y, &mo, &d, &h, &mi, &tail) == 5) {
			dt = g_date_time_new(utc, y, mo, d, h, mi, s);
		}
	}
	if (!dt)
		return FALSE;
	*out = g_date_time_to_unix(dt);
	return TRUE;
}

gboolean
common_drop_privileges(const char *user, GError **error)
{
	if (geteuid() != 0)
		return TRUE;
	if (!user || !*user) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG,
			    "running as root and no unprivileged user is configured");
		return FALSE;
	}
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG, "user '%s' does not exist", user);
		return FALSE;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_IO, "cannot become user '%s': %s", user,
			    g_strerror(errno));
		return FALSE;
	}
	if (setuid(0) == 0) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_IO, "root could be regained after dropping to '%s'", user);
		return FALSE;
	}
	return TRUE;
}

gboolean
common_daemonize(const char *pid_file, GError **error)
{
	if (daemon(0, 0) != 0) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_IO, "cannot daemonize: %s", g_strerror(errno));
		return FALSE;
	}
	if (!pid_file || !*pid_file)
		return TRUE;
	g_autofree char *text = g_strdup_printf("%ld\n", (long)getpid());
	g_autoptr(GError) e = NULL;
	if (!g_file_set_contents(pid_file, text, -1, &e)) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_IO, "--pid-file: %s", e->message);
		return FALSE;
	}
	return TRUE;
}

/* ---- text from a message, made safe for where it is printed ---- */

static gboolean
common_is_control(gunichar c)
{
	return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f);
}

char *
common_terminal_safe(const char *text)
{
	g_autofree char *valid = g_utf8_make_valid(text ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid));
	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (common_is_control(c))
			g_string_append_unichar(out, 0xFFFD);
		else
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
	}
	return g_string_free(out, FALSE);
}

void
common_csv_cell(GString *out, const char *value)
{
	const char *v = value ? value : "";
	gboolean formula = *v && strchr("=+-@\t\r", *v);
	if (!formula && !strpbrk(v, ",\"\r\n")) {
		g_string_append(out, v);
		return;
	}
	g_string_append(out, formula ? "\"'" : "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			g_string_append_c(out, '"');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

void
common_json_string(GString *out, const char *value)
{
	g_autofree char *valid = g_utf8_make_valid(value ? value : "", -1);
	g_string_append_c(out, '"');
	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c == '"' || c == '\\')
			g_string_append_printf(out, "\\%c", (char)c);
		else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			g_string_append_printf(out, "\\u%04x", c);
		else
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
	}
	g_string_append_c(out, '"');
}
