/* CRM commands: import, explain, reassociate, history, report. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

/* ---- small helpers -------------------------------------------------------- */

static char *
message_id_of(Store *store, gint64 message)
{
	g_autoptr(StoreMessageSummary) s = store_message_summary(store, message, NULL);
	return g_strdup(s ? s->message_id : "?");
}

/* ---- import --------------------------------------------------------------- */

static void
import_progress(guint rows, gpointer user_data)
{
	fprintf(stderr, "\rimporting %s: %u rows", (const char *)user_data, rows);
	fflush(stderr);
}

typedef struct {
	Store *store;
	gboolean verbose;
} ChangePrinter;

static void
print_change(gint64 message, const char *change, gpointer user_data)
{
	ChangePrinter *p = user_data;
	if (!p->verbose)
		return;
	g_autofree char *id = message_id_of(p->store, message);
	printf("<%s>: %s\n", id, change);
}

/* Re-examine the unmatched messages that involve KEYS (index-backed). */
static gboolean
backfill(Cli *cli, Store *store, GPtrArray *keys, const char *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) messages = store_unmatched_for_keys(store, keys, &error);
	if (!messages) {
		cli_error("backfill: %s", error->message);
		return FALSE;
	}
	if (messages->len == 0)
		return TRUE;
	g_autofree char *base = g_path_get_basename(file);
	g_autofree char *reason = g_strdup_printf("backfill after import of %s", base);
	ChangePrinter p = { store, FALSE };
	CaptureRerunStats stats = { 0 };
	if (!capture_rerun(store, cli->config, messages, reason, FALSE, print_change, &p, &stats, &error)) {
		cli_error("backfill (the import itself is committed; run 'bccdrop reassociate'): %s", error->message);
		return FALSE;
	}
	printf("backfill: %u unmatched message%s re-examined, %u now linked\n", stats.examined,
	       stats.examined == 1 ? "" : "s", stats.now_linked);
	return TRUE;
}

typedef struct {
	gboolean full;
	int max_retire;
	char *map, *format, *links, *links_map, *export_date;
} ImportArgs;

static void
import_args_clear(ImportArgs *a)
{
	g_free(a->map);
	g_free(a->format);
	g_free(a->links);
	g_free(a->links_map);
	g_free(a->export_date);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ImportArgs, import_args_clear)

/* --format names a shipped mapping only: a path there is a typo for --map. */
static gboolean
import_check_args(const ImportArgs *a)
{
	if (a->map && a->format) {
		cli_error("import: --map and --format are two ways to name one mapping: give one");
		return FALSE;
	}
	g_auto(GStrv) shipped = assoc_crmmap_shipped();
	if (a->format && !g_strv_contains((const char *const *)shipped, a->format)) {
		g_autofree char *names = g_strjoinv(", ", shipped);
		cli_error("import: --format '%s' is not a shipped mapping (%s); a file of your own is --map FILE",
			  a->format, names);
		return FALSE;
	}
	if (a->links && !a->map && !a->format) {
		cli_error("import: --links needs the deals file's mapping (--map or --format)");
		return FALSE;
	}
	if (a->max_retire < 0 || a->max_retire > 100) {
		cli_error("import: --max-retire %d is not a percentage 0..100", a->max_retire);
		return FALSE;
	}
	return TRUE;
}

/* FILE as bccdrop's own CSV, or translated from the CRM's export by the
 * mapping (then *MAP, which the import's errors use, is set). */
static AssocCsv *
import_open(const ImportArgs *a, AssocImportKind kind, const char *file, AssocCrmMap **map, GError **error)
{
	const char *name = a->map ? a->map : a->format;
	if (!name)
		return assoc_csv_open(file, error);
	*map = assoc_crmmap_load(name, error);
	if (!*map)
		return NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	if (a->links) {
		g_autoptr(AssocCrmMap) lmap =
			assoc_crmmap_load(a->links_map ? a->links_map : "salesforce-opportunitycontactrole", error);
		if (!lmap || !assoc_crmmap_translate_links(*map, file, lmap, a->links, out, error))
			return NULL;
	} else if (!assoc_crmmap_translate(*map, kind, file, out, error)) {
		return NULL;
	}
	/* Import errors then count the translated records: one per line. */
	g_autofree char *label = g_strdup_printf("%s (record numbers, via %s)", file, name);
	return assoc_csv_new(label, out->str, out->len);
}

static void
import_summary(const AssocImportResult *r, const char *kind, const char *file, gboolean full)
{
	printf("imported %u %s from %s: %u added, %u updated, %u unchanged", r->rows, kind, file, r->added,
	       r->updated, r->unchanged);
	if (full)
		printf(", %u retired", r->retired);
	if (r->merged)
		printf(", %u merged", r->merged);
	putchar('\n');
}

static int
import_run(Cli *cli, const ImportArgs *a, AssocImportKind kind, const char *kind_name, const char *file)
{
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocCrmMap) map = NULL;
	g_autoptr(AssocCsv) csv = import_open(a, kind, file, &map, &error);
	if (!csv) {
		cli_error("import %s: %s (nothing was imported)", kind_name, error->message);
		return CLI_FAILED;
	}
	AssocImportOptions opt = { .full = a->full, .max_retire = a->max_retire, .export_date = a->export_date,
				   .map = map };
	AssocImportResult r = { 0 };
	gboolean tty = cli_is_tty();
	gboolean ok = assoc_import_csv(store, kind, csv, &opt, tty ? import_progress : NULL, (gpointer)file, &r, &error);
	if (tty && r.rows >= 1000)
		fputc('\n', stderr);
	if (!ok) {
		cli_error("import %s: %s (nothing was imported)", kind_name, error->message);
		return CLI_FAILED;
	}
	import_summary(&r, kind_name, file, a->full);
	ok = backfill(cli, store, r.touched_keys, file);
	assoc_import_result_clear(&r);
	return ok ? CLI_OK : CLI_FAILED;
}

int
cli_cmd_import(Cli *cli, int argc, char **argv)
{
	g_auto(ImportArgs) a = { .max_retire = 10 };
	const GOptionEntry entries[] = {
		{ "map", 'm', 0, G_OPTION_ARG_FILENAME, &a.map, "Read FILE as a CRM export through this mapping",
		  "MAP" },
		{ "format", 'F', 0, G_OPTION_ARG_STRING, &a.format, "A shipped mapping, e.g. zoho-deals", "NAME" },
		{ "links", 0, 0, G_OPTION_ARG_FILENAME, &a.links,
		  "Deals: their contacts from this link export (Salesforce OpportunityContactRole)", "FILE" },
		{ "links-map", 0, 0, G_OPTION_ARG_STRING, &a.links_map,
		  "The link export's mapping (default salesforce-opportunitycontactrole)", "MAP" },
		{ "full", 0, 0, G_OPTION_ARG_NONE, &a.full, "FILE is the whole truth: retire records it lacks", NULL },
		{ "max-retire", 0, 0, G_OPTION_ARG_INT, &a.max_retire,
		  "Full sync: refuse to retire more than PCT% of the records (default 10)", "PCT" },
		{ "export-date", 0, 0, G_OPTION_ARG_STRING, &a.export_date,
		  "The export's date for link history (default: now)", "D" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "users|stages|contacts|deals FILE",
		       "Import CRM records, upserting by CRM id, in one transaction: an error in any row\n"
		       "changes nothing. FILE is bccdrop's CSV (docs/association.md) or, with --map or\n"
		       "--format, the CRM's own export (docs/crm-import.md). With --full, records absent\n"
		       "from FILE are retired. Unmatched messages involving the imported addresses are\n"
		       "then re-examined."))
		return CLI_USAGE;
	AssocImportKind kind;
	if (argc != 3 || !assoc_import_kind_parse(argv[1], &kind)) {
		cli_error("import: usage: bccdrop import [--full [--max-retire PCT]] [--map FILE|--format NAME "
			  "[--links FILE]] users|stages|contacts|deals FILE");
		return CLI_USAGE;
	}
	if (!import_check_args(&a))
		return CLI_USAGE;
	return import_run(cli, &a, kind, argv[1], argv[2]);
}

/* ---- explain -------------------------------------------------------------- */

static void
indent(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l)
			printf("  %s\n", *l);
}

static gboolean
explain_header(Store *store, gint64 message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(StoreMessageSummary) s = store_message_summary(store, message, &error);
	if (!s && !g_error_matches(error, STORE_ERROR, STORE_ERROR_NOT_FOUND)) {
		cli_error("%s", error->message);
		return FALSE;
	}
	if (s)
		printf("message <%s> (stored as #%" G_GINT64_FORMAT "), date %s\nsubject: %s\n", s->message_id, message,
		       s->date, s->subject);
	return TRUE;
}

static gboolean
explain_decision(Store *store, gint64 message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(StoreDecisionRow) d = store_decision_row(store, message, &error);
	if (d) {
		printf("\nstored decision: %s, decided %s (%s)\n", d->status, d->decided_at, d->reason);
		indent(d->trace);
	} else if (g_error_matches(error, STORE_ERROR, STORE_ERROR_NOT_FOUND)) {
		printf("\nno decision stored yet: run 'bccdrop reassociate --all'\n");
	} else {
		cli_error("%s", error->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
explain_stored(Store *store, gint64 message)
{
	if (!explain_decision(store, message))
		return FALSE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) links = store_message_links(store, message, &error);
	if (!links) {
		cli_error("%s", error->message);
		return FALSE;
	}
	printf("\nlinks now:\n");
	for (guint i = 0; i < links->len; i++) {
		const StoreLinkRow *l = links->pdata[i];
		printf("  %s %s \"%s\": rule %s, %s (since %s)\n", l->module, l->record_id,
		       l->record_name ? l->record_name : "(no longer in the CRM)", l->rule, l->visibility, l->decided_at);
	}
	if (links->len == 0)
		printf("  none: the message is unmatched and appears in no report\n");
	return TRUE;
}

static gboolean
explain_now(Cli *cli, Store *store, gint64 message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocDecision) d = capture_evaluate(store, cli->config, message, &error);
	if (!d) {
		cli_error("%s", error->message);
		return FALSE;
	}
	printf("\nthe rule today, with the current CRM data (nothing is changed):\n");
	indent(d->trace);
	g_autoptr(GPtrArray) changes = capture_changes(store, d, &error);
	if (!changes) {
		cli_error("%s", error->message);
		return FALSE;
	}
	if (changes->len == 0)
		printf("\nsame links as stored\n");
	else
		printf("\ndiffers from the stored links ('bccdrop reassociate --all' would apply it):\n");
	for (guint i = 0; i < changes->len; i++)
		printf("  %s\n", (char *)changes->pdata[i]);
	return TRUE;
}

int
cli_cmd_explain(Cli *cli, int argc, char **argv)
{
	gboolean now = FALSE;
	const GOptionEntry entries[] = {
		{ "now", 0, 0, G_OPTION_ARG_NONE, &now, "Also show what the rule decides today", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "MESSAGE-ID",
		       "Show why a message is linked where it is: participants, matched contacts, candidate\n"
		       "deals, the winner and the visibility, as decided at the time."))
		return CLI_USAGE;
	if (argc != 2) {
		cli_error("explain: usage: bccdrop explain [--now] MESSAGE-ID");
		return CLI_USAGE;
	}
	gint64 message;
	if (!cli_message_arg(cli, argv[1], &message))
		return CLI_FAILED;
	Store *store = cli_store(cli);
	if (!explain_header(store, message) || !explain_stored(store, message))
		return CLI_FAILED;
	if (now && !explain_now(cli, store, message))
		return CLI_FAILED;
	return CLI_OK;
}

/* ---- reassociate ---------------------------------------------------------- */

/* The messages to re-decide: --since D, --all, or the unmatched ones. */
static GArray *
reassociate_targets(Store *store, gboolean all, const char *since, GError **error)
{
	gint64 t = 0;
	if (!since)
		return store_message_ids(store, !all, error);
	if (!common_parse_iso8601(since, &t)) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG, "--since '%s' is not an ISO 8601 date", since);
		return NULL;
	}
	return store_message_ids_since(store, t, error);
}

int
cli_cmd_reassociate(Cli *cli, int argc, char **argv)
{
	gboolean unmatched = FALSE, all = FALSE, dry_run = FALSE;
	g_autofree char *since = NULL;
	const GOptionEntry entries[] = {
		{ "since", 0, 0, G_OPTION_ARG_STRING, &since,
		  "Every message dated on or after D (ISO 8601), linked or not", "D" },
		{ "unmatched", 0, 0, G_OPTION_ARG_NONE, &unmatched, "Only unmatched messages (the default)", NULL },
		{ "all", 0, 0, G_OPTION_ARG_NONE, &all, "Every stored message", NULL },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Show the changes, write nothing", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "",
		       "Run the association rule again with the current CRM data. Past mail keeps the\n"
		       "link decided when it was captured until this is run on purpose. Every link\n"
		       "change is recorded and listed by 'bccdrop history'."))

		return CLI_USAGE;
	if (argc != 1 || unmatched + all + (since != NULL) > 1) {
		cli_error("reassociate: usage: bccdrop reassociate [--unmatched|--all|--since D] [--dry-run]");
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) messages = reassociate_targets(store, all, since, &error);
	if (!messages) {
		cli_error("reassociate: %s", error->message);
		return CLI_FAILED;
	}
	ChangePrinter p = { store, TRUE };
	CaptureRerunStats s = { 0 };
	g_autofree char *reason = since ? g_strdup_printf("reassociate --since %s", since)
					: g_strdup(all ? "reassociate --all" : "reassociate --unmatched");
	if (!capture_rerun(store, cli->config, messages, reason, dry_run, print_change, &p, &s, &error)) {
		cli_error("reassociate: %s", error->message);
		return CLI_FAILED;
	}
	printf("%s%u message%s examined, %u changed (%u link change%s), %u newly linked\n",
	       dry_run ? "dry run, nothing written: " : "", s.examined, s.examined == 1 ? "" : "s", s.changed,
	       s.link_changes, s.link_changes == 1 ? "" : "s", s.now_linked);
	return CLI_OK;
}

/* ---- history -------------------------------------------------------------- */

/* An added link has no old values, a removed one no new ones. */
static const char *
or_dash(const char *s)
{
	return s ? s : "-";
}

int
cli_cmd_history(Cli *cli, int argc, char **argv)
{
	if (!cli_parse(cli, &argc, &argv, NULL, "MESSAGE-ID", "Every change of a message's links: old, new, when, why."))
		return CLI_USAGE;
	if (argc != 2) {
		cli_error("history: usage: bccdrop history MESSAGE-ID");
		return CLI_USAGE;
	}
	gint64 message;
	if (!cli_message_arg(cli, argv[1], &message))
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) changes = store_link_history(cli_store(cli), message, &error);
	if (!changes) {
		cli_error("history: %s", error->message);
		return CLI_FAILED;
	}
	for (guint i = 0; i < changes->len; i++) {
		const StoreHistoryEntry *c = changes->pdata[i];
		printf("%s %-7s %s %s: rule %s -> %s, visibility %s -> %s (%s)\n", c->at, c->action, c->module,
		       c->record_id, or_dash(c->old_rule), or_dash(c->new_rule), or_dash(c->old_visibility),
		       or_dash(c->new_visibility), c->reason);
	}
	if (changes->len == 0)
		printf("no link was ever recorded for this message\n");
	return CLI_OK;
}

/* ---- report --------------------------------------------------------------- */

static const char *const report_cols[] = { "date", "source", "module", "record", "owner", "visibility",
					   "from", "to", "subject", "message_id" };

/* ROW's values in report_cols order, pointing into ROW ("" for none). */
static const char **
report_cells(const StoreReportRow *row)
{
	const char *v[] = { row->date, row->source, row->module, row->record, row->owner, row->visibility,
			    row->from, row->to, row->subject, row->message_id };
	G_STATIC_ASSERT(G_N_ELEMENTS(v) == G_N_ELEMENTS(report_cols));
	const char **cells = g_new(const char *, G_N_ELEMENTS(v));
	for (guint c = 0; c < G_N_ELEMENTS(v); c++)
		cells[c] = v[c] ? v[c] : "";
	return cells;
}

static void
csv_cell(GString *out, const char *v)
{
	if (!strpbrk(v, ",\"\r\n")) {
		g_string_append(out, v);
		return;
	}
	g_string_append_c(out, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			g_string_append_c(out, '"');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

static void
json_string(GString *out, const char *v)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			g_string_append_printf(out, "\\u%04x", *p);
		else
			g_string_append_c(out, (char)*p);
	}
	g_string_append_c(out, '"');
}

static void
print_table(GPtrArray *rows)
{
	const guint n = G_N_ELEMENTS(report_cols);
	glong width[G_N_ELEMENTS(report_cols)];
	for (guint c = 0; c < n; c++)
		width[c] = g_utf8_strlen(report_cols[c], -1);
	for (guint r = 0; r < rows->len; r++)
		for (guint c = 0; c < n; c++)
			width[c] = MAX(width[c], g_utf8_strlen(((const char **)rows->pdata[r])[c], -1));
	for (guint r = 0; r <= rows->len; r++) {
		g_autoptr(GString) line = g_string_new(NULL);
		for (guint c = 0; c < n; c++) {
			const char *v = r == 0 ? report_cols[c] : ((const char **)rows->pdata[r - 1])[c];
			g_string_append(line, v);
			if (c + 1 < n)
				for (glong pad = g_utf8_strlen(v, -1); pad < width[c] + 2; pad++)
					g_string_append_c(line, ' ');
		}
		puts(line->str);
	}
	printf("(%u link%s)\n", rows->len, rows->len == 1 ? "" : "s");
}

static void
print_rows(GPtrArray *rows, const char *format)
{
	const guint n = G_N_ELEMENTS(report_cols);
	g_autoptr(GString) out = g_string_new(NULL);
	if (!strcmp(format, "table")) {
		print_table(rows);
		return;
	}
	if (!strcmp(format, "csv")) {
		for (guint c = 0; c < n; c++)
			g_string_append_printf(out, "%s%s", c ? "," : "", report_cols[c]);
		g_string_append(out, "\r\n");
		for (guint r = 0; r < rows->len; r++) {
			for (guint c = 0; c < n; c++) {
				if (c)
					g_string_append_c(out, ',');
				csv_cell(out, ((const char **)rows->pdata[r])[c]);
			}
			g_string_append(out, "\r\n");
		}
	} else {
		g_string_append_c(out, '[');
		for (guint r = 0; r < rows->len; r++) {
			g_string_append(out, r ? ",\n {" : "\n {");
			for (guint c = 0; c < n; c++) {
				g_string_append_printf(out, "%s\"%s\": ", c ? ", " : "", report_cols[c]);
				json_string(out, ((const char **)rows->pdata[r])[c]);
			}
			g_string_append_c(out, '}');
		}
		g_string_append(out, "\n]\n");
	}
	fwrite(out->str, 1, out->len, stdout);
}

int
cli_cmd_report(Cli *cli, int argc, char **argv)
{
	g_autofree char *source = NULL, *since = NULL, *format = NULL;
	const GOptionEntry entries[] = {
		{ "source", 's', 0, G_OPTION_ARG_STRING, &source, "Only this source: bcc_dropbox, imap, pop3, file",
		  "S" },
		{ "since", 0, 0, G_OPTION_ARG_STRING, &since, "Only mail dated on or after D (ISO 8601)", "D" },
		{ "format", 'f', 0, G_OPTION_ARG_STRING, &format, "table (default), csv or json", "F" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "",
		       "Linked mail as users read it (the email_report view), one row per link.\n"
		       "Unmatched mail is not included: see the unmatched_emails view."))
		return CLI_USAGE;
	StoreReportFilter filter = { .by_source = source != NULL, .by_since = since != NULL };
	if (argc != 1 || (source && !store_source_kind_parse(source, &filter.source))) {
		cli_error("report: usage: bccdrop report [--source bcc_dropbox|imap|pop3|file] [--since D] "
			  "[--format table|csv|json]");
		return CLI_USAGE;
	}
	if (!format)
		format = g_strdup("table");
	if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
		cli_error("report: --format must be table, csv or json, not '%s'", format);
		return CLI_USAGE;
	}
	if (since && !common_parse_iso8601(since, &filter.since)) {
		cli_error("report: --since '%s' is not an ISO 8601 date", since);
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) found = store_report_rows(store, &filter, &error);
	if (!found) {
		cli_error("report: %s", error->message);
		return CLI_FAILED;
	}
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < found->len; i++)
		g_ptr_array_add(rows, report_cells(found->pdata[i]));
	print_rows(rows, format);
	return CLI_OK;
}
