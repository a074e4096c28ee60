/* Unit tests of capture: the spool, one-message filing, batches with a
 * source's own writes, and the group commit's batching and isolation. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/capture.h"
#include "store/sqlite/sqlite.h"
#include "tests/unit/testutil.h"

static char *
test_message(int n)
{
	return g_strdup_printf("From: a@customer.example\r\nTo: b@corp.example\r\nSubject: message %d\r\n"
			       "Message-ID: <m%d@test.example>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n"
			       "body %d\r\n",
			       n, n, n);
}

static gint64
count_messages(Store *store)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) ids = NULL;
	gint64 n = 0;
	for (int i = 0; i < 64; i++) {
		g_autofree char *id = g_strdup_printf("m%d@test.example", i);
		ids = store_find_message_id(store, id, &error);
		g_assert_no_error(error);
		n += ids->len;
		g_clear_pointer(&ids, g_array_unref);
	}
	return n;
}

/* ---- spool ---- */

static void
test_spool_memory(void)
{
	CaptureSpool spool;
	capture_spool_init(&spool, 64);
	g_assert_true(capture_spool_append(&spool, "Subject: x\r\n", 12, NULL));
	g_assert_true(capture_spool_append(&spool, "\r\nbody\r\n", 8, NULL));
	g_assert_cmpint(spool.fd, ==, -1);
	IngestInput in = capture_spool_input(&spool);
	g_assert_cmpint(in.fd, ==, -1);
	g_assert_cmpmem(in.data, in.len, "Subject: x\r\n\r\nbody\r\n", 20);
	capture_spool_clear(&spool);
}

static void
test_spool_spills(void)
{
	CaptureSpool spool;
	capture_spool_init(&spool, 1000);
	GString *want = g_string_new("Subject: large\r\n\r\n");
	g_assert_true(capture_spool_append(&spool, want->str, want->len, NULL));
	for (int i = 0; i < 500; i++) {
		g_autofree char *line = g_strdup_printf("line %d of a large message\r\n", i);
		g_string_append(want, line);
		g_assert_true(capture_spool_append(&spool, line, strlen(line), NULL));
	}
	/* Beyond the limit the bytes live in an unlinked file, not in memory. */
	g_assert_cmpint(spool.fd, >=, 0);
	g_assert_cmpuint(spool.mem->len, ==, 0);
	struct stat sb;
	g_assert_cmpint(fstat(spool.fd, &sb), ==, 0);
	g_assert_cmpuint(sb.st_nlink, ==, 0);
	g_assert_cmpuint((guint64)sb.st_size, ==, want->len);
	IngestInput in = capture_spool_input(&spool);
	g_assert_cmpint(in.fd, ==, spool.fd);
	/* Parsing rewinds the file itself: the write position is at the end. */
	g_autoptr(GError) error = NULL;
	g_autoptr(IngestMessage) msg = capture_parse(&in, 1, &error);
	g_assert_no_error(error);
	g_assert_nonnull(msg);
	char *buf = g_malloc(want->len);
	g_assert_cmpint(pread(in.fd, buf, want->len, 0), ==, (ssize_t)want->len);
	g_assert_cmpmem(buf, want->len, want->str, want->len);
	g_free(buf);
	g_string_free(want, TRUE);
	capture_spool_clear(&spool);
	g_assert_cmpint(spool.fd, ==, -1);
}

/* ---- one message, batches ---- */

static void
test_file_and_redelivery(void)
{
	g_autoptr(CommonConfig) config = testutil_config("file.db", 2000);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(config->database, NULL, &error);
	g_assert_no_error(error);
	g_autofree char *raw = test_message(1);
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	StoreSource src = { .kind = STORE_SOURCE_FILE, .received_at = 1, .file_name = "m1.eml" };
	g_auto(CaptureFiled) filed = { 0 };
	g_assert_true(capture_file(store, config, &in, &src, &filed, &error));
	g_assert_no_error(error);
	g_assert_true(filed.new_message && filed.new_source);
	g_assert_cmpstr(filed.message_id, ==, "m1@test.example");
	g_assert_true(filed.unmatched);
	g_assert_false(store_in_transaction(store));
	/* The same source again is a no-op, reported as such. */
	g_assert_true(capture_file(store, config, &in, &src, &filed, &error));
	g_assert_false(filed.new_message || filed.new_source);
	g_assert_cmpint(count_messages(store), ==, 1);
	/* Not a message: refused, nothing stored, the error says so. */
	IngestInput junk = INGEST_INPUT_BYTES("", 0);
	g_assert_false(capture_file(store, config, &junk, &src, &filed, &error));
	g_assert_true(capture_error_is_bad_input(error));
	g_assert_false(store_in_transaction(store));
}

typedef struct {
	int calls;
	gboolean fail;
} Hook;

static gboolean
batch_hook(Store *store, gpointer data, GError **error)
{
	Hook *h = data;
	h->calls++;
	g_assert_true(store_in_transaction(store));
	if (h->fail)
		g_set_error(error, STORE_ERROR, STORE_ERROR_INVALID, "the cursor write failed");
	return !h->fail;
}

static void
batch_add(CaptureBatch *batch, const CommonConfig *config, int n)
{
	g_autofree char *raw = test_message(n);
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	g_autoptr(GError) error = NULL;
	g_autoptr(IngestMessage) msg = capture_parse(&in, 1, &error);
	g_assert_no_error(error);
	g_autofree char *name = g_strdup_printf("m%d", n);
	StoreSource src = { .kind = STORE_SOURCE_FILE, .received_at = 1, .file_name = name };
	g_assert_true(capture_batch_add(batch, msg, &in, &src, NULL, &error));
	g_assert_no_error(error);
}

/* A failing hook (the source's own write) takes the batch's messages with
 * it: a cursor is never committed without its messages, nor the reverse. */
static void
test_batch_hook(void)
{
	g_autoptr(CommonConfig) config = testutil_config("batch.db", 2000);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) store = store_open(config->database, NULL, &error);
	g_autoptr(CaptureBatch) batch = capture_batch_new(store, config);
	Hook h = { 0, TRUE };
	for (int i = 0; i < 3; i++)
		batch_add(batch, config, i);
	g_assert_cmpuint(capture_batch_pending(batch), ==, 3);
	g_assert_false(capture_batch_commit(batch, batch_hook, &h, &error));
	g_assert_error(error, STORE_ERROR, STORE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_cmpint(count_messages(store), ==, 0);
	g_assert_cmpuint(capture_batch_pending(batch), ==, 0);
	h.fail = FALSE;
	for (int i = 0; i < 3; i++)
		batch_add(batch, config, i);
	g_assert_true(capture_batch_commit(batch, batch_hook, &h, &error));
	g_assert_no_error(error);
	g_assert_cmpint(h.calls, ==, 2);
	g_assert_cmpint(count_messages(store), ==, 3);
	/* A hook alone (a cursor move with no message) is committed too. */
	g_assert_true(capture_batch_commit(batch, batch_hook, &h, &error));
	g_assert_cmpint(h.calls, ==, 3);
}

/* ---- group commit ---- */

typedef struct {
	CommonConfig *config;
	CaptureGroup *group;
	int n;
	GMutex *started_lock;
	GCond *started;
	gboolean *first_in;
	gboolean ok;
	GError *error;
} GroupThread;

/* Job 0 holds its batch open until the others have queued behind it; job 3
 * fails, and must be undone alone. */
static gboolean
group_hook(Store *store, gpointer data, GError **error)
{
	GroupThread *t = data;
	if (t->n == 0) {
		g_mutex_lock(t->started_lock);
		*t->first_in = TRUE;
		g_cond_broadcast(t->started);
		g_mutex_unlock(t->started_lock);
		g_usleep(400 * 1000);
	}
	if (t->n == 3)
		g_set_error(error, STORE_ERROR, STORE_ERROR_INVALID, "job 3 fails");
	return t->n != 3;
}

static gpointer
group_thread(gpointer data)
{
	GroupThread *t = data;
	StoreOptions o = { 5000, FALSE, FALSE, NULL };
	g_autoptr(Store) store = store_open(t->config->database, &o, &t->error);
	if (!store)
		return NULL;
	g_autofree char *raw = test_message(t->n);
	IngestInput in = INGEST_INPUT_BYTES(raw, strlen(raw));
	g_autoptr(IngestMessage) msg = capture_parse(&in, 1, &t->error);
	g_autofree char *name = g_strdup_printf("g%d", t->n);
	StoreSource src = { .kind = STORE_SOURCE_FILE, .received_at = 1, .file_name = name };
	g_auto(CaptureFiled) filed = { 0 };
	t->ok = msg && capture_group_store(t->group, store, t->config, msg, &in, &src, group_hook, t, &filed,
					   &t->error);
	return NULL;
}

static void
test_group_commit(void)
{
	g_autoptr(CommonConfig) config = testutil_config("group.db", 2000);
	g_autoptr(GError) error = NULL;
	g_autoptr(Store) main_store = store_open(config->database, NULL, &error);
	g_assert_no_error(error);
	CaptureGroup *group = capture_group_new();
	GMutex lock;
	GCond started;
	gboolean first_in = FALSE;
	g_mutex_init(&lock);
	g_cond_init(&started);
	GroupThread t[8];
	GThread *th[8];
	for (int i = 0; i < 8; i++) {
		t[i] = (GroupThread){ config, group, i, &lock, &started, &first_in, FALSE, NULL };
		th[i] = g_thread_new("group", group_thread, &t[i]);
		/* Job 0 leads alone; the rest arrive while it writes. */
		g_mutex_lock(&lock);
		while (i == 0 && !first_in)
			g_cond_wait(&started, &lock);
		g_mutex_unlock(&lock);
	}
	for (int i = 0; i < 8; i++)
		g_thread_join(th[i]);
	for (int i = 0; i < 8; i++) {
		if (i == 3) {
			g_assert_false(t[i].ok);
			g_assert_error(t[i].error, STORE_ERROR, STORE_ERROR_INVALID);
		} else {
			g_assert_no_error(t[i].error);
			g_assert_true(t[i].ok);
		}
		g_clear_error(&t[i].error);
	}
	/* Every other job was committed, the failing one alone rolled back,
	 * and the seven queued behind job 0 shared far fewer commits. */
	g_assert_cmpint(count_messages(main_store), ==, 7);
	g_assert_cmpuint(capture_group_commits(group), >=, 2);
	g_assert_cmpuint(capture_group_commits(group), <=, 3);
	capture_group_free(group);
	g_mutex_clear(&lock);
	g_cond_clear(&started);
}

/* ---- per-deal recipients ---- */

static CommonConfig *
tag_setup(const char *name, Store **store, AssocDealtagKeys **keys)
{
	g_autofree char *db = g_strconcat(name, ".db", NULL);
	g_autofree char *key = g_strconcat(name, ".key", NULL);
	CommonConfig *config = testutil_config(db, 2000);
	g_free(config->dropbox_tag_key_file);
	config->dropbox_tag_key_file = g_build_filename(testutil_tmpdir(), key, NULL);
	g_autoptr(GError) error = NULL;
	*store = store_open(config->database, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(sq_exec(*store,
			      "INSERT INTO users(id, email, dropbox) VALUES ('u1', 'alice@ourco.com', "
			      "'alice-drop@bcc.example'), ('u2', 'bob@ourco.com', 'bob-drop@bcc.example');"
			      "INSERT INTO deals(id, name, modified_at) VALUES ('d1', 'Renewal', '2026-01-01T00:00:00Z');",
			      &error));
	*keys = assoc_dealtag_keys_load(config->dropbox_tag_key_file, TRUE, &error);
	g_assert_no_error(error);
	return config;
}

static char *
tag_address(const AssocDealtagKeys *keys, const char *dropbox, const char *delims, const char *user,
	    const char *deal)
{
	g_autoptr(GError) error = NULL;
	char *a = assoc_dealtag_address(keys, dropbox, delims, user, deal, "Renewal", &error);
	g_assert_no_error(error);
	return a;
}

/* The kind ADDRESS classifies as; *DEAL gets the deal (may be NULL). */
static CaptureRcptKind
tag_kind(Store *store, const CommonConfig *config, const char *address, char **deal)
{
	gboolean need = FALSE;
	g_autoptr(CaptureRcpt) r = capture_rcpt_new(config, address, &need);
	g_autoptr(GError) error = NULL;
	g_assert_true(capture_rcpt_lookup(store, config, r, &error));
	g_assert_no_error(error);
	g_assert_true(r->kind != CAPTURE_RCPT_BAD_TAG || (r->refusal && *r->refusal));
	if (deal)
		*deal = g_strdup(r->deal_id);
	return r->kind;
}

static void
test_rcpt_deal_address(void)
{
	Store *store = NULL;
	AssocDealtagKeys *keys = NULL;
	g_autoptr(CommonConfig) config = tag_setup("tag-address", &store, &keys);
	g_autofree char *a = tag_address(keys, "alice-drop@bcc.example", "+", "u1", "d1");
	g_autofree char *deal = NULL;
	g_assert_cmpint(tag_kind(store, config, a, &deal), ==, CAPTURE_RCPT_DROPBOX);
	g_assert_cmpstr(deal, ==, "d1");
	g_clear_pointer(&deal, g_free);
	/* The plain dropbox keeps working, with no deal. */
	g_assert_cmpint(tag_kind(store, config, "Alice-Drop@bcc.example", &deal), ==, CAPTURE_RCPT_DROPBOX);
	g_assert_null(deal);
	/* Tampered tag. */
	g_autofree char *bad = g_strdup(a);
	char *at = strchr(bad, '@');
	at[-1] = at[-1] == 'a' ? 'b' : 'a';
	g_assert_cmpint(tag_kind(store, config, bad, NULL), ==, CAPTURE_RCPT_BAD_TAG);
	/* Alice's tag on bob's dropbox. */
	g_autofree char *tag = g_strdup(strstr(a, ".d1.") + 4);
	g_autofree char *bob = g_strdup_printf("bob-drop+d-renewal.d1.%s", tag);
	g_assert_cmpint(tag_kind(store, config, bob, NULL), ==, CAPTURE_RCPT_BAD_TAG);
	/* A well-signed address for a deal that does not exist. */
	g_autofree char *gone = tag_address(keys, "alice-drop@bcc.example", "+", "u1", "d404");
	g_assert_cmpint(tag_kind(store, config, gone, NULL), ==, CAPTURE_RCPT_BAD_TAG);
	/* Nobody's dropbox behind it: not ours, as before. */
	g_autofree char *stranger = tag_address(keys, "carol-drop@bcc.example", "+", "u1", "d1");
	g_assert_cmpint(tag_kind(store, config, stranger, NULL), ==, CAPTURE_RCPT_OTHER);
	assoc_dealtag_keys_free(keys);
	store_close(store);
}

static void
test_rcpt_deal_rotation(void)
{
	Store *store = NULL;
	AssocDealtagKeys *keys = NULL;
	g_autoptr(CommonConfig) config = tag_setup("tag-rotation", &store, &keys);
	g_autofree char *a = tag_address(keys, "alice-drop@bcc.example", "+", "u1", "d1");
	g_autoptr(GError) error = NULL;
	/* Retired 29 days ago: inside the 30-day grace. */
	g_assert_true(assoc_dealtag_rotate(config->dropbox_tag_key_file, common_now() - 29 * 86400, 30, &error));
	g_assert_no_error(error);
	config->dropbox_tag_grace_days = 30;
	g_assert_cmpint(tag_kind(store, config, a, NULL), ==, CAPTURE_RCPT_DROPBOX);
	config->dropbox_tag_grace_days = 28;
	g_assert_cmpint(tag_kind(store, config, a, NULL), ==, CAPTURE_RCPT_BAD_TAG);
	/* A key file others can read is an error (retry later), not a refusal. */
	g_assert_cmpint(chmod(config->dropbox_tag_key_file, 0640), ==, 0);
	gboolean need = FALSE;
	g_autoptr(CaptureRcpt) r = capture_rcpt_new(config, a, &need);
	g_assert_false(capture_rcpt_lookup(store, config, r, &error));
	g_assert_nonnull(error);
	assoc_dealtag_keys_free(keys);
	store_close(store);
}

static void
test_rcpt_deal_delimiters(void)
{
	Store *store = NULL;
	AssocDealtagKeys *keys = NULL;
	g_autoptr(CommonConfig) config = tag_setup("tag-delimiters", &store, &keys);
	g_autofree char *dash = tag_address(keys, "alice-drop@bcc.example", "-", "u1", "d1");
	g_autofree char *plus = tag_address(keys, "alice-drop@bcc.example", "+", "u1", "d1");
	g_free(config->dropbox_recipient_delimiter);
	config->dropbox_recipient_delimiter = g_strdup("+-");
	g_assert_cmpint(tag_kind(store, config, dash, NULL), ==, CAPTURE_RCPT_DROPBOX);
	g_assert_cmpint(tag_kind(store, config, plus, NULL), ==, CAPTURE_RCPT_DROPBOX);
	g_free(config->dropbox_recipient_delimiter);
	config->dropbox_recipient_delimiter = g_strdup("+");
	g_assert_cmpint(tag_kind(store, config, dash, NULL), ==, CAPTURE_RCPT_OTHER);
	g_assert_cmpint(tag_kind(store, config, plus, NULL), ==, CAPTURE_RCPT_DROPBOX);
	assoc_dealtag_keys_free(keys);
	store_close(store);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	capture_init();
	g_test_add_func("/capture/spool/memory", test_spool_memory);
	g_test_add_func("/capture/spool/spills", test_spool_spills);
	g_test_add_func("/capture/file-and-redelivery", test_file_and_redelivery);
	g_test_add_func("/capture/batch-hook", test_batch_hook);
	g_test_add_func("/capture/group-commit", test_group_commit);
	g_test_add_func("/capture/rcpt/deal-address", test_rcpt_deal_address);
	g_test_add_func("/capture/rcpt/deal-rotation", test_rcpt_deal_rotation);
	g_test_add_func("/capture/rcpt/deal-delimiters", test_rcpt_deal_delimiters);
	int rc = g_test_run();
	capture_shutdown();
	return rc;
}
