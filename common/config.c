/* bccdrop.conf: a GKeyFile read through one table of known keys, so that a
 * typo in a key is an error naming it instead of a silently ignored line. */
#include "common/common.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

G_DEFINE_QUARK(bccdrop-common-error-quark, common_error)

typedef enum { KEY_STRING, KEY_INT, KEY_BOOL, KEY_SIZE, KEY_LIST, KEY_CHOICE, KEY_CHARS } KeyType;

typedef struct {
	const char *section;
	const char *key;
	KeyType type;
	size_t offset;
	const char *def;     /* default in the same syntax as the file */
	int min, max;        /* KEY_INT range */
	const char *choices; /* KEY_CHOICE: '|'-separated; KEY_CHARS: the allowed characters */
} KeySpec;

#define F(field) offsetof(CommonConfig, field)

static const KeySpec keys[] = {
	{ "store", "database", KEY_STRING, F(database), COMMON_DEFAULT_DATABASE, 0, 0, NULL },
	{ "store", "busy_timeout_ms", KEY_INT, F(busy_timeout_ms), "5000", 0, 600000, NULL },
	{ "store", "synchronous", KEY_CHOICE, F(synchronous), "full", 0, 0, "full|normal" },
	{ "store", "password_file", KEY_STRING, F(password_file), "", 0, 0, NULL },

	{ "assoc", "internal_domains", KEY_LIST, F(internal_domains), "", 0, 0, NULL },
	{ "assoc", "reply_follows_thread", KEY_BOOL, F(reply_follows_thread), "true", 0, 0, NULL },

	{ "milter", "socket", KEY_STRING, F(milter_socket), "unix:/run/bccdrop/milter.sock", 0, 0, NULL },
	{ "milter", "socket_group", KEY_STRING, F(milter_socket_group), "postfix", 0, 0, NULL },
	{ "milter", "user", KEY_STRING, F(milter_user), "bccdrop", 0, 0, NULL },
	{ "milter", "memory_limit", KEY_SIZE, F(milter_memory_limit), "1M", 0, 0, NULL },
	{ "milter", "dropbox_domains", KEY_LIST, F(dropbox_domains), "", 0, 0, NULL },
	{ "milter", "dropbox_anywhere", KEY_BOOL, F(dropbox_anywhere), "false", 0, 0, NULL },
	{ "milter", "owner_proof", KEY_CHOICE, F(owner_proof), "auth-or-dmarc", 0, 0,
	  "auth|auth-or-dmarc|auth-or-sender" },
	{ "milter", "trusted_authserv_id", KEY_STRING, F(trusted_authserv_id), "", 0, 0, NULL },
	{ "milter", "timeout", KEY_INT, F(milter_timeout), "300", 1, 86400, NULL },
	{ "milter", "workers", KEY_INT, F(milter_workers), "4", 1, 256, NULL },

	{ "poll", "user", KEY_STRING, F(poll_user), "bccdrop", 0, 0, NULL },
	{ "poll", "poll_interval", KEY_INT, F(poll_interval), "300", 5, 86400, NULL },
	{ "poll", "key_file", KEY_STRING, F(key_file), "/etc/bccdrop/secret.key", 0, 0, NULL },
	{ "poll", "ca_file", KEY_STRING, F(ca_file), "", 0, 0, NULL },
	{ "poll", "daily_budget", KEY_SIZE, F(daily_budget), "2.5G", 0, 0, NULL },
	{ "poll", "pause_after_inactive_days", KEY_INT, F(pause_after_inactive_days), "150", 0, 36500, NULL },
	{ "poll", "backoff_max", KEY_INT, F(backoff_max), "3600", 1, 86400, NULL },
	{ "poll", "confirmation_email", KEY_BOOL, F(confirmation_email), "true", 0, 0, NULL },
	{ "poll", "confirmation_from", KEY_STRING, F(confirmation_from), "bccdrop@localhost", 0, 0, NULL },
	{ "poll", "sendmail", KEY_STRING, F(sendmail_path), "/usr/sbin/sendmail", 0, 0, NULL },
	{ "poll", "idle_refresh", KEY_INT, F(idle_refresh), "1740", 10, 1740, NULL },
	{ "poll", "memory_limit", KEY_SIZE, F(poll_memory_limit), "1M", 0, 0, NULL },
	{ "poll", "max_mailboxes", KEY_INT, F(poll_max_mailboxes), "0", 0, 1000000, NULL },
	{ "poll", "lease_time", KEY_INT, F(poll_lease_time), "60", 10, 3600, NULL },

	{ "dropbox", "tag_key_file", KEY_STRING, F(dropbox_tag_key_file), "/etc/bccdrop/tag.key", 0, 0, NULL },
	{ "dropbox", "tag_grace_days", KEY_INT, F(dropbox_tag_grace_days), "30", 0, 3650, NULL },
	/* Never '.' or a letter or digit: the per-deal address is split on them. */
	{ "dropbox", "recipient_delimiter", KEY_CHARS, F(dropbox_recipient_delimiter), "+", 0, 0, "+-_=~#%&!" },

	/* 0: keep forever (docs/retention.md). */
	{ "retention", "keep_days", KEY_INT, F(retention_keep_days), "0", 0, 36500, NULL },

	{ "log", "level", KEY_CHOICE, F(log_level), "info", 0, 0, "error|warning|info|debug" },
};

#undef F

static gboolean
config_error(GError **error, const char *file, const KeySpec *k, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static gboolean
config_error(GError **error, const char *file, const KeySpec *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG, "%s: [%s] %s: %s",
		    file ? file : "(defaults)", k->section, k->key, msg);
	return FALSE;
}

static char **
split_list(const char *value)
{
	g_auto(GStrv) parts = g_strsplit_set(value, ",; \t", -1);
	GPtrArray *out = g_ptr_array_new();
	for (char **p = parts; *p; p++) {
		if (!**p)
			continue;
		/* Every list is of domains: compare them in their ASCII (IDNA) form. */
		g_autofree char *ascii = g_hostname_to_ascii(*p);
		g_ptr_array_add(out, g_ascii_strdown(ascii ? ascii : *p, -1));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean
set_value(CommonConfig *c, const KeySpec *k, const char *value, GError **error)
{
	void *field = (char *)c + k->offset;
	switch (k->type) {
	case KEY_STRING:
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return TRUE;
	case KEY_CHOICE: {
		g_auto(GStrv) choices = g_strsplit(k->choices, "|", -1);
		if (!g_strv_contains((const char *const *)choices, value))
			return config_error(error, c->path, k, "'%s' is not one of %s", value, k->choices);
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return TRUE;
	}
	case KEY_INT: {
		char *end = NULL;
		errno = 0;
		long long v = g_ascii_strtoll(value, &end, 10);
		if (errno || end == value || *end)
			return config_error(error, c->path, k, "'%s' is not a whole number", value);
		if (v < k->min || v > k->max)
			return config_error(error, c->path, k, "%lld is outside %d..%d", v, k->min, k->max);
		*(int *)field = (int)v;
		return TRUE;
	}
	case KEY_BOOL:
		if (!g_ascii_strcasecmp(value, "true") || !g_ascii_strcasecmp(value, "yes") || !strcmp(value, "1"))
			*(gboolean *)field = TRUE;
		else if (!g_ascii_strcasecmp(value, "false") || !g_ascii_strcasecmp(value, "no") || !strcmp(value, "0"))
			*(gboolean *)field = FALSE;
		else
			return config_error(error, c->path, k, "'%s' is not true or false", value);
		return TRUE;
	case KEY_SIZE:
		if (!common_parse_size(value, (guint64 *)field))
			return config_error(error, c->path, k, "'%s' is not a size (like 512k, 10M, 2.5G)", value);
		return TRUE;
	case KEY_CHARS:
		if (!*value || value[strspn(value, k->choices)])
			return config_error(error, c->path, k, "'%s' must be one or more of the characters %s", value,
					    k->choices);
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return TRUE;
	case KEY_LIST:
		g_strfreev(*(char ***)field);
		*(char ***)field = split_list(value);
		return TRUE;
	}
	return FALSE;
}

static const KeySpec *
find_key(const char *section, const char *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

CommonConfig *
common_config_defaults(void)
{
	CommonConfig *c = g_new0(CommonConfig, 1);
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autoptr(GError) e = NULL;
		if (!set_value(c, &keys[i], keys[i].def, &e))
			g_error("built-in default invalid: %s", e->message);
	}
	return c;
}

static gboolean
known_section(const char *section)
{
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(keys[i].section, section))
			return TRUE;
	return FALSE;
}

static gboolean
config_apply_file(CommonConfig *c, GKeyFile *kf, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g; g++) {
		g_auto(GStrv) names = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (char **n = names; n && *n; n++) {
			const KeySpec *k = find_key(*g, *n);
			if (!k) {
				g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG,
					    "%s: [%s] %s: unknown key (see docs/configuration.md)", c->path, *g, *n);
				return FALSE;
			}
			g_autofree char *v = g_key_file_get_string(kf, *g, *n, NULL);
			g_strstrip(v);
			if (!set_value(c, k, v, error))
				return FALSE;
		}
		/* A key in an unknown section is an unknown key above; an empty
		 * unknown section is a typo too. */
		if (!known_section(*g)) {
			g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG,
				    "%s: [%s]: unknown section (see docs/configuration.md)", c->path, *g);
			return FALSE;
		}
	}
	return TRUE;
}

CommonConfig *
common_config_load(const char *path, GError **error)
{
	g_autoptr(CommonConfig) c = common_config_defaults();
	if (!path) {
		if (!g_file_test(COMMON_DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&c);
		path = COMMON_DEFAULT_CONFIG;
	}
	c->path = g_strdup(path);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) e = NULL;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG, "%s: %s", path, e->message);
		return NULL;
	}
	if (!config_apply_file(c, kf, error))
		return NULL;
	return g_steal_pointer(&c);
}

void
common_config_free(CommonConfig *c)
{
	if (!c)
		return;
	g_free(c->path);
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		void *field = (char *)c + keys[i].offset;
		if (keys[i].type == KEY_STRING || keys[i].type == KEY_CHOICE || keys[i].type == KEY_CHARS)
			g_free(*(char **)field);
		else if (keys[i].type == KEY_LIST)
			g_strfreev(*(char ***)field);
	}
	g_free(c);
}

char **
common_config_keys(void)
{
	char **out = g_new0(char *, G_N_ELEMENTS(keys) + 1);
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
		out[i] = g_strdup_printf("%s.%s", keys[i].section, keys[i].key);
	return out;
}
