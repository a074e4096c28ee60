/* Transactions and the message write path on PostgreSQL: the semantics of
 * store/messages.c, made safe across hosts. Dedup rests on the unique
 * constraints (messages.fingerprint, sources.identity): a writer that loses
 * the race to another host's transaction waits for it, inserts nothing
 * (ON CONFLICT DO NOTHING) and re-selects the winner's row. */
#include "store/pg/pg.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/common.h"

static const char *const pg_role_names[] = { "from", "to", "cc", "reply_to" };

/* ---- transactions ---- */

gboolean
pg_store_begin(Store *store, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_return_val_if_fail(!pg->in_txn, FALSE);
	/* READ COMMITTED whatever the server's default: the re-select after a
	 * lost insert race must see the winner's committed row. */
	if (!pg_store_exec(pg, "BEGIN ISOLATION LEVEL READ COMMITTED", "starting a transaction", error))
		return FALSE;
	pg->in_txn = TRUE;
	return TRUE;
}

gboolean
pg_store_commit(Store *store, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_return_val_if_fail(pg->in_txn, FALSE);
	/* PostgreSQL answers COMMIT of a failed transaction with a silent
	 * ROLLBACK: never report that as stored. */
	if (!pg->txn_lost && PQtransactionStatus(pg->conn) == PQTRANS_INERROR) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED,
			    "%s: committing: an earlier statement failed; the transaction was rolled back", pg->redacted);
		pg_store_rollback(store);
		return FALSE;
	}
	if (!pg_store_exec(pg, "COMMIT", "committing", error)) {
		pg_store_rollback(store);
		return FALSE;
	}
	pg->in_txn = FALSE;
	return TRUE;
}

void
pg_store_rollback(Store *store)
{
	PgStore *pg = pg_store_cast(store);
	if (!pg->in_txn)
		return;
	if (!pg->txn_lost && PQstatus(pg->conn) == CONNECTION_OK)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
	pg->in_txn = FALSE;
	pg->txn_lost = FALSE;
}

gboolean
pg_store_in_transaction(Store *store)
{
	return pg_store_cast(store)->in_txn;
}

gboolean
pg_store_savepoint(Store *store, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_return_val_if_fail(pg->in_txn, FALSE);
	return pg_store_exec(pg, "SAVEPOINT capture_job", "setting a savepoint", error);
}

gboolean
pg_store_savepoint_release(Store *store, GError **error)
{
	return pg_store_exec(pg_store_cast(store), "RELEASE SAVEPOINT capture_job", "releasing a savepoint", error);
}

gboolean
pg_store_savepoint_rollback(Store *store, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	return pg_store_exec(pg, "ROLLBACK TO SAVEPOINT capture_job", "rolling back to a savepoint", error) &&
	       pg_store_exec(pg, "RELEASE SAVEPOINT capture_job", "releasing a savepoint", error);
}

/* ---- statements ---- */

/* The first column of the first row as an id, 0 when there is no row. */
static gboolean
pg_lookup_id(PgStore *pg, const char *sql, const PgParams *p, gint64 *out, const char *context, GError **error)
{
	PGresult *res = pg_store_query(pg, sql, p, 0, context, error);
	if (!res)
		return FALSE;
	*out = PQntuples(res) > 0 ? pg_store_value_int(res, 0, 0) : 0;
	PQclear(res);
	return TRUE;
}

static gboolean
pg_lookup_text(PgStore *pg, const char *sql, const char *arg, gint64 *out, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, arg);
	return pg_lookup_id(pg, sql, &p, out, "looking up a message", error);
}

/* The identity of a source: the same identity again is a re-delivery and a
 * no-op. It must stay byte-identical to store/messages.c's (a copied store
 * keeps deduplicating): FIXME(lead) share one store_source_identity(). */
static char *
pg_source_identity(const StoreSource *s, gint64 message)
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

/* ---- raw bytes ---- */

/* The raw message as one buffer: a spooled message is mapped, not read, and
 * libpq sends it from the mapping. Undo with pg_raw_unmap(). */
typedef struct {
	const void *data;
	gsize len;
	void *map;
} PgRaw;

static gboolean
pg_raw_map(const IngestInput *raw, PgRaw *out, GError **error)
{
	*out = (PgRaw){ raw->data ? (const void *)raw->data : "", raw->len, NULL };
	if (raw->fd < 0)
		return TRUE;
	struct stat sb;
	if (fstat(raw->fd, &sb) != 0) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED, "reading the spooled message: %s",
			    g_strerror(errno));
		return FALSE;
	}
	*out = (PgRaw){ "", (gsize)sb.st_size, NULL };
	if (sb.st_size == 0)
		return TRUE;
	out->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, raw->fd, 0);
	if (out->map == MAP_FAILED) {
		out->map = NULL;
		g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED, "reading the spooled message: %s",
			    g_strerror(errno));
		return FALSE;
	}
	out->data = out->map;
	return TRUE;
}

static void
pg_raw_unmap(PgRaw *raw)
{
	if (raw->map)
		munmap(raw->map, raw->len);
}

/* ---- message parts ---- */

static const char pg_participant_sql[] =
	"INSERT INTO participants(message, role, position, name, address, address_key) "
	"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

static void
pg_add_participants(PgBatch *batch, gint64 message, const IngestMessage *msg)
{
	int pos[G_N_ELEMENTS(pg_role_names)] = { 0 };
	for (guint i = 0; i < msg->addresses->len; i++) {
		const IngestAddress *a = g_ptr_array_index(msg->addresses, i);
		if ((guint)a->role >= G_N_ELEMENTS(pg_role_names))
			continue;
		PgParams *p = pg_batch_add(batch, pg_participant_sql);
		pg_params_int(p, message);
		pg_params_text(p, pg_role_names[a->role]);
		pg_params_int(p, pos[a->role]++);
		pg_params_text(p, a->name);
		pg_params_text(p, a->address);
		pg_params_text(p, a->key);
	}
}

static void
pg_add_references(PgBatch *batch, gint64 message, const IngestMessage *msg)
{
	for (guint i = 0; i < msg->references->len; i++) {
		PgParams *p = pg_batch_add(batch, "INSERT INTO message_references(message, position, ref) "
						  "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
		pg_params_int(p, message);
		pg_params_int(p, i);
		pg_params_text(p, g_ptr_array_index(msg->references, i));
	}
}

static void
pg_add_attachments(PgBatch *batch, gint64 message, const IngestMessage *msg)
{
	for (guint i = 0; i < msg->attachments->len; i++) {
		const IngestAttachment *at = g_ptr_array_index(msg->attachments, i);
		PgParams *p = pg_batch_add(batch, "INSERT INTO attachments(message, position, filename, content_type, "
						  "size, sha256) VALUES ($1, $2, $3, $4, $5, $6)");
		pg_params_int(p, message);
		pg_params_int(p, i);
		pg_params_text(p, at->filename);
		pg_params_text(p, at->content_type ? at->content_type : "application/octet-stream");
		pg_params_int(p, (gint64)at->size);
		pg_params_text(p, at->sha256);
	}
}

/* Participants, references and attachments of a new message: one round
 * trip for all of them. */
static gboolean
pg_insert_parts(PgStore *pg, gint64 message, const IngestMessage *msg, GError **error)
{
	g_auto(PgBatch) batch = { 0 };
	pg_add_participants(&batch, message, msg);
	pg_add_references(&batch, message, msg);
	pg_add_attachments(&batch, message, msg);
	return pg_store_run_batch(pg, &batch, "storing the message's parts", error);
}

static char *
pg_warnings_text(const IngestMessage *msg)
{
	if (!msg->warnings || !msg->warnings->len)
		return NULL;
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < msg->warnings->len; i++)
		g_string_append_printf(s, "%s%s", i ? "\n" : "", (const char *)g_ptr_array_index(msg->warnings, i));
	return g_string_free(s, FALSE);
}

static void
pg_message_params(PgParams *p, const IngestMessage *msg, const char *date, const char *now, const char *warnings)
{
	pg_params_text(p, msg->message_id);
	pg_params_int(p, msg->message_id_synthetic ? 1 : 0);
	pg_params_text(p, msg->fingerprint);
	pg_params_text(p, date);
	pg_params_int(p, msg->date_synthetic ? 1 : 0);
	pg_params_text(p, msg->subject ? msg->subject : "");
	pg_params_text(p, msg->in_reply_to);
	pg_params_text(p, msg->body_text ? msg->body_text : "");
	pg_params_text(p, msg->body_type);
	pg_params_int(p, (gint64)msg->raw_size);
	pg_params_text(p, warnings);
	pg_params_text(p, now);
}

/* Insert the message row and its raw bytes in one statement; *OUT is 0 when
 * a concurrent transaction (another host) stored the same content first and
 * committed. */
static gboolean
pg_insert_message(PgStore *pg, const IngestMessage *msg, const IngestInput *input, gint64 *out, GError **error)
{
	g_autofree char *date = common_iso8601(msg->date);
	g_autofree char *now = common_iso8601(common_now());
	g_autofree char *warnings = pg_warnings_text(msg);
	PgRaw raw;
	if (!pg_raw_map(input, &raw, error))
		return FALSE;
	g_auto(PgParams) p = { 0 };
	pg_message_params(&p, msg, date, now, warnings);
	pg_params_bytes(&p, raw.data, raw.len);
	gboolean ok = pg_lookup_id(
		pg,
		"WITH m AS (INSERT INTO messages(message_id, message_id_synthetic, fingerprint, date, date_synthetic, "
		"subject, in_reply_to, body_text, body_type, raw_size, warnings, stored_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
		"ON CONFLICT (fingerprint) DO NOTHING RETURNING id), "
		"r AS (INSERT INTO raw_messages(message, bytes) SELECT id, $13 FROM m) "
		"SELECT id FROM m",
		&p, out, "storing a message", error);
	pg_raw_unmap(&raw);
	return ok;
}

/* Same message at a new IMAP position (UIDVALIDITY changed, or moved): keep
 * the source pointing at where it is now. */
static gboolean
pg_update_imap_position(PgStore *pg, const StoreSource *s, const char *identity, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, s->uidvalidity);
	pg_params_int(&p, s->uid);
	pg_params_text(&p, identity);
	return pg_store_do(pg, "UPDATE sources SET uidvalidity = $1, uid = $2 WHERE identity = $3", &p, NULL,
			   "updating a source", error);
}

static void
pg_source_params(PgParams *p, gint64 message, const StoreSource *s, const char *identity, const char *received,
		 const char *rcpts)
{
	pg_params_int(p, message);
	pg_params_text(p, store_source_kind_name(s->kind));
	pg_params_text(p, identity);
	pg_params_text(p, received);
	pg_params_text(p, s->owner_user_id);
	pg_params_text(p, s->dropbox);
	pg_params_text(p, s->envelope_from);
	pg_params_text(p, rcpts);
	if (s->mailbox_id)
		pg_params_int(p, s->mailbox_id);
	else
		pg_params_text(p, NULL);
	pg_params_text(p, s->folder);
	gboolean imap = s->kind == STORE_SOURCE_IMAP;
	if (imap) {
		pg_params_int(p, s->uidvalidity);
		pg_params_int(p, s->uid);
	} else {
		pg_params_text(p, NULL);
		pg_params_text(p, NULL);
	}
	pg_params_text(p, s->uidl);
	pg_params_text(p, s->file_name);
}

static gboolean
pg_insert_source(PgStore *pg, gint64 message, const StoreSource *s, gboolean *added, GError **error)
{
	g_autofree char *identity = pg_source_identity(s, message);
	g_autofree char *received = common_iso8601(s->received_at ? s->received_at : common_now());
	g_autofree char *rcpts = s->envelope_rcpts ? g_strjoinv(",", (char **)s->envelope_rcpts) : NULL;
	g_auto(PgParams) p = { 0 };
	pg_source_params(&p, message, s, identity, received, rcpts);
	gint64 id = 0;
	if (!pg_lookup_id(pg,
			  "INSERT INTO sources(message, kind, identity, received_at, owner_user_id, dropbox, "
			  "envelope_from, envelope_rcpts, mailbox_id, folder, uidvalidity, uid, uidl, file_name) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
			  "ON CONFLICT (identity) DO NOTHING RETURNING id",
			  &p, &id, "storing a source", error))
		return FALSE;
	*added = id != 0;
	if (!*added && s->kind == STORE_SOURCE_IMAP)
		return pg_update_imap_position(pg, s, identity, error);
	return TRUE;
}

static gboolean
pg_envelope_rcpt_seen(PgStore *pg, gint64 message, const char *key, gboolean *seen, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, message);
	pg_params_text(&p, key);
	gint64 one = 0;
	if (!pg_lookup_id(pg,
			  "SELECT 1 FROM participants WHERE message = $1 AND role = 'envelope_rcpt' "
			  "AND address_key IS NOT DISTINCT FROM $2",
			  &p, &one, "looking up an envelope recipient", error))
		return FALSE;
	*seen = one != 0;
	return TRUE;
}

/* One envelope recipient at the next free position, unless the message has
 * it already: one statement. Another host adding a recipient to the same
 * message may take that position first (we then wait for it and insert
 * nothing): try again at the next one. */
static gboolean
pg_insert_envelope_rcpt(PgStore *pg, gint64 message, const char *rcpt, GError **error)
{
	g_autofree char *key = ingest_address_key(rcpt);
	for (int attempt = 0; attempt < 16; attempt++) {
		g_auto(PgParams) p = { 0 };
		pg_params_int(&p, message);
		pg_params_text(&p, rcpt);
		pg_params_text(&p, key);
		gint64 added = 0;
		if (!pg_lookup_id(pg,
				  "INSERT INTO participants(message, role, position, name, address, address_key) "
				  "SELECT $1::bigint, 'envelope_rcpt', coalesce(max(position) + 1, 0), NULL, $2::text, $3::text "
				  "FROM participants WHERE message = $1::bigint AND role = 'envelope_rcpt' "
				  "HAVING NOT coalesce(bool_or(address_key IS NOT DISTINCT FROM $3::text), false) "
				  "ON CONFLICT DO NOTHING RETURNING 1",
				  &p, &added, "storing an envelope recipient", error))
			return FALSE;
		gboolean seen = added != 0;
		if (!seen && !pg_envelope_rcpt_seen(pg, message, key, &seen, error))
			return FALSE;
		if (seen)
			return TRUE;
	}
	g_set_error(error, STORE_ERROR, STORE_ERROR_BUSY,
		    "%s: storing an envelope recipient of message %" G_GINT64_FORMAT ": too many concurrent writers",
		    pg->redacted, message);
	return FALSE;
}

static gboolean
pg_insert_envelope_rcpts(PgStore *pg, gint64 message, const StoreSource *s, GError **error)
{
	for (const char *const *r = s->envelope_rcpts; r && *r; r++)
		if (!pg_insert_envelope_rcpt(pg, message, *r, error))
			return FALSE;
	return TRUE;
}

/* The message with MSG's content (*ID, 0: none) and, when there is none,
 * whether another one has its Message-ID: one round trip. */
static gboolean
pg_find_message(PgStore *pg, const IngestMessage *msg, gint64 *id, gboolean *collision, GError **error)
{
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, msg->fingerprint);
	pg_params_text(&p, msg->message_id);
	PGresult *res = pg_store_query(pg,
				       "SELECT (SELECT id FROM messages WHERE fingerprint = $1), "
				       "(SELECT id FROM messages WHERE message_id = $2 ORDER BY id LIMIT 1)",
				       &p, 0, "looking up a message", error);
	if (!res)
		return FALSE;
	*id = pg_store_value_int(res, 0, 0);
	gint64 other = pg_store_value_int(res, 0, 1);
	PQclear(res);
	*collision = !*id && other;
	if (*collision)
		g_warning("Message-ID <%s> collision: stored message %" G_GINT64_FORMAT
			  " has the same Message-ID and different content; keeping both",
			  msg->message_id, other);
	return TRUE;
}

/* Store a message not yet seen, or find the one another transaction stored
 * concurrently (then *R says it is not new). */
static gboolean
pg_put_new_message(PgStore *pg, const IngestMessage *msg, const IngestInput *raw, StorePutResult *r,
		   GError **error)
{
	if (!pg_insert_message(pg, msg, raw, &r->message, error))
		return FALSE;
	if (!r->message) {
		r->id_collision = FALSE;
		return pg_lookup_text(pg, "SELECT id FROM messages WHERE fingerprint = $1", msg->fingerprint,
				      &r->message, error);
	}
	r->new_message = TRUE;
	return pg_insert_parts(pg, r->message, msg, error);
}

gboolean
pg_store_put_message(Store *store, const IngestMessage *msg, const IngestInput *raw, const StoreSource *source,
		     StorePutResult *result, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_return_val_if_fail(pg->in_txn, FALSE);
	StorePutResult r = { 0 };
	if (!pg_find_message(pg, msg, &r.message, &r.id_collision, error))
		return FALSE;
	if (!r.message && !pg_put_new_message(pg, msg, raw, &r, error))
		return FALSE;
	if (!pg_insert_source(pg, r.message, source, &r.new_source, error))
		return FALSE;
	if (r.new_source && !pg_insert_envelope_rcpts(pg, r.message, source, error))
		return FALSE;
	if (result)
		*result = r;
	return TRUE;
}

/* ---- reads ---- */

GArray *
pg_store_find_message_id(Store *store, const char *message_id, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_autofree char *id = g_strstrip(g_strdup(message_id));
	gsize n = strlen(id);
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		id[n - 1] = '\0';
		memmove(id, id + 1, n - 1);
	}
	g_auto(PgParams) p = { 0 };
	pg_params_text(&p, id);
	PGresult *res = pg_store_query(pg, "SELECT id FROM messages WHERE message_id = $1 ORDER BY id", &p, 0,
				       "looking up a Message-ID", error);
	return res ? pg_store_result_ids(res) : NULL;
}

GBytes *
pg_store_raw_get(Store *store, gint64 message, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, message);
	PGresult *res = pg_store_query(pg, "SELECT bytes FROM raw_messages WHERE message = $1", &p, 1,
				       "reading a raw message", error);
	if (!res)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		g_set_error(error, STORE_ERROR, STORE_ERROR_NOT_FOUND, "message %" G_GINT64_FORMAT " has no raw bytes",
			    message);
		return NULL;
	}
	GBytes *b = g_bytes_new(PQgetvalue(res, 0, 0), (gsize)PQgetlength(res, 0, 0));
	PQclear(res);
	return b;
}

gboolean
pg_store_message_link_count(Store *store, gint64 message, guint *n_links, GError **error)
{
	PgStore *pg = pg_store_cast(store);
	g_auto(PgParams) p = { 0 };
	pg_params_int(&p, message);
	gint64 n = 0;
	PGresult *res = pg_store_query(pg, "SELECT count(*) FROM links WHERE message = $1", &p, 0,
				       "reading the message's links", error);
	if (res)
		n = pg_store_value_int(res, 0, 0);
	*n_links = (guint)n;
	gboolean ok = res != NULL;
	PQclear(res);
	return ok;
}
