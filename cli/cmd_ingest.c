/* bccdrop init | ingest | show */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Messages per transaction when ingesting files: few fsyncs. Readers are
 * not blocked (WAL); other writers wait at most one batch. */
#define INGEST_BATCH 1000

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
	CaptureBatch *batch;
	StoreSource source;
	const char *label; /* file name as given */
	gboolean multi;	   /* an mbox: number the messages */
	GString *pending;  /* outcome lines, printed once their batch commits */
	guint stored, duplicates, rejected, total;
	gsize done_bytes, all_bytes;
	gint64 last_progress;
	gboolean progress;
} IngestRun;

static gboolean
ingest_flush(IngestRun *run, GError **error)
{
	if (!capture_batch_commit(run->batch, NULL, NULL, error))
		return FALSE;
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
	g_autoptr(IngestMessage) msg = capture_parse(&in, run->source.received_at, &perr);
	if (!msg) {
		run->rejected++;
		ingest_outcome(run, index, "rejected: %s", perr->message);
		ingest_progress(run, FALSE);
		return TRUE;
	}
	g_auto(CaptureFiled) filed = { 0 };
	if (!capture_batch_add(run->batch, msg, &in, &run->source, &filed, error)) {
		g_string_truncate(run->pending, 0);
		return FALSE;
	}
	if (filed.new_message) {
		run->stored++;
		ingest_outcome(run, index, "stored <%s>%s%s", filed.message_id,
			       filed.synthetic_id ? " (synthetic Message-ID)" : "",
			       filed.id_collision ? " (Message-ID collision: a different message shares it)" : "");
	} else {
		run->duplicates++;
		ingest_outcome(run, index, "duplicate <%s>: %s", filed.message_id,
			       filed.new_source ? "already stored, source added" : "already stored from this source");
	}
	if (capture_batch_pending(run->batch) >= INGEST_BATCH && !ingest_flush(run, error))
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
	gboolean ok = capture_split(data, len, &run->multi, ingest_one, run, error);
	if (ok)
		ok = ingest_flush(run, error);
	ingest_progress(run, TRUE);
	return ok;
}

/* An --owner given by hand is refused like the milter refuses the dropbox
 * of a user deactivated (or retired) in the CRM. */
static gboolean
ingest_owner_active(Store *store, const char *owner, GError **error)
{
	gboolean inactive = FALSE;
	if (!store_user_inactive(store, owner, &inactive, error))
		return FALSE;
	if (inactive)
		g_set_error(error, STORE_ERROR, STORE_ERROR_INVALID,
			    "refused (550 5.1.1): user %s is deactivated in the CRM; nothing was stored", owner);
	return !inactive;
}

/* The owner of the first --rcpt that is a dropbox (and the deal of a
 * per-deal address), the way the milter would have found it; *REFUSAL says
 * why the milter would have refused a --rcpt (a bad per-deal address). An
 * --owner given keeps its value; the deal is then taken only from its
 * own dropbox. */
typedef struct {
	char *owner, *dropbox, *deal, *refusal;
} IngestDropbox;

static gboolean
ingest_dropbox_owner(Store *store, const CommonConfig *config, char **rcpts, IngestDropbox *out, GError **error)
{
	for (char **r = rcpts; r && *r; r++) {
		gboolean need_lookup = FALSE;
		g_autoptr(CaptureRcpt) rcpt = capture_rcpt_new(config, *r, &need_lookup);
		if (!need_lookup)
			continue;
		if (!capture_rcpt_lookup(store, config, rcpt, error))
			return FALSE;
		if (rcpt->kind == CAPTURE_RCPT_BAD_TAG) {
			out->refusal = g_strdup_printf("--rcpt %s refused: %s", *r, rcpt->refusal);
			return TRUE;
		}
		if (rcpt->kind == CAPTURE_RCPT_DEACTIVATED) {
			out->refusal = g_strdup_printf("%s: refused (550 5.1.1): the dropbox's user %s is deactivated "
						       "in the CRM; nothing was stored",
						       *r, rcpt->user_id);
			return TRUE;
		}
		if (rcpt->kind != CAPTURE_RCPT_DROPBOX || out->dropbox ||
		    (out->owner && strcmp(out->owner, rcpt->user_id) != 0))
			continue;
		if (!out->owner)
			out->owner = g_steal_pointer(&rcpt->user_id);
		out->dropbox = g_steal_pointer(&rcpt->key);
		out->deal = g_steal_pointer(&rcpt->deal_id);
	}
	return TRUE;
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
	g_autoptr(GError) lookup_error = NULL;
	gboolean by_hand = owner != NULL;
	IngestDropbox box = { .owner = g_steal_pointer(&owner) };
	gboolean found = kind != STORE_SOURCE_BCC_DROPBOX ||
			 ((!by_hand || ingest_owner_active(store, box.owner, &lookup_error)) &&
			  ingest_dropbox_owner(store, cli->config, rcpts, &box, &lookup_error));
	owner = box.owner;
	g_autofree char *dropbox = box.dropbox, *deal = box.deal, *refusal = box.refusal;
	if (!found || refusal) {
		cli_error("ingest: %s", found ? refusal : lookup_error->message);
		return CLI_FAILED;
	}
	g_autoptr(CaptureBatch) batch = capture_batch_new(store, cli->config);
	IngestRun run = { .cli = cli, .batch = batch, .pending = g_string_new(NULL) };
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
		if (owner && kind == STORE_SOURCE_BCC_DROPBOX && rcpts) {
			run.source.dropbox = dropbox ? dropbox : rcpts[0];
			run.source.deal_id = deal;
		}
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

/* LABEL, then the non-empty columns separated by spaces. */
static void
show_line(const char *label, const char *const *cols, int ncols)
{
	printf("%-13s", label);
	for (int c = 0; c < ncols; c++)
		if (cols[c] && *cols[c])
			printf(c ? " %s" : "%s", cols[c]);
	putchar('\n');
}

static const char *
show_role_label(const char *role)
{
	static const char *const labels[][2] = {
		{ "from", "From:" }, { "to", "To:" }, { "cc", "Cc:" }, { "reply_to", "Reply-To:" }
	};
	for (guint i = 0; i < G_N_ELEMENTS(labels); i++)
		if (!g_strcmp0(role, labels[i][0]))
			return labels[i][1];
	return "Envelope-To:";
}

static void
show_participants(GPtrArray *rows)
{
	for (guint i = 0; i < rows->len; i++) {
		char **r = rows->pdata[i];
		g_autofree char *who = r[1] && *r[1] ? g_strdup_printf("\"%s\" <%s>", r[1], r[2])
						     : g_strdup_printf("<%s>", r[2]);
		const char *cols[] = { show_role_label(r[0]), who };
		show_line("", cols, 2);
	}
}

/* Each row of PART, as the columns `show` has always printed for it. */
static void
show_part(const StoreMessageView *v, StoreViewPart part, const char *label)
{
	GPtrArray *rows = v->rows[part];
	for (guint i = 0; i < rows->len; i++) {
		char **r = rows->pdata[i];
		g_autofree char *a = NULL, *b = NULL;
		const char *cols[4] = { r[0] };
		int n = 4;
		if (part == STORE_VIEW_REFERENCES) {
			cols[0] = a = g_strdup_printf("<%s>", r[0]);
			n = 1;
		} else if (part == STORE_VIEW_ATTACHMENTS) {
			cols[0] = r[0] ? r[0] : "(no name)";
			cols[1] = r[1];
			cols[2] = a = g_strdup_printf("%s bytes", r[2]);
			cols[3] = b = g_strdup_printf("sha256 %s", r[3]);
		} else if (part == STORE_VIEW_SOURCES) {
			cols[1] = r[1];
			cols[2] = a = r[2] ? g_strdup_printf("owner %s", r[2]) : NULL;
			cols[3] = r[3];
		} else {
			cols[1] = r[1];
			cols[2] = a = g_strdup_printf("rule %s", r[2]);
			cols[3] = r[3];
		}
		show_line(label, cols, n);
	}
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
	g_autoptr(GError) error = NULL;
	g_autoptr(StoreMessageView) v = store_message_view(cli->store, m, &error);
	if (!v) {
		cli_error("show: %s", error->message);
		return CLI_FAILED;
	}
	printf("%-13s<%s>%s\n", "Message-ID:", v->message_id, v->message_id_synthetic ? " (synthetic)" : "");
	printf("%-13s%s%s\n", "Date:", v->date, v->date_synthetic ? " (receipt time: no usable Date)" : "");
	printf("%-13s%s\n", "Subject:", v->subject);
	show_participants(v->rows[STORE_VIEW_PARTICIPANTS]);
	if (v->in_reply_to)
		printf("%-13s<%s>\n", "In-Reply-To:", v->in_reply_to);
	show_part(v, STORE_VIEW_REFERENCES, "References:");
	printf("%-13s%" G_GINT64_FORMAT " bytes, fingerprint %s\n", "Size:", v->raw_size, v->fingerprint);
	show_part(v, STORE_VIEW_ATTACHMENTS, "Attachment:");
	show_part(v, STORE_VIEW_SOURCES, "Source:");
	show_part(v, STORE_VIEW_LINKS, "Link:");
	const char *warnings = v->warnings, *body = v->body_text, *body_type = v->body_type;
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
