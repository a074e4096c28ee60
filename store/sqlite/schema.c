/* The schema as an ordered list of migrations; PRAGMA user_version is the
 * index of the last one applied. docs/schema.md documents every column: keep
 * the two in step. A released migration is never edited, only followed. */
#include "store/sqlite/schema.h"

#include <glib.h>

static const char migration_1[] =
	/* ---- CRM data (written by `bccdrop import`, or directly by a CRM) ---- */
	"CREATE TABLE users ("
	"  id TEXT PRIMARY KEY,"
	"  email TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  dropbox TEXT UNIQUE,"
	"  sharing TEXT NOT NULL DEFAULT 'public' CHECK (sharing IN ('public','private','custom')),"
	"  last_active_at TEXT,"
	"  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
	");"
	"CREATE TABLE user_addresses ("
	"  address_key TEXT PRIMARY KEY,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('email','alias'))"
	");"
	"CREATE INDEX user_addresses_user ON user_addresses(user_id);"
	"CREATE TABLE user_excluded_domains ("
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  domain TEXT NOT NULL,"
	"  PRIMARY KEY (user_id, domain)"
	") WITHOUT ROWID;"
	"CREATE TABLE stages ("
	"  name TEXT PRIMARY KEY,"
	"  probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100)"
	");"
	"CREATE TABLE contacts ("
	"  id TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL DEFAULT 'contact' CHECK (kind IN ('contact','lead')),"
	"  name TEXT NOT NULL DEFAULT '',"
	"  owner_id TEXT REFERENCES users(id),"
	"  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
	");"
	"CREATE INDEX contacts_owner ON contacts(owner_id);"
	"CREATE TABLE contact_addresses ("
	"  contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL,"
	"  address_key TEXT NOT NULL,"
	"  PRIMARY KEY (contact_id, address_key)"
	") WITHOUT ROWID;"
	"CREATE INDEX contact_addresses_key ON contact_addresses(address_key);"
	"CREATE TABLE deals ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  stage TEXT REFERENCES stages(name),"
	"  probability INTEGER CHECK (probability IS NULL OR probability BETWEEN 0 AND 100),"
	"  modified_at TEXT NOT NULL"
	");"
	"CREATE TABLE deal_contacts ("
	"  deal_id TEXT NOT NULL REFERENCES deals(id) ON DELETE CASCADE,"
	"  contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (contact_id, deal_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX deal_contacts_deal ON deal_contacts(deal_id);"

	/* ---- captured mail ---- */
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  message_id TEXT NOT NULL,"
	"  message_id_synthetic INTEGER NOT NULL DEFAULT 0 CHECK (message_id_synthetic IN (0,1)),"
	"  fingerprint TEXT NOT NULL UNIQUE,"
	"  date TEXT NOT NULL,"
	"  date_synthetic INTEGER NOT NULL DEFAULT 0 CHECK (date_synthetic IN (0,1)),"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  in_reply_to TEXT,"
	"  body_text TEXT NOT NULL DEFAULT '',"
	"  body_type TEXT,"
	"  raw_size INTEGER NOT NULL,"
	"  warnings TEXT,"
	"  stored_at TEXT NOT NULL"
	");"
	"CREATE INDEX messages_message_id ON messages(message_id);"
	"CREATE INDEX messages_date ON messages(date);"
	"CREATE INDEX messages_in_reply_to ON messages(in_reply_to);"
	"CREATE TABLE message_references ("
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  PRIMARY KEY (message, position)"
	") WITHOUT ROWID;"
	"CREATE INDEX message_references_ref ON message_references(ref);"
	"CREATE TABLE participants ("
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  role TEXT NOT NULL CHECK (role IN ('from','to','cc','reply_to','envelope_rcpt')),"
	"  position INTEGER NOT NULL,"
	"  name TEXT,"
	"  address TEXT NOT NULL,"
	"  address_key TEXT,"
	"  PRIMARY KEY (message, role, position)"
	") WITHOUT ROWID;"
	"CREATE INDEX participants_key ON participants(address_key);"
	"CREATE TABLE sources ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('bcc_dropbox','imap','pop3','file')),"
	"  identity TEXT NOT NULL UNIQUE,"
	"  received_at TEXT NOT NULL,"
	"  owner_user_id TEXT,"
	"  dropbox TEXT,"
	"  envelope_from TEXT,"
	"  envelope_rcpts TEXT,"
	"  mailbox_id INTEGER,"
	"  folder TEXT,"
	"  uidvalidity INTEGER,"
	"  uid INTEGER,"
	"  uidl TEXT,"
	"  file_name TEXT"
	");"
	"CREATE INDEX sources_message ON sources(message);"
	"CREATE INDEX sources_owner ON sources(owner_user_id, kind);"
	"CREATE INDEX sources_mailbox ON sources(mailbox_id, folder, uidvalidity, uid);"
	"CREATE TABLE attachments ("
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  filename TEXT,"
	"  content_type TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  PRIMARY KEY (message, position)"
	") WITHOUT ROWID;"
	"CREATE INDEX attachments_sha256 ON attachments(sha256);"
	"CREATE TABLE raw_messages ("
	"  message INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	"  bytes BLOB NOT NULL"
	");"

	/* ---- association results ---- */
	"CREATE TABLE links ("
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  module TEXT NOT NULL CHECK (module IN ('deal','contact')),"
	"  record_id TEXT NOT NULL,"
	"  rule TEXT NOT NULL,"
	"  visibility TEXT NOT NULL CHECK (visibility IN ('public','private')),"
	"  contact_id TEXT,"
	"  matched_address TEXT,"
	"  decided_at TEXT NOT NULL,"
	"  PRIMARY KEY (message, module, record_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX links_record ON links(module, record_id);"
	"CREATE TABLE link_history ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  at TEXT NOT NULL,"
	"  action TEXT NOT NULL CHECK (action IN ('added','removed','changed')),"
	"  module TEXT NOT NULL,"
	"  record_id TEXT NOT NULL,"
	"  old_rule TEXT,"
	"  new_rule TEXT,"
	"  old_visibility TEXT,"
	"  new_visibility TEXT,"
	"  reason TEXT NOT NULL"
	");"
	"CREATE INDEX link_history_message ON link_history(message);"
	"CREATE TABLE decisions ("
	"  message INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL CHECK (status IN ('linked','unmatched')),"
	"  decided_at TEXT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  trace TEXT NOT NULL"
	");"
	"CREATE INDEX decisions_status ON decisions(status);"

	/* ---- assoc: report views (docs/reports.md; names and columns are a
	 * contract). A message's source is BCC Dropbox when any copy came through a
	 * dropbox (the explicit act of filing), else its first recorded one. ---- */
	"CREATE VIEW email_links AS"
	" SELECT m.message_id AS message_id, s.kind AS source, l.module AS module,"
	"  l.record_id AS record_id, l.rule AS rule, l.visibility AS visibility"
	" FROM links l JOIN messages m ON m.id = l.message"
	" JOIN sources s ON s.id = (SELECT id FROM sources WHERE message = l.message"
	"  ORDER BY kind <> 'bcc_dropbox', id LIMIT 1);"
	"CREATE VIEW email_report AS"
	" SELECT m.message_id AS message_id, m.date AS date, m.subject AS subject,"
	"  (SELECT CASE WHEN p.name IS NOT NULL AND p.name <> '' THEN p.name || ' <' || p.address || '>'"
	"   ELSE p.address END FROM participants p WHERE p.message = m.id AND p.role = 'from'"
	"   ORDER BY p.position LIMIT 1) AS \"from\","
	"  (SELECT group_concat(address, ', ') FROM (SELECT address FROM participants"
	"   WHERE message = m.id AND role = 'to' ORDER BY position)) AS \"to\","
	"  CASE s.kind WHEN 'bcc_dropbox' THEN 'BCC Dropbox' WHEN 'imap' THEN 'IMAP'"
	"   WHEN 'pop3' THEN 'POP3' ELSE 'File' END AS source,"
	"  s.kind AS source_kind,"
	"  CASE l.module WHEN 'deal' THEN 'Deals' ELSE 'Contacts' END AS module,"
	"  l.record_id AS record_id,"
	"  coalesce(CASE l.module WHEN 'deal' THEN (SELECT name FROM deals WHERE id = l.record_id)"
	"   ELSE (SELECT name FROM contacts WHERE id = l.record_id) END, l.record_id) AS record,"
	"  coalesce((SELECT name FROM users WHERE id = s.owner_user_id), s.owner_user_id, '') AS owner,"
	"  s.owner_user_id AS owner_id,"
	"  l.visibility AS visibility, l.rule AS rule"
	" FROM links l JOIN messages m ON m.id = l.message"
	" JOIN sources s ON s.id = (SELECT id FROM sources WHERE message = l.message"
	"  ORDER BY kind <> 'bcc_dropbox', id LIMIT 1);"
	"CREATE VIEW unmatched_emails AS"
	" SELECT m.message_id AS message_id, m.date AS date, m.subject AS subject,"
	"  (SELECT address FROM participants WHERE message = m.id AND role = 'from'"
	"   ORDER BY position LIMIT 1) AS \"from\","
	"  (SELECT p.address_key FROM participants p WHERE p.message = m.id"
	"   AND p.role IN ('from','to','cc') AND p.address_key IS NOT NULL"
	"   AND NOT EXISTS (SELECT 1 FROM user_addresses u WHERE u.address_key = p.address_key)"
	"   ORDER BY CASE p.role WHEN 'from' THEN 0 WHEN 'to' THEN 1 ELSE 2 END, p.position LIMIT 1)"
	"   AS counterpart,"
	"  s.kind AS source,"
	"  coalesce((SELECT name FROM users WHERE id = s.owner_user_id), s.owner_user_id, '') AS owner,"
	"  d.decided_at AS decided_at"
	" FROM decisions d JOIN messages m ON m.id = d.message"
	" JOIN sources s ON s.id = (SELECT id FROM sources WHERE message = d.message"
	"  ORDER BY kind <> 'bcc_dropbox', id LIMIT 1)"
	" WHERE d.status = 'unmatched';"
	/* ---- end of assoc views ---- */

	/* ---- mailbox poller (store/mailbox.c, bccdrop-poll) ---- */
	"CREATE TABLE mailboxes ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  protocol TEXT NOT NULL CHECK (protocol IN ('imap','pop3')),"
	"  host TEXT NOT NULL,"
	"  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
	"  tls TEXT NOT NULL CHECK (tls IN ('implicit','starttls','none')),"
	"  username TEXT NOT NULL,"
	"  auth TEXT NOT NULL CHECK (auth IN ('password','oauth2')),"
	"  secret BLOB NOT NULL,"
	"  folders TEXT NOT NULL DEFAULT 'INBOX',"
	"  delete_policy TEXT NOT NULL DEFAULT 'never' CHECK (delete_policy IN ('never','after-retrieval')"
	"    OR (delete_policy GLOB 'after-days:[0-9]*' AND delete_policy NOT GLOB 'after-days:*[^0-9]*')),"
	"  active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0,1)),"
	"  created_at TEXT NOT NULL,"
	"  config_changed_at TEXT NOT NULL"
	");"
	"CREATE INDEX mailboxes_user ON mailboxes(user_id);"
	/* One active mailbox per user, enforced by the schema itself. */
	"CREATE UNIQUE INDEX mailboxes_one_active ON mailboxes(user_id) WHERE active = 1;"
	"CREATE TABLE mailbox_folders ("
	"  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  uidvalidity INTEGER NOT NULL,"
	"  last_uid INTEGER NOT NULL DEFAULT 0,"
	"  synced_at TEXT NOT NULL,"
	"  PRIMARY KEY (mailbox_id, name)"
	") WITHOUT ROWID;"
	"CREATE TABLE mailbox_pop3_uidls ("
	"  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  uidl TEXT NOT NULL,"
	"  retrieved_at TEXT NOT NULL,"
	"  deleted_at TEXT,"
	"  PRIMARY KEY (mailbox_id, uidl)"
	") WITHOUT ROWID;"
	"CREATE TABLE mailbox_sync ("
	"  mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','in_progress','completed','failed',"
	"    'auth_failed','paused')),"
	"  done INTEGER NOT NULL DEFAULT 0,"
	"  total INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at TEXT,"
	"  last_sync_at TEXT,"
	"  first_sync_completed_at TEXT,"
	"  confirmation_sent_at TEXT,"
	"  updated_at TEXT NOT NULL"
	");"
	"CREATE TABLE mailbox_budget ("
	"  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  day TEXT NOT NULL,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (mailbox_id, day)"
	") WITHOUT ROWID;"
	/* What admins query: never the secret column. */
	"CREATE VIEW mailbox_status AS SELECT"
	"  m.id AS mailbox_id, m.user_id, m.protocol, m.host, m.port, m.tls, m.username, m.auth,"
	"  m.folders, m.delete_policy, m.active,"
	"  coalesce(s.status, 'pending') AS status, coalesce(s.done, 0) AS done, coalesce(s.total, 0) AS total,"
	"  s.reason, s.failures, s.next_attempt_at, s.last_sync_at, s.first_sync_completed_at,"
	"  s.confirmation_sent_at, coalesce(b.bytes, 0) AS bytes_today,"
	"  (SELECT count(*) FROM sources src WHERE src.mailbox_id = m.id) AS messages_stored"
	"  FROM mailboxes m LEFT JOIN mailbox_sync s ON s.mailbox_id = m.id"
	"  LEFT JOIN mailbox_budget b ON b.mailbox_id = m.id AND b.day = strftime('%Y-%m-%d', 'now');";

/* ---- 2: indexes no query uses. Each one cost a B-tree insert, and a page
 * written, per captured message. Threading looks up the parent by its
 * Message-ID (messages_message_id), never messages by In-Reply-To or by
 * References; nothing looks attachments up by hash. Grep store/, assoc/,
 * cli/ and docs/reports.md before adding a query on these columns, and add
 * its index back in a new migration. ---- */
static const char migration_2[] =
	"DROP INDEX IF EXISTS messages_in_reply_to;"
	"DROP INDEX IF EXISTS message_references_ref;"
	"DROP INDEX IF EXISTS attachments_sha256;";

/* Per-deal addresses (docs/association.md) and retention with legal hold
 * (docs/retention.md). */
static const char migration_3[] =
	/* ---- per-deal addresses: the deal a dropbox copy was filed onto ---- */
	"ALTER TABLE sources ADD COLUMN deal_id TEXT;"

	/* ---- retention (store/sqlite/retention.c, `bccdrop retention`/`hold`) ---- */
	"CREATE TABLE holds ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('user','contact','deal','message')),"
	"  target TEXT NOT NULL CHECK (target <> ''),"
	"  reason TEXT NOT NULL CHECK (reason <> ''),"
	"  until TEXT,"
	"  created_at TEXT NOT NULL,"
	"  released_at TEXT"
	");"
	/* Every message an active hold covers, with the hold: the one
	 * definition of "held", read by `retention run` and the view below. */
	"CREATE VIEW message_holds AS"
	" WITH active AS (SELECT * FROM holds WHERE released_at IS NULL"
	"  AND (until IS NULL OR until > strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
	" SELECT s.message AS message, h.id AS hold_id FROM active h"
	"  JOIN sources s ON h.kind = 'user' AND s.owner_user_id = h.target"
	" UNION SELECT m.id, h.id FROM active h"
	"  JOIN messages m ON h.kind = 'message' AND m.message_id = h.target"
	" UNION SELECT l.message, h.id FROM active h"
	"  JOIN links l ON h.kind = 'deal' AND l.module = 'deal' AND l.record_id = h.target"
	" UNION SELECT s.message, h.id FROM active h"
	"  JOIN sources s ON h.kind = 'deal' AND s.deal_id = h.target"
	" UNION SELECT l.message, h.id FROM active h"
	"  JOIN links l ON h.kind = 'contact' AND l.module = 'contact' AND l.record_id = h.target"
	" UNION SELECT l.message, h.id FROM active h"
	"  JOIN deal_contacts dc ON h.kind = 'contact' AND dc.contact_id = h.target"
	"  JOIN links l ON l.module = 'deal' AND l.record_id = dc.deal_id"
	" UNION SELECT p.message, h.id FROM active h"
	"  JOIN contact_addresses ca ON h.kind = 'contact' AND ca.contact_id = h.target"
	"  JOIN participants p ON p.address_key = ca.address_key;"
	"CREATE TABLE retention_log ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL,"
	"  message_id TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  date TEXT NOT NULL,"
	"  deleted_at TEXT NOT NULL,"
	"  reason TEXT NOT NULL"
	");"
	"CREATE TRIGGER retention_log_no_update BEFORE UPDATE ON retention_log"
	" BEGIN SELECT RAISE(ABORT, 'retention_log is append-only'); END;"
	"CREATE TRIGGER retention_log_no_delete BEFORE DELETE ON retention_log"
	" BEGIN SELECT RAISE(ABORT, 'retention_log is append-only'); END;"
	"CREATE VIEW retention_status AS"
	" SELECT m.id AS message, m.message_id AS message_id, m.date AS date,"
	"  CAST(julianday('now') - julianday(m.date) AS INTEGER) AS age_days,"
	"  (SELECT group_concat(hold_id, ',') FROM (SELECT DISTINCT hold_id FROM message_holds"
	"   WHERE message = m.id ORDER BY hold_id)) AS held_by"
	" FROM messages m;";

/* ---- 4: CRM full sync (bccdrop import --full): records absent from the
 * CRM's export are retired, never deleted (their links and history stay);
 * a merged contact names its survivor; a deactivated user keeps everything
 * but captures nothing new. ---- */
static const char migration_4[] =
	"ALTER TABLE users ADD COLUMN retired_at TEXT;"
	"ALTER TABLE users ADD COLUMN deactivated INTEGER NOT NULL DEFAULT 0 CHECK (deactivated IN (0,1));"
	"ALTER TABLE stages ADD COLUMN retired_at TEXT;"
	"ALTER TABLE contacts ADD COLUMN retired_at TEXT;"
	"ALTER TABLE contacts ADD COLUMN merged_into TEXT;"
	"ALTER TABLE deals ADD COLUMN retired_at TEXT;";

/* ---- 6: full-text search (store/sqlite/search.c, `bccdrop search`) ----
 * An external-content FTS5 index over messages: the text lives once, in
 * messages; search_names carries the participants' names and addresses and
 * the attachment names (written with the message, backfilled here).
 * New messages are indexed by the write path at commit, in the same
 * transaction, with one statement (sq_search_index): FTS5 flushes its
 * pending terms at every statement savepoint, so a per-row trigger would
 * write one index segment per message. Deletes and updates are triggers,
 * whoever runs them (retention, or a plain DELETE): the delete trigger reads
 * OLD, so it needs no child row a cascade may have removed first, and both
 * act only on rows already indexed (message_search_docsize has one row per
 * indexed message). */
static const char migration_6[] =
	"ALTER TABLE messages ADD COLUMN search_names TEXT NOT NULL DEFAULT '';"
	"UPDATE messages SET search_names ="
	"  coalesce((SELECT group_concat(t, char(10)) FROM (SELECT ltrim(coalesce(name, '') || ' ' || address) AS t"
	"   FROM participants WHERE message = messages.id AND role IN ('from','to','cc','reply_to')"
	"   ORDER BY position)), '')"
	"  || coalesce((SELECT char(10) || group_concat(filename, char(10)) FROM (SELECT filename FROM attachments"
	"   WHERE message = messages.id AND filename IS NOT NULL AND filename <> '' ORDER BY position)), '');"
	"CREATE VIRTUAL TABLE message_search USING fts5(subject, body_text, search_names,"
	"  content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
	"INSERT INTO message_search(message_search) VALUES ('rebuild');"
	"CREATE TRIGGER messages_search_delete AFTER DELETE ON messages"
	" WHEN EXISTS (SELECT 1 FROM message_search_docsize WHERE id = old.id) BEGIN"
	"  INSERT INTO message_search(message_search, rowid, subject, body_text, search_names)"
	"  VALUES ('delete', old.id, old.subject, old.body_text, old.search_names);"
	" END;"
	"CREATE TRIGGER messages_search_update AFTER UPDATE OF subject, body_text, search_names ON messages"
	" WHEN EXISTS (SELECT 1 FROM message_search_docsize WHERE id = old.id) BEGIN"
	"  INSERT INTO message_search(message_search, rowid, subject, body_text, search_names)"
	"  VALUES ('delete', old.id, old.subject, old.body_text, old.search_names);"
	"  INSERT INTO message_search(rowid, subject, body_text, search_names)"
	"  VALUES (new.id, new.subject, new.body_text, new.search_names);"
	" END;";
/* ---- end of full-text search ---- */

/* ---- 5: poller leases (store/sqlite/lease.c): expiry in Unix seconds, compared
 * with the store's clock, not each host's. */
static const char migration_5[] =
	"CREATE TABLE mailbox_leases ("
	"  mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  holder TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL"
	");"
	"CREATE INDEX mailbox_leases_holder ON mailbox_leases(holder);";

static const char *const migrations[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
	migration_5,
	migration_6,
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == STORE_SCHEMA_VERSION);

const char *
sq_schema_migration(int version)
{
	if (version < 1 || version > (int)G_N_ELEMENTS(migrations))
		return NULL;
	return migrations[version - 1];
}
