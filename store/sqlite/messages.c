/* Messages, their parts and sources: the write path every source shares. */
#include "store/sqlite/sqlite.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

static const char *const role_names[] = { "from", "to", "cc", "reply_to" };

static gboolean
lookup_id(Store *store, const char *sql, const char *arg, gint64 *out, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, sql, error);
	if (!st)
		return FALSE;
	sq_bind_text(st, 1, arg);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(store, error, "looking up a message");
	return TRUE;
}

/* The identity of a source: the same identity again is a re-delivery and a
 * no-op. It includes the message so that one mailbox position, a dropbox
 * owner or a file can each carry several distinct messages. */
static char *
source_identity(const StoreSource *s, gint64 message)
{
	switch (s->kind) {
	case STORE_SOURCE_BCC_DROPBOX:
		return g_strdup_printf("bcc_dropbox:%s:%" G_GINT64_FORMAT, s->owner_user_id ? s->owner_user_id : "",
				       message);
	case STORE_SOURCE_IMAP:
		return g_strdup_printf("imap:%" G_GINT64_FORMAT ":%s:%" G_GINT64_FORMAT, s->mailbox_id,
				       s->folder ? s->folder : "", message);
	case STORE_SOURCE_POP3:
		return g_strdup_printf("pop3:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, s->mailbox_id, message);
	case STORE_SOURCE_FILE:
	default:
		return g_strdup_printf("file:%s:%" G_GINT64_FORMAT, s->file_name ? s->file_name : "-", message);
	}
}

static gboolean
raw_insert_fd(Store *store, gint64 message, int fd, GError **error)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED, "reading the spooled message: %s",
			    g_strerror(errno));
		return FALSE;
	}
	sqlite3_stmt *st = sq_prepare(store, "INSERT INTO raw_messages(message, bytes) VALUES (?, zeroblob(?))",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	sqlite3_bind_int64(st, 2, sb.st_size);
	if (!sq_step_done(store, st, error, "storing the raw message"))
		return FALSE;
	/* Stream through an incremental blob handle: a large message never has
	 * to sit in memory whole. */
	sqlite3_blob *blob = NULL;
	if (sqlite3_blob_open(sq_handle(store), "main", "raw_messages", "bytes", message, 1, &blob) != SQLITE_OK)
		return sq_fail(store, error, "opening the raw message blob");
	char buf[65536];
	off_t off = 0;
	while (off < sb.st_size) {
		ssize_t n = pread(fd, buf, sizeof buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sqlite3_blob_close(blob);
			g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED, "reading the spooled message: %s",
				    n < 0 ? g_strerror(errno) : "unexpected end of file");
			return FALSE;
		}
		if (sqlite3_blob_write(blob, buf, (int)n, (int)off) != SQLITE_OK) {
			sqlite3_blob_close(blob);
			return sq_fail(store, error, "writing the raw message");
		}
		off += n;
	}
	if (sqlite3_blob_close(blob) != SQLITE_OK)
		return sq_fail(store, error, "writing the raw message");
	return TRUE;
}

static gboolean
raw_insert(Store *store, gint64 message, const IngestInput *raw, GError **error)
{
	if (raw->fd >= 0)
		return raw_insert_fd(store, message, raw->fd, error);
	sqlite3_stmt *st = sq_prepare(store, "INSERT INTO raw_messages(message, bytes) VALUES (?, ?)", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	sqlite3_bind_blob64(st, 2, raw->data ? (const void *)raw->data : "", raw->len, SQLITE_STATIC);
	return sq_step_done(store, st, error, "storing the raw message");
}

static gboolean
insert_participant(Store *store, gint64 message, const char *role, int position, const char *name,
		   const char *address, const char *key, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store,
					 "INSERT OR IGNORE INTO participants(message, role, position, name, address, "
					 "address_key) VALUES (?, ?, ?, ?, ?, ?)",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	sq_bind_text(st, 2, role);
	sqlite3_bind_int(st, 3, position);
	sq_bind_text(st, 4, name);
	sq_bind_text(st, 5, address);
	sq_bind_text(st, 6, key);
	return sq_step_done(store, st, error, "storing a participant");
}

static gboolean
insert_parts(Store *store, gint64 message, const IngestMessage *msg, GError **error)
{
	int pos[G_N_ELEMENTS(role_names)] = { 0 };
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		if ((guint)a->role >= G_N_ELEMENTS(role_names))
			continue;
		if (!insert_participant(store, message, role_names[a->role], pos[a->role]++, a->name, a->address,
					a->key, error))
			return FALSE;
	}
	for (guint i = 0; i < msg->references->len; i++) {
		sqlite3_stmt *st = sq_prepare(
			store, "INSERT OR IGNORE INTO message_references(message, position, ref) VALUES (?, ?, ?)", error);
		if (!st)
			return FALSE;
		sqlite3_bind_int64(st, 1, message);
		sqlite3_bind_int(st, 2, (int)i);
		sq_bind_text(st, 3, g_ptr_array_index(msg->references, i));
		if (!sq_step_done(store, st, error, "storing a reference"))
			return FALSE;
	}
	for (guint i = 0; i < msg->attachments->len; i++) {
		const IngestAttachment *at = g_ptr_array_index(msg->attachments, i);
		sqlite3_stmt *st = sq_prepare(store,
						 "INSERT INTO attachments(message, position, filename, content_type, "
						 "size, sha256) VALUES (?, ?, ?, ?, ?, ?)",
						 error);
		if (!st)
			return FALSE;
		sqlite3_bind_int64(st, 1, message);
		sqlite3_bind_int(st, 2, (int)i);
		sq_bind_text(st, 3, at->filename);
		sq_bind_text(st, 4, at->content_type ? at->content_type : "application/octet-stream");
		sqlite3_bind_int64(st, 5, (sqlite3_int64)at->size);
		sq_bind_text(st, 6, at->sha256);
		if (!sq_step_done(store, st, error, "storing an attachment"))
			return FALSE;
	}
	return TRUE;
}

/* What search finds besides subject and body (migration 2 backfills the
 * same): each header participant's name and address, then the attachment
 * names, one a line. */
static char *
search_names(const IngestMessage *msg)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		if (out->len)
			g_string_append_c(out, '\n');
		if (a->name && *a->name)
			g_string_append_printf(out, "%s ", a->name);
		g_string_append(out, a->address ? a->address : "");
	}
	for (guint i = 0; i < msg->attachments->len; i++) {
		const IngestAttachment *at = g_ptr_array_index(msg->attachments, i);
		if (at->filename && *at->filename)
			g_string_append_printf(out, "\n%s", at->filename);
	}
	return g_string_free(out, FALSE);
}

static gboolean
insert_message(Store *store, const IngestMessage *msg, gint64 *out, GError **error)
{
	sqlite3_stmt *st = sq_prepare(
		store,
		"INSERT INTO messages(message_id, message_id_synthetic, fingerprint, date, date_synthetic, subject, "
		"in_reply_to, body_text, body_type, raw_size, warnings, stored_at, search_names) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		error);
	if (!st)
		return FALSE;
	g_autofree char *date = common_iso8601(msg->date);
	g_autofree char *now = common_iso8601(common_now());
	g_autofree char *warnings = NULL;
	g_autofree char *names = search_names(msg);
	if (msg->warnings && msg->warnings->len) {
		g_ptr_array_add(msg->warnings, NULL);
		warnings = g_strjoinv("\n", (char **)msg->warnings->pdata);
		g_ptr_array_remove_index(msg->warnings, msg->warnings->len - 1);
	}
	sq_bind_text(st, 1, msg->message_id);
	sqlite3_bind_int(st, 2, msg->message_id_synthetic ? 1 : 0);
	sq_bind_text(st, 3, msg->fingerprint);
	sq_bind_text(st, 4, date);
	sqlite3_bind_int(st, 5, msg->date_synthetic ? 1 : 0);
	sq_bind_text(st, 6, msg->subject ? msg->subject : "");
	sq_bind_text(st, 7, msg->in_reply_to);
	sq_bind_text(st, 8, msg->body_text ? msg->body_text : "");
	sq_bind_text(st, 9, msg->body_type);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)msg->raw_size);
	sq_bind_text(st, 11, warnings);
	sq_bind_text(st, 12, now);
	sq_bind_text(st, 13, names);
	if (!sq_step_done(store, st, error, "storing a message"))
		return FALSE;
	*out = sqlite3_last_insert_rowid(sq_handle(store));
	return TRUE;
}

static gboolean
insert_source(Store *store, gint64 message, const StoreSource *s, gboolean *added, GError **error)
{
	g_autofree char *identity = source_identity(s, message);
	g_autofree char *received = common_iso8601(s->received_at ? s->received_at : common_now());
	g_autofree char *rcpts = s->envelope_rcpts ? g_strjoinv(",", (char **)s->envelope_rcpts) : NULL;
	sqlite3_stmt *st = sq_prepare(
		store,
		"INSERT OR IGNORE INTO sources(message, kind, identity, received_at, owner_user_id, dropbox, "
		"envelope_from, envelope_rcpts, mailbox_id, folder, uidvalidity, uid, uidl, file_name, deal_id) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	sq_bind_text(st, 2, store_source_kind_name(s->kind));
	sq_bind_text(st, 3, identity);
	sq_bind_text(st, 4, received);
	sq_bind_text(st, 5, s->owner_user_id);
	sq_bind_text(st, 6, s->dropbox);
	sq_bind_text(st, 7, s->envelope_from);
	sq_bind_text(st, 8, rcpts);
	if (s->mailbox_id)
		sqlite3_bind_int64(st, 9, s->mailbox_id);
	sq_bind_text(st, 10, s->folder);
	if (s->kind == STORE_SOURCE_IMAP) {
		sqlite3_bind_int64(st, 11, s->uidvalidity);
		sqlite3_bind_int64(st, 12, s->uid);
	}
	sq_bind_text(st, 13, s->uidl);
	sq_bind_text(st, 14, s->file_name);
	sq_bind_text(st, 15, s->deal_id);
	if (!sq_step_done(store, st, error, "storing a source"))
		return FALSE;
	*added = sqlite3_changes(sq_handle(store)) > 0;
	if (!*added && s->kind == STORE_SOURCE_IMAP) {
		/* Same message at a new position (UIDVALIDITY changed, or moved):
		 * keep the source pointing at where it is now. */
		sqlite3_stmt *up = sq_prepare(store,
						 "UPDATE sources SET uidvalidity = ?, uid = ? WHERE identity = ?", error);
		if (!up)
			return FALSE;
		sqlite3_bind_int64(up, 1, s->uidvalidity);
		sqlite3_bind_int64(up, 2, s->uid);
		sq_bind_text(up, 3, identity);
		if (!sq_step_done(store, up, error, "updating a source"))
			return FALSE;
	}
	return TRUE;
}

static gboolean
insert_envelope_rcpts(Store *store, gint64 message, const StoreSource *s, GError **error)
{
	if (!s->envelope_rcpts)
		return TRUE;
	/* Positions continue after those of earlier sources of the message. */
	sqlite3_stmt *st = sq_prepare(store,
					 "SELECT coalesce(max(position) + 1, 0) FROM participants "
					 "WHERE message = ? AND role = 'envelope_rcpt'",
					 error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int pos = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_reset(st);
	for (const char *const *r = s->envelope_rcpts; *r; r++) {
		g_autofree char *key = ingest_address_key(*r);
		sqlite3_stmt *q = sq_prepare(store,
						"SELECT 1 FROM participants WHERE message = ? AND "
						"role = 'envelope_rcpt' AND address_key IS ?",
						error);
		if (!q)
			return FALSE;
		sqlite3_bind_int64(q, 1, message);
		sq_bind_text(q, 2, key);
		gboolean seen = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_reset(q);
		if (!seen && !insert_participant(store, message, "envelope_rcpt", pos++, NULL, *r, key, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
sq_put_message(Store *store, const IngestMessage *msg, const IngestInput *raw, const StoreSource *source,
		  StorePutResult *result, GError **error)
{
	g_return_val_if_fail(sq_in_transaction(store), FALSE);
	StorePutResult r = { 0 };
	if (!lookup_id(store, "SELECT id FROM messages WHERE fingerprint = ?", msg->fingerprint, &r.message, error))
		return FALSE;
	if (!r.message) {
		gint64 other = 0;
		if (!lookup_id(store, "SELECT id FROM messages WHERE message_id = ? LIMIT 1", msg->message_id, &other,
			       error))
			return FALSE;
		r.id_collision = other != 0;
		if (r.id_collision)
			g_warning("Message-ID <%s> collision: stored message %" G_GINT64_FORMAT
				  " has the same Message-ID and different content; keeping both",
				  msg->message_id, other);
		if (!insert_message(store, msg, &r.message, error) || !insert_parts(store, r.message, msg, error) ||
		    !raw_insert(store, r.message, raw, error))
			return FALSE;
		sq_search_pending(store, r.message);
		r.new_message = TRUE;
	}
	if (!insert_source(store, r.message, source, &r.new_source, error))
		return FALSE;
	if (r.new_source && !insert_envelope_rcpts(store, r.message, source, error))
		return FALSE;
	if (result)
		*result = r;
	return TRUE;
}

GArray *
sq_find_message_id(Store *store, const char *message_id, GError **error)
{
	g_autofree char *id = g_strdup(message_id);
	g_strstrip(id);
	gsize n = strlen(id);
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		id[n - 1] = '\0';
		memmove(id, id + 1, n - 1);
	}
	sqlite3_stmt *st = sq_prepare(store, "SELECT id FROM messages WHERE message_id = ? ORDER BY id", error);
	if (!st)
		return NULL;
	sq_bind_text(st, 1, id);
	return sq_collect_ids(store, st, error, "looking up a Message-ID");
}

GBytes *
sq_raw_get(Store *store, gint64 message, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT bytes FROM raw_messages WHERE message = ?", error);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "message %" G_GINT64_FORMAT " has no raw bytes",
				    message);
		else
			sq_fail(store, error, "reading a raw message");
		return NULL;
	}
	GBytes *b = g_bytes_new(sqlite3_column_blob(st, 0), (gsize)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	return b;
}

gboolean
sq_message_link_count(Store *store, gint64 message, guint *n_links, GError **error)
{
	sqlite3_stmt *st = sq_prepare(store, "SELECT count(*) FROM links WHERE message = ?", error);
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, message);
	int rc = sqlite3_step(st);
	*n_links = rc == SQLITE_ROW ? (guint)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sq_fail(store, error, "reading the message's links");
	return TRUE;
}
