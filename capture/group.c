/* Group commit (see capture.h for why).
 *
 * Leader/follower: a thread that finds no batch running becomes the leader,
 * takes every queued job (its own included) and runs them on its own Store;
 * the others sleep until their job is finished, and one of them leads the
 * jobs queued meanwhile. */
#include "capture/capture.h"

typedef struct {
	const CommonConfig *config;
	const IngestMessage *msg;
	const IngestInput *raw;
	const StoreSource *source;
	CaptureHook hook;
	gpointer hook_data;
	CaptureFiled *filed;
	gboolean finished;
	gboolean ok;
	GError *error;
} WriteJob;

struct CaptureGroup {
	GMutex lock;
	GCond finished;
	GQueue pending; /* WriteJob* */
	gboolean leading;
	guint64 commits;
};

CaptureGroup *
capture_group_new(void)
{
	CaptureGroup *w = g_new0(CaptureGroup, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->finished);
	g_queue_init(&w->pending);
	return w;
}

void
capture_group_free(CaptureGroup *w)
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

static gboolean
job_write(Store *store, WriteJob *job)
{
	return capture_store(store, job->config, job->msg, job->raw, job->source, job->filed, &job->error) &&
	       (!job->hook || job->hook(store, job->hook_data, &job->error));
}

/* One job inside the open transaction; FALSE when the transaction itself
 * is lost (a savepoint could not be rolled back). */
static gboolean
writer_job(Store *store, WriteJob *job)
{
	if (!store_savepoint(store, &job->error))
		return FALSE;
	job->ok = job_write(store, job);
	if (job->ok) {
		job->ok = store_savepoint_release(store, &job->error);
		return job->ok;
	}
	g_autoptr(GError) e = NULL;
	return store_savepoint_rollback(store, &e);
}

/* TRUE when the batch was committed. */
static gboolean
writer_batch(Store *store, GQueue *batch)
{
	g_autoptr(GError) error = NULL;
	gboolean alive = store_begin(store, &error);
	for (GList *l = batch->head; alive && l; l = l->next)
		alive = writer_job(store, l->data);
	if (alive && store_commit(store, &error))
		return TRUE;
	if (!error)
		g_set_error(&error, STORE_ERROR, STORE_ERROR_FAILED, "%s: the batched transaction was lost",
			    store_path(store));
	store_rollback(store);
	/* Nothing of the batch was kept: every job fails, with the cause. */
	for (GList *l = batch->head; l; l = l->next)
		job_fail(l->data, error);
	return FALSE;
}

guint64
capture_group_commits(CaptureGroup *w)
{
	g_mutex_lock(&w->lock);
	guint64 n = w->commits;
	g_mutex_unlock(&w->lock);
	return n;
}

gboolean
capture_group_store(CaptureGroup *w, Store *store, const CommonConfig *config, const IngestMessage *msg,
		    const IngestInput *raw, const StoreSource *source, CaptureHook hook, gpointer user_data,
		    CaptureFiled *filed, GError **error)
{
	WriteJob job = { config, msg, raw, source, hook, user_data, filed, FALSE, FALSE, NULL };
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
		gboolean committed = writer_batch(store, &batch);
		g_mutex_lock(&w->lock);
		w->commits += committed;
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
