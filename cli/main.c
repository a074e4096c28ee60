/* bccdrop COMMAND [OPTIONS]: dispatch, common options, shared helpers. */
#include "cli/cli.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	const char *name;
	CliCommandFunc func;
	const char *summary;
} CliCommand;

static const CliCommand commands[] = {
	{ "init", cli_cmd_init, "create or migrate the database" },
	{ "ingest", cli_cmd_ingest, "store messages or mbox files" },
	{ "show", cli_cmd_show, "print a stored message's parsed fields" },
	{ "import", cli_cmd_import, "import CRM users, stages, contacts or deals from CSV" },
	{ "explain", cli_cmd_explain, "why a message is linked where it is" },
	{ "reassociate", cli_cmd_reassociate, "run the association rule again" },
	{ "history", cli_cmd_history, "every change of a message's links" },
	{ "report", cli_cmd_report, "captured mail as a table, CSV or JSON" },
	{ "mailbox", cli_cmd_mailbox, "configure users' IMAP/POP3 mailboxes" },
	{ "export", cli_cmd_export, "a user's stored mail as mboxrd" },
	{ "dropbox-address", cli_cmd_dealtag, "signed per-deal dropbox addresses; rotate-key" },
};

void
cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "bccdrop: %s\n", msg);
}

gboolean
cli_is_tty(void)
{
	return isatty(STDERR_FILENO) && isatty(STDOUT_FILENO);
}

gboolean
cli_parse(Cli *cli, int *argc, char ***argv, const GOptionEntry *entries, const char *params, const char *summary)
{
	const GOptionEntry common[] = {
		{ "db", 0, 0, G_OPTION_ARG_FILENAME, &cli->db_path, "Database file (default: [store] database)", "PATH" },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &cli->config_path,
		  "Configuration file (default " COMMON_DEFAULT_CONFIG ")", "FILE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	/* GOptionContext already prints argv[0] (the command name) first. */
	g_autoptr(GOptionContext) ctx = g_option_context_new(params ? params : "");
	g_option_context_set_summary(ctx, summary);
	if (entries)
		g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_add_main_entries(ctx, common, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		cli_error("%s: %s (see --help)", (*argv)[0], error->message);
		return FALSE;
	}
	common_config_free(cli->config);
	cli->config = common_config_load(cli->config_path, &error);
	if (!cli->config) {
		cli_error("%s", error->message);
		return FALSE;
	}
	if (!cli->db_path)
		cli->db_path = g_strdup(cli->config->database);
	return TRUE;
}

Store *
cli_store(Cli *cli)
{
	if (cli->store)
		return cli->store;
	StoreOptions o = { cli->config->busy_timeout_ms, !strcmp(cli->config->synchronous, "full"), FALSE };
	g_autoptr(GError) error = NULL;
	cli->store = store_open(cli->db_path, &o, &error);
	if (!cli->store)
		cli_error("%s", error->message);
	return cli->store;
}

gboolean
cli_message_arg(Cli *cli, const char *arg, gint64 *message)
{
	Store *store = cli_store(cli);
	if (!store)
		return FALSE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) ids = store_find_message_id(store, arg, &error);
	if (!ids) {
		cli_error("%s", error->message);
		return FALSE;
	}
	if (ids->len == 0) {
		cli_error("no stored message has Message-ID %s", arg);
		return FALSE;
	}
	if (ids->len > 1)
		fprintf(stderr, "bccdrop: note: %u different messages share Message-ID %s; showing the newest\n",
			ids->len, arg);
	*message = g_array_index(ids, gint64, ids->len - 1);
	return TRUE;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: bccdrop COMMAND [--db PATH] [-c CONFIG] [OPTIONS] [ARGS]\n\ncommands:\n");
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'bccdrop COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	const CliCommand *cmd = NULL;
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		cli_error("unknown command '%s'", argv[1]);
		usage(stderr);
		return CLI_USAGE;
	}
	common_log_init("bccdrop", FALSE, g_getenv("BCCDROP_LOG_LEVEL") ? g_getenv("BCCDROP_LOG_LEVEL") : "warning");
	capture_init();
	Cli cli = { 0 };
	int rc = cmd->func(&cli, argc - 1, argv + 1);
	store_close(cli.store);
	common_config_free(cli.config);
	g_free(cli.db_path);
	g_free(cli.config_path);
	capture_shutdown();
	return rc;
}
