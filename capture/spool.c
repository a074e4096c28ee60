/* The message as received, kept in memory up to a limit ([milter]
 * memory_limit, [poll] memory_limit) and then moved to an unlinked temporary
 * file, so that many large messages at once stay within bounded memory. */
#include "capture/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void
capture_spool_init(CaptureSpool *spool, guint64 limit)
{
	spool->mem = g_byte_array_new();
	spool->fd = -1;
	spool->size = 0;
	spool->limit = limit;
}

void
capture_spool_clear(CaptureSpool *spool)
{
	if (spool->mem)
		g_byte_array_unref(spool->mem);
	spool->mem = NULL;
	if (spool->fd >= 0)
		close(spool->fd);
	spool->fd = -1;
	spool->size = 0;
}

static int
spool_tmpfile(GError **error)
{
	const char *dir = g_get_tmp_dir();
	/* O_TMPFILE leaves no name behind even if we are killed; fall back to
	 * mkstemp+unlink where the file system lacks it. */
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	g_autofree char *tmpl = g_build_filename(dir, "bccdrop-spool.XXXXXX", NULL);
	fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot create a temporary file in %s for a large message: %s", dir, g_strerror(errno));
		return -1;
	}
	unlink(tmpl);
	return fd;
}

static gboolean
spool_write(int fd, const guint8 *data, gsize len, GError **error)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "writing a large message to the temporary directory %s: %s", g_get_tmp_dir(),
				    g_strerror(errno));
			return FALSE;
		}
		data += n;
		len -= (gsize)n;
	}
	return TRUE;
}

gboolean
capture_spool_append(CaptureSpool *spool, const void *data, gsize len, GError **error)
{
	if (spool->fd < 0 && spool->size + len <= spool->limit) {
		g_byte_array_append(spool->mem, data, (guint)len);
		spool->size += len;
		return TRUE;
	}
	if (spool->fd < 0) {
		spool->fd = spool_tmpfile(error);
		if (spool->fd < 0)
			return FALSE;
		if (!spool_write(spool->fd, spool->mem->data, spool->mem->len, error))
			return FALSE;
		g_byte_array_set_size(spool->mem, 0);
		/* Give the memory back now, not when the message ends. */
		g_byte_array_unref(spool->mem);
		spool->mem = g_byte_array_new();
	}
	if (!spool_write(spool->fd, data, len, error))
		return FALSE;
	spool->size += len;
	return TRUE;
}

IngestInput
capture_spool_input(const CaptureSpool *spool)
{
	if (spool->fd >= 0)
		return INGEST_INPUT_FD(spool->fd);
	return INGEST_INPUT_BYTES(spool->mem->data, spool->mem->len);
}
