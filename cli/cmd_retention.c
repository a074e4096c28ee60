/* bccdrop retention run [--dry-run] and bccdrop hold add|list|release:
 * deleting captured mail past [retention] keep_days, except what a legal
 * hold covers (docs/retention.md). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#define RETENTION_BATCH 500
#define RETENTION_DAY 86400

/* ---- retention run ---- */

static int
retention_dry_run(Store *store, gint64 cutoff)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) items = store_retention_due(store, cutoff, &error);
	if (!items) {
		cli_error("retention run: %s", error->message);
		return CLI_FAILED;
	}
	guint held = 0;
	for (guint i = 0; i < items->len; i++) {
		const StoreRetentionItem *it = items->pdata[i];
		held += it->held_by != NULL;
		if (it->held_by)
			printf("held          <%s> %s (hold %s)\n", it->message_id, it->date, it->held_by);
		else
			printf("would delete  <%s> %s\n", it->message_id, it->date);
	}
	printf("dry run: %u would be deleted, %u held\n", items->len - held, held);
	return CLI_OK;
}

static int
retention_run(Store *store, gint64 cutoff, int keep_days)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *reason = g_strdup_printf("older than [retention] keep_days = %d", keep_days);
	guint total = 0, n = 0;
	do {
		if (!store_retention_purge(store, cutoff, reason, RETENTION_BATCH, &n, &error)) {
			cli_error("retention run: %s (%u deleted before, each logged in retention_log)", error->message,
				  total);
			return CLI_FAILED;
		}
		total += n;
	} while (n == RETENTION_BATCH);
	g_autoptr(GPtrArray) held = store_retention_due(store, cutoff, &error);
	if (!held) {
		cli_error("retention run: %s", error->message);
		return CLI_FAILED;
	}
	printf("deleted %u message(s) older than %d days (logged in retention_log); %u held\n", total, keep_days,
	       held->len);
	return CLI_OK;
}

int
cli_cmd_retention(Cli *cli, int argc, char **argv)
{
	gboolean dry_run = FALSE;
	const GOptionEntry entries[] = {
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Show what would be deleted and what is held", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "run",
		       "Delete captured messages older than [retention] keep_days, except held ones."))
		return CLI_USAGE;
	if (argc != 2 || strcmp(argv[1], "run") != 0) {
		cli_error("retention: expects run [--dry-run] (see --help)");
		return CLI_USAGE;
	}
	int days = cli->config->retention_keep_days;
	if (days == 0) {
		printf("[retention] keep_days is 0: mail is kept forever, nothing to delete\n");
		return CLI_OK;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	gint64 cutoff = common_now() - (gint64)days * RETENTION_DAY;
	return dry_run ? retention_dry_run(store, cutoff) : retention_run(store, cutoff, days);
}

/* ---- hold ---- */

typedef struct {
	char *user, *contact, *deal, *message, *reason, *until;
} HoldArgs;

/* The one target given, or NULL after saying why. */
static const char *
hold_target(const HoldArgs *a, StoreHoldKind *kind)
{
	const char *given[] = { a->user, a->contact, a->deal, a->message };
	const char *target = NULL;
	guint n = 0;
	for (guint i = 0; i < G_N_ELEMENTS(given); i++) {
		if (given[i]) {
			n++;
			target = given[i];
			*kind = (StoreHoldKind)i;
		}
	}
	if (n != 1 || !*target) {
		cli_error("hold add: give exactly one of --user U, --contact C, --deal D, --message M");
		return NULL;
	}
	return target;
}

/* --until DATE as Unix seconds (0: none), or -1 after saying why. */
static gint64
hold_until(const char *text)
{
	gint64 t = 0;
	if (!text)
		return 0;
	if (!common_parse_iso8601(text, &t)) {
		cli_error("hold add: --until '%s' is not a date (YYYY-MM-DD or ISO 8601)", text);
		return -1;
	}
	if (t <= common_now()) {
		cli_error("hold add: --until %s is not in the future", text);
		return -1;
	}
	return t;
}

static int
hold_add(Cli *cli, const HoldArgs *a)
{
	StoreHoldKind kind = STORE_HOLD_USER;
	const char *target = hold_target(a, &kind);
	if (!target)
		return CLI_USAGE;
	if (!a->reason || !*g_strstrip(a->reason)) {
		cli_error("hold add: --reason TEXT is required (why the mail must be kept)");
		return CLI_USAGE;
	}
	gint64 until = hold_until(a->until);
	if (until < 0)
		return CLI_USAGE;
	/* A Message-ID is stored without its brackets. */
	gboolean bracketed = kind == STORE_HOLD_MESSAGE && target[0] == '<' && g_str_has_suffix(target, ">");
	g_autofree char *bare = bracketed ? g_strndup(target + 1, strlen(target) - 2) : g_strdup(target);
	Store *store = cli_store(cli);
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	if (!store)
		return CLI_FAILED;
	if (!store_hold_add(store, kind, bare, a->reason, until, &id, &error)) {
		cli_error("hold add: %s", error->message);
		return CLI_FAILED;
	}
	printf("hold %" G_GINT64_FORMAT " added on %s %s\n", id, store_hold_kind_name(kind), target);
	return CLI_OK;
}

static int
hold_list(Cli *cli)
{
	Store *store = cli_store(cli);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) holds = store ? store_hold_list(store, &error) : NULL;
	if (!holds) {
		if (error)
			cli_error("hold list: %s", error->message);
		return CLI_FAILED;
	}
	printf("%-5s %-8s %-24s %-9s %-21s %8s  %s\n", "ID", "KIND", "TARGET", "STATUS", "UNTIL", "MESSAGES",
	       "REASON");
	for (guint i = 0; i < holds->len; i++) {
		const StoreHold *h = holds->pdata[i];
		const char *status = h->active ? "active" : h->released_at ? "released" : "expired";
		printf("%-5" G_GINT64_FORMAT " %-8s %-24s %-9s %-21s %8" G_GINT64_FORMAT "  %s\n", h->id, h->kind,
		       h->target, status, h->until ? h->until : "-", h->n_messages, h->reason);
	}
	return CLI_OK;
}

static int
hold_release(Cli *cli, const char *arg)
{
	gint64 id = 0;
	if (!g_ascii_string_to_signed(arg, 10, 1, G_MAXINT64, &id, NULL)) {
		cli_error("hold release: '%s' is not a hold id (see `bccdrop hold list`)", arg);
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	g_autoptr(GError) error = NULL;
	if (!store)
		return CLI_FAILED;
	if (!store_hold_release(store, id, &error)) {
		cli_error("hold release: %s", error->message);
		return CLI_FAILED;
	}
	printf("hold %" G_GINT64_FORMAT " released\n", id);
	return CLI_OK;
}

static void
hold_args_clear(HoldArgs *a)
{
	g_free(a->user);
	g_free(a->contact);
	g_free(a->deal);
	g_free(a->message);
	g_free(a->reason);
	g_free(a->until);
}

int
cli_cmd_hold(Cli *cli, int argc, char **argv)
{
	HoldArgs a = { 0 };
	const GOptionEntry entries[] = {
		{ "user", 0, 0, G_OPTION_ARG_STRING, &a.user, "Hold the mail of CRM user U's sources", "U" },
		{ "contact", 0, 0, G_OPTION_ARG_STRING, &a.contact, "Hold mail concerning contact C", "C" },
		{ "deal", 0, 0, G_OPTION_ARG_STRING, &a.deal, "Hold mail linked to deal D", "D" },
		{ "message", 0, 0, G_OPTION_ARG_STRING, &a.message, "Hold the message with Message-ID M", "M" },
		{ "reason", 0, 0, G_OPTION_ARG_STRING, &a.reason, "Why (required with add)", "TEXT" },
		{ "until", 0, 0, G_OPTION_ARG_STRING, &a.until, "Hold until DATE (default: until released)", "DATE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	int rc = CLI_USAGE;
	if (!cli_parse(cli, &argc, &argv, entries, "add|list|release ID",
		       "Legal holds: mail they cover is never deleted by `bccdrop retention run`."))
		rc = CLI_USAGE;
	else if (argc == 2 && !strcmp(argv[1], "add"))
		rc = hold_add(cli, &a);
	else if (argc == 2 && !strcmp(argv[1], "list"))
		rc = hold_list(cli);
	else if (argc == 3 && !strcmp(argv[1], "release"))
		rc = hold_release(cli, argv[2]);
	else
		cli_error("hold: expects add, list or release ID (see --help)");
	hold_args_clear(&a);
	return rc;
}
