/* CRM commands: import, explain, reassociate, history, report. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

/* ---- small helpers -------------------------------------------------------- */

static const char *
col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

static sqlite3_stmt *
prepare(Store *store, const char *sql)
{
	g_autoptr(GError) error = NULL;
	sqlite3_stmt *st = store_prepare(store, sql, &error);
	if (!st)
		cli_error("%s", error->message);
	return st;
}

static gboolean
end_rows(Store *store, sqlite3_stmt *st, int rc)
{
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return TRUE;
	cli_error("%s: %s", store_path(store), sqlite3_errmsg(store_handle(store)));
	return FALSE;
}

static char *
message_id_of(Store *store, gint64 message)
{
	sqlite3_stmt *st = prepare(store, "SELECT message_id FROM messages WHERE id = ?");
	if (!st)
		return g_strdup("?");
	sqlite3_bind_int64(st, 1, message);
	char *id = g_strdup(sqlite3_step(st) == SQLITE_ROW ? col(st, 0) : "?");
	sqlite3_reset(st);
	return id;
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

int
cli_cmd_import(Cli *cli, int argc, char **argv)
{
	if (!cli_parse(cli, &argc, &argv, NULL, "users|stages|contacts|deals FILE.csv",
		       "Import CRM records from CSV, upserting by CRM id, in one transaction: an error in any row\n"
		       "changes nothing. Unmatched messages involving the imported addresses are then\n"
		       "re-examined. Columns: docs/association.md."))
		return CLI_USAGE;
	AssocImportKind kind;
	if (argc != 3 || !assoc_import_kind_parse(argv[1], &kind)) {
		cli_error("import: usage: bccdrop import users|stages|contacts|deals FILE.csv");
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	AssocImportResult r = { 0 };
	gboolean tty = cli_is_tty();
	gboolean ok = assoc_import(store, kind, argv[2], tty ? import_progress : NULL, argv[2], &r, &error);
	if (tty && r.rows >= 1000)
		fputc('\n', stderr);
	if (!ok) {
		cli_error("import %s: %s (nothing was imported)", argv[1], error->message);
		return CLI_FAILED;
	}
	printf("imported %u %s from %s\n", r.rows, argv[1], argv[2]);
	ok = backfill(cli, store, r.touched_keys, argv[2]);
	assoc_import_result_clear(&r);
	return ok ? CLI_OK : CLI_FAILED;
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
	sqlite3_stmt *st = prepare(store, "SELECT message_id, date, subject FROM messages WHERE id = ?");
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		printf("message <%s> (stored as #%" G_GINT64_FORMAT "), date %s\nsubject: %s\n", col(st, 0), message,
		       col(st, 1), col(st, 2));
	return end_rows(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

static gboolean
explain_stored(Store *store, gint64 message)
{
	sqlite3_stmt *st = prepare(store, "SELECT status, decided_at, reason, trace FROM decisions WHERE message = ?");
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		printf("\nstored decision: %s, decided %s (%s)\n", col(st, 0), col(st, 1), col(st, 2));
		indent(col(st, 3));
	} else if (rc == SQLITE_DONE) {
		printf("\nno decision stored yet: run 'bccdrop reassociate --all'\n");
	}
	if (!end_rows(store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc))
		return FALSE;
	st = prepare(store,
		     "SELECT l.module, l.record_id, coalesce(CASE l.module WHEN 'deal' THEN d.name ELSE c.name END, "
		     "'(no longer in the CRM)'), l.rule, l.visibility, l.decided_at FROM links l "
		     "LEFT JOIN deals d ON l.module = 'deal' AND d.id = l.record_id "
		     "LEFT JOIN contacts c ON l.module = 'contact' AND c.id = l.record_id "
		     "WHERE l.message = ? ORDER BY l.module DESC, l.record_id");
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	printf("\nlinks now:\n");
	guint n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		printf("  %s %s \"%s\": rule %s, %s (since %s)\n", col(st, 0), col(st, 1), col(st, 2), col(st, 3),
		       col(st, 4), col(st, 5));
		n++;
	}
	if (n == 0)
		printf("  none: the message is unmatched and appears in no report\n");
	return end_rows(store, st, rc);
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

static GArray *
select_messages(Store *store, gboolean all)
{
	sqlite3_stmt *st = prepare(store, all ? "SELECT id FROM messages ORDER BY id"
					      : "SELECT message FROM decisions WHERE status = 'unmatched' ORDER BY message");
	if (!st)
		return NULL;
	GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 m = sqlite3_column_int64(st, 0);
		g_array_append_val(out, m);
	}
	if (!end_rows(store, st, rc)) {
		g_array_unref(out);
		return NULL;
	}
	return out;
}

int
cli_cmd_reassociate(Cli *cli, int argc, char **argv)
{
	gboolean unmatched = FALSE, all = FALSE, dry_run = FALSE;
	const GOptionEntry entries[] = {
		{ "unmatched", 0, 0, G_OPTION_ARG_NONE, &unmatched, "Only unmatched messages (the default)", NULL },
		{ "all", 0, 0, G_OPTION_ARG_NONE, &all, "Every stored message", NULL },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Show the changes, write nothing", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "",
		       "Run the association rule again with the current CRM data. Every link change is\n"
		       "recorded and listed by 'bccdrop history'."))
		return CLI_USAGE;
	if (argc != 1 || (unmatched && all)) {
		cli_error("reassociate: usage: bccdrop reassociate [--unmatched|--all] [--dry-run]");
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GArray) messages = select_messages(store, all);
	if (!messages)
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	ChangePrinter p = { store, TRUE };
	CaptureRerunStats s = { 0 };
	const char *reason = all ? "reassociate --all" : "reassociate --unmatched";
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
	Store *store = cli_store(cli);
	sqlite3_stmt *st = prepare(store,
				   "SELECT at, action, module, record_id, coalesce(old_rule, '-'), coalesce(new_rule, '-'), "
				   "coalesce(old_visibility, '-'), coalesce(new_visibility, '-'), reason "
				   "FROM link_history WHERE message = ? ORDER BY id");
	if (!st)
		return CLI_FAILED;
	sqlite3_bind_int64(st, 1, message);
	int rc;
	guint n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		printf("%s %-7s %s %s: rule %s -> %s, visibility %s -> %s (%s)\n", col(st, 0), col(st, 1), col(st, 2),
		       col(st, 3), col(st, 4), col(st, 5), col(st, 6), col(st, 7), col(st, 8));
		n++;
	}
	if (!end_rows(store, st, rc))
		return CLI_FAILED;
	if (n == 0)
		printf("no link was ever recorded for this message\n");
	return CLI_OK;
}

/* ---- report --------------------------------------------------------------- */

static const char *const report_cols[] = { "date", "source", "module", "record", "owner", "visibility",
					   "from", "to", "subject", "message_id" };

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
			width[c] = MAX(width[c], g_utf8_strlen(((char **)rows->pdata[r])[c], -1));
	for (guint r = 0; r <= rows->len; r++) {
		g_autoptr(GString) line = g_string_new(NULL);
		for (guint c = 0; c < n; c++) {
			const char *v = r == 0 ? report_cols[c] : ((char **)rows->pdata[r - 1])[c];
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
				csv_cell(out, ((char **)rows->pdata[r])[c]);
			}
			g_string_append(out, "\r\n");
		}
	} else {
		g_string_append_c(out, '[');
		for (guint r = 0; r < rows->len; r++) {
			g_string_append(out, r ? ",\n {" : "\n {");
			for (guint c = 0; c < n; c++) {
				g_string_append_printf(out, "%s\"%s\": ", c ? ", " : "", report_cols[c]);
				json_string(out, ((char **)rows->pdata[r])[c]);
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
	StoreSourceKind kind;
	if (argc != 1 || (source && !store_source_kind_parse(source, &kind))) {
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
	g_autofree char *since_iso = NULL;
	gint64 t;
	if (since && !common_parse_iso8601(since, &t)) {
		cli_error("report: --since '%s' is not an ISO 8601 date", since);
		return CLI_USAGE;
	}
	if (since)
		since_iso = common_iso8601(t);
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	sqlite3_stmt *st = prepare(store,
				   "SELECT date, source, module, record, owner, visibility, coalesce(\"from\", ''), "
				   "coalesce(\"to\", ''), subject, message_id FROM email_report "
				   "WHERE (?1 IS NULL OR source_kind = ?1) AND (?2 IS NULL OR date >= ?2) "
				   "ORDER BY date, message_id, module DESC, record_id");
	if (!st)
		return CLI_FAILED;
	if (source)
		sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
	if (since_iso)
		sqlite3_bind_text(st, 2, since_iso, -1, SQLITE_TRANSIENT);
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **row = g_new0(char *, G_N_ELEMENTS(report_cols) + 1);
		for (guint c = 0; c < G_N_ELEMENTS(report_cols); c++)
			row[c] = g_strdup(col(st, (int)c));
		g_ptr_array_add(rows, row);
	}
	if (!end_rows(store, st, rc))
		return CLI_FAILED;
	print_rows(rows, format);
	return CLI_OK;
}
