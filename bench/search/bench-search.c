/* bench-search: query latency of store_search() over a large store. It
 * writes --messages synthetic messages (default 100000) through the real
 * write path, store_put_message() in transactions of 1000, so the index is
 * built by the triggers exactly as capture builds it; then it times each
 * query shape --queries times with different words and prints p50 and p99.
 * The words follow a Zipf-like law over a fixed vocabulary, so "common" and
 * "rare" mean what they do in real mail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

#define BENCH_VOCABULARY 20000
#define BENCH_SENDERS 500
#define BENCH_CODENAMES 1000

static void G_GNUC_NORETURN
die(const char *what, const GError *error)
{
	fprintf(stderr, "bench-search: %s: %s\n", what, error ? error->message : "failed");
	exit(1);
}

/* Word I of the vocabulary: pronounceable, distinct for every I. */
static char *
bench_word(guint i)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "da",
					   "fe", "go", "hu", "ji", "pa", "qui", "ro", "su", "to", "wu" };
	GString *w = g_string_new(NULL);
	do {
		g_string_append(w, syl[i % G_N_ELEMENTS(syl)]);
		i /= G_N_ELEMENTS(syl);
	} while (i);
	g_string_append(w, "n");
	return g_string_free(w, FALSE);
}

/* A vocabulary rank, small ranks far more often (roughly Zipf). */
static guint
bench_rank(GRand *rand)
{
	double u = g_rand_double(rand);
	return (guint)(BENCH_VOCABULARY * u * u * u) % BENCH_VOCABULARY;
}

typedef struct {
	char **words;
	GRand *rand;
} BenchGen;

static char *
bench_text(BenchGen *g, guint n)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? (i % 12 ? " " : ".\n") : "", g->words[bench_rank(g->rand)]);
	return g_string_free(s, FALSE);
}

static void
bench_address_free(gpointer p)
{
	IngestAddress *a = p;
	g_free(a->name);
	g_free(a->address);
	g_free(a->key);
	g_free(a);
}

static IngestAddress *
bench_address(IngestRole role, char *name, char *address)
{
	IngestAddress *a = g_new0(IngestAddress, 1);
	a->role = role;
	a->name = name;
	a->address = address;
	a->key = g_strdup(address);
	return a;
}

/* Message I: a subject of 6 words, a body of 120 with "project CODENAME"
 * in it, a named sender among BENCH_SENDERS and one recipient. */
static IngestMessage *
bench_message(BenchGen *g, guint i)
{
	IngestMessage *m = g_new0(IngestMessage, 1);
	m->message_id = g_strdup_printf("bench-%u@bench.example", i);
	m->date = 1700000000 + (gint64)i * 60;
	m->subject = bench_text(g, 6);
	g_autofree char *body = bench_text(g, 120);
	m->body_text = g_strdup_printf("%s\nproject kod%u\n", body, g_rand_int_range(g->rand, 0, BENCH_CODENAMES));
	m->body_type = g_strdup("text/plain");
	m->addresses = g_ptr_array_new_with_free_func(bench_address_free);
	guint s = (guint)g_rand_int_range(g->rand, 0, BENCH_SENDERS);
	g_ptr_array_add(m->addresses, bench_address(INGEST_ROLE_FROM, g_strdup_printf("Sender %s", g->words[s]),
						    g_strdup_printf("sender%u@vendor%u.example", s, s % 50)));
	g_ptr_array_add(m->addresses, bench_address(INGEST_ROLE_TO, NULL, g_strdup("rep@ourco.example")));
	m->references = g_ptr_array_new_with_free_func(g_free);
	m->attachments = g_ptr_array_new();
	m->warnings = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *fp = g_compute_checksum_for_string(G_CHECKSUM_SHA256, m->message_id, -1);
	memcpy(m->fingerprint, fp, 64);
	m->raw_size = strlen(m->body_text);
	return m;
}

static void
bench_fill(Store *store, BenchGen *g, guint n)
{
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	for (guint i = 0; i < n; i++) {
		if (i % 1000 == 0 && !store_begin(store, &error))
			die("begin", error);
		IngestMessage *m = bench_message(g, i);
		IngestInput in = INGEST_INPUT_BYTES(m->body_text, strlen(m->body_text));
		StoreSource src = { .kind = STORE_SOURCE_FILE, .received_at = m->date, .owner_user_id = "u1",
				    .file_name = m->message_id };
		if (!store_put_message(store, m, &in, &src, NULL, &error))
			die("storing", error);
		ingest_message_free(m);
		if (((i + 1) % 1000 == 0 || i + 1 == n) && !store_commit(store, &error))
			die("commit", error);
	}
	double s = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
	printf("stored %u synthetic messages in %.1f s (%.0f msg/s, through store_put_message)\n", n, s, n / s);
}

/* ---- query shapes ---- */

typedef char *(*BenchQueryFunc)(BenchGen *g);

static char *
q_common(BenchGen *g)
{
	return g_strdup(g->words[g_rand_int_range(g->rand, 0, 10)]);
}

static char *
q_rare(BenchGen *g)
{
	return g_strdup(g->words[g_rand_int_range(g->rand, 5000, BENCH_VOCABULARY)]);
}

static char *
q_two_words(BenchGen *g)
{
	return g_strdup_printf("%s %s", g->words[g_rand_int_range(g->rand, 0, 50)],
			       g->words[g_rand_int_range(g->rand, 200, 2000)]);
}

static char *
q_phrase(BenchGen *g)
{
	return g_strdup_printf("\"project kod%d\"", g_rand_int_range(g->rand, 0, BENCH_CODENAMES));
}

static char *
q_prefix(BenchGen *g)
{
	const char *w = g->words[g_rand_int_range(g->rand, 100, 2000)];
	return g_strdup_printf("%.4s*", w);
}

static char *
q_address(BenchGen *g)
{
	guint s = (guint)g_rand_int_range(g->rand, 0, BENCH_SENDERS);
	return g_strdup_printf("sender%u@vendor%u.example", s, s % 50);
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
bench_shape(Store *store, BenchGen *g, const char *name, BenchQueryFunc make, guint n, gboolean since)
{
	double *ms = g_new(double, n);
	guint64 hits = 0;
	for (guint i = 0; i < n; i++) {
		g_autofree char *query = make(g);
		StoreSearchFilter f = { .query = query, .user_id = "u1", .by_since = since, .since = 1700000000 + 60 * 90000 };
		g_autoptr(GError) error = NULL;
		gint64 start = g_get_monotonic_time();
		g_autoptr(GPtrArray) found = store_search(store, &f, &error);
		ms[i] = (double)(g_get_monotonic_time() - start) / 1000;
		if (!found)
			die(query, error);
		hits += found->len;
	}
	qsort(ms, n, sizeof *ms, bench_cmp);
	printf("  %-28s p50 %7.2f ms  p99 %7.2f ms  (%u queries, %.1f hits each, limit 50)\n", name, ms[n / 2],
	       ms[(guint)(n * 0.99)], n, (double)hits / n);
	g_free(ms);
}

int
main(int argc, char **argv)
{
	int messages = 100000, queries = 100;
	char *dir = NULL;
	GOptionEntry entries[] = {
		{ "messages", 0, 0, G_OPTION_ARG_INT, &messages, "messages to store (default 100000)", "N" },
		{ "queries", 0, 0, G_OPTION_ARG_INT, &queries, "queries per shape (default 100)", "N" },
		{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "folder for the SQLite file", "DIR" },
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- store_search latency over a large store");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		die("options", error);
	if (messages < 1 || queries < 1)
		die("options", NULL);
	g_autofree char *db = g_build_filename(dir ? dir : g_get_tmp_dir(), "bench-search.db", NULL);
	unlink(db);
	StoreOptions options = { 5000, FALSE, FALSE, NULL };
	Store *store = store_open(db, &options, &error);
	if (!store)
		die(db, error);
	BenchGen g = { g_new0(char *, BENCH_VOCABULARY + 1), g_rand_new_with_seed(13) };
	for (guint i = 0; i < BENCH_VOCABULARY; i++)
		g.words[i] = bench_word(i);
	bench_fill(store, &g, (guint)messages);
	printf("query latency over %d messages (store_search, as the owner; one connection, warm cache):\n", messages);
	bench_shape(store, &g, "common word (top 10)", q_common, (guint)queries, FALSE);
	bench_shape(store, &g, "rare word", q_rare, (guint)queries, FALSE);
	bench_shape(store, &g, "two words", q_two_words, (guint)queries, FALSE);
	bench_shape(store, &g, "phrase \"project kodN\"", q_phrase, (guint)queries, FALSE);
	bench_shape(store, &g, "prefix (4 letters*)", q_prefix, (guint)queries, FALSE);
	bench_shape(store, &g, "sender address", q_address, (guint)queries, FALSE);
	bench_shape(store, &g, "common word, --since", q_common, (guint)queries, TRUE);
	store_close(store);
	unlink(db);
	g_strfreev(g.words);
	g_rand_free(g.rand);
	g_free(dir);
	return 0;
}
