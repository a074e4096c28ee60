/* bccdrop-milter [-c CONFIG] [-f] [--version]: the BCC-dropbox capture milter. */
#include <locale.h>
#include <malloc.h>
#include <stdio.h>

#include "common/common.h"
#include "ingest/ingest.h"
#include "milter/milter.h"

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	/* Every connection runs on its own libmilter thread: without these,
	 * glibc gives busy threads their own heaps and keeps the freed space
	 * of large messages, so peak memory would grow with concurrency
	 * rather than with [milter] memory_limit. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 2);
	g_autofree char *config_path = NULL;
	g_autofree char *pid_file = NULL;
	gboolean foreground = FALSE, version = FALSE;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
		  "Configuration file (default " COMMON_DEFAULT_CONFIG ")", "FILE" },
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground, log to stderr",
		  NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
		{ "pid-file", 'p', 0, G_OPTION_ARG_FILENAME, &pid_file,
		  "Without -f, write the daemon's PID to FILE", "FILE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_summary(ctx, "Capture mail sent to users' BCC dropbox addresses (see bccdrop-milter(8)).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1) {
		fprintf(stderr, "bccdrop-milter: %s (see --help)\n", error ? error->message : "unexpected argument");
		return 2;
	}
	if (version) {
		printf("bccdrop-milter %s\n", BCCDROP_VERSION);
		return 0;
	}
	g_autoptr(CommonConfig) config = common_config_load(config_path, &error);
	if (!config) {
		fprintf(stderr, "bccdrop-milter: %s\n", error->message);
		return 1;
	}
	common_log_init("bccdrop-milter", !foreground, config->log_level);
	capture_init();
	int status = milter_daemon_run(config, foreground, pid_file);
	capture_shutdown();
	return status;
}
