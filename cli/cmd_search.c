/* bccdrop search: full-text search over captured mail (docs/reports.md,
 * "Search"). The store ranks and filters; this file only prints, and every
 * field it prints comes from a stranger's message, so each one goes through
 * common_terminal_safe() first. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char *const search_cols[] = { "rank", "date", "from", "subject", "message_id", "snippet" };
#define SEARCH_N_COLS G_N_ELEMENTS(search_cols)

/* The snippet on one line: its tabs and line ends become spaces. */
static char *
search_one_line(const char *text)
{
	char *s = common_terminal_safe(text);
	for (char *p = s; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	return s;
}

/* HIT as printable cells in search_cols order (a NULL-terminated strv). */
static char **
search_cells(const StoreSearchHit *hit, guint rank)
{
	char **cells = g_new0(char *, SEARCH_N_COLS + 1);
	cells[0] = g_strdup_printf("%u", rank);
	cells[1] = common_terminal_safe(hit->date);
	cells[2] = search_one_line(hit->from ? hit->from : "");
	cells[3] = search_one_line(hit->subject);
	cells[4] = common_terminal_safe(hit->message_id);
	cells[5] = search_one_line(hit->snippet);
	return cells;
}

static void
search_print_table(GString *out, GPtrArray *rows)
{
	for (guint r = 0; r < rows->len; r++) {
		char **c = rows->pdata[r];
		g_string_append_printf(out, "%s. %s  %s  %s\n   <%s>\n   %s\n", c[0], c[1], c[2], c[3], c[4], c[5]);
	}
	g_string_append_printf(out, "(%u message%s)\n", rows->len, rows->len == 1 ? "" : "s");
}

static void
search_print_csv(GString *out, GPtrArray *rows)
{
	for (guint c = 0; c < SEARCH_N_COLS; c++)
		g_string_append_printf(out, "%s%s", c ? "," : "", search_cols[c]);
	g_string_append(out, "\r\n");
	for (guint r = 0; r < rows->len; r++) {
		for (guint c = 0; c < SEARCH_N_COLS; c++) {
			if (c)
				g_string_append_c(out, ',');
			common_csv_cell(out, ((char **)rows->pdata[r])[c]);
		}
		g_string_append(out, "\r\n");
	}
}

static void
search_print_json(GString *out, GPtrArray *rows)
{
	g_string_append_c(out, '[');
	for (guint r = 0; r < rows->len; r++) {
		char **cells = rows->pdata[r];
		g_string_append_printf(out, "%s {\"rank\": %s", r ? ",\n" : "\n", cells[0]);
		for (guint c = 1; c < SEARCH_N_COLS; c++) {
			g_string_append_printf(out, ", \"%s\": ", search_cols[c]);
			common_json_string(out, cells[c]);
		}
		g_string_append_c(out, '}');
	}
	g_string_append(out, "\n]\n");
}

static void
search_print(GPtrArray *hits, const char *format)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	for (guint i = 0; i < hits->len; i++)
		g_ptr_array_add(rows, search_cells(hits->pdata[i], i + 1));
	g_autoptr(GString) out = g_string_new(NULL);
	if (!strcmp(format, "csv"))
		search_print_csv(out, rows);
	else if (!strcmp(format, "json"))
		search_print_json(out, rows);
	else
		search_print_table(out, rows);
	fwrite(out->str, 1, out->len, stdout);
}

/* Each of --user, --deal, --contact must name a CRM record: a typo would
 * otherwise look like "nothing found". */
static gboolean
search_check_record(Store *store, StoreCrmKind kind, const char *id, const char *what)
{
	if (!id)
		return TRUE;
	g_autoptr(GError) e = NULL;
	gboolean found = FALSE;
	if (!store_crm_exists(store, kind, id, &found, &e)) {
		cli_error("search: %s", e->message);
		return FALSE;
	}
	if (!found)
		cli_error("search: no CRM %s has id '%s'", what, id);
	return found;
}

typedef struct {
	char *contact, *deal, *user, *since, *format;
	int limit;
} SearchOpts;

static void
search_opts_clear(SearchOpts *o)
{
	g_free(o->contact);
	g_free(o->deal);
	g_free(o->user);
	g_free(o->since);
	g_free(o->format);
}

static int
search_run(Cli *cli, const SearchOpts *o, const char *query)
{
	StoreSearchFilter f = { .query = query, .deal_id = o->deal, .contact_id = o->contact, .user_id = o->user,
				.by_since = o->since != NULL, .limit = (guint)o->limit };
	const char *format = o->format ? o->format : "table";
	if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
		cli_error("search: --format must be table, csv or json, not '%s'", format);
		return CLI_USAGE;
	}
	if (o->limit < 0 || (o->since && !common_parse_iso8601(o->since, &f.since))) {
		cli_error(o->limit < 0 ? "search: --limit must be 1 or more (0: the default, 50)"
				       : "search: --since is not an ISO 8601 date");
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	if (!search_check_record(store, STORE_CRM_USER, o->user, "user") ||
	    !search_check_record(store, STORE_CRM_DEAL, o->deal, "deal") ||
	    !search_check_record(store, STORE_CRM_CONTACT, o->contact, "contact"))
		return CLI_FAILED;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) hits = store_search(store, &f, &e);
	if (!hits) {
		cli_error("%s", e->message);
		return g_error_matches(e, STORE_ERROR, STORE_ERROR_INVALID) ? CLI_USAGE : CLI_FAILED;
	}
	search_print(hits, format);
	return CLI_OK;
}

int
cli_cmd_search(Cli *cli, int argc, char **argv)
{
	SearchOpts o = { 0 };
	const GOptionEntry entries[] = {
		{ "contact", 0, 0, G_OPTION_ARG_STRING, &o.contact, "Only mail linked to this contact (or through it)",
		  "C" },
		{ "deal", 0, 0, G_OPTION_ARG_STRING, &o.deal, "Only mail linked to this deal", "D" },
		{ "user", 'u', 0, G_OPTION_ARG_STRING, &o.user, "Search as this CRM user: adds their private mail",
		  "U" },
		{ "since", 0, 0, G_OPTION_ARG_STRING, &o.since, "Only mail dated on or after DATE (ISO 8601)", "DATE" },
		{ "format", 'f', 0, G_OPTION_ARG_STRING, &o.format, "table (default), csv or json", "F" },
		{ "limit", 'n', 0, G_OPTION_ARG_INT, &o.limit, "At most N results (default 50)", "N" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	int rc = CLI_USAGE;
	if (cli_parse(cli, &argc, &argv, entries, "QUERY",
		      "Find captured mail by words of its subject, body, participants and attachment names.\n"
		      "Words are all required; \"a phrase\" in double quotes; word* matches a prefix.")) {
		if (argc == 2)
			rc = search_run(cli, &o, argv[1]);
		else
			cli_error("search: usage: bccdrop search QUERY [--contact C] [--deal D] [--user U] "
				  "[--since DATE] [--format table|csv|json] (quote a query of several words)");
	}
	search_opts_clear(&o);
	return rc;
}
