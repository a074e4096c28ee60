/* One sync pass over a mailbox: fetch what is above the cursors, parse it
 * outside the write lock, then store each batch with its new cursor in one
 * transaction. The server is changed (POP3 DELE) only after that commit. */
#include "poll/net.h"

#include <string.h>
#include <unistd.h>

#include <gio/gio.h>


/* A batch ends at this many messages or bytes held in memory. */
#define SYNC_BATCH_MESSAGES 250
#define SYNC_BATCH_MEMORY (16u << 20)
/* First retry after a network error; doubles up to [poll] backoff_max. */
#define SYNC_BACKOFF_BASE 30

typedef struct {
	PollContext *ctx;
	StoreMailbox *mb;
	gint64 done, total;
	char day[11];	     /* UTC day of the budget */
	guint64 budget_used; /* bytes downloaded on that day */
	gboolean budget_hit;
	GPtrArray *to_delete; /* POP3: UIDLs committed and due for DELE */
} Sync;

void
poll_fault_before_commit(void)
{
	const char *v = g_getenv("BCCDROP_POLL_CRASH_BEFORE_COMMIT");
	if (v && *v && strcmp(v, "0") != 0) {
		g_warning("BCCDROP_POLL_CRASH_BEFORE_COMMIT is set: exiting before the commit (test fault hook)");
		_exit(70);
	}
}

static gboolean
sync_status(Sync *s, const char *status, const char *reason, GError **error)
{
	StoreMailboxSync st = { .status = (char *)status, .done = s->done, .total = s->total, .reason = (char *)reason };
	return store_mailbox_sync_set(s->ctx->store, s->mb->id, &st, error);
}

/* ---- one batch ---- */

typedef struct {
	const char *folder;
	guint32 uidvalidity;
	guint32 last_uid; /* the folder cursor after this batch */
} SyncImapCursor;

static IngestMessage *
sync_parse(Sync *s, PollSpool *spool, gint64 now)
{
	IngestInput in = capture_spool_input(&spool->spool);
	g_autoptr(GError) e = NULL;
	IngestMessage *msg = capture_parse(&in, now, &e);
	if (!msg)
		g_warning("mailbox %" G_GINT64_FORMAT ": %s %s%u is not a message, skipped: %s", s->mb->id,
			  spool->uidl ? "POP3 message" : "UID", spool->uidl ? spool->uidl : "", spool->uid,
			  e->message);
	return msg;
}

typedef struct {
	Sync *s;
	GPtrArray *spools;
	const SyncImapCursor *cur;
	guint64 bytes;
} SyncBatch;

/* The source's own writes, in the transaction of the batch's messages:
 * cursor, retrieved UIDLs, budget and progress. */
static gboolean
sync_batch_hook(Store *store, gpointer data, GError **error)
{
	SyncBatch *b = data;
	Sync *s = b->s;
	for (guint i = 0; !b->cur && i < b->spools->len; i++) {
		PollSpool *sp = g_ptr_array_index(b->spools, i);
		if (!store_mailbox_uidl_add(store, s->mb->id, sp->uidl, error))
			return FALSE;
	}
	if (b->cur && !store_mailbox_folder_set(store, s->mb->id, b->cur->folder, b->cur->uidvalidity,
						b->cur->last_uid, error))
		return FALSE;
	if (!store_mailbox_budget_add(store, s->mb->id, s->day, b->bytes, error))
		return FALSE;
	StoreMailboxSync st = { .status = "in_progress", .done = s->done + b->spools->len, .total = s->total };
	if (!store_mailbox_sync_set(store, s->mb->id, &st, error))
		return FALSE;
	poll_fault_before_commit();
	return TRUE;
}

static gboolean
sync_store_batch(Sync *s, CaptureBatch *batch, GPtrArray *spools, IngestMessage **msgs, const SyncImapCursor *cur,
		 gint64 now, GError **error)
{
	SyncBatch b = { s, spools, cur, 0 };
	for (guint i = 0; i < spools->len; i++) {
		PollSpool *sp = g_ptr_array_index(spools, i);
		b.bytes += sp->spool.size;
		if (!msgs[i])
			continue;
		IngestInput in = capture_spool_input(&sp->spool);
		StoreSource src = { .kind = cur ? STORE_SOURCE_IMAP : STORE_SOURCE_POP3,
				    .received_at = now,
				    .owner_user_id = s->mb->user_id,
				    .mailbox_id = s->mb->id,
				    .folder = cur ? cur->folder : NULL,
				    .uidvalidity = cur ? cur->uidvalidity : 0,
				    .uid = sp->uid,
				    .uidl = sp->uidl };
		if (!capture_batch_add(batch, msgs[i], &in, &src, NULL, error))
			return FALSE;
	}
	if (!capture_batch_commit(batch, sync_batch_hook, &b, error))
		return FALSE;
	s->budget_used += b.bytes;
	s->done += spools->len;
	return TRUE;
}

/* Parse first (no lock held), then one transaction for messages + cursor. */
static gboolean
sync_commit_batch(Sync *s, GPtrArray *spools, const SyncImapCursor *cur, GError **error)
{
	gint64 now = common_now();
	IngestMessage **msgs = g_new0(IngestMessage *, spools->len + 1);
	for (guint i = 0; i < spools->len; i++)
		msgs[i] = sync_parse(s, g_ptr_array_index(spools, i), now);
	g_autoptr(CaptureBatch) batch = capture_batch_new(s->ctx->store, s->ctx->config);
	gboolean ok = sync_store_batch(s, batch, spools, msgs, cur, now, error);
	for (guint i = 0; i < spools->len; i++) {
		PollSpool *sp = g_ptr_array_index(spools, i);
		if (ok && !cur && msgs[i])
			g_ptr_array_add(s->to_delete, g_strdup_printf("%u %s", sp->msgno, sp->uidl));
		g_clear_pointer(&msgs[i], ingest_message_free);
	}
	g_free(msgs);
	return ok;
}

static gboolean
sync_budget_allows(Sync *s, guint64 next)
{
	if (s->budget_used + next <= s->ctx->config->daily_budget)
		return TRUE;
	s->budget_hit = TRUE;
	return FALSE;
}

static gboolean
sync_stopped(Sync *s)
{
	return s->ctx->stop && g_atomic_int_get(s->ctx->stop);
}

/* ---- IMAP ---- */

/* The next batch of UIDS starting at *POS, within the memory and budget. */
static GArray *
sync_imap_next_batch(Sync *s, GArray *uids, GArray *sizes, guint *pos)
{
	GArray *batch = g_array_new(FALSE, FALSE, sizeof(guint32));
	guint64 mem = 0, dl = 0;
	guint64 limit = s->ctx->config->poll_memory_limit;
	while (*pos < uids->len && batch->len < SYNC_BATCH_MESSAGES) {
		guint64 size = g_array_index(sizes, guint32, *pos);
		guint64 held = MIN(size, limit);
		if (batch->len && mem + held > SYNC_BATCH_MEMORY)
			break;
		if (!sync_budget_allows(s, dl + size))
			break;
		g_array_append_val(batch, g_array_index(uids, guint32, *pos));
		mem += held;
		dl += size;
		(*pos)++;
	}
	return batch;
}

/* The batches of this pass, within memory and the day's budget. */
static GPtrArray *
sync_imap_plan(Sync *s, GArray *uids, GArray *sizes, GPtrArray **plan_sizes)
{
	GPtrArray *plan = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	*plan_sizes = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	guint64 saved = s->budget_used;
	guint pos = 0;
	while (pos < uids->len) {
		guint first = pos;
		GArray *batch = sync_imap_next_batch(s, uids, sizes, &pos);
		if (batch->len == 0) {
			g_array_unref(batch);
			break; /* budget */
		}
		GArray *bs = g_array_new(FALSE, FALSE, sizeof(guint32));
		g_array_append_vals(bs, &g_array_index(sizes, guint32, first), batch->len);
		for (guint i = 0; i < bs->len; i++)
			s->budget_used += g_array_index(bs, guint32, i);
		g_ptr_array_add(plan, batch);
		g_ptr_array_add(*plan_sizes, bs);
	}
	s->budget_used = saved; /* counted for real at each commit */
	return plan;
}

/* ---- IMAP fetch pipeline ----
 * A fetcher thread downloads the next batch while this thread parses and
 * commits the previous one, so the server, TLS and libetpan work overlaps
 * with GMime and SQLite. At most SYNC_PIPELINE_DEPTH fetched batches wait. */
#define SYNC_PIPELINE_DEPTH 2

typedef struct {
	GArray *uids;	   /* NULL: the end marker */
	GPtrArray *spools; /* NULL when the fetch failed */
	GError *error;
} SyncFetched;

typedef struct {
	PollImap *imap;
	GPtrArray *plan, *plan_sizes;
	guint64 memory_limit;
	GAsyncQueue *done;   /* SyncFetched* */
	GAsyncQueue *tokens; /* free slots */
	volatile gint abort;
	volatile gint *stop;
} SyncFetcher;

static void
sync_fetched_free(SyncFetched *r)
{
	if (r->uids)
		g_array_unref(r->uids);
	if (r->spools)
		g_ptr_array_unref(r->spools);
	g_clear_error(&r->error);
	g_free(r);
}

static gpointer
sync_fetcher_main(gpointer data)
{
	SyncFetcher *f = data;
	for (guint i = 0; i < f->plan->len; i++) {
		g_async_queue_pop(f->tokens);
		if (g_atomic_int_get(&f->abort) || (f->stop && g_atomic_int_get(f->stop)))
			break;
		SyncFetched *r = g_new0(SyncFetched, 1);
		r->uids = g_array_ref(g_ptr_array_index(f->plan, i));
		r->spools = poll_imap_fetch(f->imap, r->uids, g_ptr_array_index(f->plan_sizes, i), f->memory_limit,
					    &r->error);
		gboolean failed = r->spools == NULL;
		g_async_queue_push(f->done, r);
		if (failed)
			break;
	}
	g_async_queue_push(f->done, g_new0(SyncFetched, 1));
	return NULL;
}

static gboolean
sync_imap_pipeline(Sync *s, PollImap *imap, const char *folder, guint32 uidvalidity, GPtrArray *plan,
		   GPtrArray *plan_sizes, GError **error)
{
	if (plan->len == 0)
		return TRUE;
	SyncFetcher f = { .imap = imap, .plan = plan, .plan_sizes = plan_sizes,
			  .memory_limit = s->ctx->config->poll_memory_limit, .done = g_async_queue_new(),
			  .tokens = g_async_queue_new(), .stop = s->ctx->stop };
	for (int i = 0; i < SYNC_PIPELINE_DEPTH; i++)
		g_async_queue_push(f.tokens, GINT_TO_POINTER(1));
	GThread *t = g_thread_new("imap-fetch", sync_fetcher_main, &f);
	gboolean ok = TRUE;
	for (;;) {
		SyncFetched *r = g_async_queue_pop(f.done);
		if (!r->uids) {
			sync_fetched_free(r);
			break;
		}
		if (ok && !r->spools) {
			g_propagate_error(error, g_steal_pointer(&r->error));
			ok = FALSE;
		} else if (ok) {
			SyncImapCursor cur = { folder, uidvalidity, g_array_index(r->uids, guint32, r->uids->len - 1) };
			ok = sync_commit_batch(s, r->spools, &cur, error);
		}
		if (!ok)
			g_atomic_int_set(&f.abort, 1);
		/* Always free a slot: an aborting fetcher must get to its end. */
		g_async_queue_push(f.tokens, GINT_TO_POINTER(1));
		sync_fetched_free(r);
	}
	g_thread_join(t);
	g_async_queue_unref(f.done);
	g_async_queue_unref(f.tokens);
	return ok;
}

static gboolean
sync_imap_folder(Sync *s, PollImap *imap, const char *folder, GError **error)
{
	guint32 uidvalidity = 0;
	if (!poll_imap_examine(imap, folder, &uidvalidity, error))
		return FALSE;
	gboolean found = FALSE;
	gint64 old_validity = 0, last = 0;
	if (!store_mailbox_folder_get(s->ctx->store, s->mb->id, folder, &found, &old_validity, &last, error))
		return FALSE;
	if (found && old_validity != (gint64)uidvalidity) {
		/* The store recognises messages it already has: resyncing from
		 * UID 0 duplicates nothing, only moves their sources. */
		g_message("mailbox %" G_GINT64_FORMAT ": folder '%s' UIDVALIDITY changed (%" G_GINT64_FORMAT
			  " -> %u): resyncing it",
			  s->mb->id, folder, old_validity, uidvalidity);
		last = 0;
	}
	g_autoptr(GArray) uids = poll_imap_uids_above(imap, (guint32)last, error);
	if (!uids)
		return FALSE;
	if (uids->len == 0) {
		if (!found || old_validity != (gint64)uidvalidity)
			return store_mailbox_folder_set(s->ctx->store, s->mb->id, folder, uidvalidity, last, error);
		return TRUE;
	}
	g_autoptr(GArray) sizes = poll_imap_sizes(imap, uids, error);
	if (!sizes)
		return FALSE;
	s->total += uids->len;
	if (!sync_status(s, "in_progress", NULL, error))
		return FALSE;
	g_autoptr(GPtrArray) plan_sizes = NULL;
	g_autoptr(GPtrArray) plan = sync_imap_plan(s, uids, sizes, &plan_sizes);
	return sync_imap_pipeline(s, imap, folder, uidvalidity, plan, plan_sizes, error);
}

static gboolean
sync_imap_all(Sync *s, PollImap *imap, char **folders, GError **error)
{
	/* The first folder last: the session then stays in it for IDLE. */
	guint n = g_strv_length(folders);
	for (guint i = 1; i <= n && !s->budget_hit && !sync_stopped(s); i++)
		if (!sync_imap_folder(s, imap, folders[i % n], error))
			return FALSE;
	return TRUE;
}

static gboolean sync_finish(Sync *s, GError **error);

static gboolean
sync_imap_idle(Sync *s, PollImap *imap, char **folders, int idle_seconds, GError **error)
{
	const CommonConfig *c = s->ctx->config;
	gint64 next_full = g_get_monotonic_time() + (gint64)c->poll_interval * G_USEC_PER_SEC;
	while (!sync_stopped(s) && !s->budget_hit) {
		gboolean activity = FALSE;
		int wait = MIN(idle_seconds, c->idle_refresh);
		if (!poll_imap_idle(imap, wait, s->ctx->stop, &activity, error))
			return FALSE;
		if (sync_stopped(s))
			break;
		gboolean full = g_strv_length(folders) > 1 && g_get_monotonic_time() >= next_full;
		if (full) {
			next_full = g_get_monotonic_time() + (gint64)c->poll_interval * G_USEC_PER_SEC;
			if (!sync_imap_all(s, imap, folders, error))
				return FALSE;
		} else if (!sync_imap_folder(s, imap, folders[0], error)) {
			return FALSE;
		}
		if (!sync_finish(s, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
sync_imap(Sync *s, const PollEndpoint *ep, const char *secret, int idle_seconds, GError **error)
{
	g_autoptr(PollImap) imap = poll_imap_open(ep, s->mb->tls, error);
	if (!imap || !poll_imap_login(imap, s->mb->username, secret, !g_strcmp0(s->mb->auth, "oauth2"), error))
		return FALSE;
	g_auto(GStrv) folders = g_strsplit(s->mb->folders && *s->mb->folders ? s->mb->folders : "INBOX", ",", -1);
	for (char **f = folders; *f; f++)
		g_strstrip(*f);
	if (!sync_imap_all(s, imap, folders, error) || !sync_finish(s, error))
		return FALSE;
	if (idle_seconds > 0 && poll_imap_has_idle(imap))
		return sync_imap_idle(s, imap, folders, idle_seconds, error);
	return TRUE;
}

/* ---- POP3 ---- */

static gboolean
sync_pop3_batches(Sync *s, PollPop3 *pop, GPtrArray *fresh, GError **error)
{
	guint pos = 0;
	while (pos < fresh->len && !sync_stopped(s) && !s->budget_hit) {
		g_autoptr(GPtrArray) batch = g_ptr_array_new();
		guint64 mem = 0, dl = 0;
		while (pos < fresh->len && batch->len < SYNC_BATCH_MESSAGES && mem < SYNC_BATCH_MEMORY &&
		       sync_budget_allows(s, dl)) {
			PollSpool *sp = g_ptr_array_index(fresh, pos++);
			sp->spool.limit = s->ctx->config->poll_memory_limit;
			if (!poll_pop3_retr(pop, sp, error))
				return FALSE;
			mem += MIN(sp->spool.size, sp->spool.limit);
			dl += sp->spool.size;
			g_ptr_array_add(batch, sp);
		}
		if (batch->len && !sync_commit_batch(s, batch, NULL, error))
			return FALSE;
		/* Release the bytes of a committed batch early. */
		for (guint i = 0; i < batch->len; i++) {
			PollSpool *sp = g_ptr_array_index(batch, i);
			capture_spool_clear(&sp->spool);
		}
	}
	return TRUE;
}

/* after-days:N: messages retrieved more than N days ago. */
static gboolean
sync_pop3_due(Sync *s, GPtrArray *listing, GError **error)
{
	const char *p = s->mb->delete_policy;
	if (!g_str_has_prefix(p, "after-days:"))
		return TRUE;
	gint64 days = g_ascii_strtoll(p + strlen("after-days:"), NULL, 10);
	g_autoptr(GPtrArray) old = store_mailbox_uidls_older(s->ctx->store, s->mb->id, common_now() - days * 86400,
							    error);
	if (!old)
		return FALSE;
	g_autoptr(GHashTable) due = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < old->len; i++)
		g_hash_table_add(due, g_ptr_array_index(old, i));
	for (guint i = 0; i < listing->len; i++) {
		PollSpool *sp = g_ptr_array_index(listing, i);
		if (g_hash_table_contains(due, sp->uidl))
			g_ptr_array_add(s->to_delete, g_strdup_printf("%u %s", sp->msgno, sp->uidl));
	}
	return TRUE;
}

static gboolean
sync_pop3_delete(Sync *s, PollPop3 *pop, GError **error)
{
	if (!g_strcmp0(s->mb->delete_policy, "never"))
		return TRUE;
	for (guint i = 0; i < s->to_delete->len; i++) {
		const char *entry = g_ptr_array_index(s->to_delete, i);
		if (!poll_pop3_dele(pop, (guint)g_ascii_strtoull(entry, NULL, 10), error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
sync_pop3(Sync *s, const PollEndpoint *ep, const char *secret, GError **error)
{
	g_autoptr(PollPop3) pop = poll_pop3_open(ep, s->mb->tls, s->mb->username, secret,
						 !g_strcmp0(s->mb->auth, "oauth2"), error);
	if (!pop)
		return FALSE;
	g_autoptr(GPtrArray) listing = poll_pop3_uidl(pop, error);
	if (!listing)
		return FALSE;
	g_autoptr(GHashTable) known = store_mailbox_uidls(s->ctx->store, s->mb->id, error);
	if (!known)
		return FALSE;
	g_autoptr(GPtrArray) fresh = g_ptr_array_new();
	for (guint i = 0; i < listing->len; i++) {
		PollSpool *sp = g_ptr_array_index(listing, i);
		if (!g_hash_table_contains(known, sp->uidl))
			g_ptr_array_add(fresh, sp);
	}
	s->total += fresh->len;
	if (!sync_status(s, "in_progress", NULL, error) || !sync_pop3_batches(s, pop, fresh, error))
		return FALSE;
	if (!g_strcmp0(s->mb->delete_policy, "never") || g_strcmp0(s->mb->delete_policy, "after-retrieval"))
		g_ptr_array_set_size(s->to_delete, 0);
	if (!sync_pop3_due(s, listing, error) || !sync_pop3_delete(s, pop, error))
		return FALSE;
	/* QUIT (in close) is what makes the server delete: record it after. */
	g_clear_pointer(&pop, poll_pop3_close);
	for (guint i = 0; i < s->to_delete->len; i++) {
		const char *entry = strchr(g_ptr_array_index(s->to_delete, i), ' ') + 1;
		if (!store_mailbox_uidl_deleted(s->ctx->store, s->mb->id, entry, error))
			return FALSE;
	}
	return sync_finish(s, error);
}

/* ---- status, gates, confirmation ---- */

static void
sync_confirm(Sync *s)
{
	const CommonConfig *c = s->ctx->config;
	g_autofree char *email = NULL;
	g_autoptr(GError) e = NULL;
	if (!store_user_activity(s->ctx->store, s->mb->user_id, &email, NULL, &e) || !email || !*email) {
		g_warning("mailbox %" G_GINT64_FORMAT ": no confirmation e-mail: %s", s->mb->id,
			  e ? e->message : "the user has no e-mail address");
		return;
	}
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(common_now());
	g_autofree char *rfcdate = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S +0000");
	g_autofree char *text = g_strdup_printf(
		"From: bccdrop <%s>\nTo: <%s>\nSubject: Your mailbox is now connected to the CRM\nDate: %s\n"
		"Message-ID: <bccdrop-mailbox-%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "@bccdrop>\n"
		"Auto-Submitted: auto-generated\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
		"The first full synchronisation of your mailbox %s at %s has finished:\n"
		"%" G_GINT64_FORMAT " messages were read. New mail now reaches the CRM automatically.\n",
		c->confirmation_from, email, rfcdate, s->mb->id, common_now(), s->mb->username, s->mb->host, s->done);
	const char *argv[] = { c->sendmail_path, "-i", "-f", c->confirmation_from, "--", email, NULL };
	g_autoptr(GSubprocess) p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE, &e);
	if (!p || !g_subprocess_communicate_utf8(p, text, NULL, NULL, NULL, &e) || !g_subprocess_get_successful(p)) {
		g_warning("mailbox %" G_GINT64_FORMAT ": sending the confirmation to %s through %s failed: %s", s->mb->id,
			  email, c->sendmail_path, e ? e->message : "non-zero exit status");
		return;
	}
	StoreMailboxSync st = { .status = "completed", .done = s->done, .total = s->total,
				.confirmation_sent_at = common_now() };
	if (!store_mailbox_sync_set(s->ctx->store, s->mb->id, &st, &e))
		g_warning("mailbox %" G_GINT64_FORMAT ": %s", s->mb->id, e->message);
	g_message("mailbox %" G_GINT64_FORMAT ": first full sync complete, confirmation sent to %s", s->mb->id, email);
}

static gboolean
sync_finish(Sync *s, GError **error)
{
	StoreMailboxSync old = { 0 };
	if (!store_mailbox_sync_get(s->ctx->store, s->mb->id, &old, error))
		return FALSE;
	gint64 now = common_now();
	gboolean first = old.first_sync_completed_at == 0 && !s->budget_hit;
	g_autofree char *reason = NULL;
	if (s->budget_hit)
		reason = g_strdup_printf("daily download budget of %" G_GUINT64_FORMAT
					 " bytes reached; resumes tomorrow (UTC)",
					 s->ctx->config->daily_budget);
	StoreMailboxSync st = { .status = s->budget_hit ? "paused" : "completed",
				.done = s->done,
				.total = s->total,
				.reason = reason,
				.last_sync_at = now,
				.first_sync_completed_at = first ? now : 0 };
	store_mailbox_sync_clear(&old);
	if (!store_mailbox_sync_set(s->ctx->store, s->mb->id, &st, error))
		return FALSE;
	if (first && s->ctx->config->confirmation_email)
		sync_confirm(s);
	return TRUE;
}

/* Inactive user, spent budget, auth_failed or backoff: no connection. */
static gboolean
sync_gated(Sync *s, const StoreMailboxSync *st, gboolean ignore_backoff, GError **error)
{
	const CommonConfig *c = s->ctx->config;
	gint64 now = common_now();
	if (!g_strcmp0(st->status, "auth_failed"))
		return TRUE;
	if (!ignore_backoff && st->next_attempt_at > now)
		return TRUE;
	gint64 last_active = 0;
	if (!store_user_activity(s->ctx->store, s->mb->user_id, NULL, &last_active, error))
		return TRUE;
	if (c->pause_after_inactive_days > 0 && last_active > 0 &&
	    now - last_active > (gint64)c->pause_after_inactive_days * 86400) {
		g_autofree char *since = common_iso8601(last_active);
		g_autofree char *reason = g_strdup_printf("user inactive since %s (pause_after_inactive_days = %d); "
							  "resumes when the user is active again",
							  since, c->pause_after_inactive_days);
		StoreMailboxSync p = { .status = "paused", .done = st->done, .total = st->total, .reason = reason };
		store_mailbox_sync_set(s->ctx->store, s->mb->id, &p, error);
		return TRUE;
	}
	if (!store_mailbox_budget_get(s->ctx->store, s->mb->id, s->day, &s->budget_used, error))
		return TRUE;
	if (s->budget_used >= c->daily_budget) {
		s->budget_hit = TRUE;
		s->done = st->done;
		s->total = st->total;
		sync_finish(s, error);
		return TRUE;
	}
	return FALSE;
}

static PollSyncResult
sync_failed(Sync *s, const StoreMailboxSync *old, GError *e)
{
	const CommonConfig *c = s->ctx->config;
	gboolean auth = e->domain == POLL_ERROR && e->code == POLL_ERROR_AUTH;
	StoreMailboxSync st = { .status = auth ? "auth_failed" : "failed", .done = s->done, .total = s->total,
				.reason = e->message, .failures = old->failures + 1 };
	if (!auth) {
		gint64 delay = SYNC_BACKOFF_BASE;
		for (int i = 1; i < st.failures && delay < c->backoff_max; i++)
			delay *= 2;
		st.next_attempt_at = common_now() + MIN(delay, (gint64)c->backoff_max);
	}
	g_autoptr(GError) e2 = NULL;
	if (store_in_transaction(s->ctx->store))
		store_rollback(s->ctx->store);
	if (!store_mailbox_sync_set(s->ctx->store, s->mb->id, &st, &e2))
		g_warning("mailbox %" G_GINT64_FORMAT ": %s", s->mb->id, e2->message);
	g_warning("mailbox %" G_GINT64_FORMAT " (%s at %s): %s%s", s->mb->id, s->mb->username, s->mb->host, e->message,
		  auth ? "; not retried until the mailbox configuration changes (bccdrop mailbox set-password)" : "");
	return auth ? POLL_SYNC_AUTH_FAILED : POLL_SYNC_FAILED;
}

PollSyncResult
poll_sync_mailbox(PollContext *ctx, gint64 mailbox_id, gboolean ignore_backoff, int idle_seconds, GError **error)
{
	g_autoptr(StoreMailbox) mb = store_mailbox_get(ctx->store, mailbox_id, error);
	if (!mb)
		return POLL_SYNC_FAILED;
	if (!mb->active)
		return POLL_SYNC_SKIPPED;
	g_autoptr(GPtrArray) to_delete = g_ptr_array_new_with_free_func(g_free);
	Sync s = { .ctx = ctx, .mb = mb, .to_delete = to_delete };
	g_autoptr(GDateTime) today = g_date_time_new_from_unix_utc(common_now());
	g_autofree char *day = g_date_time_format(today, "%Y-%m-%d");
	g_strlcpy(s.day, day, sizeof s.day);
	StoreMailboxSync old = { 0 };
	if (!store_mailbox_sync_get(ctx->store, mb->id, &old, error))
		return POLL_SYNC_FAILED;
	GError *e = NULL;
	PollSyncResult result = POLL_SYNC_DONE;
	if (sync_gated(&s, &old, ignore_backoff, &e)) {
		result = e ? POLL_SYNC_FAILED : POLL_SYNC_SKIPPED;
	} else {
		g_autofree char *secret = poll_credentials(mb, ctx->key, &e);
		PollEndpoint ep = { mb->host, mb->port, mb->protocol, ctx->config->ca_file, POLL_NET_TIMEOUT };
		gboolean ok = secret && (!g_strcmp0(mb->protocol, "pop3") ? sync_pop3(&s, &ep, secret, &e)
									 : sync_imap(&s, &ep, secret, idle_seconds, &e));
		if (!ok)
			result = sync_failed(&s, &old, e);
	}
	store_mailbox_sync_clear(&old);
	if (e)
		g_propagate_error(error, e);
	return result;
}

/* ---- `bccdrop mailbox test` ---- */

gboolean
poll_mailbox_test(const CommonConfig *config, const StoreMailbox *mb, GBytes *key, GString *report, GError **error)
{
	g_autofree char *secret = poll_credentials(mb, key, error);
	if (!secret)
		return FALSE;
	PollEndpoint ep = { mb->host, mb->port, mb->protocol, config->ca_file, 20 };
	g_string_append_printf(report, "%s %s port %d, TLS %s%s%s\n", mb->protocol, mb->host, mb->port, mb->tls,
			       config->ca_file && *config->ca_file ? ", CA file " : "",
			       config->ca_file && *config->ca_file ? config->ca_file : "");
	if (!g_strcmp0(mb->protocol, "pop3")) {
		g_autoptr(PollPop3) pop = poll_pop3_open(&ep, mb->tls, mb->username, secret,
							 !g_strcmp0(mb->auth, "oauth2"), error);
		g_autoptr(GPtrArray) list = pop ? poll_pop3_uidl(pop, error) : NULL;
		if (!list)
			return FALSE;
		g_string_append_printf(report, "connected, logged in as %s\nmessages on the server: %u\n", mb->username,
				       list->len);
		return TRUE;
	}
	g_autoptr(PollImap) imap = poll_imap_open(&ep, mb->tls, error);
	if (!imap)
		return FALSE;
	g_string_append_printf(report, "connected%s\n",
			       g_strcmp0(mb->tls, "none") ? ", certificate verified" : " (no TLS: configured)");
	if (!poll_imap_login(imap, mb->username, secret, !g_strcmp0(mb->auth, "oauth2"), error))
		return FALSE;
	g_string_append_printf(report, "logged in as %s%s\n", mb->username,
			       poll_imap_has_idle(imap) ? " (server offers IDLE)" : "");
	g_autoptr(GPtrArray) folders = poll_imap_list(imap, error);
	if (!folders)
		return FALSE;
	g_string_append(report, "folders:");
	for (guint i = 0; i < folders->len; i++)
		g_string_append_printf(report, " %s", (char *)g_ptr_array_index(folders, i));
	g_string_append_c(report, '\n');
	return TRUE;
}
