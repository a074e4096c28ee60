/* bccdrop-poll's scheduler: one worker thread (own connection to the
 * server and to SQLite) per active mailbox, or one pass over all (--once). */
#include "poll/poll.h"

#include <string.h>

/* How often the list of active mailboxes is read again. */
#define DAEMON_RESCAN_SECONDS 5

typedef struct {
	gint64 id;
	char *version; /* config_changed_at: a change restarts the worker */
	const CommonConfig *config;
	GBytes *key;
	GThread *thread;
	volatile gint stop;
} Worker;

static Store *
daemon_store_open(const CommonConfig *c, GError **error)
{
	StoreOptions o = capture_store_options(c, FALSE);
	return store_open(c->database, &o, error);
}

/* Sleep up to SECONDS, waking early when *STOP is set. */
static void
daemon_nap(volatile gint *stop, gint64 seconds)
{
	gint64 until = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;
	while (!g_atomic_int_get(stop) && g_get_monotonic_time() < until)
		g_usleep(100 * 1000);
}

static gint64
worker_pause(Worker *w, Store *store, PollSyncResult r)
{
	StoreMailboxSync st = { 0 };
	gint64 wait = w->config->poll_interval;
	if (r == POLL_SYNC_FAILED || r == POLL_SYNC_SKIPPED) {
		if (store_mailbox_sync_get(store, w->id, &st, NULL) && st.next_attempt_at > common_now())
			wait = MIN(wait, st.next_attempt_at - common_now());
		if (r == POLL_SYNC_FAILED && st.next_attempt_at > common_now())
			wait = st.next_attempt_at - common_now();
	}
	store_mailbox_sync_clear(&st);
	return MAX(wait, 1);
}

static gpointer
worker_main(gpointer data)
{
	Worker *w = data;
	g_autoptr(GError) e = NULL;
	g_autoptr(Store) store = daemon_store_open(w->config, &e);
	if (!store) {
		g_warning("mailbox %" G_GINT64_FORMAT ": %s", w->id, e->message);
		return NULL;
	}
	PollContext ctx = { w->config, store, w->key, &w->stop };
	while (!g_atomic_int_get(&w->stop)) {
		g_clear_error(&e);
		PollSyncResult r = poll_sync_mailbox(&ctx, w->id, FALSE, w->config->idle_refresh, &e);
		if (g_atomic_int_get(&w->stop))
			break;
		daemon_nap(&w->stop, worker_pause(w, store, r));
	}
	return NULL;
}

static void
worker_stop(gpointer data)
{
	Worker *w = data;
	g_atomic_int_set(&w->stop, 1);
	if (w->thread)
		g_thread_join(w->thread);
	g_free(w->version);
	g_free(w);
}

static void
daemon_rescan(const CommonConfig *config, GBytes *key, Store *store, GHashTable *workers)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) active = store_mailbox_list(store, NULL, TRUE, &e);
	if (!active) {
		g_warning("listing active mailboxes: %s", e->message);
		return;
	}
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	for (guint i = 0; i < active->len; i++) {
		StoreMailbox *m = g_ptr_array_index(active, i);
		Worker *w = g_hash_table_lookup(workers, &m->id);
		if (w && g_strcmp0(w->version, m->config_changed_at) != 0) {
			g_message("mailbox %" G_GINT64_FORMAT ": configuration changed, reconnecting", m->id);
			g_hash_table_remove(workers, &m->id);
			w = NULL;
		}
		if (!w) {
			w = g_new0(Worker, 1);
			w->id = m->id;
			w->version = g_strdup(m->config_changed_at);
			w->config = config;
			w->key = key;
			g_autofree char *name = g_strdup_printf("mbox-%" G_GINT64_FORMAT, m->id);
			w->thread = g_thread_new(name, worker_main, w);
			g_hash_table_insert(workers, &w->id, w);
			g_message("mailbox %" G_GINT64_FORMAT " (%s at %s): worker started", m->id, m->username, m->host);
		}
		g_hash_table_add(seen, &w->id);
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, workers);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (!g_hash_table_contains(seen, k)) {
			g_message("mailbox %" G_GINT64_FORMAT ": no longer active, worker stopped", ((Worker *)v)->id);
			g_hash_table_iter_remove(&it);
		}
	}
}

static int
daemon_once(const CommonConfig *config, GBytes *key, Store *store, volatile gint *stop)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) active = store_mailbox_list(store, NULL, TRUE, &e);
	if (!active) {
		g_warning("listing active mailboxes: %s", e->message);
		return 1;
	}
	PollContext ctx = { config, store, key, stop };
	int failed = 0;
	for (guint i = 0; i < active->len && !g_atomic_int_get(stop); i++) {
		StoreMailbox *m = g_ptr_array_index(active, i);
		g_clear_error(&e);
		PollSyncResult r = poll_sync_mailbox(&ctx, m->id, TRUE, 0, &e);
		if (r == POLL_SYNC_FAILED || r == POLL_SYNC_AUTH_FAILED)
			failed++;
	}
	return failed;
}

int
poll_run(const CommonConfig *config, GBytes *key, gboolean once, volatile gint *stop)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(Store) store = daemon_store_open(config, &e);
	if (!store) {
		g_warning("%s", e->message);
		return 1;
	}
	if (once)
		return daemon_once(config, key, store, stop);
	g_autoptr(GHashTable) workers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, worker_stop);
	while (!g_atomic_int_get(stop)) {
		daemon_rescan(config, key, store, workers);
		daemon_nap(stop, DAEMON_RESCAN_SECONDS);
	}
	g_message("stopping %u worker(s)", g_hash_table_size(workers));
	return 0;
}
