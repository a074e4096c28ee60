/* ingest: parsing, decoding, addresses, fingerprint, mbox; the whole corpus;
 * regression tests for the GMime 3.2.13 defects worked around. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "tests/unit/testutil.h"

#define RECEIVED_AT 1700000000

/* ---- helpers ------------------------------------------------------------------ */

static IngestMessage *
parse_len(const char *raw, gsize len)
{
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_BYTES(raw, len);
	IngestMessage *msg = ingest_parse(&in, RECEIVED_AT, &error);
	g_assert_no_error(error);
	g_assert_nonnull(msg);
	return msg;
}

static IngestMessage *
parse(const char *raw)
{
	return parse_len(raw, strlen(raw));
}

static const IngestAddress *
address_at(const IngestMessage *msg, IngestRole role, guint nth)
{
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		if (a->role == role && nth-- == 0)
			return a;
	}
	return NULL;
}

static guint
role_count(const IngestMessage *msg, IngestRole role)
{
	guint n = 0;
	for (guint i = 0; i < msg->addresses->len; i++)
		n += ((const IngestAddress *)g_ptr_array_index(msg->addresses, i))->role == role;
	return n;
}

static const IngestAttachment *
attachment_at(const IngestMessage *msg, guint i)
{
	g_assert_cmpuint(i, <, msg->attachments->len);
	return g_ptr_array_index(msg->attachments, i);
}

static gboolean
has_warning(const IngestMessage *msg, const char *fragment)
{
	for (guint i = 0; i < msg->warnings->len; i++)
		if (strstr(g_ptr_array_index(msg->warnings, i), fragment))
			return TRUE;
	return FALSE;
}

static char *
sha256_hex(const char *data, gsize len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

/* Every string of a record is valid UTF-8 and every hash well formed. */
static void
assert_record_sane(const IngestMessage *msg)
{
	g_assert_true(msg->message_id && *msg->message_id);
	g_assert_true(g_utf8_validate(msg->message_id, -1, NULL));
	g_assert_true(g_utf8_validate(msg->subject, -1, NULL));
	g_assert_true(g_utf8_validate(msg->body_text, -1, NULL));
	g_assert_cmpuint(strlen(msg->fingerprint), ==, 64);
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		g_assert_true(g_utf8_validate(a->address, -1, NULL));
		g_assert_true(!a->name || g_utf8_validate(a->name, -1, NULL));
	}
	for (guint i = 0; i < msg->attachments->len; i++) {
		const IngestAttachment *a = g_ptr_array_index(msg->attachments, i);
		g_assert_cmpuint(strlen(a->sha256), ==, 64);
		g_assert_nonnull(strchr(a->content_type, '/'));
		g_autofree char *lower = g_ascii_strdown(a->content_type, -1);
		g_assert_cmpstr(lower, ==, a->content_type);
		g_assert_true(!a->filename || g_utf8_validate(a->filename, -1, NULL));
	}
	for (guint i = 0; i < msg->warnings->len; i++) {
		const char *w = g_ptr_array_index(msg->warnings, i);
		g_assert_true(g_utf8_validate(w, -1, NULL));
		g_assert_null(strchr(w, '\n'));
	}
}

/* ---- the corpus ------------------------------------------------------------------ */

static GPtrArray *
corpus_files(void)
{
	const char *dir = testutil_corpus_dir();
	if (!dir)
		return NULL;
	g_autofree char *manifest = g_build_filename(dir, "MANIFEST.tsv", NULL);
	g_autoptr(GBytes) bytes = testutil_read(manifest);
	g_autofree char *text = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 1; lines[i]; i++) { /* line 0: the column names */
		char *tab = strchr(lines[i], '\t');
		if (tab && tab > lines[i])
			g_ptr_array_add(files, g_strndup(lines[i], tab - lines[i]));
	}
	return files;
}

static GBytes *
corpus_read(const char *name)
{
	g_autofree char *path = g_build_filename(testutil_corpus_dir(), name, NULL);
	return testutil_read(path);
}

static gboolean
skip_without_corpus(void)
{
	if (testutil_corpus_dir())
		return FALSE;
	g_test_skip("corpus not found (../shared/corpus or $BCCDROP_CORPUS)");
	return TRUE;
}

typedef struct {
	guint parsed, rejected;
} CorpusCount;

static void
corpus_parse_one(const guint8 *data, gsize len, CorpusCount *count)
{
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_BYTES(data, len);
	g_autoptr(IngestMessage) msg = ingest_parse(&in, RECEIVED_AT, &error);
	if (!msg) {
		g_assert_error(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE);
		g_assert_true(error->message && *error->message);
		count->rejected++;
		return;
	}
	assert_record_sane(msg);
	count->parsed++;
}

static gboolean
corpus_mbox_cb(const guint8 *data, gsize len, guint index, gpointer user_data, GError **error)
{
	corpus_parse_one(data, len, user_data);
	return TRUE;
}

static void
test_corpus_all(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(GPtrArray) files = corpus_files();
	g_assert_cmpuint(files->len, >, 500);
	CorpusCount count = { 0, 0 };
	for (guint i = 0; i < files->len; i++) {
		g_autoptr(GBytes) bytes = corpus_read(g_ptr_array_index(files, i));
		gsize len;
		const guint8 *data = g_bytes_get_data(bytes, &len);
		if (ingest_is_mbox(data, len)) {
			g_autoptr(GError) error = NULL;
			g_assert_true(ingest_mbox_foreach(data, len, corpus_mbox_cb, &count, &error));
			g_assert_no_error(error);
		} else {
			corpus_parse_one(data, len, &count);
		}
	}
	g_test_message("corpus: %u messages parsed, %u rejected", count.parsed, count.rejected);
	g_assert_cmpuint(count.parsed, >=, 500);
	g_assert_cmpuint(count.rejected, <=, 3);
}

/* A file given as a descriptor (mapped, not copied) gives the same record. */
static void
test_corpus_fd_equals_bytes(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(GPtrArray) files = corpus_files();
	for (guint i = 0; i < files->len; i++) {
		g_autofree char *path = g_build_filename(testutil_corpus_dir(), g_ptr_array_index(files, i), NULL);
		g_autoptr(GBytes) bytes = testutil_read(path);
		gsize len;
		const guint8 *data = g_bytes_get_data(bytes, &len);
		g_autoptr(GError) e1 = NULL, e2 = NULL;
		IngestInput in = INGEST_INPUT_BYTES(data, len);
		g_autoptr(IngestMessage) a = ingest_parse(&in, RECEIVED_AT, &e1);
		int fd = open(path, O_RDONLY);
		g_assert_cmpint(fd, >=, 0);
		IngestInput fin = INGEST_INPUT_FD(fd);
		g_autoptr(IngestMessage) b = ingest_parse(&fin, RECEIVED_AT, &e2);
		close(fd);
		g_assert_true((a == NULL) == (b == NULL));
		if (!a)
			continue;
		g_assert_cmpstr(a->fingerprint, ==, b->fingerprint);
		g_assert_cmpstr(a->body_text, ==, b->body_text);
		g_assert_cmpuint(a->attachments->len, ==, b->attachments->len);
		g_assert_cmpuint(a->raw_size, ==, b->raw_size);
	}
}

static IngestMessage *
corpus_parse(const char *name)
{
	g_autoptr(GBytes) bytes = corpus_read(name);
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	IngestMessage *msg = parse_len(data, len);
	assert_record_sane(msg);
	return msg;
}

static void
assert_attachment(const IngestMessage *msg, guint i, const char *filename, const char *type, guint64 size,
		  const char *sha256)
{
	const IngestAttachment *a = attachment_at(msg, i);
	g_assert_cmpstr(a->filename, ==, filename);
	g_assert_cmpstr(a->content_type, ==, type);
	g_assert_cmpuint(a->size, ==, size);
	g_assert_cmpstr(a->sha256, ==, sha256);
}

/* Expected values were worked out independently (Python's email package and
 * hashlib on the same files), not taken from this code's output. */
static void
test_corpus_cjk_cyrillic(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(IngestMessage) zh = corpus_parse("mailcore2__unittest_data_summary_input_1021-chinese.eml");
	g_assert_cmpstr(zh->subject, ==, "哈哈");
	g_assert_cmpstr(zh->message_id, ==, "tencent_768EB412354CD73039FB412B@qq.com");
	g_assert_cmpint(zh->date, ==, 1419365373);
	g_assert_cmpstr(address_at(zh, INGEST_ROLE_FROM, 0)->name, ==, "向左");
	g_assert_cmpstr(address_at(zh, INGEST_ROLE_FROM, 0)->key, ==, "wujyou@qq.com");
	g_assert_cmpstr(address_at(zh, INGEST_ROLE_TO, 0)->name, ==, "189佑");

	g_autoptr(IngestMessage) ja = corpus_parse("mailcore2__unittest_data_summary_input_4925-japanese.eml");
	g_assert_cmpstr(ja->subject, ==, "ＥＴＣマイレージからのお知らせ");
	g_assert_cmpstr(address_at(ja, INGEST_ROLE_FROM, 0)->name, ==, "ＥＴＣマイレージサービス事務局");
	g_assert_cmpint(ja->date, ==, 1321398531);
	g_assert_true(g_str_has_prefix(ja->body_type, "text/"));

	/* Two koi8_r B-words (a charset name iconv only knows as KOI8-R). */
	g_autoptr(IngestMessage) ru = corpus_parse("mailcore2__unittest_data_summary_input_6144-russian.eml");
	g_assert_cmpstr(ru->subject, ==, "Comment posted on \"Что лучше Android или iOS..?!\"");
	g_assert_cmpstr(address_at(ru, INGEST_ROLE_TO, 0)->key, ==, "pashagstv@gmail.com");

	g_autoptr(IngestMessage) zh2 = corpus_parse("mailcore2__unittest_data_summary_input_4489-to-field-chinese.eml");
	g_assert_cmpstr(zh2->subject, ==, "测试费表格");
	g_assert_cmpstr(address_at(zh2, INGEST_ROLE_TO, 0)->name, ==, "王 琦君");
	g_assert_cmpuint(zh2->attachments->len, ==, 1);
	assert_attachment(zh2, 0, "测试费 1009.xls", "application/octet-stream", 46592,
			  "afc54b1f8b23ee8852558eee2259534b211572fcf5452f456b542c390e93760d");
}

/* Raw 8-bit subjects in the body's charset (windows-1251, EUC-KR). */
static void
test_corpus_raw_8bit_subjects(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(IngestMessage) ru = corpus_parse("mailcore2__unittest_data_summary_input_4850-russian.eml");
	g_assert_cmpstr(ru->subject, ==, "Рассылка: Уведомление участникам тендеров");
	g_autoptr(IngestMessage) ko = corpus_parse("mailcore2__unittest_data_summary_input_1640-no-charset.eml");
	g_assert_cmpstr(ko->subject, ==, "[멜론] 이용약관 및 서비스 상품약관 변경 안내");
	g_assert_true(has_warning(ko, "undeclared 8-bit"));
}

/* No Message-ID, no Date; a display name without angle brackets. */
static void
test_corpus_missing_id_and_date(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(IngestMessage) ko = corpus_parse("mailcore2__unittest_data_summary_input_2765-korean.eml");
	g_assert_cmpstr(ko->subject, ==, "errorlog 정리");
	g_assert_true(ko->message_id_synthetic);
	g_assert_true(g_str_has_suffix(ko->message_id, "@bccdrop.invalid"));
	g_assert_true(ko->date_synthetic);
	g_assert_cmpint(ko->date, ==, RECEIVED_AT);
	g_assert_cmpstr(address_at(ko, INGEST_ROLE_FROM, 0)->key, ==, "ss.lee@gph.me");
	g_assert_cmpstr(address_at(ko, INGEST_ROLE_FROM, 0)->name, ==, "이성수");
	g_assert_true(has_warning(ko, "no Message-ID"));
	g_assert_true(has_warning(ko, "no Date"));
}

static void
test_corpus_attachments(void)
{
	if (skip_without_corpus())
		return;
	/* RFC 2231 continuations; the closing boundary ends the file without a line break. */
	g_autoptr(IngestMessage) ja = corpus_parse(
		"mikel-mail__spec_fixtures_emails_multi_charset_japanese_attachment_long_name.eml");
	g_assert_cmpstr(ja->subject, ==,
			"まみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめも");
	g_assert_cmpuint(ja->attachments->len, ==, 1);
	assert_attachment(ja, 0, "かきくけこかきくけこかきくけこかきくけこかきくけこ.txt", "text/plain", 18,
			  "ce6a091472e812cedb6cbb9a95b003fc110e5b349f6b39a9aee3cab92b379888");

	g_autoptr(IngestMessage) de = corpus_parse("zbateson-mmp__tests__data_emails_m3004.txt");
	g_assert_cmpstr(de->subject, ==, "Die Hasen und die Frösche");
	g_assert_cmpstr(address_at(de, INGEST_ROLE_TO, 1)->name, ==, "Heinz Müller");
	assert_attachment(de, 0, "HasenundFrösche.txt", "text/plain", 755,
			  "b2f89977566621c22db4aee82433c887d37cf52d4ccfec3a999a2a9ad58c0b48");

	g_autoptr(IngestMessage) et = corpus_parse(
		"mikel-mail__spec_fixtures_emails_attachment_emails_attachment_with_quoted_filename.eml");
	g_assert_cmpstr(et->subject, ==, "Eelanalüüsi päring");
	assert_attachment(et, 0, "Eelanalüüsi päring.jpg", "image/jpeg", 1952,
			  "87dc350433afd8507ac4db9344ea72ac64bae71671aed61a10a85c10d50bd6b6");

	g_autoptr(IngestMessage) cid = corpus_parse("php-mmp__tests_mails_issue115");
	g_assert_cmpuint(cid->attachments->len, ==, 3);
	assert_attachment(cid, 0, "logo.jpg", "image/gif", 2695,
			  "0678808ad4ccd1f149e2f094e06c5e7c47548c6036d81b84bfce4b0f715cfb5d");
	assert_attachment(cid, 1, "background.jpg", "image/gif", 18255,
			  "972641cf4ae73668b7ecb99b67bb369f9eacf6ebe17afcbed63238816c13ff64");
	assert_attachment(cid, 2, "attachment.txt", "text/plain", 2229,
			  "01cd8c74b53a251af94a6d865dc80a48c221f6bed334128d99ca5572238fbbf9");
	g_assert_cmpstr(address_at(cid, INGEST_ROLE_REPLY_TO, 0)->key, ==, "name@company.com");
	g_assert_cmpstr(cid->body_type, ==, "text/plain");

	/* x-uuencode parts. */
	g_autoptr(IngestMessage) uu = corpus_parse("zbateson-mmp__tests__data_emails_m1014.txt");
	g_assert_cmpuint(uu->attachments->len, ==, 3);
	assert_attachment(uu, 0, "redball.png", "image/png", 1453,
			  "63aa82493459d1a5ac267e20109d380ba995788f7fa13ed43021ebb37ead6fc5");
	assert_attachment(uu, 1, "greenball.png", "image/png", 1298,
			  "258bcdd418e60b1f2dd911c83133e7aa07dd3d87ff09708384aba85e06f80e34");
	assert_attachment(uu, 2, "blueball.png", "image/png", 1325,
			  "68aa843030f8c6ad625450054732fe0f3a680496d98f957d578192fa4469cec2");
}

/* Old-Mac files: every line ends in a bare CR. */
static void
test_corpus_cr_only(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(IngestMessage) arf = corpus_parse("sisimai__maildir_mac_arf-01.eml");
	g_assert_cmpstr(arf->message_id, ==, "000000000000000.000000000000@x34.mx.example.net");
	g_assert_cmpint(arf->date, ==, 1240963200);
	g_assert_cmpstr(arf->subject, ==, "Email Feedback Report for IP 192.0.2.");
	g_assert_cmpstr(address_at(arf, INGEST_ROLE_FROM, 0)->key, ==, "kijitora@example.co.jp");
	g_assert_true(g_str_has_prefix(arf->body_text, "This is an email abuse report"));
	g_assert_null(strchr(arf->body_text, '\r'));
	g_assert_true(has_warning(arf, "CR-only"));

	g_autoptr(IngestMessage) ya = corpus_parse("sisimai__maildir_mac_lhost-yandex-01.eml");
	g_assert_cmpstr(ya->subject, ==, "Недоставленное сообщение");
	g_assert_cmpint(ya->date, ==, 1417885948);
	g_assert_cmpstr(address_at(ya, INGEST_ROLE_TO, 0)->key, ==, "shironeko@yandex.example.com");
}

static gboolean
count_cb(const guint8 *data, gsize len, guint index, gpointer user_data, GError **error)
{
	GPtrArray *out = user_data;
	g_ptr_array_add(out, g_strndup((const char *)data, len));
	g_assert_cmpuint(index, ==, out->len);
	return TRUE;
}

static void
test_corpus_mbox(void)
{
	if (skip_without_corpus())
		return;
	/* "From time to time" in the body is no separator: one message. */
	g_autoptr(GBytes) b1 = corpus_read("cpython-main__Lib_test_test_email_data_mailbox_01.mbox");
	g_autoptr(GPtrArray) m1 = g_ptr_array_new_with_free_func(g_free);
	gsize len;
	const guint8 *data = g_bytes_get_data(b1, &len);
	g_assert_true(ingest_is_mbox(data, len));
	g_assert_true(ingest_mbox_foreach(data, len, count_cb, m1, NULL));
	g_assert_cmpuint(m1->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(m1, 0), "From time to time"));

	g_autoptr(GBytes) b2 = corpus_read("sisimai__mailbox_mbox-1");
	g_autoptr(GPtrArray) m2 = g_ptr_array_new_with_free_func(g_free);
	data = g_bytes_get_data(b2, &len);
	g_assert_true(ingest_mbox_foreach(data, len, count_cb, m2, NULL));
	g_assert_cmpuint(m2->len, ==, 1);
	g_autoptr(IngestMessage) msg = parse(g_ptr_array_index(m2, 0));
	g_assert_cmpstr(msg->message_id, ==, "201310160515.r9G5FZh9018575@example.jp");
	g_assert_cmpstr(msg->subject, ==, "Error Mail Report");
}

/* ---- the GMime 3.2.13 defects ------------------------------------------------------ */

/* gmime #133: adjacent B-words, the first ending in '=' padding, lose all
 * but the first word when GMime decodes them. */
static void
test_gmime133_subject(void)
{
	g_autoptr(IngestMessage) msg = parse("From: a@example.com\n"
					     "Subject: =?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IHdvcmxk?=\n"
					     "\n"
					     "body\n");
	g_assert_cmpstr(msg->subject, ==, "Hello world");
	g_autoptr(IngestMessage) mixed = parse("Subject: =?UTF-8?B?aGk=?==?UTF-8?B?aGk=?= and "
					       "=?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?IQ==?= tail\n\nx\n");
	g_assert_cmpstr(mixed->subject, ==, "hihi and café! tail");
	/* A multi-byte character split across two words. */
	g_autoptr(IngestMessage) split = parse("Subject: =?UTF-8?B?b2LD?=\n =?UTF-8?B?pHI=?=\n\nx\n");
	g_assert_cmpstr(split->subject, ==, "obär");
}

static void
test_gmime133_display_name(void)
{
	g_autoptr(IngestMessage) msg =
		parse("From: =?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IHdvcmxk?= <hw@example.com>\n"
		      "To: \"=?UTF-8?B?Sm8=?= =?UTF-8?B?cmc=?=\" <j@example.com>, =?ISO-8859-1?Q?J=F6rg?= <k@example.com>\n"
		      "Subject: x\n\nbody\n");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_FROM, 0)->name, ==, "Hello world");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 0)->name, ==, "Jorg");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 1)->name, ==, "Jörg");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 1)->key, ==, "k@example.com");
}

static void
test_gmime133_filename(void)
{
	g_autoptr(IngestMessage) msg = parse(
		"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n\nhi\n"
		"--b\nContent-Type: application/pdf\n"
		"Content-Disposition: attachment; filename=\"=?UTF-8?B?T2ZmZXI=?= =?UTF-8?B?IFEzLnBkZg==?=\"\n"
		"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n");
	g_assert_cmpuint(msg->attachments->len, ==, 1);
	g_assert_cmpstr(attachment_at(msg, 0)->filename, ==, "Offer Q3.pdf");
	g_assert_cmpuint(attachment_at(msg, 0)->size, ==, 9);
}

/* gmime #150: GMime stops base64 at a mid-stream '='. */
static void
test_gmime150_base64(void)
{
	g_autoptr(IngestMessage) msg =
		parse("From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
		      "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
		      "aGVsbG8=\nd29ybGQ=\n"
		      "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
		      "aGVsbG8=d29ybGQ=\n--b--\n");
	g_assert_cmpstr(msg->body_text, ==, "helloworld");
	g_assert_cmpuint(msg->attachments->len, ==, 1);
	g_autofree char *expect = sha256_hex("helloworld", 10);
	g_assert_cmpuint(attachment_at(msg, 0)->size, ==, 10);
	g_assert_cmpstr(attachment_at(msg, 0)->sha256, ==, expect);
	g_assert_true(has_warning(msg, "concatenated"));
}

/* The base64 decoder against GLib's g_base64_decode_step() on random input:
 * '=' anywhere, line breaks, bytes outside the alphabet. */
static void
test_base64_differential(void)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
	static const char noise[] = "\n\r\t *#!.";
	g_autoptr(GRand) rand = g_rand_new_with_seed(150);
	for (int round = 0; round < 200; round++) {
		g_autoptr(GString) b64 = g_string_new(NULL);
		int groups = g_rand_int_range(rand, 0, 400);
		for (int i = 0; i < groups * 4; i++) {
			gboolean pad = g_rand_int_range(rand, 0, 40) == 0;
			g_string_append_c(b64, pad ? '=' : alphabet[g_rand_int_range(rand, 0, 64)]);
			if (g_rand_int_range(rand, 0, 30) == 0)
				g_string_append_c(b64, noise[g_rand_int_range(rand, 0, sizeof noise - 1)]);
		}
		g_autofree guchar *expect = g_malloc(b64->len / 4 * 3 + 3);
		gint state = 0;
		guint save = 0;
		gsize n = g_base64_decode_step(b64->str, b64->len, expect, &state, &save);
		g_autofree char *expect_sha = sha256_hex((const char *)expect, n);
		g_autofree char *raw = g_strdup_printf(
			"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n"
			"--zz\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
			"%s\n--zz--\n",
			b64->str);
		g_autoptr(IngestMessage) msg = parse(raw);
		g_assert_cmpuint(msg->attachments->len, ==, 1);
		g_assert_cmpuint(attachment_at(msg, 0)->size, ==, n);
		g_assert_cmpstr(attachment_at(msg, 0)->sha256, ==, expect_sha);
	}
}

/* GMime keeps the CR of the CRLF before a closing boundary that ends the
 * file without a line break. */
static void
test_gmime_stray_cr(void)
{
	g_autoptr(IngestMessage) msg = parse(
		"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
		"--b\r\nContent-Type: text/plain; name=a.txt\r\n\r\nthis is the data\r\n\r\n--b--");
	g_autofree char *expect = sha256_hex("this is the data\r\n", 18);
	g_assert_cmpuint(attachment_at(msg, 0)->size, ==, 18);
	g_assert_cmpstr(attachment_at(msg, 0)->sha256, ==, expect);
}

/* ...but a CR that is the content's own last byte stays: a binary part
 * "AB\r" before a CRLF boundary line, before an LF-only one is the stray
 * case above, and at the very end of a single-part message. */
static void
test_binary_part_ending_in_cr(void)
{
	const char *head = "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
			   "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
			   "--b\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
			   "Content-Transfer-Encoding: binary\r\n\r\nAB\r";
	g_autofree char *crlf = g_strconcat(head, "\r\n--b--\r\n", NULL);
	g_autoptr(IngestMessage) msg = parse(crlf);
	g_autofree char *expect = sha256_hex("AB\r", 3);
	g_assert_cmpuint(attachment_at(msg, 0)->size, ==, 3);
	g_assert_cmpstr(attachment_at(msg, 0)->sha256, ==, expect);
	g_autofree char *single = g_strdup("From: a@example.com\r\nMIME-Version: 1.0\r\n"
					   "Content-Type: application/octet-stream; name=a.bin\r\n"
					   "Content-Disposition: attachment; filename=a.bin\r\n"
					   "Content-Transfer-Encoding: binary\r\n\r\nAB\r");
	g_autoptr(IngestMessage) one = parse(single);
	g_assert_cmpuint(attachment_at(one, 0)->size, ==, 3);
	g_assert_cmpstr(attachment_at(one, 0)->sha256, ==, expect);
	/* Found by tests/fuzz/fuzz-ingest: a part ending at the very end of
	 * the (exactly sized) input must not make the stray-CR check read
	 * past it. Under ASan this read was a heap overflow. */
	const char tail[] = "\r\nSubject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nend\r";
	guint8 *exact = g_memdup2(tail, sizeof tail - 1);
	IngestInput in = INGEST_INPUT_BYTES(exact, sizeof tail - 1);
	g_autoptr(IngestMessage) m3 = ingest_parse(&in, 0, NULL);
	g_assert_nonnull(m3);
	g_free(exact);
}

/* A file over 4 GiB whose layout needs repair (indented first header line)
 * once overflowed the heap: its copy was sized to 32 bits. Now a clear
 * error. The file is sparse: nothing of it is read beyond its first line. */
static void
test_over_4gib_needs_repair(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "huge.eml", NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	g_assert_cmpint(fd, >=, 0);
	const char head[] = " From: a@example.com\r\nSubject: big\r\n\r\n";
	g_assert_cmpint(write(fd, head, sizeof head - 1), ==, (ssize_t)(sizeof head - 1));
	if (ftruncate(fd, (off_t)G_MAXUINT + 4096) != 0) {
		close(fd);
		g_test_skip("no sparse file of 4 GiB here");
		return;
	}
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_FD(fd);
	g_autoptr(IngestMessage) msg = ingest_parse(&in, 0, &error);
	g_assert_null(msg);
	g_assert_error(error, INGEST_ERROR, INGEST_ERROR_TOO_LARGE);
	g_assert_nonnull(strstr(error->message, "4294971391 bytes"));
	close(fd);
	unlink(path);
}

/* ---- headers ------------------------------------------------------------------------ */

static void
test_headers_basic(void)
{
	g_autoptr(IngestMessage) msg =
		parse("Received: from x by y; Tue, 5 Mar 2024 10:00:01 +0100\n"
		      "From: Ann Seller <ann@example.com>\n"
		      "To: \"Bob Buyer\" <Bob@Customer.EXAMPLE>, carol@customer.example\n"
		      "Cc: =?UTF-8?B?RMOpbMOoY2U=?= <delece@customer.example>\n"
		      "Reply-To: sales@example.com\n"
		      "Subject: =?UTF-8?Q?Proposition_commerciale_=E2=80=93_Q3?=\n"
		      "Date: Tue, 05 Mar 2024 10:00:00 +0100\n"
		      "Message-ID: <offer-1@example.com>\n"
		      "In-Reply-To: <a@example.com> <b@example.com>\n"
		      "References: <older@example.com>\n <a@example.com>\n"
		      "\nHere is the offer.\n");
	g_assert_cmpstr(msg->message_id, ==, "offer-1@example.com");
	g_assert_false(msg->message_id_synthetic);
	g_assert_cmpint(msg->date, ==, 1709629200);
	g_assert_false(msg->date_synthetic);
	g_assert_cmpstr(msg->subject, ==, "Proposition commerciale – Q3");
	g_assert_cmpuint(role_count(msg, INGEST_ROLE_FROM), ==, 1);
	g_assert_cmpuint(role_count(msg, INGEST_ROLE_TO), ==, 2);
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 0)->key, ==, "bob@customer.example");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 0)->address, ==, "Bob@Customer.EXAMPLE");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 0)->name, ==, "Bob Buyer");
	g_assert_null(address_at(msg, INGEST_ROLE_TO, 1)->name);
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_CC, 0)->name, ==, "Délèce");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_REPLY_TO, 0)->key, ==, "sales@example.com");
	g_assert_cmpstr(msg->in_reply_to, ==, "a@example.com");
	g_assert_cmpuint(msg->references->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(msg->references, 0), ==, "older@example.com");
	g_assert_cmpstr(g_ptr_array_index(msg->references, 1), ==, "a@example.com");
	g_assert_cmpstr(msg->body_text, ==, "Here is the offer.\n");
	g_assert_cmpstr(msg->body_type, ==, "text/plain");
	g_assert_cmpuint(msg->warnings->len, ==, 0);
}

static void
test_headers_synthetic(void)
{
	const char *raw = "From: a@example.com\nSubject: no id\n\nbody\n";
	g_autoptr(IngestMessage) a = parse(raw);
	g_assert_true(a->message_id_synthetic);
	g_assert_true(a->date_synthetic);
	g_assert_cmpint(a->date, ==, RECEIVED_AT);
	g_assert_true(g_str_has_suffix(a->message_id, "@bccdrop.invalid"));
	g_assert_cmpuint(strlen(a->message_id), ==, 32 + strlen("@bccdrop.invalid"));
	/* Re-delivered later, through an MTA: same synthetic ID and fingerprint. */
	g_autoptr(GError) error = NULL;
	const char *relayed = "Received: from mx by crm; Tue, 5 Mar 2024 10:00:01 +0100\r\n"
			      "From: a@example.com\r\nSubject: no id\r\n\r\nbody\r\n";
	IngestInput in = INGEST_INPUT_BYTES(relayed, strlen(relayed));
	g_autoptr(IngestMessage) b = ingest_parse(&in, RECEIVED_AT + 3600, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(a->message_id, ==, b->message_id);
	g_assert_cmpstr(a->fingerprint, ==, b->fingerprint);
	g_assert_cmpint(b->date, ==, RECEIVED_AT + 3600);
	/* Different content: a different synthetic ID. */
	g_autoptr(IngestMessage) c = parse("From: a@example.com\nSubject: no id\n\nother body\n");
	g_assert_cmpstr(a->message_id, !=, c->message_id);

	g_autoptr(IngestMessage) bad = parse("Message-ID: <>\nDate: the day after tomorrow\n\nx\n");
	g_assert_true(bad->message_id_synthetic);
	g_assert_true(bad->date_synthetic);
	g_assert_true(has_warning(bad, "unusable Message-ID"));
	g_assert_true(has_warning(bad, "unparsable Date"));
}

static void
test_headers_groups(void)
{
	g_autoptr(IngestMessage) msg = parse("From: a@example.com\n"
					     "To: Team: x@example.com, \"Q, R\" <q@example.com>;, "
					     "undisclosed-recipients:;, z@example.com\n"
					     "Cc: MAILER-DAEMON\n\nbody\n");
	g_assert_cmpuint(role_count(msg, INGEST_ROLE_TO), ==, 3);
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 0)->key, ==, "x@example.com");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 1)->name, ==, "Q, R");
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_TO, 2)->key, ==, "z@example.com");
	/* A participant without a usable address is kept, without a key. */
	g_assert_cmpuint(role_count(msg, INGEST_ROLE_CC), ==, 1);
	g_assert_cmpstr(address_at(msg, INGEST_ROLE_CC, 0)->address, ==, "MAILER-DAEMON");
	g_assert_null(address_at(msg, INGEST_ROLE_CC, 0)->key);
}

static void
test_address_key(void)
{
	/* 24 labels of four e-acute: 223 bytes of UTF-8, 271 once converted. */
	GString *idn = g_string_new("u@");
	for (int i = 0; i < 24; i++)
		g_string_append(idn, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9.");
	g_string_append(idn, "example");
	g_autofree char *long_idn = g_string_free(idn, FALSE);
	const struct {
		const char *in, *key;
	} cases[] = {
		{ "User@Example.COM", "user@example.com" },
		{ "  <User@Example.COM>  ", "user@example.com" },
		{ "Ann Seller <Ann@Example.com>", "ann@example.com" },
		{ "user@Bücher.Example", "user@xn--bcher-kva.example" },
		{ "user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example" },
		{ "Jörg@Example.com", "jörg@example.com" },
		{ "a@example.com.", "a@example.com" },
		{ "\"john doe\"@example.com", "\"john doe\"@example.com" },
		{ "a@[192.0.2.1]", "a@[192.0.2.1]" },
		{ "MAILER-DAEMON", NULL },
		{ "", NULL },
		{ "@example.com", NULL },
		{ "user@", NULL },
		{ "two words@example.com", NULL },
		{ "a@exa mple.com", NULL },
		{ "a@example..com", NULL },
		/* Found by tests/fuzz/fuzz-address: "a.." keyed as "a.", whose
		 * own key is "a" (two keys for one address). */
		{ ".@a..", NULL },
		{ "x@example.com..", NULL },
		/* ... and U+037E, which IDNA maps to ';'. */
		{ "!a@\xcd\xbe", NULL },
		{ "$@\xc2\xad[", NULL },
		/* Under 255 bytes as UTF-8, over it once converted (found by
		 * tests/fuzz/fuzz-address: the key was no longer a key). */
		{ long_idn, NULL },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *key = ingest_address_key(cases[i].in);
		g_assert_cmpstr(key, ==, cases[i].key);
	}
	g_assert_null(ingest_address_key(NULL));
	g_assert_null(ingest_address_key("bad\xff@example.com"));
}

/* ---- bodies and charsets ---------------------------------------------------------------- */

static void
test_body_html_to_text(void)
{
	g_autoptr(IngestMessage) msg = parse(
		"From: a@example.com\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
		"<html><head><title>T</title><style>p{color:red}</style>"
		"<script>var x = '<p>no</p>';</script></head>\n"
		"<body><!-- hidden --><p>Dear&nbsp;Ann,</p>\n\n<p>Price:   5&euro; &amp; "
		"&lt;tax&gt; &#8211; &#x263A; &#150;</p><div>Line<br>break</div>"
		"<table><tr><td>a</td><td>b</td></tr></table></body></html>\n");
	g_assert_cmpstr(msg->body_type, ==, "text/html");
	g_assert_cmpstr(msg->body_text, ==, "Dear Ann,\n\nPrice: 5€ & <tax> – ☺ –\n\nLine\nbreak\n\na b");
}

static void
test_body_prefers_plain(void)
{
	g_autoptr(IngestMessage) msg = parse(
		"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"
		"--b\nContent-Type: text/html\n\n<p>html</p>\n"
		"--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
		"caf=E9 =93quoted=94=\n soft\n--b--\n");
	g_assert_cmpstr(msg->body_type, ==, "text/plain");
	g_assert_cmpstr(msg->body_text, ==, "café “quoted” soft");
	g_assert_cmpuint(msg->attachments->len, ==, 0);
	/* ... unless the plain alternative is empty. */
	g_autoptr(IngestMessage) empty = parse(
		"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n\n \n\n--b\nContent-Type: text/html\n\n<p>only here</p>\n--b--\n");
	g_assert_cmpstr(empty->body_type, ==, "text/html");
	g_assert_cmpstr(empty->body_text, ==, "only here");
}

static void
test_body_charsets(void)
{
	/* Declared UTF-8 that is really Latin-1; an unknown charset; a mislabel
	 * in the other direction. All end as valid UTF-8. */
	g_autoptr(IngestMessage) a = parse("Content-Type: text/plain; charset=utf-8\n\ncaf\xe9\n");
	g_assert_cmpstr(a->body_text, ==, "café\n");
	g_assert_true(has_warning(a, "windows-1252"));
	g_autoptr(IngestMessage) b = parse("Content-Type: text/plain; charset=x-no-such\n\nna\xc3\xafve\n");
	g_assert_cmpstr(b->body_text, ==, "naïve\n");
	g_assert_true(has_warning(b, "unknown charset"));
	g_autoptr(IngestMessage) c = parse("Content-Type: text/plain; charset=iso-8859-1\n\nna\xc3\xafve\n");
	g_assert_cmpstr(c->body_text, ==, "naïve\n");
	g_autoptr(IngestMessage) d = parse("Content-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n");
	g_assert_cmpstr(d->body_text, ==, "Привет\n");
	g_autoptr(IngestMessage) e = parse("Content-Type: text/plain; charset=shift_jis\n\n\x93\xfa\x96\x7b\x82\xff\n");
	g_assert_true(g_str_has_prefix(e->body_text, "日本"));
	g_assert_true(g_utf8_validate(e->body_text, -1, NULL));
	static const char nul[] = "Subject: r\xe9sum\xe9 \xff\nContent-Type: text/plain\n\nx\0y\n";
	g_autoptr(IngestMessage) f = parse_len(nul, sizeof nul - 1);
	g_assert_cmpstr(f->subject, ==, "résumé ÿ");
	g_assert_cmpstr(f->body_text, ==, "xy\n");
}

static void
test_attachment_rule(void)
{
	g_autoptr(IngestMessage) msg = parse(
		"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: multipart/related; boundary=r\n\n"
		"--r\nContent-Type: text/html\n\n<p>hi</p>\n"
		"--r\nContent-Type: image/png\nContent-ID: <i1>\nContent-Transfer-Encoding: base64\n\niVBORw==\n"
		"--r--\n"
		"--b\nContent-Type: text/plain; name=\"notes.txt\"\n\nnotes\n"
		"--b\nContent-Type: text/calendar\n\nBEGIN:VCALENDAR\n"
		"--b\nContent-Type: message/rfc822\n\nFrom: x@example.com\nSubject: inner\n\ninner body\n"
		"--b\nContent-Type: APPLICATION/PDF\nContent-Disposition: inline\n\n%PDF\n"
		"--b--\n");
	g_assert_cmpstr(msg->body_type, ==, "text/html");
	g_assert_cmpstr(msg->body_text, ==, "hi");
	g_assert_cmpuint(msg->attachments->len, ==, 4);
	g_assert_cmpstr(attachment_at(msg, 0)->content_type, ==, "image/png");
	g_assert_cmpuint(attachment_at(msg, 0)->size, ==, 4);
	g_assert_cmpstr(attachment_at(msg, 1)->filename, ==, "notes.txt");
	g_assert_cmpstr(attachment_at(msg, 2)->content_type, ==, "message/rfc822");
	g_assert_cmpstr(attachment_at(msg, 3)->content_type, ==, "application/pdf");
	g_assert_null(attachment_at(msg, 3)->filename);
}

/* ---- fingerprint ---------------------------------------------------------------------------- */

static const char *fp_original =
	"From: Ann <ann@example.com>\n"
	"To: bob@customer.example\n"
	"Subject: =?UTF-8?Q?Offre_=E2=80=93_Q3?=\n"
	"Date: Tue, 05 Mar 2024 10:00:00 +0100\n"
	"Message-ID: <offer-1@example.com>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=b1\n"
	"\n"
	"--b1\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"Voil\xc3\xa0 l'offre, d\xc3\xa9taill\xc3\xa9" "e.\n"
	"--b1\n"
	"Content-Type: text/plain; name=\"terms.txt\"\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"Conditions g\xc3\xa9n\xc3\xa9rales\n"
	"--b1\n"
	"Content-Type: application/pdf; name=\"offer.pdf\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"JVBERi0xLjQK\n"
	"--b1--\n";

/* What Postfix may hand the milter: a Received header on top, the 8bit
 * parts downgraded to quoted-printable, CRLF line ends. */
static const char *fp_relayed =
	"Received: from mx.example.com by crm.example; Tue, 5 Mar 2024 10:00:01 +0100\r\n"
	"From: Ann <ann@example.com>\r\n"
	"To: bob@customer.example\r\n"
	"Subject: =?UTF-8?Q?Offre_=E2=80=93_Q3?=\r\n"
	"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
	"Message-ID: <offer-1@example.com>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=b1\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Voil=C3=A0 l'offre, d=C3=A9taill=C3=A9e.\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; name=\"terms.txt\"\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Conditions g=C3=A9n=C3=A9rales\r\n"
	"--b1\r\n"
	"Content-Type: application/pdf; name=\"offer.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"--b1--\r\n";

static void
test_fingerprint_survives_mta(void)
{
	g_autoptr(IngestMessage) a = parse(fp_original);
	g_autoptr(IngestMessage) b = parse(fp_relayed);
	g_assert_cmpstr(a->fingerprint, ==, b->fingerprint);
	g_assert_cmpstr(a->body_text, ==, "Voilà l'offre, détaillée.");
	g_assert_cmpstr(b->body_text, ==, a->body_text);
	g_assert_cmpuint(a->attachments->len, ==, 2);
	g_assert_cmpstr(attachment_at(a, 1)->sha256, ==, attachment_at(b, 1)->sha256);
	/* received_at is no part of it. */
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_BYTES(fp_original, strlen(fp_original));
	g_autoptr(IngestMessage) later = ingest_parse(&in, RECEIVED_AT + 86400, &error);
	g_assert_cmpstr(a->fingerprint, ==, later->fingerprint);
}

static void
test_fingerprint_distinguishes(void)
{
	g_autoptr(IngestMessage) a = parse(fp_original);
	g_autofree char *body = g_strdup(fp_original);
	*strstr(body, "l'offre") = 'L';
	g_autoptr(IngestMessage) b = parse(body);
	g_assert_cmpstr(a->message_id, ==, b->message_id);
	g_assert_cmpstr(a->fingerprint, !=, b->fingerprint);
	g_autofree char *att = g_strdup(fp_original);
	memcpy(strstr(att, "JVBERi0xLjQK"), "JVBERi0xLjUK", 12);
	g_autoptr(IngestMessage) c = parse(att);
	g_assert_cmpstr(a->fingerprint, !=, c->fingerprint);
	g_autofree char *to = g_strdup(fp_original);
	memcpy(strstr(to, "bob@customer"), "rob", 3);
	g_autoptr(IngestMessage) d = parse(to);
	g_assert_cmpstr(a->fingerprint, !=, d->fingerprint);
}

/* ---- input ---------------------------------------------------------------------------------- */

static void
test_not_a_message(void)
{
	static const struct {
		const char *data;
		gsize len;
	} cases[] = {
		{ "", 0 },
		{ "\n\n\n", 3 },
		{ "just some text\nwith lines\n", 26 },
		{ "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16 },
		{ "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15 },
		{ "\0\0\0\0From: a@b\n", 15 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		IngestInput in = INGEST_INPUT_BYTES(cases[i].data, cases[i].len);
		g_autoptr(IngestMessage) msg = ingest_parse(&in, RECEIVED_AT, &error);
		g_assert_null(msg);
		g_assert_error(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE);
		g_assert_cmpuint(strlen(error->message), >, 0);
	}
	/* Random bytes without any "Name:" line. */
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	guint8 junk[3000];
	for (gsize i = 0; i < sizeof junk; i++) {
		guint8 c;
		do
			c = (guint8)g_rand_int_range(rand, 0, 256);
		while (g_ascii_isalpha(c) || c == ':' || c == '\n');
		junk[i] = c;
	}
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_BYTES(junk, sizeof junk);
	g_assert_null(ingest_parse(&in, RECEIVED_AT, &error));
	g_assert_error(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE);
}

static void
test_layout_repairs(void)
{
	g_autoptr(IngestMessage) cr = parse("From: a@example.com\rSubject: old mac\r\rline one\rline two\r");
	g_assert_cmpstr(cr->subject, ==, "old mac");
	g_assert_cmpstr(cr->body_text, ==, "line one\nline two\n");
	g_assert_true(has_warning(cr, "CR-only"));
	g_autoptr(IngestMessage) from = parse("From someone@example.com Tue Mar  5 10:00:00 2024\n"
					      "Subject: mbox style\n\nbody\n");
	g_assert_cmpstr(from->subject, ==, "mbox style");
	g_autoptr(IngestMessage) indented = parse("  \n From: a@example.com\nSubject: s\n\nbody\n");
	g_assert_cmpstr(address_at(indented, INGEST_ROLE_FROM, 0)->key, ==, "a@example.com");
	g_autoptr(IngestMessage) headers_only = parse("Subject: only headers");
	g_assert_cmpstr(headers_only->subject, ==, "only headers");
	g_assert_cmpstr(headers_only->body_text, ==, "");
}

static void
test_fd_input(void)
{
	g_autofree char *path = g_build_filename(testutil_tmpdir(), "fd.eml", NULL);
	g_assert_true(g_file_set_contents(path, fp_relayed, -1, NULL));
	int fd = open(path, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	/* The descriptor's position does not matter: the message starts at 0. */
	g_assert_cmpint(lseek(fd, 100, SEEK_SET), ==, 100);
	g_autoptr(GError) error = NULL;
	IngestInput in = INGEST_INPUT_FD(fd);
	g_autoptr(IngestMessage) a = ingest_parse(&in, RECEIVED_AT, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fcntl(fd, F_GETFD), !=, -1); /* not closed by us */
	close(fd);
	g_autoptr(IngestMessage) b = parse(fp_relayed);
	g_assert_cmpstr(a->fingerprint, ==, b->fingerprint);
	g_assert_cmpuint(a->raw_size, ==, strlen(fp_relayed));

	g_autofree char *empty = g_build_filename(testutil_tmpdir(), "empty.eml", NULL);
	g_assert_true(g_file_set_contents(empty, "", 0, NULL));
	fd = open(empty, O_RDONLY);
	g_autoptr(GError) e2 = NULL;
	IngestInput ein = INGEST_INPUT_FD(fd);
	g_assert_null(ingest_parse(&ein, RECEIVED_AT, &e2));
	g_assert_error(e2, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE);
	close(fd);

	g_autoptr(GError) e3 = NULL;
	IngestInput bad = INGEST_INPUT_FD(9999);
	g_assert_null(ingest_parse(&bad, RECEIVED_AT, &e3));
	g_assert_error(e3, INGEST_ERROR, INGEST_ERROR_IO);
}

/* ---- hostile input ------------------------------------------------------------------------------ */

static void
test_hostile_nesting(void)
{
	GString *s = g_string_new("From: a@example.com\nMIME-Version: 1.0\n");
	for (int i = 0; i < 3000; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	g_string_append(s, "Content-Type: text/plain\n\ndeep\n");
	g_autoptr(IngestMessage) deep = parse_len(s->str, s->len);
	g_string_free(s, TRUE);
	assert_record_sane(deep);

	s = g_string_new("");
	for (int i = 0; i < 1000; i++)
		g_string_append(s, "From: a@example.com\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n");
	g_string_append(s, "From: x@example.com\n\ninnermost\n");
	g_autoptr(IngestMessage) nested = parse_len(s->str, s->len);
	g_string_free(s, TRUE);
	assert_record_sane(nested);
}

static void
test_hostile_sizes(void)
{
	/* One 4 MB header line, 20000 address items, 5000 parts, NULs. */
	GString *s = g_string_new("From: a@example.com\nSubject: ");
	for (int i = 0; i < 4 << 20; i++)
		g_string_append_c(s, 'a' + i % 26);
	g_string_append(s, "\nTo: ");
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(s, "u%d@example.com, ", i);
	g_string_append(s, "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 5000; i++)
		g_string_append_len(s, "--b\nContent-Type: application/octet-stream\n\nx\0y\n", 48);
	g_string_append(s, "--b--\n");
	g_autoptr(IngestMessage) msg = parse_len(s->str, s->len);
	g_string_free(s, TRUE);
	assert_record_sane(msg);
	g_assert_cmpuint(strlen(msg->subject), ==, 4 << 20);
	g_assert_cmpuint(role_count(msg, INGEST_ROLE_TO), ==, 20000);
	g_assert_cmpuint(msg->attachments->len, ==, 5000);
	g_assert_cmpuint(attachment_at(msg, 0)->size, ==, 3);
	g_assert_cmpuint(msg->warnings->len, <=, 51);
}

/* Corpus messages cut and with bytes flipped: never a crash (ASan run). */
static void
test_hostile_mutations(void)
{
	if (skip_without_corpus())
		return;
	g_autoptr(GPtrArray) files = corpus_files();
	g_autoptr(GRand) rand = g_rand_new_with_seed(20240305);
	for (guint i = 0; i < files->len; i += 3) {
		g_autoptr(GBytes) bytes = corpus_read(g_ptr_array_index(files, i));
		gsize len;
		const guint8 *data = g_bytes_get_data(bytes, &len);
		if (len == 0 || len > 200000)
			continue;
		g_autofree guint8 *copy = g_memdup2(data, len);
		for (int k = 0; k < 8; k++)
			copy[g_rand_int_range(rand, 0, (gint32)len)] = (guint8)g_rand_int_range(rand, 0, 256);
		gsize cut = (gsize)g_rand_int_range(rand, 1, (gint32)len + 1);
		for (gsize n = 0; n < 2; n++) {
			g_autoptr(GError) error = NULL;
			IngestInput in = INGEST_INPUT_BYTES(copy, n ? cut : len);
			g_autoptr(IngestMessage) msg = ingest_parse(&in, RECEIVED_AT, &error);
			if (msg)
				assert_record_sane(msg);
			else
				g_assert_error(error, INGEST_ERROR, INGEST_ERROR_NOT_A_MESSAGE);
		}
	}
}

/* The milter parses from several threads at once. */
static gpointer
thread_parse(gpointer data)
{
	const char *expect = data;
	for (int i = 0; i < 200; i++) {
		g_autoptr(IngestMessage) msg = parse(i % 2 ? fp_relayed : fp_original);
		if (strcmp(msg->fingerprint, expect))
			return GINT_TO_POINTER(1);
	}
	return NULL;
}

static void
test_threads(void)
{
	g_autoptr(IngestMessage) ref = parse(fp_original);
	GThread *threads[4];
	for (int i = 0; i < 4; i++)
		threads[i] = g_thread_new("parse", thread_parse, ref->fingerprint);
	for (int i = 0; i < 4; i++)
		g_assert_null(g_thread_join(threads[i]));
}

/* ---- mbox ----------------------------------------------------------------------------------------- */

static void
test_mbox_split_and_unquote(void)
{
	const char *box = "From ann@example.com Tue Mar  5 10:00:00 2024\n"
			  "From: ann@example.com\nSubject: one\n\nbody\n>From the start\n>>From deeper\n"
			  "From here on, no quote (not a separator: no date)\n\n"
			  "From ann@example.com Tue Mar  5 10:01:00 2024\n"
			  "From: ann@example.com\nSubject: two\n\nsecond\n";
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	g_assert_true(ingest_is_mbox((const guint8 *)box, strlen(box)));
	g_assert_true(ingest_mbox_foreach((const guint8 *)box, strlen(box), count_cb, out, NULL));
	g_assert_cmpuint(out->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(out, 0), ==,
			"From: ann@example.com\nSubject: one\n\nbody\nFrom the start\n>From deeper\n"
			"From here on, no quote (not a separator: no date)\n");
	g_assert_cmpstr(g_ptr_array_index(out, 1), ==, "From: ann@example.com\nSubject: two\n\nsecond\n");

	/* Not an mbox: one message, the bytes as they are. */
	const char *single = "Subject: x\n\nFrom me\n";
	g_autoptr(GPtrArray) one = g_ptr_array_new_with_free_func(g_free);
	g_assert_false(ingest_is_mbox((const guint8 *)single, strlen(single)));
	g_assert_true(ingest_mbox_foreach((const guint8 *)single, strlen(single), count_cb, one, NULL));
	g_assert_cmpuint(one->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(one, 0), ==, single);

	g_autoptr(GError) error = NULL;
	const char *empty = "From x Tue Mar  5 10:00:00 2024\n";
	g_assert_false(ingest_mbox_foreach((const guint8 *)empty, strlen(empty), count_cb, one, &error));
	g_assert_error(error, INGEST_ERROR, INGEST_ERROR_MBOX);
}

static gboolean
stop_cb(const guint8 *data, gsize len, guint index, gpointer user_data, GError **error)
{
	g_set_error(error, INGEST_ERROR, INGEST_ERROR_IO, "stop at %u", index);
	return FALSE;
}

static void
test_mbox_roundtrip(void)
{
	const char *msgs[] = {
		"From: a@example.com\nSubject: plain\n\nbody\n",
		"From: b@example.com\n\nFrom the start\n>From quoted\n>>>From deep\n\nFrom x Tue Mar  5 10:00:00 2024\n",
		"From: c@example.com\r\nSubject: crlf\r\n\r\nline\r\nFrom crlf\r\n",
		"From: d@example.com\n\nends with blank lines\n\n\n",
	};
	g_autoptr(GString) box = g_string_new(NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(msgs); i++)
		ingest_mboxrd_append(box, i == 1 ? "some one@example.com" : NULL, 1709629200 + (gint64)i,
				     (const guint8 *)msgs[i], strlen(msgs[i]));
	g_assert_true(g_str_has_prefix(box->str, "From MAILER-DAEMON Tue Mar  5 09:00:00 2024\n"));
	g_assert_nonnull(strstr(box->str, "\nFrom some_one@example.com Tue Mar  5 09:00:01 2024\n"));
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	g_assert_true(ingest_mbox_foreach((const guint8 *)box->str, box->len, count_cb, out, NULL));
	g_assert_cmpuint(out->len, ==, G_N_ELEMENTS(msgs));
	for (gsize i = 0; i < G_N_ELEMENTS(msgs); i++)
		g_assert_cmpstr(g_ptr_array_index(out, i), ==, msgs[i]);

	/* A message without a final newline gains one. */
	g_autoptr(GString) b2 = g_string_new(NULL);
	ingest_mboxrd_append(b2, "x@example.com", 0, (const guint8 *)"Subject: x\n\nno newline", 22);
	g_assert_cmpstr(b2->str, ==, "From x@example.com Thu Jan  1 00:00:00 1970\nSubject: x\n\nno newline\n\n");

	/* The callback's error stops the walk and comes back. */
	g_autoptr(GError) error = NULL;
	g_assert_false(ingest_mbox_foreach((const guint8 *)box->str, box->len, stop_cb, NULL, &error));
	g_assert_error(error, INGEST_ERROR, INGEST_ERROR_IO);
	g_assert_cmpstr(error->message, ==, "stop at 1");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ingest_init();
	g_test_add_func("/ingest/corpus/all", test_corpus_all);
	g_test_add_func("/ingest/corpus/fd-equals-bytes", test_corpus_fd_equals_bytes);
	g_test_add_func("/ingest/corpus/cjk-cyrillic", test_corpus_cjk_cyrillic);
	g_test_add_func("/ingest/corpus/raw-8bit-subjects", test_corpus_raw_8bit_subjects);
	g_test_add_func("/ingest/corpus/missing-id-and-date", test_corpus_missing_id_and_date);
	g_test_add_func("/ingest/corpus/attachments", test_corpus_attachments);
	g_test_add_func("/ingest/corpus/cr-only", test_corpus_cr_only);
	g_test_add_func("/ingest/corpus/mbox", test_corpus_mbox);
	g_test_add_func("/ingest/gmime133/subject", test_gmime133_subject);
	g_test_add_func("/ingest/gmime133/display-name", test_gmime133_display_name);
	g_test_add_func("/ingest/gmime133/filename", test_gmime133_filename);
	g_test_add_func("/ingest/gmime150/base64", test_gmime150_base64);
	g_test_add_func("/ingest/gmime150/differential", test_base64_differential);
	g_test_add_func("/ingest/gmime/stray-cr", test_gmime_stray_cr);
	g_test_add_func("/ingest/binary-part-ending-in-cr", test_binary_part_ending_in_cr);
	g_test_add_func("/ingest/over-4gib-needs-repair", test_over_4gib_needs_repair);
	g_test_add_func("/ingest/headers/basic", test_headers_basic);
	g_test_add_func("/ingest/headers/synthetic", test_headers_synthetic);
	g_test_add_func("/ingest/headers/groups", test_headers_groups);
	g_test_add_func("/ingest/address/key", test_address_key);
	g_test_add_func("/ingest/body/html-to-text", test_body_html_to_text);
	g_test_add_func("/ingest/body/prefers-plain", test_body_prefers_plain);
	g_test_add_func("/ingest/body/charsets", test_body_charsets);
	g_test_add_func("/ingest/attachments/rule", test_attachment_rule);
	g_test_add_func("/ingest/fingerprint/survives-mta", test_fingerprint_survives_mta);
	g_test_add_func("/ingest/fingerprint/distinguishes", test_fingerprint_distinguishes);
	g_test_add_func("/ingest/input/not-a-message", test_not_a_message);
	g_test_add_func("/ingest/input/layout-repairs", test_layout_repairs);
	g_test_add_func("/ingest/input/fd", test_fd_input);
	g_test_add_func("/ingest/hostile/nesting", test_hostile_nesting);
	g_test_add_func("/ingest/hostile/sizes", test_hostile_sizes);
	g_test_add_func("/ingest/hostile/mutations", test_hostile_mutations);
	g_test_add_func("/ingest/threads", test_threads);
	g_test_add_func("/ingest/mbox/split-and-unquote", test_mbox_split_and_unquote);
	g_test_add_func("/ingest/mbox/roundtrip", test_mbox_roundtrip);
	int rc = g_test_run();
	ingest_shutdown();
	return rc;
}
