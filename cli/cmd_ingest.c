/* bccdrop init | ingest | show */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Messages per transaction when ingesting files: few fsyncs, short locks. */
#define INGEST_BATCH 200

int
cli_cmd_init(Cli *cli, int argc, char **argv)
{
	if (!cli_parse(cli, &argc, &argv, NULL, "", "Create the database, or migrate it to this version's schema."))
		return CLI_USAGE;
	if (argc != 1) {
		cli_error("init: unexpected argument '%s'", argv[1]);
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	printf("%s: schema version %d\n", cli->db_path, store_schema_version(store));
	return CLI_OK;
}

typedef struct {
	Cli *cli;
	Store *store;
	StoreSource source;
	const char *label; /* file name as given */
	gboolean multi;	   /* an mbox: number the messages */
	GString *pending;  /* outcome lines, printed once their batch commits */
	guint in_batch;
	guint stored, duplicates, rejected, total;
	gsize done_bytes, all_bytes;
	gint64 last_progress;
	gboolean progress;
} IngestRun;

static gboolean
ingest_flush(IngestRun *run, GError **error)
{
	if (run->in_batch && !store_commit(run->store, error))
		return FALSE;
	run->in_batch = 0;
	fputs(run->pending->str, stdout);
	fflush(stdout);
	g_string_truncate(run->pending, 0);
	return TRUE;
}

static void
ingest_progress(IngestRun *run, gboolean last)
{
	if (!run->progress)
		return;
	gint64 now = g_get_monotonic_time();
	if (!last && now - run->last_progress < G_USEC_PER_SEC / 4)
		return;
	run->last_progress = now;
	fprintf(stderr, "\r%s: %u messages, %3.0f%%%s", run->label, run->total,
		run->all_bytes ? 100.0 * (double)run->done_bytes / (double)run->all_bytes : 100.0, last ? "\n" : "");
}

static void
ingest_outcome(IngestRun *run, guint index, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
ingest_outcome(IngestRun *run, guint index, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (run->multi)
		g_string_append_printf(run->pending, "%s#%u: ", run->label, index);
	else
		g_string_append_printf(run->pending, "%s: ", run->label);
	g_string_append_vprintf(run->pending, fmt, ap);
	g_string_append_c(run->pending, '\n');
	va_end(ap);
}

/* Store one message into the open batch. A message that is not a message is
 * reported and skipped; a storage error ends the run. */
static gboolean
ingest_one(const guint8 *data, gsize len, guint index, gpointer user_data, GError **error)
{
	IngestRun *run = user_data;
	run->total++;
	run->done_bytes += len;
	IngestInput in = INGEST_INPUT_BYTES(data, len);
	g_autoptr(GError) perr = NULL;
	g_autoptr(IngestMessage) msg = ingest_parse(&in, run->source.received_at, &perr);
	if (!msg) {
		run->rejected++;
		ingest_outcome(run, index, "rejected: %s", perr->message);
		ingest_progress(run, FALSE);
		return TRUE;
	}
	if (!run->in_batch && !store_begin(run->store, error))
		return FALSE;
	run->in_batch++;
	AssocFiled filed = { 0 };
	if (!assoc_file_parsed(run->store, run->cli->config, msg, &in, &run->source, &filed, error)) {
		store_rollback(run->store);
		run->in_batch = 0;
		g_string_truncate(run->pending, 0);
		return FALSE;
	}
	if (filed.new_message) {
		run->stored++;
		ingest_outcome(run, index, "stored <%s>%s%s", filed.message_id,
			       msg->message_id_synthetic ? " (synthetic Message-ID)" : "",
			       filed.id_collision ? " (Message-ID collision: a different message shares it)" : "");
	} else {
		run->duplicates++;
		ingest_outcome(run, index, "duplicate <%s>: %s", filed.message_id,
			       filed.new_source ? "already stored, source added" : "already stored from this source");
	}
	assoc_filed_clear(&filed);
	if (run->in_batch >= INGEST_BATCH && !ingest_flush(run, error))
		return FALSE;
	ingest_progress(run, FALSE);
	return TRUE;
}

static gboolean
ingest_input(IngestRun *run, const guint8 *data, gsize len, GError **error)
{
	run->all_bytes = len;
	run->done_bytes = 0;
	run->progress = cli_is_tty() && len > 4 * 1024 * 1024;
	run->multi = ingest_is_mbox(data, len);
	gboolean ok = run->multi ? ingest_mbox_foreach(data, len, ingest_one, run, error)
				 : ingest_one(data, len, 1, run, error);
	if (ok)
		ok = ingest_flush(run, error);
	ingest_progress(run, TRUE);
	return ok;
}

static char *
ingest_dropbox_owner(Store *store, char **rcpts)
{
	for (char **r = rcpts; r && *r; r++) {
		g_autofree char *key = ingest_address_key(*r);
		sqlite3_stmt *st = store_prepare(store, "SELECT id FROM users WHERE dropbox = ?", NULL);
		if (!st || !key)
			continue;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char *id = g_strdup((const char *)sqlite3_column_text(st, 0));
			sqlite3_reset(st);
			return id;
		}
		sqlite3_reset(st);
	}
	return NULL;
}

static GBytes *
ingest_read(const char *path, GError **error)
{
	if (strcmp(path, "-") != 0) {
		GMappedFile *mf = g_mapped_file_new(path, FALSE, error);
		if (!mf)
			return NULL;
		GBytes *b = g_mapped_file_get_bytes(mf);
		g_mapped_file_unref(mf);
		return b;
	}
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint8 chunk[65536];
	ssize_t n;
	while ((n = read(STDIN_FILENO, chunk, sizeof chunk)) > 0)
		g_byte_array_append(buf, chunk, (guint)n);
	if (n < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "standard input: %s", g_strerror(errno));
		return NULL;
	}
	return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

int
cli_cmd_ingest(Cli *cli, int argc, char **argv)
{
	g_autofree char *source = NULL, *mail_from = NULL, *owner = NULL;
	g_auto(GStrv) rcpts = NULL;
	const GOptionEntry entries[] = {
		{ "source", 0, 0, G_OPTION_ARG_STRING, &source, "Source kind: file (default), bcc_dropbox, imap, pop3",
		  "KIND" },
		{ "mail-from", 0, 0, G_OPTION_ARG_STRING, &mail_from, "Envelope sender (bcc_dropbox)", "ADDR" },
		{ "rcpt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &rcpts, "Envelope recipient, repeatable (bcc_dropbox)",
		  "ADDR" },
		{ "owner", 0, 0, G_OPTION_ARG_STRING, &owner,
		  "CRM user id owning this mail (default: the user whose dropbox is a --rcpt)", "ID" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "FILE...|-",
		       "Store messages (single messages or mbox files) as if they had arrived.\n"
		       "Prints stored / duplicate / rejected for each message; exits 1 when any was rejected."))
		return CLI_USAGE;
	if (argc < 2) {
		cli_error("ingest: name at least one FILE, or - for standard input");
		return CLI_USAGE;
	}
	StoreSourceKind kind = STORE_SOURCE_FILE;
	if (source && !store_source_kind_parse(source, &kind)) {
		cli_error("ingest: --source '%s' is not one of file, bcc_dropbox, imap, pop3", source);
		return CLI_USAGE;
	}
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	if (!owner && kind == STORE_SOURCE_BCC_DROPBOX)
		owner = ingest_dropbox_owner(store, rcpts);
	IngestRun run = { .cli = cli, .store = store, .pending = g_string_new(NULL) };
	run.source = (StoreSource){ .kind = kind,
				    .received_at = common_now(),
				    .owner_user_id = owner,
				    .envelope_from = mail_from,
				    .envelope_rcpts = (const char *const *)rcpts };
	int rc = CLI_OK;
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) bytes = ingest_read(argv[i], &error);
		run.label = argv[i];
		run.source.file_name = kind == STORE_SOURCE_FILE ? argv[i] : NULL;
		if (owner && kind == STORE_SOURCE_BCC_DROPBOX && rcpts)
			run.source.dropbox = rcpts[0];
		gsize len = 0;
		const guint8 *data = bytes ? g_bytes_get_data(bytes, &len) : NULL;
		if (!bytes || !ingest_input(&run, data ? data : (const guint8 *)"", len, &error)) {
			fputs(run.pending->str, stdout);
			g_string_truncate(run.pending, 0);
			cli_error("%s: %s", argv[i], error->message);
			rc = CLI_FAILED;
			if (bytes)
				break; /* the store failed: later files would fail the same way */
		}
	}
	if (run.rejected)
		rc = CLI_FAILED;
	if (argc > 2 || run.multi)
		fprintf(stderr, "bccdrop: %u messages: %u stored, %u duplicate, %u rejected\n", run.total, run.stored,
			run.duplicates, run.rejected);
	g_string_free(run.pending, TRUE);
	return rc;
}

/* ---- show ------------------------------------------------------------------ */

static void
show_rows(Store *store, const char *sql, gint64 message, const char *label, int ncols)
{
	sqlite3_stmt *st = store_prepare(store, sql, NULL);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, message);
	while (sqlite3_step(st) == SQLITE_ROW) {
		printf("%-13s", label);
		for (int c = 0; c < ncols; c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);
			if (v && *v)
				printf(c ? " %s" : "%s", v);
		}
		putchar('\n');
	}
	sqlite3_reset(st);
}

int
cli_cmd_show(Cli *cli, int argc, char **argv)
{
	gboolean no_body = FALSE;
	const GOptionEntry entries[] = {
		{ "no-body", 0, 0, G_OPTION_ARG_NONE, &no_body, "Leave out the body text", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "MESSAGE-ID", "Print a stored message's parsed fields."))
		return CLI_USAGE;
	if (argc != 2) {
		cli_error("show: name one MESSAGE-ID");
		return CLI_USAGE;
	}
	gint64 m;
	if (!cli_message_arg(cli, argv[1], &m))
		return CLI_FAILED;
	Store *store = cli->store;
	sqlite3_stmt *st = store_prepare(store,
					 "SELECT message_id, message_id_synthetic, date, date_synthetic, subject, "
					 "in_reply_to, body_type, raw_size, warnings, fingerprint, body_text "
					 "FROM messages WHERE id = ?",
					 NULL);
	if (!st)
		return CLI_FAILED;
	sqlite3_bind_int64(st, 1, m);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		cli_error("show: message vanished");
		return CLI_FAILED;
	}
#define COL(i) ((const char *)sqlite3_column_text(st, (i)))
	printf("%-13s<%s>%s\n", "Message-ID:", COL(0), sqlite3_column_int(st, 1) ? " (synthetic)" : "");
	printf("%-13s%s%s\n", "Date:", COL(2), sqlite3_column_int(st, 3) ? " (receipt time: no usable Date)" : "");
	printf("%-13s%s\n", "Subject:", COL(4));
	g_autofree char *body_type = g_strdup(COL(6));
	g_autofree char *warnings = g_strdup(COL(8));
	g_autofree char *body = g_strdup(COL(10));
	g_autofree char *irt = g_strdup(COL(5));
	gint64 size = sqlite3_column_int64(st, 7);
	g_autofree char *fp = g_strdup(COL(9));
#undef COL
	sqlite3_reset(st);
	show_rows(store,
		  "SELECT CASE role WHEN 'from' THEN 'From:' WHEN 'to' THEN 'To:' WHEN 'cc' THEN 'Cc:' "
		  "WHEN 'reply_to' THEN 'Reply-To:' ELSE 'Envelope-To:' END, "
		  "CASE WHEN name IS NOT NULL AND name <> '' THEN '\"' || name || '\" <' || address || '>' "
		  "ELSE '<' || address || '>' END FROM participants WHERE message = ? "
		  "ORDER BY CASE role WHEN 'from' THEN 0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 WHEN 'reply_to' THEN 3 "
		  "ELSE 4 END, position",
		  m, "", 2);
	if (irt)
		printf("%-13s<%s>\n", "In-Reply-To:", irt);
	show_rows(store, "SELECT '<' || ref || '>' FROM message_references WHERE message = ? ORDER BY position", m,
		  "References:", 1);
	printf("%-13s%" G_GINT64_FORMAT " bytes, fingerprint %s\n", "Size:", size, fp);
	show_rows(store,
		  "SELECT coalesce(filename, '(no name)'), content_type, size || ' bytes', 'sha256 ' || sha256 "
		  "FROM attachments WHERE message = ? ORDER BY position",
		  m, "Attachment:", 4);
	show_rows(store,
		  "SELECT kind, received_at, CASE WHEN owner_user_id IS NOT NULL THEN 'owner ' || owner_user_id END, "
		  "coalesce(file_name, folder, uidl, dropbox) FROM sources WHERE message = ? ORDER BY id",
		  m, "Source:", 4);
	show_rows(store,
		  "SELECT module, record_id, 'rule ' || rule, visibility FROM links WHERE message = ? "
		  "ORDER BY module DESC, record_id",
		  m, "Link:", 4);
	if (warnings) {
		g_auto(GStrv) w = g_strsplit(warnings, "\n", -1);
		for (char **p = w; *p; p++)
			printf("%-13s%s\n", "Warning:", *p);
	}
	if (!no_body) {
		printf("%-13s%s\n\n", "Body:", body_type ? body_type : "(none)");
		fputs(body ? body : "", stdout);
		if (body && *body && body[strlen(body) - 1] != '\n')
			putchar('\n');
	}
	return CLI_OK;
}
