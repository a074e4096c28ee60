/* The RFC 4180 reader and the import's error reporting and rollback. */
#include <string.h>

#include "store/sqlite/sqlite.h"
#include "assoc/assoc.h"
#include "tests/unit/testutil.h"

/* All records of TEXT as "a|b|c" lines joined by "\n", or "ERROR: message". */
static char *
parse_all(const char *text, gsize len)
{
	g_autoptr(AssocCsv) csv = assoc_csv_new("t.csv", text, len);
	g_autoptr(GPtrArray) row = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	while (assoc_csv_next(csv, row, &error)) {
		g_ptr_array_add(row, NULL);
		g_autofree char *joined = g_strjoinv("|", (char **)row->pdata);
		g_ptr_array_set_size(row, row->len - 1);
		g_string_append_printf(out, "%s%u:%s", out->len ? "\n" : "", assoc_csv_line(csv), joined);
	}
	if (error)
		return g_strdup_printf("ERROR: %s", error->message);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

typedef struct {
	const char *name, *in, *want;
} CsvCase;

static const CsvCase cases[] = {
	{ "plain", "a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3" },
	{ "crlf", "a,b\r\n1,2\r\n", "1:a|b\n2:1|2" },
	{ "no final newline", "a,b\n1,2", "1:a|b\n2:1|2" },
	{ "bom", "\xEF\xBB\xBFid,name\nx,y\n", "1:id|name\n2:x|y" },
	{ "quoted comma", "\"a,b\",c\n", "1:a,b|c" },
	{ "doubled quote", "\"say \"\"hi\"\"\",x\n", "1:say \"hi\"|x" },
	{ "newline in quotes", "\"two\nlines\",x\ny,z\n", "1:two\nlines|x\n3:y|z" },
	{ "crlf in quotes kept", "\"a\r\nb\",c\r\n", "1:a\r\nb|c" },
	{ "empty fields", ",,\n", "1:||" },
	{ "empty quoted", "\"\",x\n", "1:|x" },
	{ "blank lines skipped", "a\n\n\nb\n", "1:a\n4:b" },
	{ "utf-8", "Zoë,Ünïcode\n", "1:Zoë|Ünïcode" },
	{ "unterminated quote", "a\n\"open,x\n", "ERROR: t.csv:3: quoted field opened on line 2 is never closed" },
	{ "junk after quote", "\"a\"b,c\n", "ERROR: t.csv:1: unexpected character after a closing quote" },
	{ "bare quote", "a\"b,c\n", "ERROR: t.csv:1: a quote inside an unquoted field" },
	{ "bad utf-8", "ok\n\xff\xfe,x\n", "ERROR: t.csv:2: field 1 is not valid UTF-8" },
};

static void
test_csv_case(gconstpointer data)
{
	const CsvCase *c = data;
	g_autofree char *got = parse_all(c->in, strlen(c->in));
	if (g_str_has_prefix(c->want, "ERROR:"))
		g_assert_true(g_str_has_prefix(got, c->want));
	else
		g_assert_cmpstr(got, ==, c->want);
}

static void
test_csv_file(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "f.csv", NULL);
	g_assert_true(g_file_set_contents(path, "h1,h2\r\n\"v,1\",v2\r\n", -1, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocCsv) csv = assoc_csv_open(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(assoc_csv_name(csv), ==, "f.csv");
	g_autoptr(GPtrArray) row = g_ptr_array_new_with_free_func(g_free);
	g_assert_true(assoc_csv_next(csv, row, &error));
	g_assert_true(assoc_csv_next(csv, row, &error));
	g_assert_cmpstr(row->pdata[0], ==, "v,1");
	g_assert_false(assoc_csv_next(csv, row, &error));
	g_assert_no_error(error);
	g_autoptr(AssocCsv) none = assoc_csv_open("/nonexistent/x.csv", &error);
	g_assert_null(none);
	g_assert_error(error, ASSOC_ERROR, ASSOC_ERROR_CSV);
}

/* ---- import errors: the message names file, line and field; nothing changes */

typedef struct {
	const char *name;
	AssocImportKind kind;
	const char *csv;
	const char *want; /* the error message starts with this */
} ImportCase;

static const ImportCase import_cases[] = {
	{ "bad probability", ASSOC_IMPORT_DEALS,
	  "id,name,stage,probability,modified_at,contacts\nd1,A,,50,2026-01-01,c1\nd2,B,,abc,2026-01-01,c1\n",
	  "deals.csv:3: field 'probability': 'abc' is not a number 0..100" },
	{ "probability out of range", ASSOC_IMPORT_DEALS,
	  "id,name,stage,probability,modified_at,contacts\nd1,A,,101,2026-01-01,c1\n",
	  "deals.csv:2: field 'probability': '101' is not a number 0..100" },
	{ "bad date", ASSOC_IMPORT_DEALS, "id,name,stage,probability,modified_at,contacts\nd1,A,,5,yesterday,c1\n",
	  "deals.csv:2: field 'modified_at': 'yesterday' is not an ISO 8601" },
	{ "unknown contact", ASSOC_IMPORT_DEALS, "id,name,stage,probability,modified_at,contacts\nd1,A,,5,2026-01-01,c1;c9\n",
	  "deals.csv:2: field 'contacts': unknown contact id 'c9'" },
	{ "unknown stage", ASSOC_IMPORT_DEALS, "id,name,stage,probability,modified_at,contacts\nd1,A,Nope,,2026-01-01,c1\n",
	  "deals.csv:2: field 'stage': unknown stage 'Nope'" },
	{ "duplicate id", ASSOC_IMPORT_CONTACTS,
	  "id,kind,name,emails,owner\nc2,contact,X,x@y.example,\n\"c2\",lead,Y,y@y.example,\n",
	  "contacts.csv:3: field 'id': duplicate 'c2'" },
	{ "missing column", ASSOC_IMPORT_CONTACTS, "id,kind,name,emails\nc2,contact,X,x@y.example\n",
	  "contacts.csv:1: missing column 'owner'" },
	{ "unknown column", ASSOC_IMPORT_STAGES, "name,probability,colour\nA,1,red\n", "stages.csv:1: unknown column 'colour'" },
	{ "unknown owner", ASSOC_IMPORT_CONTACTS, "id,kind,name,emails,owner\nc2,contact,X,x@y.example,u9\n",
	  "contacts.csv:2: field 'owner': unknown user id 'u9'" },
	{ "bad kind", ASSOC_IMPORT_CONTACTS, "id,kind,name,emails,owner\nc2,person,X,x@y.example,\n",
	  "contacts.csv:2: field 'kind': 'person' is not 'contact' or 'lead'" },
	{ "bad address", ASSOC_IMPORT_CONTACTS, "id,kind,name,emails,owner\nc2,contact,X,not an address,\n",
	  "contacts.csv:2: field 'emails': 'not an address' is not an email address" },
	{ "wrong field count", ASSOC_IMPORT_STAGES, "name,probability\nA,1\nB\n", "stages.csv:3: 1 fields where the header has 2" },
	{ "bad sharing", ASSOC_IMPORT_USERS,
	  "id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at\nu2,b@x.example,B,,,secret,,\n",
	  "users.csv:2: field 'sharing': 'secret' is not one of public, private, custom" },
	{ "address of another user", ASSOC_IMPORT_USERS,
	  "id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at\nu2,A@X.example,B,,,,,\n",
	  "users.csv:2: field 'email': address a@x.example already belongs to user u1" },
	{ "empty file", ASSOC_IMPORT_STAGES, "", "stages.csv: empty file" },
	{ "csv syntax", ASSOC_IMPORT_STAGES, "name,probability\n\"A,1\n", "stages.csv:3: quoted field opened on line 2" },
};

static const char *const kind_files[] = { "users.csv", "stages.csv", "contacts.csv", "deals.csv" };

static gint64
count(Store *store, const char *sql)
{
	sqlite3_stmt *st = sq_prepare(store, sql, NULL);
	g_assert_nonnull(st);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	gint64 n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

static void
test_import_error(gconstpointer data)
{
	const ImportCase *c = data;
	static int n;
	g_autofree char *dir = g_strdup_printf("%s/imp%d", testutil_tmpdir(), n++);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_autofree char *db = g_build_filename(dir, "db", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(db, NULL, &error);
	g_assert_no_error(error);
	/* Seed: one user, one contact. */
	g_autofree char *seed_u = g_build_filename(dir, "users.csv", NULL);
	g_assert_true(g_file_set_contents(
		seed_u, "id,email,name,dropbox,aliases,sharing,excluded_domains,last_active_at\nu1,a@x.example,A,,,,,\n", -1,
		NULL));
	g_assert_true(assoc_import(store, ASSOC_IMPORT_USERS, seed_u, NULL, NULL, NULL, &error));
	g_autofree char *seed_c = g_build_filename(dir, "contacts.csv", NULL);
	g_assert_true(g_file_set_contents(seed_c, "id,kind,name,emails,owner\nc1,contact,C,c@y.example,u1\n", -1, NULL));
	g_assert_true(assoc_import(store, ASSOC_IMPORT_CONTACTS, seed_c, NULL, NULL, NULL, &error));
	g_assert_no_error(error);
	const char *sums = "SELECT (SELECT count(*) FROM users) * 1000000 + (SELECT count(*) FROM contacts) * 10000 + "
			   "(SELECT count(*) FROM deals) * 100 + (SELECT count(*) FROM stages) * 10 + "
			   "(SELECT count(*) FROM contact_addresses)";
	gint64 before = count(store, sums);
	g_autofree char *path = g_build_filename(dir, kind_files[c->kind], NULL);
	g_assert_true(g_file_set_contents(path, c->csv, -1, NULL));
	AssocImportResult r = { 0 };
	g_assert_false(assoc_import(store, c->kind, path, NULL, NULL, &r, &error));
	g_assert_nonnull(error);
	if (!g_str_has_prefix(error->message, c->want))
		g_test_message("got: %s", error->message);
	g_assert_true(g_str_has_prefix(error->message, c->want));
	g_assert_cmpint(count(store, sums), ==, before);
	g_assert_false(store_in_transaction(store));
}

static void
test_import_upsert(void)
{
	g_autofree char *dir = g_build_filename(testutil_tmpdir(), "upsert", NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_autofree char *db = g_build_filename(dir, "db", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(db, NULL, &error);
	g_autofree char *p = g_build_filename(dir, "contacts.csv", NULL);
	g_assert_true(g_file_set_contents(p, "emails,id,owner,kind,name\r\n\"a@x.example;B@X.example\",c1,,,One\r\n", -1,
					  NULL));
	g_assert_true(assoc_import(store, ASSOC_IMPORT_CONTACTS, p, NULL, NULL, NULL, &error));
	g_assert_cmpint(count(store, "SELECT count(*) FROM contact_addresses WHERE contact_id = 'c1'"), ==, 2);
	g_assert_true(g_file_set_contents(p, "id,kind,name,emails,owner\nc1,lead,Uno,b@x.example,\n", -1, NULL));
	AssocImportResult r = { 0 };
	g_assert_true(assoc_import(store, ASSOC_IMPORT_CONTACTS, p, NULL, NULL, &r, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(r.rows, ==, 1);
	/* The old and the new addresses may both change matching. */
	g_assert_cmpuint(r.touched_keys->len, ==, 2);
	assoc_import_result_clear(&r);
	g_assert_cmpint(count(store, "SELECT count(*) FROM contacts WHERE id = 'c1' AND kind = 'lead' AND name = 'Uno'"),
			==, 1);
	g_assert_cmpint(count(store, "SELECT count(*) FROM contact_addresses"), ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/assoc-csv/parse/%s", cases[i].name);
		g_test_add_data_func(path, &cases[i], test_csv_case);
	}
	g_test_add_func("/assoc-csv/file", test_csv_file);
	for (guint i = 0; i < G_N_ELEMENTS(import_cases); i++) {
		g_autofree char *path = g_strdup_printf("/assoc-csv/import-error/%s", import_cases[i].name);
		g_test_add_data_func(path, &import_cases[i], test_import_error);
	}
	g_test_add_func("/assoc-csv/import-upsert", test_import_upsert);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
