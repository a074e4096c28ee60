/* A small pool of Store connections: SQLite connections are not shared
 * between threads, opening one per message would redo the schema check every
 * time, and capping them also caps how many messages are parsed at once —
 * which is what bounds the milter's memory under many large messages. */
#include "milter/milter.h"

#include <string.h>

struct MilterPool {
	GMutex lock;
	GCond freed;
	GPtrArray *idle; /* Store* */
	guint size;	 /* connections in use or idle */
	guint max;
	gint64 wait_us;
	StoreOptions options;
	char *path;
};

MilterPool *
milter_pool_new(const CommonConfig *config, guint max)
{
	MilterPool *pool = g_new0(MilterPool, 1);
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->freed);
	pool->idle = g_ptr_array_new_with_free_func((GDestroyNotify)store_close);
	pool->max = MAX(max, 1);
	/* Waiting for a free connection is waiting for the database: the same
	 * patience as for SQLite's own write lock. */
	pool->wait_us = (gint64)MAX(config->busy_timeout_ms, 1000) * 1000;
	pool->options = capture_store_options(config, FALSE);
	pool->path = g_strdup(config->database);
	return pool;
}

void
milter_pool_free(MilterPool *pool)
{
	if (!pool)
		return;
	g_ptr_array_unref(pool->idle);
	g_mutex_clear(&pool->lock);
	g_cond_clear(&pool->freed);
	g_free(pool->path);
	g_free(pool);
}

Store *
milter_pool_get(MilterPool *pool, GError **error)
{
	Store *store = NULL;
	gint64 until = g_get_monotonic_time() + pool->wait_us;
	g_mutex_lock(&pool->lock);
	while (pool->idle->len == 0 && pool->size >= pool->max) {
		if (!g_cond_wait_until(&pool->freed, &pool->lock, until)) {
			g_mutex_unlock(&pool->lock);
			g_set_error(error, STORE_ERROR, STORE_ERROR_BUSY,
				    "all %u database connections stayed busy for %" G_GINT64_FORMAT " ms", pool->max,
				    pool->wait_us / 1000);
			return NULL;
		}
	}
	if (pool->idle->len > 0)
		store = g_ptr_array_steal_index_fast(pool->idle, pool->idle->len - 1);
	else
		pool->size++;
	g_mutex_unlock(&pool->lock);
	if (store)
		return store;
	/* Opened outside the lock: it may wait for another process's migration. */
	store = store_open(pool->path, &pool->options, error);
	if (!store) {
		g_mutex_lock(&pool->lock);
		pool->size--;
		g_cond_signal(&pool->freed);
		g_mutex_unlock(&pool->lock);
	}
	return store;
}

void
milter_pool_put(MilterPool *pool, Store *store, gboolean broken)
{
	if (!store)
		return;
	store_rollback(store);
	g_mutex_lock(&pool->lock);
	if (broken)
		pool->size--;
	else
		g_ptr_array_add(pool->idle, store);
	g_cond_signal(&pool->freed);
	g_mutex_unlock(&pool->lock);
	if (broken)
		store_close(store);
}
