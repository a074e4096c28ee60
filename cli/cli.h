/* cli: the `bccdrop` admin command. One file per command group. */
#ifndef BCCDROP_CLI_H
#define BCCDROP_CLI_H

#include <glib.h>
#include <sysexits.h>

#include "capture/capture.h"
#include "common/common.h"
#include "store/store.h"

/* Exit statuses: sysexits(3) where a script or an MTA acts on the
 * difference (retry later, fix the configuration, fix the command line). */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1,
	CLI_USAGE = EX_USAGE,
	CLI_TEMPFAIL = EX_TEMPFAIL, /* the database is locked: try again */
	CLI_CONFIG = EX_CONFIG,	    /* the configuration file is missing or wrong */
};

typedef struct {
	char *db_path;	   /* --db (before or after the command), else [store] database */
	char *config_path; /* -c */
	CommonConfig *config;
	Store *store; /* opened on first use */
	int status;   /* a more precise exit status for a failure of cli_parse/cli_store, else 0 */
} Cli;

typedef int (*CliCommandFunc)(Cli *cli, int argc, char **argv);

/* Parse a command's options (ENTRIES may be NULL) plus the common --db and
 * -c (given here, they replace those given before the command), then load
 * the configuration. Prints the error and returns FALSE. */
gboolean cli_parse(Cli *cli, int *argc, char ***argv, const GOptionEntry *entries, const char *params,
		   const char *summary);
/* The database, opened (and migrated) on first use; NULL after printing why. */
Store *cli_store(Cli *cli);
/* One line "bccdrop: ..." on stderr. */
void cli_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* TRUE when stdout/stderr is a terminal (progress output). */
gboolean cli_is_tty(void);
/* Resolve a Message-ID argument to exactly one stored message (collisions:
 * the newest, after a note on stderr). */
gboolean cli_message_arg(Cli *cli, const char *arg, gint64 *message);

/* Commands. */
int cli_cmd_init(Cli *cli, int argc, char **argv);
int cli_cmd_ingest(Cli *cli, int argc, char **argv);
int cli_cmd_show(Cli *cli, int argc, char **argv);
int cli_cmd_import(Cli *cli, int argc, char **argv);
int cli_cmd_explain(Cli *cli, int argc, char **argv);
int cli_cmd_reassociate(Cli *cli, int argc, char **argv);
int cli_cmd_history(Cli *cli, int argc, char **argv);
int cli_cmd_report(Cli *cli, int argc, char **argv);
int cli_cmd_mailbox(Cli *cli, int argc, char **argv);
int cli_cmd_export(Cli *cli, int argc, char **argv);
int cli_cmd_dealtag(Cli *cli, int argc, char **argv); /* cli/cmd_dealtag.c */
int cli_cmd_retention(Cli *cli, int argc, char **argv); /* cli/cmd_retention.c */
int cli_cmd_hold(Cli *cli, int argc, char **argv);
int cli_cmd_search(Cli *cli, int argc, char **argv); /* cli/cmd_search.c */

#endif
