/* bccdrop-poll: syncs users' IMAP/POP3 mailboxes into the store. */
#include <curl/curl.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "poll/poll.h"

static volatile gint stop_requested;

static void
on_signal(int sig)
{
	g_atomic_int_set(&stop_requested, 1);
}

static void
setup_signals(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* A server that hangs up mid-write is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	gboolean foreground = FALSE, once = FALSE, version = FALSE;
	g_autofree char *config_path = NULL, *db = NULL, *pid_file = NULL;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file", "FILE" },
		{ "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Database (default: [store] database)", "PATH" },
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground, log to stderr", NULL },
		{ "once", 0, 0, G_OPTION_ARG_NONE, &once, "Sync every active mailbox once and exit", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
		{ "pid-file", 'p', 0, G_OPTION_ARG_FILENAME, &pid_file,
		  "Without -f, write the daemon's PID to FILE", "FILE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_summary(ctx, "Sync users' IMAP/POP3 mailboxes into the bccdrop store (see bccdrop-poll(8)).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "bccdrop-poll: %s\n", error->message);
		return 2;
	}
	if (version) {
		printf("bccdrop-poll %s\n", BCCDROP_VERSION);
		return 0;
	}
	g_autoptr(CommonConfig) config = common_config_load(config_path, &error);
	if (!config) {
		fprintf(stderr, "bccdrop-poll: %s\n", error->message);
		return 2;
	}
	if (db) {
		g_free(config->database);
		config->database = g_strdup(db);
	}
	gboolean daemonize = !foreground && !once;
	common_log_init("bccdrop-poll", daemonize, config->log_level);
	/* The key is read while still root: the key file stays root-only. */
	g_autoptr(GBytes) key = poll_secret_key_load(config->key_file, FALSE, &error);
	if (!key) {
		g_critical("%s", error->message);
		return 1;
	}
	if (!common_drop_privileges(config->poll_user, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	if (daemonize && !common_daemonize(pid_file, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	setup_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	capture_init();
	g_message("bccdrop-poll started (%s, database %s)", once ? "once" : "daemon", config->database);
	int failed = poll_run(config, key, once, &stop_requested);
	capture_shutdown();
	curl_global_cleanup();
	return failed ? 1 : 0;
}
