/* The milter socket, privileges and the libmilter main loop. */
#include "milter/milter.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <libmilter/mfapi.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "unix:/path" or "local:/path" -> "/path"; NULL for inet sockets. */
static const char *
daemon_unix_path(const char *socket)
{
	if (g_str_has_prefix(socket, "unix:"))
		return socket + 5;
	if (g_str_has_prefix(socket, "local:"))
		return socket + 6;
	if (socket[0] == '/')
		return socket;
	return NULL;
}

/* The MTA reaches the socket through its group, never through "other". */
static gboolean
daemon_socket_perms(const CommonConfig *config, GError **error)
{
	const char *path = daemon_unix_path(config->milter_socket);
	if (!path)
		return TRUE;
	gid_t gid = (gid_t)-1;
	if (config->milter_socket_group && *config->milter_socket_group) {
		struct group *gr = getgrnam(config->milter_socket_group);
		if (!gr) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "[milter] socket_group: no group '%s'",
				    config->milter_socket_group);
			return FALSE;
		}
		gid = gr->gr_gid;
	}
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) || chmod(path, 0660) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot give socket %s mode 0660 and group %s: %s", path, config->milter_socket_group,
			    g_strerror(errno));
		return FALSE;
	}
	/* The unprivileged user must still be able to remove it at exit. */
	if (geteuid() == 0 && config->milter_user && *config->milter_user) {
		struct passwd *pw = getpwnam(config->milter_user);
		if (pw && chown(path, pw->pw_uid, (gid_t)-1) != 0)
			g_warning("cannot give socket %s to user %s: %s", path, config->milter_user,
				  g_strerror(errno));
	}
	return TRUE;
}

static gboolean
daemon_open_socket(const CommonConfig *config, GError **error)
{
	const char *path = daemon_unix_path(config->milter_socket);
	g_autofree char *conn = path && config->milter_socket[0] == '/' ? g_strconcat("unix:", path, NULL)
									   : g_strdup(config->milter_socket);
	if (smfi_setconn(conn) != MI_SUCCESS) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "[milter] socket '%s' is not a valid milter socket",
			    config->milter_socket);
		return FALSE;
	}
	mode_t old = umask(0117);
	int rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot listen on %s (see the log for why)",
			    config->milter_socket);
		return FALSE;
	}
	return daemon_socket_perms(config, error);
}

/* Open the database once at start-up (in the process that will serve, after
 * the fork): a missing directory, a schema from a newer bccdrop or a
 * migration error shows now, not at the first mail. The connection is
 * closed again so that nothing outlives the check. */
static gboolean
daemon_check_store(MilterPool *pool, GError **error)
{
	Store *store = milter_pool_get(pool, error);
	if (!store)
		return FALSE;
	milter_pool_put(pool, store, TRUE);
	return TRUE;
}

int
milter_daemon_run(CommonConfig *config, gboolean foreground, const char *pid_file)
{
	g_autoptr(GError) error = NULL;
	MilterServer server = { .config = config, .pool = milter_pool_new(config, (guint)config->milter_workers) };
	server.group = capture_group_new();
	g_mutex_init(&server.large_lock);
	int status = 1;
	smfi_settimeout(config->milter_timeout);
	if (!milter_config_check(config, &server.owner_proof, &error) || !milter_register(&server, &error) ||
	    !daemon_open_socket(config, &error) || !common_drop_privileges(config->milter_user, &error))
		goto out;
	/* SQLite forbids carrying a connection across fork(): detach first. */
	if (!foreground && !common_daemonize(pid_file, &error))
		goto out;
	if (!daemon_check_store(server.pool, &error))
		goto out;
	g_message("listening on %s (database %s, owner_proof %s)", config->milter_socket, config->database,
		  config->owner_proof);
	/* libmilter's signal thread turns TERM, INT and HUP into smfi_stop(). */
	status = smfi_main() == MI_SUCCESS ? 0 : 1;
	g_message("stopped");
out:
	if (error)
		g_critical("%s", error->message);
	milter_pool_free(server.pool);
	capture_group_free(server.group);
	g_mutex_clear(&server.large_lock);
	return status;
}
