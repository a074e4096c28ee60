/* Operations the PostgreSQL backend does not have yet: each fails with a
 * clear error instead of being missing at link time. This file shrinks to
 * nothing as they are written; store/pg/backend.c lists them all. */
#include "store/pg/pg.h"

static void
pg_unimplemented(GError **error, const char *op)
{
	g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED, "store_%s is not implemented on PostgreSQL yet", op);
}

StoreMessageView *
pg_store_message_view(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "message_view");
	return NULL;
}

gboolean
pg_store_mailbox_add(Store *store, StoreMailbox *mailbox, gboolean *activated, GError **error)
{
	pg_unimplemented(error, "mailbox_add");
	return FALSE;
}

StoreMailbox *
pg_store_mailbox_get(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "mailbox_get");
	return NULL;
}

GPtrArray *
pg_store_mailbox_list(Store *store, const char *user_id, gboolean active_only, GError **error)
{
	pg_unimplemented(error, "mailbox_list");
	return NULL;
}

gboolean
pg_store_mailbox_activate(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "mailbox_activate");
	return FALSE;
}

gboolean
pg_store_mailbox_deactivate(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "mailbox_deactivate");
	return FALSE;
}

gboolean
pg_store_mailbox_remove(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "mailbox_remove");
	return FALSE;
}

gboolean
pg_store_mailbox_set_secret(Store *store, gint64 id, GBytes *secret, GError **error)
{
	pg_unimplemented(error, "mailbox_set_secret");
	return FALSE;
}

gboolean
pg_store_mailbox_sync_get(Store *store, gint64 id, StoreMailboxSync *out, GError **error)
{
	pg_unimplemented(error, "mailbox_sync_get");
	return FALSE;
}

gboolean
pg_store_mailbox_sync_set(Store *store, gint64 id, const StoreMailboxSync *sync, GError **error)
{
	pg_unimplemented(error, "mailbox_sync_set");
	return FALSE;
}

gboolean
pg_store_mailbox_folder_get(Store *store, gint64 id, const char *folder, gboolean *found, gint64 *uidvalidity, gint64 *last_uid, GError **error)
{
	pg_unimplemented(error, "mailbox_folder_get");
	return FALSE;
}

gboolean
pg_store_mailbox_folder_set(Store *store, gint64 id, const char *folder, gint64 uidvalidity, gint64 last_uid, GError **error)
{
	pg_unimplemented(error, "mailbox_folder_set");
	return FALSE;
}

GHashTable *
pg_store_mailbox_uidls(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "mailbox_uidls");
	return NULL;
}

gboolean
pg_store_mailbox_uidl_add(Store *store, gint64 id, const char *uidl, GError **error)
{
	pg_unimplemented(error, "mailbox_uidl_add");
	return FALSE;
}

gboolean
pg_store_mailbox_uidl_deleted(Store *store, gint64 id, const char *uidl, GError **error)
{
	pg_unimplemented(error, "mailbox_uidl_deleted");
	return FALSE;
}

GPtrArray *
pg_store_mailbox_uidls_older(Store *store, gint64 id, gint64 before, GError **error)
{
	pg_unimplemented(error, "mailbox_uidls_older");
	return NULL;
}

gboolean
pg_store_mailbox_budget_get(Store *store, gint64 id, const char *day, guint64 *bytes, GError **error)
{
	pg_unimplemented(error, "mailbox_budget_get");
	return FALSE;
}

gboolean
pg_store_mailbox_budget_add(Store *store, gint64 id, const char *day, guint64 bytes, GError **error)
{
	pg_unimplemented(error, "mailbox_budget_add");
	return FALSE;
}

gboolean
pg_store_user_activity(Store *store, const char *user_id, char **email, gint64 *last_active_at, GError **error)
{
	pg_unimplemented(error, "user_activity");
	return FALSE;
}

gboolean
pg_store_export_user(Store *store, const char *user_id, gint64 since, StoreExportFunc func, gpointer user_data, GError **error)
{
	pg_unimplemented(error, "export_user");
	return FALSE;
}

gboolean
pg_store_user_by_dropbox(Store *store, const char *dropbox_key, char **user_id, GError **error)
{
	pg_unimplemented(error, "user_by_dropbox");
	return FALSE;
}

gboolean
pg_store_user_owns_address(Store *store, const char *user_id, const char *key, gboolean *owns, GError **error)
{
	pg_unimplemented(error, "user_owns_address");
	return FALSE;
}

gboolean
pg_store_user_owns_login(Store *store, const char *user_id, const char *login, gboolean *owns, GError **error)
{
	pg_unimplemented(error, "user_owns_login");
	return FALSE;
}

StoreDecisionFacts *
pg_store_decision_facts(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "decision_facts");
	return NULL;
}

StoreLinkState *
pg_store_link_state(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "link_state");
	return NULL;
}

gboolean
pg_store_decision_write(Store *store, const StoreDecisionWrite *write, GError **error)
{
	pg_unimplemented(error, "decision_write");
	return FALSE;
}

GArray *
pg_store_unmatched_for_keys(Store *store, GPtrArray *keys, GError **error)
{
	pg_unimplemented(error, "unmatched_for_keys");
	return NULL;
}

StoreMessageSummary *
pg_store_message_summary(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "message_summary");
	return NULL;
}

StoreDecisionRow *
pg_store_decision_row(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "decision_row");
	return NULL;
}

GPtrArray *
pg_store_message_links(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "message_links");
	return NULL;
}

GPtrArray *
pg_store_link_history(Store *store, gint64 message, GError **error)
{
	pg_unimplemented(error, "link_history");
	return NULL;
}

GArray *
pg_store_message_ids(Store *store, gboolean unmatched_only, GError **error)
{
	pg_unimplemented(error, "message_ids");
	return NULL;
}

GArray *
pg_store_message_ids_since(Store *store, gint64 since, GError **error)
{
	pg_unimplemented(error, "message_ids_since");
	return NULL;
}

GPtrArray *
pg_store_report_rows(Store *store, const StoreReportFilter *filter, GError **error)
{
	pg_unimplemented(error, "report_rows");
	return NULL;
}

gboolean
pg_store_crm_exists(Store *store, StoreCrmKind kind, const char *id, gboolean *found, GError **error)
{
	pg_unimplemented(error, "crm_exists");
	return FALSE;
}

gboolean
pg_store_crm_put_user(Store *store, const StoreCrmUser *user, GError **error)
{
	pg_unimplemented(error, "crm_put_user");
	return FALSE;
}

gboolean
pg_store_crm_address_user(Store *store, const char *key, char **user_id, GError **error)
{
	pg_unimplemented(error, "crm_address_user");
	return FALSE;
}

GPtrArray *
pg_store_crm_user_keys(Store *store, const char *user_id, GError **error)
{
	pg_unimplemented(error, "crm_user_keys");
	return NULL;
}

GPtrArray *
pg_store_crm_contact_keys(Store *store, const char *contact_id, GError **error)
{
	pg_unimplemented(error, "crm_contact_keys");
	return NULL;
}

gboolean
pg_store_crm_put_stage(Store *store, const StoreCrmStage *stage, GError **error)
{
	pg_unimplemented(error, "crm_put_stage");
	return FALSE;
}

gboolean
pg_store_crm_put_contact(Store *store, const StoreCrmContact *contact, GError **error)
{
	pg_unimplemented(error, "crm_put_contact");
	return FALSE;
}

gboolean
pg_store_crm_put_deal(Store *store, const StoreCrmDeal *deal, GError **error)
{
	pg_unimplemented(error, "crm_put_deal");
	return FALSE;
}

gboolean
pg_store_user_dropbox(Store *store, const char *user_id, char **dropbox, GError **error)
{
	pg_unimplemented(error, "user_dropbox");
	return FALSE;
}

gboolean
pg_store_deal_name(Store *store, const char *deal_id, char **name, GError **error)
{
	pg_unimplemented(error, "deal_name");
	return FALSE;
}

gboolean
pg_store_hold_add(Store *store, StoreHoldKind kind, const char *target, const char *reason, gint64 until, gint64 *id, GError **error)
{
	pg_unimplemented(error, "hold_add");
	return FALSE;
}

GPtrArray *
pg_store_hold_list(Store *store, GError **error)
{
	pg_unimplemented(error, "hold_list");
	return NULL;
}

gboolean
pg_store_hold_release(Store *store, gint64 id, GError **error)
{
	pg_unimplemented(error, "hold_release");
	return FALSE;
}

GPtrArray *
pg_store_retention_due(Store *store, gint64 cutoff, GError **error)
{
	pg_unimplemented(error, "retention_due");
	return NULL;
}

gboolean
pg_store_retention_purge(Store *store, gint64 cutoff, const char *reason, guint limit, guint *deleted, GError **error)
{
	pg_unimplemented(error, "retention_purge");
	return FALSE;
}

gboolean
pg_store_crm_state(Store *store, StoreCrmKind kind, const char *id, char **state, GError **error)
{
	pg_unimplemented(error, "crm_state");
	return FALSE;
}

GPtrArray *
pg_store_crm_live_ids(Store *store, StoreCrmKind kind, GError **error)
{
	pg_unimplemented(error, "crm_live_ids");
	return NULL;
}

gboolean
pg_store_crm_retire(Store *store, StoreCrmKind kind, const char *id, const char *reason, GError **error)
{
	pg_unimplemented(error, "crm_retire");
	return FALSE;
}

gboolean
pg_store_crm_merge_contact(Store *store, const char *id, const char *survivor, const char *reason, GError **error)
{
	pg_unimplemented(error, "crm_merge_contact");
	return FALSE;
}

gboolean
pg_store_user_inactive(Store *store, const char *user_id, gboolean *inactive, GError **error)
{
	pg_unimplemented(error, "user_inactive");
	return FALSE;
}

GPtrArray *
pg_store_search(Store *store, const StoreSearchFilter *filter, GError **error)
{
	pg_unimplemented(error, "search");
	return NULL;
}
