/* Internal to store/: the operations every backend implements, as one
 * list. X(ret, name, params, args) is an operation returning RET, V(name,
 * params, args) one returning nothing; store/store.c turns each into the
 * public store_NAME() of store/store.h, dispatching on the Store's backend,
 * and each backend defines its functions from the same list. Generated
 * from store/store.h's declarations: an operation is a function whose first
 * parameter is the Store. */
#ifndef BCCDROP_STORE_OPS_H
#define BCCDROP_STORE_OPS_H

#define STORE_OPS(X, V) \
	V(close, (Store *store), (store)) \
	X(int, schema_version, (Store *store), (store)) \
	X(const char *, path, (Store *store), (store)) \
	X(gboolean, begin, (Store *store, GError **error), (store, error)) \
	X(gboolean, commit, (Store *store, GError **error), (store, error)) \
	V(rollback, (Store *store), (store)) \
	X(gboolean, in_transaction, (Store *store), (store)) \
	X(gboolean, savepoint, (Store *store, GError **error), (store, error)) \
	X(gboolean, savepoint_release, (Store *store, GError **error), (store, error)) \
	X(gboolean, savepoint_rollback, (Store *store, GError **error), (store, error)) \
	X(gboolean, put_message, (Store *store, const IngestMessage *msg, const IngestInput *raw, const StoreSource *source, StorePutResult *result, GError **error), (store, msg, raw, source, result, error)) \
	X(GArray *, find_message_id, (Store *store, const char *message_id, GError **error), (store, message_id, error)) \
	X(gboolean, message_link_count, (Store *store, gint64 message, guint *n_links, GError **error), (store, message, n_links, error)) \
	X(StoreMessageView *, message_view, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(GBytes *, raw_get, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(gboolean, mailbox_add, (Store *store, StoreMailbox *mailbox, gboolean *activated, GError **error), (store, mailbox, activated, error)) \
	X(StoreMailbox *, mailbox_get, (Store *store, gint64 id, GError **error), (store, id, error)) \
	X(GPtrArray *, mailbox_list, (Store *store, const char *user_id, gboolean active_only, GError **error), (store, user_id, active_only, error)) \
	X(gboolean, mailbox_activate, (Store *store, gint64 id, GError **error), (store, id, error)) \
	X(gboolean, mailbox_deactivate, (Store *store, gint64 id, GError **error), (store, id, error)) \
	X(gboolean, mailbox_remove, (Store *store, gint64 id, GError **error), (store, id, error)) \
	X(gboolean, mailbox_set_secret, (Store *store, gint64 id, GBytes *secret, GError **error), (store, id, secret, error)) \
	X(gboolean, mailbox_sync_get, (Store *store, gint64 id, StoreMailboxSync *out, GError **error), (store, id, out, error)) \
	X(gboolean, mailbox_sync_set, (Store *store, gint64 id, const StoreMailboxSync *sync, GError **error), (store, id, sync, error)) \
	X(gboolean, mailbox_folder_get, (Store *store, gint64 id, const char *folder, gboolean *found, gint64 *uidvalidity, gint64 *last_uid, GError **error), (store, id, folder, found, uidvalidity, last_uid, error)) \
	X(gboolean, mailbox_folder_set, (Store *store, gint64 id, const char *folder, gint64 uidvalidity, gint64 last_uid, GError **error), (store, id, folder, uidvalidity, last_uid, error)) \
	X(GHashTable *, mailbox_uidls, (Store *store, gint64 id, GError **error), (store, id, error)) \
	X(gboolean, mailbox_uidl_add, (Store *store, gint64 id, const char *uidl, GError **error), (store, id, uidl, error)) \
	X(gboolean, mailbox_uidl_deleted, (Store *store, gint64 id, const char *uidl, GError **error), (store, id, uidl, error)) \
	X(GPtrArray *, mailbox_uidls_older, (Store *store, gint64 id, gint64 before, GError **error), (store, id, before, error)) \
	X(gboolean, mailbox_budget_get, (Store *store, gint64 id, const char *day, guint64 *bytes, GError **error), (store, id, day, bytes, error)) \
	X(gboolean, mailbox_budget_add, (Store *store, gint64 id, const char *day, guint64 bytes, GError **error), (store, id, day, bytes, error)) \
	X(gboolean, user_activity, (Store *store, const char *user_id, char **email, gint64 *last_active_at, GError **error), (store, user_id, email, last_active_at, error)) \
	X(gboolean, export_user, (Store *store, const char *user_id, gint64 since, StoreExportFunc func, gpointer user_data, GError **error), (store, user_id, since, func, user_data, error)) \
	X(gboolean, user_by_dropbox, (Store *store, const char *dropbox_key, char **user_id, GError **error), (store, dropbox_key, user_id, error)) \
	X(gboolean, user_owns_address, (Store *store, const char *user_id, const char *key, gboolean *owns, GError **error), (store, user_id, key, owns, error)) \
	X(gboolean, user_owns_login, (Store *store, const char *user_id, const char *login, gboolean *owns, GError **error), (store, user_id, login, owns, error)) \
	X(StoreDecisionFacts *, decision_facts, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(StoreLinkState *, link_state, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(gboolean, decision_write, (Store *store, const StoreDecisionWrite *write, GError **error), (store, write, error)) \
	X(GArray *, unmatched_for_keys, (Store *store, GPtrArray *keys, GError **error), (store, keys, error)) \
	X(StoreMessageSummary *, message_summary, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(StoreDecisionRow *, decision_row, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(GPtrArray *, message_links, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(GPtrArray *, link_history, (Store *store, gint64 message, GError **error), (store, message, error)) \
	X(GArray *, message_ids, (Store *store, gboolean unmatched_only, GError **error), (store, unmatched_only, error)) \
	X(GArray *, message_ids_since, (Store *store, gint64 since, GError **error), (store, since, error)) \
	X(GPtrArray *, report_rows, (Store *store, const StoreReportFilter *filter, GError **error), (store, filter, error)) \
	X(gboolean, crm_exists, (Store *store, StoreCrmKind kind, const char *id, gboolean *found, GError **error), (store, kind, id, found, error)) \
	X(gboolean, crm_put_user, (Store *store, const StoreCrmUser *user, GError **error), (store, user, error)) \
	X(gboolean, crm_address_user, (Store *store, const char *key, char **user_id, GError **error), (store, key, user_id, error)) \
	X(GPtrArray *, crm_user_keys, (Store *store, const char *user_id, GError **error), (store, user_id, error)) \
	X(GPtrArray *, crm_contact_keys, (Store *store, const char *contact_id, GError **error), (store, contact_id, error)) \
	X(gboolean, crm_put_stage, (Store *store, const StoreCrmStage *stage, GError **error), (store, stage, error)) \
	X(gboolean, crm_put_contact, (Store *store, const StoreCrmContact *contact, GError **error), (store, contact, error)) \
	X(gboolean, crm_put_deal, (Store *store, const StoreCrmDeal *deal, GError **error), (store, deal, error)) \
	X(gboolean, user_dropbox, (Store *store, const char *user_id, char **dropbox, GError **error), (store, user_id, dropbox, error)) \
	X(gboolean, deal_name, (Store *store, const char *deal_id, char **name, GError **error), (store, deal_id, name, error)) \
	X(gboolean, hold_add, (Store *store, StoreHoldKind kind, const char *target, const char *reason, gint64 until, gint64 *id, GError **error), (store, kind, target, reason, until, id, error)) \
	X(GPtrArray *, hold_list, (Store *store, GError **error), (store, error)) \
	X(gboolean, hold_release, (Store *store, gint64 id, GError **error), (store, id, error)) \
	X(GPtrArray *, retention_due, (Store *store, gint64 cutoff, GError **error), (store, cutoff, error)) \
	X(gboolean, retention_purge, (Store *store, gint64 cutoff, const char *reason, guint limit, guint *deleted, GError **error), (store, cutoff, reason, limit, deleted, error)) \
	X(gboolean, crm_state, (Store *store, StoreCrmKind kind, const char *id, char **state, GError **error), (store, kind, id, state, error)) \
	X(GPtrArray *, crm_live_ids, (Store *store, StoreCrmKind kind, GError **error), (store, kind, error)) \
	X(gboolean, crm_retire, (Store *store, StoreCrmKind kind, const char *id, const char *reason, GError **error), (store, kind, id, reason, error)) \
	X(gboolean, crm_merge_contact, (Store *store, const char *id, const char *survivor, const char *reason, GError **error), (store, id, survivor, reason, error)) \
	X(gboolean, user_inactive, (Store *store, const char *user_id, gboolean *inactive, GError **error), (store, user_id, inactive, error)) \
	X(GPtrArray *, search, (Store *store, const StoreSearchFilter *filter, GError **error), (store, filter, error)) \
	X(GArray *, mailbox_lease, (Store *store, const char *holder, guint max, gint64 lease_seconds, GError **error), (store, holder, max, lease_seconds, error)) \
	X(gboolean, mailbox_lease_release, (Store *store, const char *holder, gint64 mailbox, GError **error), (store, holder, mailbox, error)) \
	X(GPtrArray *, mailbox_lease_holders, (Store *store, GError **error), (store, error))

#endif
