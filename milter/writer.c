/* Group commit. With durable commits ([store] synchronous = full) every
 * COMMIT costs an fsync, and SQLite has a single writer anyway: so the
 * messages that reach their end at the same time are written in one
 * transaction, each inside its own SAVEPOINT so that one failure undoes only
 * that message, and committed with one fsync. Nobody is answered before the
 * commit that holds its message has succeeded.
 *
 * Leader/follower: a thread that finds no batch running becomes the leader,
 * takes every queued job (its own included) and runs them on its own Store;
 * the others sleep until their job is finished, and one of them leads the
 * jobs queued meanwhile. */
#include "milter/milter.h"

typedef struct {
	MilterWriteFunc func;
	gpointer data;
	gboolean finished;
	gboolean ok;
	GError *error;
} WriteJob;

struct MilterWriter {
	GMutex lock;
	GCond finished;
	GQueue pending; /* WriteJob* */
	gboolean leading;
};

MilterWriter *
milter_writer_new(void)
{
	MilterWriter *w = g_new0(MilterWriter, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->finished);
	g_queue_init(&w->pending);
	return w;
}

void
milter_writer_free(MilterWriter *w)
{
	if (!w)
		return;
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->finished);
	g_free(w);
}

static void
job_fail(WriteJob *job, const GError *error)
{
	if (job->ok || !job->error) {
		g_clear_error(&job->error);
		job->error = g_error_copy(error);
	}
	job->ok = FALSE;
}

/* One job inside the open transaction; FALSE when the transaction itself
 * is lost (a savepoint could not be rolled back). */
static gboolean
writer_job(Store *store, WriteJob *job)
{
	if (!store_exec(store, "SAVEPOINT milter_job", &job->error))
		return FALSE;
	job->ok = job->func(store, job->data, &job->error);
	if (job->ok) {
		job->ok = store_exec(store, "RELEASE milter_job", &job->error);
		return job->ok;
	}
	g_autoptr(GError) e = NULL;
	return store_exec(store, "ROLLBACK TO milter_job", &e) && store_exec(store, "RELEASE milter_job", &e);
}

static void
writer_batch(Store *store, GQueue *batch)
{
	g_autoptr(GError) error = NULL;
	gboolean alive = store_begin(store, &error);
	for (GList *l = batch->head; alive && l; l = l->next)
		alive = writer_job(store, l->data);
	if (alive && store_commit(store, &error))
		return;
	if (!error)
		g_set_error(&error, STORE_ERROR, STORE_ERROR_FAILED, "%s: the batched transaction was lost",
			    store_path(store));
	store_rollback(store);
	/* Nothing of the batch was kept: every job fails, with the cause. */
	for (GList *l = batch->head; l; l = l->next)
		job_fail(l->data, error);
}

gboolean
milter_writer_run(MilterWriter *w, Store *store, MilterWriteFunc func, gpointer data, GError **error)
{
	WriteJob job = { func, data, FALSE, FALSE, NULL };
	g_mutex_lock(&w->lock);
	g_queue_push_tail(&w->pending, &job);
	while (!job.finished) {
		if (w->leading) {
			g_cond_wait(&w->finished, &w->lock);
			continue;
		}
		w->leading = TRUE;
		GQueue batch = w->pending;
		g_queue_init(&w->pending);
		g_mutex_unlock(&w->lock);
		writer_batch(store, &batch);
		g_mutex_lock(&w->lock);
		for (GList *l = batch.head; l; l = l->next)
			((WriteJob *)l->data)->finished = TRUE;
		g_list_free(batch.head);
		w->leading = FALSE;
		g_cond_broadcast(&w->finished);
	}
	g_mutex_unlock(&w->lock);
	if (!job.ok) {
		if (!job.error)
			g_set_error(&job.error, STORE_ERROR, STORE_ERROR_FAILED, "the message was not written");
		g_propagate_error(error, job.error);
		return FALSE;
	}
	return TRUE;
}
