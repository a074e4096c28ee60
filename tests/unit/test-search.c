/* store_search(): the query language, the migration that backfills the
 * index of mail stored before it, and the index following every write and
 * delete of messages. CLI behaviour (ranking, filters, visibility, formats)
 * is tests/integration/search-cli.sh. */
#include <string.h>

#include "common/common.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

/* TERMS as "text" or "text*" joined by '|', or the error message. */
static char *
terms_of(const char *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) terms = store_search_terms(query, &error);
	if (!terms)
		return g_strdup(error->message);
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < terms->len; i++) {
		const StoreSearchTerm *t = g_ptr_array_index(terms, i);
		g_string_append_printf(out, "%s%s%s", i ? "|" : "", t->text, t->prefix ? "*" : "");
	}
	return g_string_free(out, FALSE);
}

static void
test_terms(void)
{
	static const char *const cases[][2] = {
		{ "renewal price", "renewal|price" },
		{ "  \"renewal price\"  quot*", "renewal price|quot*" },
		{ "\"a b\"* c", "a b*|c" },
		{ "OR NOT (x) col:y", "OR|NOT|(x)|col:y" },
		{ "- & \"\" ***", "search query: no words to search for" },
		{ "", "search query: no words to search for" },
		{ "ok \"open", "search query: the double quote at character 4 is never closed (a phrase is \"two words\")" },
		{ "é\"x\"", "é|x" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = terms_of(cases[i][0]);
		g_assert_cmpstr(got, ==, cases[i][1]);
	}
}

static IngestAddress *
address(IngestRole role, const char *name, const char *addr)
{
	IngestAddress *a = g_new0(IngestAddress, 1);
	a->role = role;
	a->name = g_strdup(name);
	a->address = g_strdup(addr);
	a->key = g_ascii_strdown(addr, -1);
	return a;
}

static void
address_free(gpointer p)
{
	IngestAddress *a = p;
	g_free(a->name);
	g_free(a->address);
	g_free(a->key);
	g_free(a);
}

static void
attachment_free(gpointer p)
{
	IngestAttachment *a = p;
	g_free(a->filename);
	g_free(a->content_type);
	g_free(a);
}

/* Stores one message owned by u1 in the open transaction: subject SUBJECT,
 * a From with a name, an attachment "contract-ACME.pdf". */
static gint64
put_in(Store *store, const char *id, const char *subject, const char *body)
{
	IngestMessage m = { 0 };
	m.message_id = (char *)id;
	m.date = 1770000000;
	m.subject = (char *)subject;
	m.body_text = (char *)body;
	m.addresses = g_ptr_array_new_with_free_func(address_free);
	m.references = g_ptr_array_new();
	m.attachments = g_ptr_array_new_with_free_func(attachment_free);
	m.warnings = g_ptr_array_new();
	g_ptr_array_add(m.addresses, address(INGEST_ROLE_FROM, "Quincy Zebra", "qz@vendor.example"));
	IngestAttachment *at = g_new0(IngestAttachment, 1);
	at->filename = g_strdup("contract-ACME.pdf");
	at->content_type = g_strdup("application/pdf");
	memset(at->sha256, 'a', 64);
	g_ptr_array_add(m.attachments, at);
	g_autofree char *fp = g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1);
	memcpy(m.fingerprint, fp, 64);
	IngestInput in = INGEST_INPUT_BYTES("x", 1);
	StoreSource src = { .kind = STORE_SOURCE_FILE, .received_at = 1770000000, .owner_user_id = "u1",
			    .file_name = id };
	StorePutResult r;
	g_autoptr(GError) error = NULL;
	g_assert_true(store_put_message(store, &m, &in, &src, &r, &error));
	g_assert_no_error(error);
	g_ptr_array_unref(m.addresses);
	g_ptr_array_unref(m.references);
	g_ptr_array_unref(m.attachments);
	g_ptr_array_unref(m.warnings);
	return r.message;
}

/* put_in() in a transaction of its own. */
static gint64
put_one(Store *store, const char *id, const char *subject, const char *body)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(store_begin(store, &error));
	gint64 message = put_in(store, id, subject, body);
	g_assert_true(store_commit(store, &error));
	g_assert_no_error(error);
	return message;
}

/* Message-IDs the owner u1 finds for QUERY, ' '-joined in rank order. */
static char *
found(Store *store, const char *query)
{
	StoreSearchFilter f = { .query = query, .user_id = "u1" };
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) hits = store_search(store, &f, &error);
	g_assert_no_error(error);
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < hits->len; i++)
		g_string_append_printf(out, "%s%s", i ? " " : "", ((StoreSearchHit *)hits->pdata[i])->message_id);
	return g_string_free(out, FALSE);
}

#define assert_found(store, query, want)                  \
	do {                                              \
		g_autofree char *got_ = found(store, query); \
		g_assert_cmpstr(got_, ==, want);          \
	} while (0)

static void
test_index_follows_writes(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "search-writes.db", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(path, NULL, &error);
	g_assert_no_error(error);
	gint64 a = put_one(store, "a@x", "Renewal price", "Body one.");
	put_one(store, "b@x", "Other", "The renewal, in the body.");
	assert_found(store, "renewal", "a@x b@x");
	assert_found(store, "zebra", "a@x b@x");
	assert_found(store, "qz@vendor.example", "a@x b@x");
	assert_found(store, "contract-acme.pdf", "a@x b@x");
	/* Nobody else sees mail without a public link. */
	StoreSearchFilter anon = { .query = "renewal" };
	g_autoptr(GPtrArray) none = store_search(store, &anon, &error);
	g_assert_cmpuint(none->len, ==, 0);
	/* A plain DELETE, the cascade any deletion (retention) ends in. */
	g_autofree char *del = g_strdup_printf("DELETE FROM messages WHERE id = %" G_GINT64_FORMAT, a);
	g_assert_true(sq_exec(store, del, &error));
	assert_found(store, "renewal", "b@x");
	assert_found(store, "price", "");
	g_assert_true(sq_exec(store, "UPDATE messages SET subject = 'Changed words'", &error));
	assert_found(store, "changed", "b@x");
	g_assert_true(sq_exec(store, "INSERT INTO message_search(message_search) VALUES ('integrity-check')", &error));
	g_assert_no_error(error);
}

/* Indexing happens at commit: a message rolled back (whole transaction or
 * savepoint) or deleted before its transaction ends is never in the index,
 * and the index stays consistent with messages. */
static void
test_index_at_commit(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "search-commit.db", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(store_begin(store, &error));
	put_in(store, "rolled@x", "Rolled words", "Body.");
	store_rollback(store);
	g_assert_true(store_begin(store, &error));
	put_in(store, "kept@x", "Kept words", "Body.");
	g_assert_true(store_savepoint(store, &error));
	put_in(store, "undone@x", "Undone words", "Body.");
	g_assert_true(store_savepoint_rollback(store, &error));
	gint64 gone = put_in(store, "gone@x", "Gone words", "Body.");
	g_autofree char *del = g_strdup_printf("DELETE FROM messages WHERE id = %" G_GINT64_FORMAT, gone);
	g_assert_true(sq_exec(store, del, &error));
	g_assert_true(store_commit(store, &error));
	g_assert_no_error(error);
	assert_found(store, "words", "kept@x");
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM message_search_docsize"), ==, 1);
	g_assert_true(sq_exec(store, "INSERT INTO message_search(message_search) VALUES ('integrity-check')", &error));
	g_assert_no_error(error);
}

/* A database from before the index: migration 2 adds the column, backfills
 * it from participants and attachments, and indexes every message. */
static void
test_migration_backfills(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "search-migrate.db", NULL);
	g_autoptr(GError) error = NULL;
	Store *store = store_open(path, NULL, &error);
	g_assert_no_error(error);
	put_one(store, "old@x", "Quarterly numbers", "Nothing else.");
	/* As the migration before full-text search left it. */
	g_autofree char *undo = g_strdup_printf("DROP TRIGGER messages_search_delete;"
						"DROP TRIGGER messages_search_update; DROP TABLE message_search;"
						"ALTER TABLE messages DROP COLUMN search_names; PRAGMA user_version = %d;",
						STORE_SCHEMA_VERSION - 1);
	g_assert_true(sq_exec(store, undo, &error));
	store_close(store);
	store = store_open(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(store_schema_version(store), ==, STORE_SCHEMA_VERSION);
	assert_found(store, "quarterly", "old@x");
	assert_found(store, "\"quincy zebra\"", "old@x");
	assert_found(store, "acme", "old@x");
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM messages WHERE search_names = "
					      "'Quincy Zebra qz@vendor.example' || char(10) || 'contract-ACME.pdf'"),
			==, 1);
	store_close(store);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/search/terms", test_terms);
	g_test_add_func("/search/index-follows-writes", test_index_follows_writes);
	g_test_add_func("/search/index-at-commit", test_index_at_commit);
	g_test_add_func("/search/migration-backfills", test_migration_backfills);
	return g_test_run();
}
