/* bench-assoc: decision latency per message (capture_decide: facts, the rule, then
 * writing links, history and trace) against a generated CRM of N contacts
 * with 3 deals each. Prints one line of figures; bench/assoc/run.sh compares
 * sizes. The generation is bulk INSERT ... SELECT in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite.h"
#include "capture/capture.h"

#define BENCH_USERS 50

static void
die(const char *what, GError *error)
{
	fprintf(stderr, "bench-assoc: %s: %s\n", what, error ? error->message : "failed");
	exit(1);
}

static void
bulk(Store *store, const char *sql, gint64 n)
{
	g_autoptr(GError) error = NULL;
	sqlite3_stmt *st = sq_prepare(store, sql, &error);
	if (!st)
		die("preparing the generator", error);
	sqlite3_bind_int64(st, 1, n);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_fail(store, &error, "generating");
		die(sql, error);
	}
	sqlite3_reset(st);
}

/* Zero-padded ids keep every index append-only while generating. */
static void
generate(Store *store, gint64 contacts)
{
	g_autoptr(GError) error = NULL;
	if (!store_begin(store, &error))
		die("begin", error);
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO users(id, email, name, dropbox, sharing) SELECT printf('u%03d', i), "
	     "printf('user%03d@sales.example', i), printf('User %d', i), printf('drop%03d@bcc.example', i), "
	     "CASE i % 3 WHEN 0 THEN 'public' WHEN 1 THEN 'custom' ELSE 'private' END FROM n",
	     BENCH_USERS);
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO user_addresses(address_key, user_id, kind) SELECT printf('user%03d@sales.example', i), "
	     "printf('u%03d', i), 'email' FROM n",
	     BENCH_USERS);
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO user_excluded_domains(user_id, domain) SELECT printf('u%03d', i), 'client007.example' FROM n",
	     BENCH_USERS);
	bulk(store,
	     "INSERT INTO stages(name, probability) VALUES ('Lost', 0), ('Lead', 10), ('Proposal', 50), "
	     "('Won', 100)",
	     0);
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO contacts(id, kind, name, owner_id) SELECT printf('c%08d', i), "
	     "CASE WHEN i % 10 = 0 THEN 'lead' ELSE 'contact' END, printf('Contact %d', i), "
	     "printf('u%03d', 1 + i % 50) FROM n",
	     contacts);
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO contact_addresses(contact_id, address, address_key) SELECT printf('c%08d', i), "
	     "printf('p%08d@client%03d.example', i, i % 1000), printf('p%08d@client%03d.example', i, i % 1000) FROM n",
	     contacts);
	/* Three deals per contact: stages and own probabilities mixed, some 0,
	 * modification times spread pseudo-randomly over months. */
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO deals(id, name, stage, probability, modified_at) SELECT printf('d%09d', i), "
	     "printf('Deal %d', i), CASE i % 5 WHEN 0 THEN 'Lost' WHEN 1 THEN 'Lead' WHEN 2 THEN 'Proposal' "
	     "WHEN 3 THEN 'Won' ELSE NULL END, CASE WHEN i % 5 = 4 THEN (i * 7) % 3 * 40 ELSE NULL END, "
	     "strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + (i * 7919) % 20000000, 'unixepoch') FROM n",
	     contacts * 3);
	bulk(store,
	     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
	     "INSERT INTO deal_contacts(deal_id, contact_id) SELECT printf('d%09d', i), printf('c%08d', (i + 2) / 3) "
	     "FROM n",
	     contacts * 3);
	if (!store_commit(store, &error))
		die("commit", error);
}

static char *
make_message(GRand *rand, gint64 contacts, int i)
{
	gint64 a = 1 + g_rand_int_range(rand, 0, (gint32)contacts);
	gint64 b = 1 + g_rand_int_range(rand, 0, (gint32)contacts);
	gint64 c = 1 + g_rand_int_range(rand, 0, (gint32)contacts);
	return g_strdup_printf("From: User 1 <user001@sales.example>\r\n"
			       "To: p%08" G_GINT64_FORMAT "@client%03d.example, p%08" G_GINT64_FORMAT
			       "@client%03d.example\r\n"
			       "Cc: p%08" G_GINT64_FORMAT "@client%03d.example, stranger%d@nowhere.example\r\n"
			       "Subject: proposal %d\r\nMessage-ID: <bench-%d@sales.example>\r\n"
			       "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nHello %d\r\n",
			       a, (int)(a % 1000), b, (int)(b % 1000), c, (int)(c % 1000), i, i, i, i);
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int
main(int argc, char **argv)
{
	gint64 contacts = 10000;
	int messages = 2000, warmup = 300;
	const char *db = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--contacts"))
			contacts = g_ascii_strtoll(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--messages"))
			messages = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--db"))
			db = argv[i + 1];
	}
	if (!db || contacts < 1 || messages < 1) {
		fprintf(stderr, "usage: bench-assoc --db PATH [--contacts N] [--messages M]\n");
		return 2;
	}
	ingest_init();
	g_autoptr(GError) error = NULL;
	StoreOptions o = { 5000, FALSE, FALSE, NULL };
	g_autoptr(Store) store = store_open(db, &o, &error);
	if (!store)
		die("open", error);
	sq_exec(store, "PRAGMA cache_size=-262144", NULL);
	gint64 t0 = g_get_monotonic_time();
	generate(store, contacts);
	double gen_s = (g_get_monotonic_time() - t0) / 1e6;

	/* Store the messages first (no decision), then time each decision. */
	g_autoptr(CommonConfig) config = common_config_defaults();
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	int total = messages + warmup;
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	if (!store_begin(store, &error))
		die("begin", error);
	for (int i = 0; i < total; i++) {
		g_autofree char *raw = make_message(rand, contacts, i);
		IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
		g_autoptr(IngestMessage) msg = ingest_parse(&in, 1772445600, &error);
		if (!msg)
			die("parse", error);
		const char *rcpts[] = { "drop001@bcc.example", NULL };
		StoreSource s = { .kind = STORE_SOURCE_BCC_DROPBOX, .received_at = 1772445600, .owner_user_id = "u001",
				  .envelope_from = "user001@sales.example", .envelope_rcpts = rcpts,
				  .dropbox = "drop001@bcc.example" };
		StorePutResult put;
		if (!store_put_message(store, msg, &in, &s, &put, &error))
			die("store", error);
		g_array_append_val(ids, put.message);
	}
	if (!store_commit(store, &error))
		die("commit", error);
	double *lat = g_new(double, messages);
	guint linked = 0;
	for (int i = 0; i < total; i++) {
		if (!store_begin(store, &error))
			die("begin", error);
		guint n_links = 0;
		gint64 s0 = g_get_monotonic_time();
		if (!capture_decide(store, config, g_array_index(ids, gint64, i), "bench", NULL, &n_links, &error))
			die("decide", error);
		gint64 s1 = g_get_monotonic_time();
		if (!store_commit(store, &error))
			die("commit", error);
		if (i >= warmup) {
			lat[i - warmup] = (double)(s1 - s0);
			linked += n_links > 0;
		}
	}
	qsort(lat, messages, sizeof *lat, cmp_double);
	double p50 = lat[messages / 2], p99 = lat[(int)(messages * 0.99)];
	printf("contacts=%" G_GINT64_FORMAT " deals=%" G_GINT64_FORMAT " generate_s=%.1f messages=%d linked=%u "
	       "p50_us=%.0f p99_us=%.0f max_us=%.0f\n",
	       contacts, contacts * 3, gen_s, messages, linked, p50, p99, lat[messages - 1]);
	g_free(lat);
	ingest_shutdown();
	return 0;
}
