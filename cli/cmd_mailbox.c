/* bccdrop mailbox ... (users' IMAP/POP3 mailboxes) and bccdrop export. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "poll/poll.h"

typedef struct {
	char *user, *protocol, *preset, *host, *tls, *username, *password_file, *token_command, *folders, *delete;
	int port;
} MailboxOpts;

static void
mailbox_opts_clear(MailboxOpts *o)
{
	g_free(o->user);
	g_free(o->protocol);
	g_free(o->preset);
	g_free(o->host);
	g_free(o->tls);
	g_free(o->username);
	g_free(o->password_file);
	g_free(o->token_command);
	g_free(o->folders);
	g_free(o->delete);
}

/* Parse "mailbox SUB ..." with its own --help naming both words. */
static gboolean
mailbox_parse(Cli *cli, int argc, char **argv, const GOptionEntry *entries, const char *params, const char *summary,
	      int *out_argc, char ***out_argv)
{
	char **args = g_new0(char *, argc + 1);
	g_autofree char *name = g_strdup_printf("mailbox %s", argv[0]);
	args[0] = name;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	int n = argc;
	char **p = args;
	gboolean ok = cli_parse(cli, &n, &p, entries, params, summary);
	*out_argc = n;
	*out_argv = g_new0(char *, n + 1);
	for (int i = 0; i < n; i++)
		(*out_argv)[i] = p[i] == name ? argv[0] : p[i];
	g_free(args);
	return ok;
}

static gboolean
mailbox_id_arg(int argc, char **argv, gint64 *id)
{
	char *end = NULL;
	if (argc != 2 || (*id = g_ascii_strtoll(argv[1], &end, 10)) <= 0 || *end) {
		cli_error("mailbox %s: expects one mailbox ID (see bccdrop mailbox list)", argv[0]);
		return FALSE;
	}
	return TRUE;
}

static char *
mailbox_read_password(const char *path)
{
	g_autoptr(GError) e = NULL;
	char *text = NULL;
	if (!strcmp(path, "-")) {
		GString *s = g_string_new(NULL);
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
			g_string_append_len(s, buf, (gssize)n);
		text = g_string_free(s, FALSE);
	} else if (!g_file_get_contents(path, &text, NULL, &e)) {
		cli_error("%s", e->message);
		return NULL;
	}
	/* A trailing newline from `echo` or an editor is not part of it. */
	gsize len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (!len) {
		cli_error("%s: the password is empty", path);
		g_free(text);
		return NULL;
	}
	return text;
}

/* The secret from --password-file or --oauth2-token-command, sealed. */
static GBytes *
mailbox_secret(Cli *cli, const MailboxOpts *o, const StoreMailbox *m, gboolean create_key)
{
	if (!!o->password_file == !!o->token_command) {
		cli_error("give exactly one of --password-file and --oauth2-token-command");
		return NULL;
	}
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) key = poll_secret_key_load(cli->config->key_file, create_key, &e);
	if (!key) {
		cli_error("%s", e->message);
		return NULL;
	}
	g_autofree char *plain = o->password_file ? mailbox_read_password(o->password_file) : g_strdup(o->token_command);
	if (!plain)
		return NULL;
	g_autofree char *context = poll_secret_context(m);
	GBytes *sealed = poll_secret_seal(key, plain, context, &e);
	memset(plain, 0, strlen(plain));
	if (!sealed)
		cli_error("%s", e->message);
	return sealed;
}

static gboolean
mailbox_apply_preset(MailboxOpts *o)
{
	const PollPreset *p = o->preset ? poll_preset_find(o->preset) : NULL;
	if (o->preset && !p) {
		cli_error("mailbox add: unknown preset '%s' (gmail, outlook, yahoo, zoho, icloud)", o->preset);
		return FALSE;
	}
	if (!p && !o->host)
		p = poll_preset_for_username(o->username);
	if (!o->protocol)
		o->protocol = g_strdup("imap");
	if (p && !o->host) {
		const char *h = !strcmp(o->protocol, "pop3") ? p->pop3_host : p->imap_host;
		if (!h) {
			cli_error("mailbox add: %s offers no %s access", p->name, o->protocol);
			return FALSE;
		}
		o->host = g_strdup(h);
		if (!o->tls)
			o->tls = g_strdup("implicit");
	}
	if (!o->tls)
		o->tls = g_strdup("implicit");
	if (!o->port)
		o->port = poll_default_port(o->protocol, o->tls);
	return TRUE;
}

static gboolean
mailbox_validate(const MailboxOpts *o)
{
	if (!o->user || !o->username || !o->host) {
		cli_error("mailbox add: --user, --username and --host (or --preset) are required");
		return FALSE;
	}
	if (strcmp(o->protocol, "imap") && strcmp(o->protocol, "pop3")) {
		cli_error("mailbox add: --protocol must be imap or pop3, not '%s'", o->protocol);
		return FALSE;
	}
	if (strcmp(o->tls, "implicit") && strcmp(o->tls, "starttls") && strcmp(o->tls, "none")) {
		cli_error("mailbox add: --tls must be implicit, starttls or none, not '%s'", o->tls);
		return FALSE;
	}
	if (o->port < 1 || o->port > 65535) {
		cli_error("mailbox add: --port %d is not a TCP port", o->port);
		return FALSE;
	}
	const char *d = o->delete ? o->delete : "never";
	gboolean days_ok = g_str_has_prefix(d, "after-days:") && d[11] && strspn(d + 11, "0123456789") == strlen(d + 11);
	if (strcmp(d, "never") && strcmp(d, "after-retrieval") && !days_ok) {
		cli_error("mailbox add: --delete must be never, after-retrieval or after-days:N, not '%s'", d);
		return FALSE;
	}
	if (o->delete && strcmp(d, "never") && strcmp(o->protocol, "pop3")) {
		cli_error("mailbox add: --delete applies to POP3 only (IMAP mail is never changed on the server)");
		return FALSE;
	}
	return TRUE;
}

static int
mailbox_add_run(Cli *cli, MailboxOpts *o, int n, char **args)
{
	if (n != 1) {
		cli_error("mailbox add: unexpected argument '%s'", args[1]);
		return CLI_USAGE;
	}
	if (!o->username) {
		cli_error("mailbox add: --username is required");
		return CLI_USAGE;
	}
	if (!mailbox_apply_preset(o) || !mailbox_validate(o))
		return CLI_USAGE;
	Store *store = cli_store(cli);
	g_autoptr(GError) e = NULL;
	if (!store)
		return CLI_FAILED;
	if (!store_user_activity(store, o->user, NULL, NULL, &e)) {
		cli_error("mailbox add: %s (import the CRM users first)", e->message);
		return CLI_FAILED;
	}
	StoreMailbox m = { .user_id = o->user, .protocol = o->protocol, .host = o->host, .port = o->port,
			   .tls = o->tls, .username = o->username, .auth = o->token_command ? "oauth2" : "password",
			   .folders = o->folders ? o->folders : "INBOX", .delete_policy = o->delete ? o->delete : "never" };
	g_autoptr(GBytes) secret = mailbox_secret(cli, o, &m, TRUE);
	if (!secret)
		return CLI_FAILED;
	m.secret = secret;
	gboolean activated = FALSE;
	if (!store_mailbox_add(store, &m, &activated, &e)) {
		cli_error("mailbox add: %s", e->message);
		return CLI_FAILED;
	}
	printf("mailbox %" G_GINT64_FORMAT " added: %s %s@%s:%d (TLS %s)%s\n", m.id, o->protocol, o->username,
	       o->host, o->port, o->tls,
	       activated ? ", active" : ", inactive (the user already has an active mailbox: bccdrop mailbox activate)");
	if (!strcmp(o->tls, "none"))
		printf("warning: TLS is off: the password crosses the network in clear text\n");
	return CLI_OK;
}

static int
mailbox_add(Cli *cli, int argc, char **argv)
{
	MailboxOpts o = { 0 };
	const GOptionEntry entries[] = {
		{ "user", 0, 0, G_OPTION_ARG_STRING, &o.user, "CRM user id", "ID" },
		{ "protocol", 0, 0, G_OPTION_ARG_STRING, &o.protocol, "imap (default) or pop3", "PROTO" },
		{ "preset", 0, 0, G_OPTION_ARG_STRING, &o.preset, "gmail, outlook, yahoo, zoho or icloud", "NAME" },
		{ "host", 0, 0, G_OPTION_ARG_STRING, &o.host, "Server host name", "HOST" },
		{ "port", 0, 0, G_OPTION_ARG_INT, &o.port, "Port (default by protocol and TLS)", "PORT" },
		{ "tls", 0, 0, G_OPTION_ARG_STRING, &o.tls, "implicit (default), starttls or none", "MODE" },
		{ "username", 0, 0, G_OPTION_ARG_STRING, &o.username, "Login name", "U" },
		{ "password-file", 0, 0, G_OPTION_ARG_FILENAME, &o.password_file, "File holding the password (- stdin)",
		  "F" },
		{ "oauth2-token-command", 0, 0, G_OPTION_ARG_STRING, &o.token_command,
		  "Command printing an OAuth2 access token", "CMD" },
		{ "folders", 0, 0, G_OPTION_ARG_STRING, &o.folders, "IMAP folders (default INBOX)", "A,B" },
		{ "delete", 0, 0, G_OPTION_ARG_STRING, &o.delete, "POP3: never, after-retrieval, after-days:N", "POLICY" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	int n;
	g_autofree char **args = NULL;
	int rc = CLI_USAGE;
	if (mailbox_parse(cli, argc, argv, entries, "", "Configure a user's mailbox.", &n, &args))
		rc = mailbox_add_run(cli, &o, n, args);
	mailbox_opts_clear(&o);
	return rc;
}

static char *
mailbox_status_text(const StoreMailboxSync *st)
{
	if (!g_strcmp0(st->status, "in_progress"))
		return g_strdup_printf("in_progress (%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ")", st->done, st->total);
	if (st->reason && *st->reason)
		return g_strdup_printf("%s: %s", st->status, st->reason);
	if (!g_strcmp0(st->status, "completed"))
		return g_strdup_printf("completed (%" G_GINT64_FORMAT " new in the last pass)", st->done);
	return g_strdup(st->status);
}

static int
mailbox_list(Cli *cli, int argc, char **argv)
{
	g_autofree char *user = NULL;
	const GOptionEntry entries[] = {
		{ "user", 0, 0, G_OPTION_ARG_STRING, &user, "Only this CRM user's mailboxes", "ID" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	int n;
	g_autofree char **args = NULL;
	if (!mailbox_parse(cli, argc, argv, entries, "", "List mailboxes and their sync status.", &n, &args))
		return CLI_USAGE;
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) list = store_mailbox_list(store, user, FALSE, &e);
	if (!list) {
		cli_error("%s", e->message);
		return CLI_FAILED;
	}
	printf("%-4s %-12s %-5s %-32s %-9s %-24s %-6s %s\n", "ID", "USER", "PROTO", "SERVER", "TLS", "USERNAME",
	       "ACTIVE", "STATUS");
	for (guint i = 0; i < list->len; i++) {
		StoreMailbox *m = g_ptr_array_index(list, i);
		StoreMailboxSync st = { 0 };
		if (!store_mailbox_sync_get(store, m->id, &st, &e)) {
			cli_error("%s", e->message);
			return CLI_FAILED;
		}
		g_autofree char *server = g_strdup_printf("%s:%d", m->host, m->port);
		g_autofree char *status = mailbox_status_text(&st);
		printf("%-4" G_GINT64_FORMAT " %-12s %-5s %-32s %-9s %-24s %-6s %s\n", m->id, m->user_id, m->protocol,
		       server, m->tls, m->username, m->active ? "yes" : "no", status);
		store_mailbox_sync_clear(&st);
	}
	return CLI_OK;
}

static void
mailbox_print_time(const char *label, gint64 t)
{
	g_autofree char *s = t ? common_iso8601(t) : g_strdup("-");
	printf("%-22s %s\n", label, s);
}

static int
mailbox_show(Cli *cli, int argc, char **argv)
{
	int n;
	g_autofree char **args = NULL;
	gint64 id;
	if (!mailbox_parse(cli, argc, argv, NULL, "ID", "A mailbox's configuration and status.", &n, &args) ||
	    !mailbox_id_arg(n, args, &id))
		return CLI_USAGE;
	Store *store = cli_store(cli);
	g_autoptr(GError) e = NULL;
	g_autoptr(StoreMailbox) m = store ? store_mailbox_get(store, id, &e) : NULL;
	StoreMailboxSync st = { 0 };
	if (!m || !store_mailbox_sync_get(store, id, &st, &e)) {
		if (e)
			cli_error("%s", e->message);
		return CLI_FAILED;
	}
	g_autofree char *status = mailbox_status_text(&st);
	printf("%-22s %" G_GINT64_FORMAT "\n%-22s %s\n%-22s %s\n%-22s %s:%d\n%-22s %s\n%-22s %s\n%-22s %s\n"
	       "%-22s %s\n%-22s %s\n%-22s %s\n%-22s %s\n",
	       "id", m->id, "user", m->user_id, "protocol", m->protocol, "server", m->host, m->port, "tls", m->tls,
	       "username", m->username, "auth", !strcmp(m->auth, "oauth2") ? "oauth2 (token command, encrypted)"
										: "password (encrypted)",
	       "folders", m->folders, "delete", m->delete_policy, "active", m->active ? "yes" : "no", "status",
	       status);
	printf("%-22s %d\n", "consecutive failures", st.failures);
	mailbox_print_time("next attempt", st.next_attempt_at);
	mailbox_print_time("last sync", st.last_sync_at);
	mailbox_print_time("first sync completed", st.first_sync_completed_at);
	mailbox_print_time("confirmation sent", st.confirmation_sent_at);
	printf("%-22s %s\n", "configured", m->config_changed_at);
	store_mailbox_sync_clear(&st);
	return CLI_OK;
}

typedef gboolean (*MailboxIdFunc)(Store *store, gint64 id, GError **error);

static int
mailbox_simple(Cli *cli, int argc, char **argv, MailboxIdFunc func, const char *summary, const char *done)
{
	int n;
	g_autofree char **args = NULL;
	gint64 id;
	if (!mailbox_parse(cli, argc, argv, NULL, "ID", summary, &n, &args) || !mailbox_id_arg(n, args, &id))
		return CLI_USAGE;
	Store *store = cli_store(cli);
	g_autoptr(GError) e = NULL;
	if (!store)
		return CLI_FAILED;
	if (!func(store, id, &e)) {
		cli_error("mailbox %s %" G_GINT64_FORMAT ": %s", argv[0], id, e->message);
		return CLI_FAILED;
	}
	printf("mailbox %" G_GINT64_FORMAT " %s\n", id, done);
	return CLI_OK;
}

static int
mailbox_set_password_run(Cli *cli, MailboxOpts *o, gint64 id)
{
	Store *store = cli_store(cli);
	g_autoptr(GError) e = NULL;
	g_autoptr(StoreMailbox) m = store ? store_mailbox_get(store, id, &e) : NULL;
	if (!m) {
		if (e)
			cli_error("%s", e->message);
		return CLI_FAILED;
	}
	if ((o->token_command != NULL) != !strcmp(m->auth, "oauth2")) {
		cli_error("mailbox %" G_GINT64_FORMAT " uses %s: give --%s", id, m->auth,
			  !strcmp(m->auth, "oauth2") ? "oauth2-token-command" : "password-file");
		return CLI_USAGE;
	}
	g_autoptr(GBytes) secret = mailbox_secret(cli, o, m, FALSE);
	if (!secret)
		return CLI_FAILED;
	if (!store_mailbox_set_secret(store, id, secret, &e)) {
		cli_error("%s", e->message);
		return CLI_FAILED;
	}
	printf("mailbox %" G_GINT64_FORMAT ": secret replaced; its status is pending again\n", id);
	return CLI_OK;
}

static int
mailbox_set_password(Cli *cli, int argc, char **argv)
{
	MailboxOpts o = { 0 };
	const GOptionEntry entries[] = {
		{ "password-file", 0, 0, G_OPTION_ARG_FILENAME, &o.password_file, "File holding the password (- stdin)",
		  "F" },
		{ "oauth2-token-command", 0, 0, G_OPTION_ARG_STRING, &o.token_command,
		  "Command printing an OAuth2 access token", "CMD" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	int n, rc = CLI_USAGE;
	g_autofree char **args = NULL;
	gint64 id;
	if (mailbox_parse(cli, argc, argv, entries, "ID", "Replace a mailbox's password or token command.", &n,
			  &args) &&
	    mailbox_id_arg(n, args, &id))
		rc = mailbox_set_password_run(cli, &o, id);
	mailbox_opts_clear(&o);
	return rc;
}

static int
mailbox_test(Cli *cli, int argc, char **argv)
{
	int n;
	g_autofree char **args = NULL;
	gint64 id;
	if (!mailbox_parse(cli, argc, argv, NULL, "ID", "Connect, log in and list folders; say what fails.", &n,
			   &args) ||
	    !mailbox_id_arg(n, args, &id))
		return CLI_USAGE;
	Store *store = cli_store(cli);
	g_autoptr(GError) e = NULL;
	g_autoptr(StoreMailbox) m = store ? store_mailbox_get(store, id, &e) : NULL;
	g_autoptr(GBytes) key = m ? poll_secret_key_load(cli->config->key_file, FALSE, &e) : NULL;
	if (!key) {
		if (e)
			cli_error("%s", e->message);
		return CLI_FAILED;
	}
	g_autoptr(GString) report = g_string_new(NULL);
	gboolean ok = poll_mailbox_test(cli->config, m, key, report, &e);
	fputs(report->str, stdout);
	if (!ok) {
		static const char *const what[] = { "name resolution", "connection", "timeout", "TLS",
						    "authentication", "protocol", "secret", "configuration" };
		const char *kind = e->domain == POLL_ERROR && (guint)e->code < G_N_ELEMENTS(what) ? what[e->code]
												   : "error";
		printf("FAILED (%s): %s\n", kind, e->message);
		return CLI_FAILED;
	}
	printf("OK\n");
	return CLI_OK;
}

int
cli_cmd_mailbox(Cli *cli, int argc, char **argv)
{
	static const char usage[] =
		"usage: bccdrop mailbox add|list|show|activate|deactivate|remove|set-password|test [OPTIONS]\n"
		"'bccdrop mailbox SUBCOMMAND --help' describes each one.\n";
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	if (!strcmp(sub, "add"))
		return mailbox_add(cli, argc, argv);
	if (!strcmp(sub, "list"))
		return mailbox_list(cli, argc, argv);
	if (!strcmp(sub, "show"))
		return mailbox_show(cli, argc, argv);
	if (!strcmp(sub, "activate"))
		return mailbox_simple(cli, argc, argv, store_mailbox_activate,
				      "Make this the user's active mailbox (the others are deactivated).",
				      "activated (the user's other mailboxes are inactive)");
	if (!strcmp(sub, "deactivate"))
		return mailbox_simple(cli, argc, argv, store_mailbox_deactivate, "Stop syncing a mailbox.",
				      "deactivated");
	if (!strcmp(sub, "remove"))
		return mailbox_simple(cli, argc, argv, store_mailbox_remove,
				      "Remove a mailbox's configuration (stored mail stays).", "removed");
	if (!strcmp(sub, "set-password"))
		return mailbox_set_password(cli, argc, argv);
	if (!strcmp(sub, "test"))
		return mailbox_test(cli, argc, argv);
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	cli_error("mailbox: unknown subcommand '%s'", sub);
	fputs(usage, stderr);
	return CLI_USAGE;
}

/* ---- export ---- */

static gboolean
export_one(GBytes *raw, const char *sender, gint64 date, gpointer user_data, GError **error)
{
	GString *buf = user_data;
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(raw, &len);
	g_string_truncate(buf, 0);
	ingest_mboxrd_append(buf, sender, date, data, len);
	if (fwrite(buf->str, 1, buf->len, stdout) != buf->len) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "writing the mbox: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

int
cli_cmd_export(Cli *cli, int argc, char **argv)
{
	g_autofree char *user = NULL, *since = NULL;
	const GOptionEntry entries[] = {
		{ "user", 0, 0, G_OPTION_ARG_STRING, &user, "CRM user id (required)", "ID" },
		{ "since", 0, 0, G_OPTION_ARG_STRING, &since, "Only mail received on or after DATE (ISO 8601)", "DATE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "> FILE.mbox",
		       "Every stored message of a user (dropbox and mailboxes) as mboxrd on stdout."))
		return CLI_USAGE;
	if (!user || argc != 1) {
		cli_error("export: --user ID is required, and nothing else (see --help)");
		return CLI_USAGE;
	}
	gint64 since_t = 0;
	if (since && !common_parse_iso8601(since, &since_t)) {
		cli_error("export: --since '%s' is not an ISO 8601 date", since);
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) e = NULL;
	g_autoptr(GString) buf = g_string_new(NULL);
	if (!store_export_user(store, user, since_t, export_one, buf, &e) || fflush(stdout) != 0) {
		cli_error("export: %s", e ? e->message : g_strerror(errno));
		return CLI_FAILED;
	}
	return CLI_OK;
}
