/* Internal to assoc/: small SQLite helpers shared by its files. */
#ifndef BCCDROP_ASSOC_INTERNAL_H
#define BCCDROP_ASSOC_INTERNAL_H
#include "assoc/assoc.h"
const char *assoc_col_text(sqlite3_stmt *st, int col);
gboolean assoc_step_end(Store *store, sqlite3_stmt *st, int rc, GError **error, const char *context);
/* Step a statement without results (or ignoring them) and reset it. */
gboolean assoc_exec_stmt(Store *store, sqlite3_stmt *st, GError **error, const char *context);

/* The statements of a decision, named so that a test can check with EXPLAIN
 * QUERY PLAN that each one is index-backed. */
#define ASSOC_SQL_SOURCES \
	"SELECT kind, owner_user_id, dropbox FROM sources WHERE message = ? ORDER BY id"
#define ASSOC_SQL_USER_ADDRESS \
	"SELECT user_id, kind FROM user_addresses WHERE address_key = ?1 " \
	"UNION ALL SELECT id, 'dropbox' FROM users WHERE dropbox = ?1 LIMIT 1"
#define ASSOC_SQL_CONTACT_DEALS \
	"SELECT d.id, d.name, d.stage, d.probability, s.probability, d.modified_at " \
	"FROM deal_contacts dc JOIN deals d ON d.id = dc.deal_id " \
	"LEFT JOIN stages s ON s.name = d.stage WHERE dc.contact_id = ? " \
	"ORDER BY d.modified_at DESC, d.id ASC"
#define ASSOC_SQL_CONTACTS_BY_ADDRESS \
	"SELECT c.id, c.kind, c.name FROM contact_addresses a " \
	"JOIN contacts c ON c.id = a.contact_id WHERE a.address_key = ? ORDER BY c.id"
#define ASSOC_SQL_PARTICIPANTS \
	"SELECT role, address, address_key FROM participants WHERE message = ? " \
	"AND role IN ('from','to','cc','envelope_rcpt') ORDER BY " \
	"CASE role WHEN 'from' THEN 0 WHEN 'to' THEN 1 WHEN 'cc' THEN 2 ELSE 3 END, " \
	"position"
#define ASSOC_SQL_THREAD_DEALS \
	"SELECT DISTINCT l.record_id FROM messages m CROSS JOIN links l ON l.message = m.id " \
	"WHERE m.message_id = ? AND m.id <> ? AND l.module = 'deal' " \
	"ORDER BY l.record_id"
#define ASSOC_SQL_IN_REPLY_TO \
	"SELECT in_reply_to FROM messages WHERE id = ?"
#define ASSOC_SQL_REFERENCES \
	"SELECT ref FROM message_references WHERE message = ? ORDER BY position DESC"
#define ASSOC_SQL_EXCLUDED_DOMAIN \
	"SELECT 1 FROM user_excluded_domains WHERE user_id = ? AND domain = ?"
#define ASSOC_SQL_USER_SHARING \
	"SELECT sharing FROM users WHERE id = ?"
#define ASSOC_SQL_DECISION_LIST \
	{ ASSOC_SQL_CONTACTS_BY_ADDRESS, ASSOC_SQL_CONTACT_DEALS, ASSOC_SQL_EXCLUDED_DOMAIN, ASSOC_SQL_IN_REPLY_TO, ASSOC_SQL_PARTICIPANTS, ASSOC_SQL_REFERENCES, ASSOC_SQL_SOURCES, ASSOC_SQL_THREAD_DEALS, ASSOC_SQL_USER_ADDRESS, ASSOC_SQL_USER_SHARING, NULL }
#endif
