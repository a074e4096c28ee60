/* bccdrop [--db PATH] [-c CONFIG] COMMAND [OPTIONS]: dispatch, common
 * options, shared helpers. */
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
	{ "retention", cli_cmd_retention, "delete mail older than [retention] keep_days, except held" },
	{ "hold", cli_cmd_hold, "legal holds on mail: add, list, release" },
	{ "search", cli_cmd_search, "find captured mail by its words" },
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

/* A value given after the command replaces one given before it. */
static void
cli_take(char **field, char **value)
{
	if (!*value)
		return;
	g_free(*field);
	*field = g_steal_pointer(value);
}

/* One line naming what to do: an error from GKeyFile alone ("No such file")
 * leaves a new admin guessing. */
static gboolean
cli_load_config(Cli *cli)
{
	g_autoptr(GError) error = NULL;
	if (cli->config_path && !g_file_test(cli->config_path, G_FILE_TEST_EXISTS)) {
		cli_error("configuration file %s does not exist (the bccdrop package installs %s; from source: make "
			  "install)", cli->config_path, COMMON_DEFAULT_CONFIG);
		cli->status = CLI_CONFIG;
		return FALSE;
	}
	common_config_free(cli->config);
	cli->config = common_config_load(cli->config_path, &error);
	if (!cli->config) {
		cli_error("%s", error->message);
		cli->status = CLI_CONFIG;
		return FALSE;
	}
	return TRUE;
}

gboolean
cli_parse(Cli *cli, int *argc, char ***argv, const GOptionEntry *entries, const char *params, const char *summary)
{
	g_autofree char *db = NULL, *config = NULL;
	const GOptionEntry common[] = {
		{ "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Database file (default: [store] database)", "PATH" },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
		  "Configuration file (default " COMMON_DEFAULT_CONFIG ")", "FILE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	/* --help prints the program name first: make it the command's name
	 * (the options before the command already set it to "bccdrop"). */
	g_set_prgname((*argv)[0]);
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
	cli_take(&cli->db_path, &db);
	cli_take(&cli->config_path, &config);
	if (!cli_load_config(cli))
		return FALSE;
	if (!cli->db_path)
		cli->db_path = g_strdup(cli->config->database);
	return TRUE;
}

Store *
cli_store(Cli *cli)
{
	if (cli->store)
		return cli->store;
	StoreOptions o = capture_store_options(cli->config, FALSE);
	g_autoptr(GError) error = NULL;
	cli->store = store_open(cli->db_path, &o, &error);
	if (!cli->store) {
		cli_error("%s", error->message);
		if (g_error_matches(error, STORE_ERROR, STORE_ERROR_BUSY))
			cli->status = CLI_TEMPFAIL;
	}
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

static const CliCommand *
cli_find_command(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: bccdrop [--db PATH] [-c CONFIG] COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'bccdrop help COMMAND' describes a command; bccdrop(1) has them all.\n");
}

/* The options before the command. Strict POSIX: parsing stops at the
 * command name, so the command's own options are left for it. */
static gboolean
cli_parse_global(Cli *cli, int *argc, char ***argv, GError **error)
{
	gboolean version = FALSE, help = FALSE;
	const GOptionEntry entries[] = {
		{ "db", 0, 0, G_OPTION_ARG_FILENAME, &cli->db_path, NULL, NULL },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &cli->config_path, NULL, NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_set_strict_posix(ctx, TRUE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, error))
		return FALSE;
	if (version)
		printf("bccdrop %s\n", BCCDROP_VERSION);
	else if (help)
		usage(stdout);
	return !version && !help;
}

/* "help" alone is the command list; "help COMMAND" is COMMAND --help. */
static int
cli_help(Cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return CLI_OK;
	}
	const CliCommand *cmd = cli_find_command(argv[1]);
	if (!cmd) {
		cli_error("help: unknown command '%s'", argv[1]);
		usage(stderr);
		return CLI_USAGE;
	}
	char *args[] = { argv[1], (char *)"--help", NULL };
	return cmd->func(cli, 2, args);
}

static int
cli_run(Cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "help"))
		return cli_help(cli, argc - 1, argv + 1);
	const CliCommand *cmd = cli_find_command(argv[1]);
	if (!cmd) {
		cli_error("unknown command '%s' (bccdrop help lists them)", argv[1]);
		return CLI_USAGE;
	}
	common_log_init("bccdrop", FALSE, g_getenv("BCCDROP_LOG_LEVEL") ? g_getenv("BCCDROP_LOG_LEVEL") : "warning");
	capture_init();
	int rc = cmd->func(cli, argc - 1, argv + 1);
	capture_shutdown();
	return rc != CLI_OK && cli->status ? cli->status : rc;
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	Cli cli = { 0 };
	g_autoptr(GError) error = NULL;
	int rc = CLI_OK;
	if (cli_parse_global(&cli, &argc, &argv, &error))
		rc = cli_run(&cli, argc, argv);
	else if (error) {
		cli_error("%s (see bccdrop --help)", error->message);
		rc = CLI_USAGE;
	}
	store_close(cli.store);
	common_config_free(cli.config);
	g_free(cli.db_path);
	g_free(cli.config_path);
	return rc;
}
