/* bccdrop-poll's scheduler: one worker thread (own connection to the
 * server and to the store) per active mailbox it holds a lease on, or one
 * pass over them (--once). Leases let any number of pollers on any hosts
 * share one store's mailboxes (docs/scaling-out.md, "Pollers"). */
#include "poll/poll.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* How often leases are renewed and the list of active mailboxes read
 * again (more often when a third of [poll] lease_time is shorter). */
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

/* Who holds a lease: unique per process, readable in mailbox_leases. */
static char *
daemon_holder(void)
{
	return g_strdup_printf("%s:%d:%08x", g_get_host_name(), (int)getpid(), g_random_int());
}

static gboolean
daemon_holds(const GArray *held, gint64 id)
{
	for (guint i = 0; i < held->len; i++)
		if (g_array_index(held, gint64, i) == id)
			return TRUE;
	return FALSE;
}

/* Whether HOLDER names a process of this host that no longer exists (a
 * poller that crashed or was killed here): its leases need not wait for
 * their expiry. Hosts must have distinct names (docs/scaling-out.md). */
static gboolean
daemon_holder_dead_here(const char *holder)
{
	g_auto(GStrv) f = g_strsplit(holder, ":", 0);
	if (g_strv_length(f) != 3 || strcmp(f[0], g_get_host_name()) != 0)
		return FALSE;
	char *end = NULL;
	gint64 pid = g_ascii_strtoll(f[1], &end, 10);
	if (*end || pid <= 0 || pid == getpid())
		return FALSE;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void
daemon_reclaim_dead(Store *store)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) holders = store_mailbox_lease_holders(store, &e);
	for (guint i = 0; holders && !e && i < holders->len; i++) {
		const char *h = g_ptr_array_index(holders, i);
		if (daemon_holder_dead_here(h) && store_mailbox_lease_release(store, h, 0, &e))
			g_message("leases of %s released: that process is gone", h);
	}
	if (e)
		g_warning("releasing the leases of dead pollers on this host: %s", e->message);
}

static GArray *
daemon_lease(const CommonConfig *config, Store *store, const char *holder)
{
	g_autoptr(GError) e = NULL;
	daemon_reclaim_dead(store);
	GArray *held = store_mailbox_lease(store, holder, (guint)config->poll_max_mailboxes, config->poll_lease_time, &e);
	if (!held)
		g_warning("renewing mailbox leases: %s", e->message);
	return held;
}

static void
daemon_release(Store *store, const char *holder)
{
	g_autoptr(GError) e = NULL;
	if (!store_mailbox_lease_release(store, holder, 0, &e))
		g_warning("releasing mailbox leases (they expire by themselves): %s", e->message);
}

/* Start a worker for every active mailbox in HELD, stop the others. */
static void
daemon_rescan(const CommonConfig *config, GBytes *key, Store *store, GHashTable *workers, const GArray *held)
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
		if (!daemon_holds(held, m->id))
			continue;
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
			g_message("mailbox %" G_GINT64_FORMAT ": no longer active or no longer leased, worker stopped",
				  ((Worker *)v)->id);
			g_hash_table_iter_remove(&it);
		}
	}
}

/* One mailbox of --once, if this process still holds its lease (renewed
 * first: a long pass must not let the others' expire). */
static PollSyncResult
daemon_once_one(PollContext *ctx, const char *holder, gint64 id)
{
	g_autoptr(GArray) held = daemon_lease(ctx->config, ctx->store, holder);
	if (!held)
		return POLL_SYNC_FAILED;
	if (!daemon_holds(held, id)) {
		g_message("mailbox %" G_GINT64_FORMAT ": leased by another poller, skipped", id);
		return POLL_SYNC_SKIPPED;
	}
	g_autoptr(GError) e = NULL;
	return poll_sync_mailbox(ctx, id, TRUE, 0, &e);
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
	g_autofree char *holder = daemon_holder();
	PollContext ctx = { config, store, key, stop };
	int failed = 0;
	for (guint i = 0; i < active->len && !g_atomic_int_get(stop); i++) {
		StoreMailbox *m = g_ptr_array_index(active, i);
		PollSyncResult r = daemon_once_one(&ctx, holder, m->id);
		if (r == POLL_SYNC_FAILED || r == POLL_SYNC_AUTH_FAILED)
			failed++;
	}
	daemon_release(store, holder);
	return failed;
}

/* Renew and rescan until *STOP. When renewing keeps failing for a whole
 * lease time, another poller may own these mailboxes by now: stop them. */
static void
daemon_loop(const CommonConfig *config, GBytes *key, Store *store, GHashTable *workers, volatile gint *stop)
{
	g_autofree char *holder = daemon_holder();
	gint64 renewed_at = g_get_monotonic_time();
	gint64 every = MIN(DAEMON_RESCAN_SECONDS, MAX(config->poll_lease_time / 3, 1));
	while (!g_atomic_int_get(stop)) {
		g_autoptr(GArray) held = daemon_lease(config, store, holder);
		if (held) {
			renewed_at = g_get_monotonic_time();
			daemon_rescan(config, key, store, workers, held);
		} else if (g_get_monotonic_time() - renewed_at >= config->poll_lease_time * G_USEC_PER_SEC &&
			   g_hash_table_size(workers) > 0) {
			g_warning("mailbox leases not renewed for %d s: stopping every worker", config->poll_lease_time);
			g_hash_table_remove_all(workers);
		}
		daemon_nap(stop, every);
	}
	g_message("stopping %u worker(s)", g_hash_table_size(workers));
	/* Workers first: another poller may start the moment a lease is gone. */
	g_hash_table_remove_all(workers);
	daemon_release(store, holder);
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
	daemon_loop(config, key, store, workers, stop);
	return 0;
}
