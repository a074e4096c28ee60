/* bench-ingest: throughput of ingest_parse() + store_put_message() against
 * its baseline, GMime alone parsing the same bytes, walking every part and
 * decoding its content (the least any GMime-based ingest must do).
 *
 * The corpus (every MANIFEST.tsv file, mbox files split) is loaded into
 * memory first; passes of the two kinds alternate until each has run for
 * --seconds. Each ingest pass writes a fresh SQLite file in transactions of
 * 200 messages: the same message twice would only be a duplicate. A third
 * kind of pass stores without indexing for full-text search
 * (sq_search_disable(): a bench-only switch, no configuration key) to
 * measure what the index costs. Prints two lines; bench/ingest/run.sh checks
 * both ratios. */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"

static int BENCH_BATCH = 200;

typedef struct {
	char *name;
	GBytes *bytes;
} BenchItem;

typedef struct {
	double seconds;
	guint64 messages;
	guint64 bytes;
	double parse_seconds; /* of an ingest pass: in ingest_parse() */
	/* ... and in store_open() (schema creation), store_commit() (WAL
	 * writes, fsync, auto-checkpoints) and store_close() (the last
	 * checkpoint): where the store's time goes. */
	double open_seconds, commit_seconds, close_seconds;
} BenchTotal;

static void G_GNUC_NORETURN
die(const char *what, const GError *error)
{
	fprintf(stderr, "bench-ingest: %s: %s\n", what, error ? error->message : "failed");
	exit(1);
}

static void
bench_item_free(gpointer p)
{
	BenchItem *item = p;
	g_free(item->name);
	g_bytes_unref(item->bytes);
	g_free(item);
}

static double
bench_since(gint64 start)
{
	return (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct {
	GPtrArray *items;
	const char *name;
} BenchLoad;

/* Only what ingest accepts as a message is timed, by both sides. */
static gboolean
bench_add(const guint8 *data, gsize len, guint index, gpointer user_data, GError **error)
{
	BenchLoad *load = user_data;
	IngestInput in = INGEST_INPUT_BYTES(data, len);
	IngestMessage *msg = ingest_parse(&in, 0, NULL);
	if (!msg)
		return TRUE;
	ingest_message_free(msg);
	BenchItem *item = g_new0(BenchItem, 1);
	item->name = g_strdup_printf("%s#%u", load->name, index);
	item->bytes = g_bytes_new(data, len);
	g_ptr_array_add(load->items, item);
	return TRUE;
}

static GPtrArray *
bench_load(const char *corpus)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *manifest = g_build_filename(corpus, "MANIFEST.tsv", NULL);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(manifest, &text, NULL, &error))
		die("reading the corpus manifest", error);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	GPtrArray *items = g_ptr_array_new_with_free_func(bench_item_free);
	for (guint i = 1; lines[i]; i++) {
		char *tab = strchr(lines[i], '\t');
		if (!tab)
			continue;
		*tab = '\0';
		g_autofree char *path = g_build_filename(corpus, lines[i], NULL);
		g_autofree char *data = NULL;
		gsize len;
		if (!g_file_get_contents(path, &data, &len, &error))
			die(path, error);
		BenchLoad load = { items, lines[i] };
		ingest_mbox_foreach((const guint8 *)data, len, bench_add, &load, NULL);
	}
	return items;
}

/* ---- the baseline: GMime alone -------------------------------------------------- */

static void
bench_decode_part(GMimeObject *parent, GMimeObject *part, gpointer user_data)
{
	if (!GMIME_IS_PART(part))
		return;
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
	if (content)
		g_mime_data_wrapper_write_to_stream(content, user_data);
}

static void
bench_gmime_one(GBytes *bytes, GMimeStream *sink)
{
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
	if (message) {
		(void)g_mime_message_get_subject(message);
		g_mime_message_foreach(message, bench_decode_part, sink);
		g_object_unref(message);
	}
	g_object_unref(parser);
	g_object_unref(stream);
}

static void
bench_pass_gmime(GPtrArray *items, BenchTotal *total)
{
	GMimeStream *sink = g_mime_stream_null_new();
	gint64 start = g_get_monotonic_time();
	for (guint i = 0; i < items->len; i++) {
		BenchItem *item = g_ptr_array_index(items, i);
		bench_gmime_one(item->bytes, sink);
		total->bytes += g_bytes_get_size(item->bytes);
	}
	total->seconds += bench_since(start);
	total->messages += items->len;
	g_object_unref(sink);
}

/* ---- ingest + store ---------------------------------------------------------------- */

static void
bench_remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		g_autofree char *p = g_strconcat(path, suffixes[i], NULL);
		unlink(p);
	}
}

static void
bench_store_one(Store *store, BenchItem *item, gint64 now, BenchTotal *total)
{
	g_autoptr(GError) error = NULL;
	gsize len;
	const guint8 *data = g_bytes_get_data(item->bytes, &len);
	IngestInput in = INGEST_INPUT_BYTES(data, len);
	gint64 start = g_get_monotonic_time();
	g_autoptr(IngestMessage) msg = ingest_parse(&in, now, &error);
	total->parse_seconds += bench_since(start);
	if (!msg)
		die(item->name, error);
	StoreSource source = { .kind = STORE_SOURCE_FILE, .received_at = now, .file_name = item->name };
	if (!store_put_message(store, msg, &in, &source, NULL, &error))
		die(item->name, error);
}

static gboolean bench_sync_normal;

static void
bench_commit(Store *store, BenchTotal *total)
{
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	if (!store_commit(store, &error))
		die("commit", error);
	total->commit_seconds += bench_since(start);
}

static void
bench_pass_ingest(GPtrArray *items, const char *db, gboolean search_index, BenchTotal *total)
{
	g_autoptr(GError) error = NULL;
	bench_remove_db(db);
	StoreOptions options = STORE_OPTIONS_DEFAULT;
	options.synchronous_full = !bench_sync_normal;
	/* Creating the schema happens once per database, not per message:
	 * it is timed apart (open_seconds), outside the pass's own time. */
	gint64 open_start = g_get_monotonic_time();
	Store *store = store_open(db, &options, &error);
	if (!store)
		die(db, error);
	total->open_seconds += bench_since(open_start);
	if (!search_index)
		sq_search_disable(store);
	gint64 start = g_get_monotonic_time();
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	for (guint i = 0; i < items->len; i++) {
		if (i % BENCH_BATCH == 0 && !store_begin(store, &error))
			die("begin", error);
		BenchItem *item = g_ptr_array_index(items, i);
		bench_store_one(store, item, now, total);
		total->bytes += g_bytes_get_size(item->bytes);
		if ((i + 1) % BENCH_BATCH == 0 || i + 1 == items->len)
			bench_commit(store, total);
	}
	gint64 close_start = g_get_monotonic_time();
	store_close(store);
	total->close_seconds += bench_since(close_start);
	total->seconds += bench_since(start);
	total->messages += items->len;
	bench_remove_db(db);
}

/* ---- main ----------------------------------------------------------------------------- */

/* The corpus holds Message-ID collisions on purpose; store warns about each. */
static void
bench_quiet(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

static const char *
bench_default_corpus(void)
{
	const char *env = g_getenv("BCCDROP_CORPUS");
	if (env && *env)
		return env;
	static char *guess;
	const char *top = g_getenv("BCCDROP_TOP");
	guess = g_build_filename(top ? top : ".", "..", "shared", "corpus", NULL);
	return guess;
}

static double
bench_rate(guint64 n, double seconds)
{
	return seconds > 0 ? (double)n / seconds : 0;
}

int
main(int argc, char **argv)
{
	double seconds = 3;
	char *corpus = NULL, *dir = NULL;
	GOptionEntry entries[] = {
		{ "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "time per kind of pass (default 3)", "S" },
		{ "corpus", 0, 0, G_OPTION_ARG_FILENAME, &corpus, "corpus folder", "DIR" },
		{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "folder for the SQLite files", "DIR" },
		{ "batch", 0, 0, G_OPTION_ARG_INT, &BENCH_BATCH, "messages per transaction (default 200)", "N" },
		{ "sync-normal", 0, 0, G_OPTION_ARG_NONE, &bench_sync_normal,
		  "PRAGMA synchronous=NORMAL (default: FULL, bccdrop's default)", NULL },
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- ingest+store vs GMime parse-only");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		die("options", error);
	g_log_set_default_handler(bench_quiet, NULL);
	ingest_init();
	g_autoptr(GPtrArray) items = bench_load(corpus ? corpus : bench_default_corpus());
	if (!items->len)
		die("loading the corpus", NULL);
	g_autofree char *db = g_build_filename(dir ? dir : g_get_tmp_dir(), "bench-ingest.db", NULL);

	BenchTotal parse = { 0 }, ingest = { 0 }, plain = { 0 };
	bench_pass_gmime(items, &parse); /* warm-up, not counted */
	memset(&parse, 0, sizeof parse);
	while (parse.seconds < seconds || ingest.seconds < seconds || plain.seconds < seconds) {
		bench_pass_gmime(items, &parse);
		bench_pass_ingest(items, db, TRUE, &ingest);
		bench_pass_ingest(items, db, FALSE, &plain);
	}
	double ingest_mps = bench_rate(ingest.messages, ingest.seconds);
	double parse_mps = bench_rate(parse.messages, parse.seconds);
	printf("ingest+store: %.0f msg/s, %.1f MB/s; parse-only: %.0f msg/s, %.1f MB/s; ratio %.2f "
	       "(%u messages, %.1f MB per pass; ingest_parse alone %.0f msg/s, %.0f%% of ingest+store time)\n",
	       ingest_mps, bench_rate(ingest.bytes, ingest.seconds) / 1e6, parse_mps,
	       bench_rate(parse.bytes, parse.seconds) / 1e6, parse_mps > 0 ? ingest_mps / parse_mps : 0,
	       items->len, (double)parse.bytes / (double)parse.messages * items->len / 1e6,
	       bench_rate(ingest.messages, ingest.parse_seconds), 100 * ingest.parse_seconds / ingest.seconds);
	double passes = (double)ingest.messages / items->len;
	printf("ingest+store per pass: %.1f ms; ingest_parse %.1f, store_open %.1f, store_put_message %.1f, "
	       "store_commit %.1f, store_close %.1f\n",
	       1e3 * ingest.seconds / passes, 1e3 * ingest.parse_seconds / passes, 1e3 * ingest.open_seconds / passes,
	       1e3 * (ingest.seconds - ingest.parse_seconds - ingest.commit_seconds -
		      ingest.close_seconds) / passes,
	       1e3 * ingest.commit_seconds / passes, 1e3 * ingest.close_seconds / passes);
	double plain_mps = bench_rate(plain.messages, plain.seconds);
	printf("search index: ingest+store with it %.0f msg/s, without it %.0f msg/s; index ratio %.2f\n", ingest_mps,
	       plain_mps, plain_mps > 0 ? ingest_mps / plain_mps : 0);
	g_clear_pointer(&items, g_ptr_array_unref);
	ingest_shutdown();
	g_free(corpus);
	g_free(dir);
	return 0;
}
