/* common: configuration and logging shared by every bccdrop program.
 *
 * It sits below every other module: it knows nothing of mail or SQL. */
#ifndef BCCDROP_COMMON_H
#define BCCDROP_COMMON_H

#include <glib.h>

#define COMMON_DEFAULT_CONFIG   "/etc/bccdrop/bccdrop.conf"
#define COMMON_DEFAULT_DATABASE "/var/lib/bccdrop/bccdrop.db"

#define COMMON_ERROR (common_error_quark())
GQuark common_error_quark(void);
typedef enum {
	COMMON_ERROR_CONFIG, /* a key is unknown or its value is invalid */
	COMMON_ERROR_IO,
} CommonError;

/* Every key of bccdrop.conf; docs/configuration.md documents each one. */
typedef struct {
	char *path; /* the file read, or NULL when running on defaults */

	/* [store] */
	char *database;
	int busy_timeout_ms;
	char *synchronous; /* "full" or "normal" */
	char *password_file; /* PostgreSQL password ("": ~/.pgpass or passfile=) */

	/* [assoc] */
	char **internal_domains; /* lower-case, ASCII (IDNA) */
	gboolean reply_follows_thread;

	/* [milter] */
	char *milter_socket;
	char *milter_socket_group;
	char *milter_user;
	guint64 milter_memory_limit; /* bytes of body kept in memory per message */
	char **dropbox_domains;
	char *owner_proof; /* auth, auth-or-dmarc, auth-or-sender */
	gboolean dropbox_anywhere;
	char *trusted_authserv_id;
	int milter_timeout;
	int milter_workers;

	/* [poll] */
	char *poll_user;
	int poll_interval;
	char *key_file;
	char *ca_file;
	guint64 daily_budget;
	int pause_after_inactive_days;
	int backoff_max;
	gboolean confirmation_email;
	char *confirmation_from;
	char *sendmail_path;
	int idle_refresh;
	guint64 poll_memory_limit;
	int poll_max_mailboxes; /* mailboxes one process leases at most; 0: no cap */
	int poll_lease_time;	/* seconds a lease lasts unless renewed */

	/* [dropbox] (signed per-deal addresses, assoc/dealtag.c) */
	char *dropbox_tag_key_file;
	int dropbox_tag_grace_days;
	char *dropbox_recipient_delimiter; /* one or more characters, like Postfix's */

	/* [retention] (docs/retention.md) */
	int retention_keep_days; /* 0: keep forever */

	/* [log] */
	char *log_level; /* error, warning, info, debug */
} CommonConfig;

/* Load PATH (NULL: the default path if it exists, else embedded defaults).
 * Unknown sections/keys and invalid values are errors that name the key. */
CommonConfig *common_config_load(const char *path, GError **error);
CommonConfig *common_config_defaults(void);
void common_config_free(CommonConfig *config);
/* Every known key as "section.key", NULL-terminated (for docs checks and --help). */
char **common_config_keys(void);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CommonConfig, common_config_free)

/* Logging: stderr in the foreground, syslog (facility mail) when daemonized.
 * Everything logs through GLib (g_message, g_warning, ...). */
void common_log_init(const char *ident, gboolean use_syslog, const char *level);

/* Parse "10M", "2.5G", "512k", "123" into bytes. */
gboolean common_parse_size(const char *text, guint64 *out);

/* Current wall-clock time as Unix seconds (overridable for tests through
 * BCCDROP_NOW=<unix seconds>). */
gint64 common_now(void);

/* Format Unix seconds as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" (newly allocated). */
char *common_iso8601(gint64 unix_seconds);
/* Parse ISO 8601 (date, or date-time with optional zone) to Unix seconds. */
gboolean common_parse_iso8601(const char *text, gint64 *out);

/* Detach into the background (daemon(3)) and, when PID_FILE is set, write
 * the background process's PID there. Callers open no database before it:
 * an SQLite connection must never cross a fork. */
gboolean common_daemonize(const char *pid_file, GError **error);

/* Drop root to USER (and its primary group); no-op when not root. */
gboolean common_drop_privileges(const char *user, GError **error);

/* ---- text from a message, made safe for where it is printed ----
 * Mail is written by strangers: none of its bytes may drive a terminal or
 * a spreadsheet. */
/* TEXT as valid UTF-8 in which every C0 control but TAB and LF, DEL and
 * every C1 control is U+FFFD (newly allocated). */
char *common_terminal_safe(const char *text);
/* Append VALUE as one CSV cell (RFC 4180 quoting); a value starting with
 * = + - @ TAB or CR gets a leading ' so that no spreadsheet runs it. */
void common_csv_cell(GString *out, const char *value);
/* Append VALUE as a JSON string; C0, DEL and C1 controls as \uXXXX. */
void common_json_string(GString *out, const char *value);
/* ---- end of safe text ---- */

#endif
