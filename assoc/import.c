/* `bccdrop import`: CRM users, stages, contacts and deals from CSV, upserted
 * by CRM id in one transaction. The columns and their rules are documented in
 * docs/association.md; every error names the file, the line and the field. */
#include "assoc/assoc.h"

#include <string.h>

#define IMPORT_PROGRESS_EVERY 1000

typedef struct {
	const char *name;
	const char *const *columns;
	guint n_required; /* the first N columns must be in the header; later ones may be absent */
} ImportSpec;

/* Columns added after the first release are optional so older files still import. */
static const char *const users_cols[] = { "id", "email", "name", "dropbox", "aliases", "sharing", "excluded_domains",
					  "last_active_at", "deactivated", NULL };
static const char *const stages_cols[] = { "name", "probability", NULL };
static const char *const contacts_cols[] = { "id", "kind", "name", "emails", "owner", "merged_into", NULL };
static const char *const deals_cols[] = { "id", "name", "stage", "probability", "modified_at", "contacts", NULL };

static const ImportSpec specs[] = {
	[ASSOC_IMPORT_USERS] = { "users", users_cols, 8 },
	[ASSOC_IMPORT_STAGES] = { "stages", stages_cols, 2 },
	[ASSOC_IMPORT_CONTACTS] = { "contacts", contacts_cols, 5 },
	[ASSOC_IMPORT_DEALS] = { "deals", deals_cols, 6 },
};
/* Import kinds and store kinds are the same list. */
G_STATIC_ASSERT((int)ASSOC_IMPORT_USERS == (int)STORE_CRM_USER && (int)ASSOC_IMPORT_STAGES == (int)STORE_CRM_STAGE &&
		(int)ASSOC_IMPORT_CONTACTS == (int)STORE_CRM_CONTACT && (int)ASSOC_IMPORT_DEALS == (int)STORE_CRM_DEAL);

typedef struct {
	char *id;
	char *survivor;
	guint line;
} ImportMerge;

typedef struct {
	Store *store;
	AssocCsv *csv;
	const ImportSpec *spec;
	int index[16];	  /* column number of each spec column, -1: absent (optional) */
	guint ncols;	  /* fields in the header row */
	GPtrArray *row;	  /* char* fields of the current record */
	GArray *merges;	  /* ImportMerge: applied after every row is in */
	const AssocCrmMap *map; /* the file was translated by it, or NULL */
	AssocImportKind kind;
	GHashTable *ids;  /* ids seen in this file: duplicates are errors */
	GHashTable *keys; /* touched address keys (set) */
	AssocImportResult *result;
} Import;

gboolean
assoc_import_kind_parse(const char *name, AssocImportKind *out)
{
	for (guint i = 0; i < G_N_ELEMENTS(specs); i++) {
		if (name && !strcmp(name, specs[i].name)) {
			*out = (AssocImportKind)i;
			return TRUE;
		}
	}
	return FALSE;
}

void
assoc_import_result_clear(AssocImportResult *result)
{
	if (result && result->touched_keys)
		g_ptr_array_unref(result->touched_keys);
	if (result)
		memset(result, 0, sizeof *result);
}

static gboolean G_GNUC_PRINTF(4, 5)
import_fail(Import *im, GError **error, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	const char *column = field && im->map ? assoc_crmmap_column(im->map, im->kind, field) : NULL;
	if (column)
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: column '%s' (field %s): %s",
			    assoc_csv_name(im->csv), assoc_csv_line(im->csv), column, field, what);
	else if (field)
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: field '%s': %s", assoc_csv_name(im->csv),
			    assoc_csv_line(im->csv), field, what);
	else
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: %s", assoc_csv_name(im->csv),
			    assoc_csv_line(im->csv), what);
	return FALSE;
}

/* The current row's value of spec column COL, stripped ("" when the
 * optional column is absent). */
static const char *
field(Import *im, guint col)
{
	return im->index[col] < 0 ? "" : g_strstrip((char *)im->row->pdata[im->index[col]]);
}

static gboolean
import_header(Import *im, GError **error)
{
	g_autoptr(GError) e = NULL;
	if (!assoc_csv_next(im->csv, im->row, &e)) {
		if (e) {
			g_propagate_error(error, g_steal_pointer(&e));
			return FALSE;
		}
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s: empty file: a header row is required",
			    assoc_csv_name(im->csv));
		return FALSE;
	}
	g_autofree char *cols = g_strjoinv(",", (char **)im->spec->columns);
	guint n = 0;
	for (const char *const *c = im->spec->columns; *c; c++)
		im->index[n++] = -1;
	for (guint i = 0; i < im->row->len; i++) {
		const char *name = g_strstrip((char *)im->row->pdata[i]);
		guint k = 0;
		while (k < n && strcmp(im->spec->columns[k], name))
			k++;
		if (k == n)
			return import_fail(im, error, NULL, "unknown column '%s' (%s files have exactly: %s)", name,
					   im->spec->name, cols);
		if (im->index[k] >= 0)
			return import_fail(im, error, NULL, "column '%s' appears twice", name);
		im->index[k] = (int)i;
	}
	for (guint k = 0; k < im->spec->n_required; k++)
		if (im->index[k] < 0)
			return import_fail(im, error, NULL, "missing column '%s' (the header row must name: %s)",
					   im->spec->columns[k], cols);
	im->ncols = im->row->len;
	return TRUE;
}

static void
touch(Import *im, const char *key)
{
	if (key && !g_hash_table_contains(im->keys, key)) {
		char *k = g_strdup(key);
		g_hash_table_add(im->keys, k);
		g_ptr_array_add(im->result->touched_keys, g_strdup(k));
	}
}

static void
touch_all(Import *im, GPtrArray *keys)
{
	for (guint i = 0; keys && i < keys->len; i++)
		touch(im, keys->pdata[i]);
}

/* The addresses a record has before its upsert may change matching too. */
static gboolean
touch_stored(Import *im, StoreCrmKind kind, const char *id, GError **error)
{
	g_autoptr(GPtrArray) keys = kind == STORE_CRM_USER ? store_crm_user_keys(im->store, id, error)
							   : store_crm_contact_keys(im->store, id, error);
	touch_all(im, keys);
	return keys != NULL;
}

/* How a reference to a record of each kind is named in errors, and the
 * import that must come first. */
static const char *const ref_names[][2] = {
	[STORE_CRM_USER] = { "user id", "users" },
	[STORE_CRM_STAGE] = { "stage", "stages" },
	[STORE_CRM_CONTACT] = { "contact id", "contacts" },
	[STORE_CRM_DEAL] = { "deal id", "deals" },
};

/* The record ID of KIND, named in FIELD, must exist. */
static gboolean
check_ref(Import *im, StoreCrmKind kind, const char *id, const char *field, GError **error)
{
	gboolean found = FALSE;
	if (!store_crm_exists(im->store, kind, id, &found, error))
		return FALSE;
	if (!found)
		return import_fail(im, error, field, "unknown %s '%s' (import %s first)", ref_names[kind][0], id,
				   ref_names[kind][1]);
	return TRUE;
}

static gboolean
check_id(Import *im, guint col, GError **error)
{
	const char *id = field(im, col);
	if (!*id)
		return import_fail(im, error, im->spec->columns[col], "is empty (every row needs one)");
	if (!g_hash_table_add(im->ids, g_strdup(id)))
		return import_fail(im, error, im->spec->columns[col], "duplicate '%s' (already on an earlier line)",
				   id);
	return TRUE;
}

/* Spec column COL as a percentage; an empty optional one is -1. */
static gboolean
parse_percent(Import *im, guint col, gboolean optional, int *out, GError **error)
{
	const char *v = field(im, col);
	*out = -1;
	if (!*v && optional)
		return TRUE;
	gint64 n;
	if (!g_ascii_string_to_signed(v, 10, 0, 100, &n, NULL))
		return import_fail(im, error, im->spec->columns[col], "'%s' is not a number 0..100", v);
	*out = (int)n;
	return TRUE;
}

/* Spec column COL as Unix seconds; an empty optional one is 0. */
static gboolean
parse_time(Import *im, guint col, gboolean optional, gint64 *out, GError **error)
{
	const char *v = field(im, col);
	*out = 0;
	if (!*v && optional)
		return TRUE;
	if (!common_parse_iso8601(v, out))
		return import_fail(im, error, im->spec->columns[col],
				   "'%s' is not an ISO 8601 date or time (e.g. 2026-03-01T12:00:00Z)", v);
	return TRUE;
}

/* A ';'-separated list of addresses as normalised keys (with the originals). */
static gboolean
parse_addresses(Import *im, guint col, GPtrArray *originals, GPtrArray *keys, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(field(im, col), ";", -1);
	for (char **p = parts; *p; p++) {
		g_strstrip(*p);
		if (!**p)
			continue;
		char *key = ingest_address_key(*p);
		if (!key)
			return import_fail(im, error, im->spec->columns[col], "'%s' is not an email address", *p);
		g_ptr_array_add(originals, g_strdup(*p));
		g_ptr_array_add(keys, key);
	}
	return TRUE;
}

/* ---- users ---------------------------------------------------------------- */

enum { U_ID, U_EMAIL, U_NAME, U_DROPBOX, U_ALIASES, U_SHARING, U_EXCLUDED, U_LAST_ACTIVE, U_DEACTIVATED };

/* CRMs write a user's state as a flag or as a status word. */
static gboolean
parse_deactivated(Import *im, gboolean *out, GError **error)
{
	static const char *const yes[] = { "1", "true", "yes", "deactivated", "deactive", "inactive", "disabled", "deleted", NULL };
	static const char *const no[] = { "", "0", "false", "no", "active", "activated", "enabled", NULL };
	g_autofree char *v = g_ascii_strdown(field(im, U_DEACTIVATED), -1);
	*out = g_strv_contains(yes, v);
	if (*out || g_strv_contains(no, v))
		return TRUE;
	return import_fail(im, error, "deactivated", "'%s' is not one of 1, true, yes, deactivated, inactive, disabled "
			   "or 0, false, no, active, enabled", field(im, U_DEACTIVATED));
}

/* Each of KEYS (spec column COL) is free or already the user's own. */
static gboolean
check_addresses(Import *im, const char *id, GPtrArray *keys, guint col, GError **error)
{
	for (guint i = 0; i < keys->len; i++) {
		g_autofree char *other = NULL;
		if (!store_crm_address_user(im->store, keys->pdata[i], &other, error))
			return FALSE;
		if (other && strcmp(other, id))
			return import_fail(im, error, im->spec->columns[col], "address %s already belongs to user %s",
					   (char *)keys->pdata[i], other);
	}
	return TRUE;
}

static gboolean
check_dropbox(Import *im, const char *id, const char *dropbox, GError **error)
{
	g_autofree char *owner = NULL;
	if (!dropbox)
		return TRUE;
	if (!store_user_by_dropbox(im->store, dropbox, &owner, error))
		return FALSE;
	if (owner && strcmp(owner, id))
		return import_fail(im, error, "dropbox", "%s is already another user's dropbox", dropbox);
	return TRUE;
}

/* The ';'-separated excluded domains, lower-case, without a leading '@'. */
static gboolean
parse_domains(Import *im, GPtrArray *out, GError **error)
{
	g_auto(GStrv) domains = g_strsplit(field(im, U_EXCLUDED), ";", -1);
	for (char **d = domains; *d; d++) {
		g_autofree char *dom = g_ascii_strdown(g_strstrip(*d), -1);
		const char *name = dom[0] == '@' ? dom + 1 : dom;
		if (!*name)
			continue;
		if (strchr(name, '@') || strchr(name, ' '))
			return import_fail(im, error, "excluded_domains", "'%s' is not a domain", *d);
		g_ptr_array_add(out, g_strdup(name));
	}
	return TRUE;
}

static gboolean
parse_sharing(Import *im, const char **out, GError **error)
{
	*out = *field(im, U_SHARING) ? field(im, U_SHARING) : "public";
	if (strcmp(*out, "public") && strcmp(*out, "private") && strcmp(*out, "custom"))
		return import_fail(im, error, "sharing", "'%s' is not one of public, private, custom", *out);
	return TRUE;
}

static gboolean
import_user(Import *im, GError **error)
{
	if (!check_id(im, U_ID, error))
		return FALSE;
	const char *id = field(im, U_ID);
	g_autoptr(GPtrArray) orig = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) email = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) aliases = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	if (!parse_addresses(im, U_EMAIL, orig, email, error) || !parse_addresses(im, U_ALIASES, orig, aliases, error))
		return FALSE;
	if (email->len != 1)
		return import_fail(im, error, "email", "exactly one address is required");
	g_autofree char *dropbox = NULL;
	if (*field(im, U_DROPBOX) && !(dropbox = ingest_address_key(field(im, U_DROPBOX))))
		return import_fail(im, error, "dropbox", "'%s' is not an email address", field(im, U_DROPBOX));
	StoreCrmUser u = { .id = id, .email = email->pdata[0], .name = field(im, U_NAME), .dropbox = dropbox,
			   .aliases = aliases, .excluded_domains = domains };
	if (!parse_sharing(im, &u.sharing, error) || !parse_deactivated(im, &u.deactivated, error) || !parse_time(im, U_LAST_ACTIVE, TRUE, &u.last_active_at, error) ||
	    !check_dropbox(im, id, dropbox, error) || !check_addresses(im, id, email, U_EMAIL, error) ||
	    !check_addresses(im, id, aliases, U_ALIASES, error) || !parse_domains(im, domains, error) ||
	    !touch_stored(im, STORE_CRM_USER, id, error))
		return FALSE;
	touch_all(im, email);
	touch_all(im, aliases);
	return store_crm_put_user(im->store, &u, error);
}

/* ---- stages --------------------------------------------------------------- */

static gboolean
import_stage(Import *im, GError **error)
{
	StoreCrmStage st = { .name = field(im, 0) };
	if (!check_id(im, 0, error) || !parse_percent(im, 1, FALSE, &st.probability, error))
		return FALSE;
	return store_crm_put_stage(im->store, &st, error);
}

/* ---- contacts ------------------------------------------------------------- */

enum { C_ID, C_KIND, C_NAME, C_EMAILS, C_OWNER, C_MERGED_INTO };

/* Merges wait for the end of the file: the survivor may come later in it. */
static gboolean
note_merge(Import *im, const char *id, GError **error)
{
	const char *survivor = field(im, C_MERGED_INTO);
	if (!*survivor)
		return TRUE;
	if (!strcmp(survivor, id))
		return import_fail(im, error, "merged_into", "'%s' is the contact itself", survivor);
	ImportMerge m = { g_strdup(id), g_strdup(survivor), assoc_csv_line(im->csv) };
	g_array_append_val(im->merges, m);
	return TRUE;
}

static gboolean
import_contact(Import *im, GError **error)
{
	if (!check_id(im, C_ID, error))
		return FALSE;
	const char *id = field(im, C_ID);
	const char *kind = *field(im, C_KIND) ? field(im, C_KIND) : "contact";
	if (strcmp(kind, "contact") && strcmp(kind, "lead"))
		return import_fail(im, error, "kind", "'%s' is not 'contact' or 'lead'", kind);
	const char *owner = *field(im, C_OWNER) ? field(im, C_OWNER) : NULL;
	if (owner && !check_ref(im, STORE_CRM_USER, owner, "owner", error))
		return FALSE;
	g_autoptr(GPtrArray) orig = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	if (!parse_addresses(im, C_EMAILS, orig, keys, error) || !touch_stored(im, STORE_CRM_CONTACT, id, error) ||
	    !note_merge(im, id, error))
		return FALSE;
	touch_all(im, keys);
	StoreCrmContact c = { .id = id, .kind = kind, .name = field(im, C_NAME), .owner_id = owner,
			      .addresses = orig, .address_keys = keys };
	return store_crm_put_contact(im->store, &c, error);
}

/* ---- deals ---------------------------------------------------------------- */

enum { D_ID, D_NAME, D_STAGE, D_PROBABILITY, D_MODIFIED, D_CONTACTS };

/* The ';'-separated contact ids, each of which must exist. */
static gboolean
parse_deal_contacts(Import *im, GPtrArray *out, GError **error)
{
	g_auto(GStrv) contacts = g_strsplit(field(im, D_CONTACTS), ";", -1);
	for (char **c = contacts; *c; c++) {
		g_strstrip(*c);
		if (!**c)
			continue;
		if (!check_ref(im, STORE_CRM_CONTACT, *c, "contacts", error))
			return FALSE;
		g_ptr_array_add(out, g_strdup(*c));
	}
	return TRUE;
}

static gboolean
import_deal(Import *im, GError **error)
{
	if (!check_id(im, D_ID, error))
		return FALSE;
	const char *stage = *field(im, D_STAGE) ? field(im, D_STAGE) : NULL;
	if (stage && !check_ref(im, STORE_CRM_STAGE, stage, "stage", error))
		return FALSE;
	g_autoptr(GPtrArray) contacts = g_ptr_array_new_with_free_func(g_free);
	StoreCrmDeal d = { .id = field(im, D_ID), .name = field(im, D_NAME), .stage = stage, .contact_ids = contacts };
	if (!parse_percent(im, D_PROBABILITY, TRUE, &d.probability, error) ||
	    !parse_time(im, D_MODIFIED, FALSE, &d.modified_at, error))
		return FALSE;
	if (!stage && d.probability < 0)
		return import_fail(im, error, "probability", "is empty and the deal has no stage to take it from");
	if (!parse_deal_contacts(im, contacts, error))
		return FALSE;
	return store_crm_put_deal(im->store, &d, error);
}

static gboolean
import_record(Import *im, AssocImportKind kind, GError **error)
{
	switch (kind) {
	case ASSOC_IMPORT_USERS:
		return import_user(im, error);
	case ASSOC_IMPORT_STAGES:
		return import_stage(im, error);
	case ASSOC_IMPORT_CONTACTS:
		return import_contact(im, error);
	default:
		return import_deal(im, error);
	}
}

/* Import the current row and count it as added, updated or unchanged by
 * comparing the record's stored state before and after. */
static gboolean
import_counted(Import *im, AssocImportKind kind, GError **error)
{
	g_autofree char *id = g_strdup(field(im, 0));
	g_autofree char *before = NULL, *after = NULL;
	if (!store_crm_state(im->store, (StoreCrmKind)kind, id, &before, error) || !import_record(im, kind, error) ||
	    !store_crm_state(im->store, (StoreCrmKind)kind, id, &after, error))
		return FALSE;
	AssocImportResult *r = im->result;
	if (!before)
		r->added++;
	else if (g_strcmp0(before, after))
		r->updated++;
	else
		r->unchanged++;
	return TRUE;
}

static gboolean
import_rows(Import *im, AssocImportKind kind, AssocProgressFunc progress, gpointer user_data, GError **error)
{
	g_autoptr(GError) e = NULL;
	while (assoc_csv_next(im->csv, im->row, &e)) {
		if (im->row->len != im->ncols)
			return import_fail(im, error, NULL, "%u fields where the header has %u", im->row->len, im->ncols);
		if (!import_counted(im, kind, error))
			return FALSE;
		if (++im->result->rows % IMPORT_PROGRESS_EVERY == 0 && progress)
			progress(im->result->rows, user_data);
	}
	if (e) {
		g_propagate_error(error, g_steal_pointer(&e));
		return FALSE;
	}
	return TRUE;
}

static gboolean
apply_merges(Import *im, const char *reason, GError **error)
{
	for (guint i = 0; i < im->merges->len; i++) {
		const ImportMerge *m = &g_array_index(im->merges, ImportMerge, i);
		gboolean found = FALSE;
		if (!store_crm_exists(im->store, STORE_CRM_CONTACT, m->survivor, &found, error))
			return FALSE;
		if (!found) {
			g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT,
				    "%s:%u: field 'merged_into': unknown contact id '%s' (the survivor must be in the "
				    "file or already imported)", assoc_csv_name(im->csv), m->line, m->survivor);
			return FALSE;
		}
		g_autofree char *why = g_strdup_printf("%s: merged into %s", reason, m->survivor);
		if (!touch_stored(im, STORE_CRM_CONTACT, m->id, error) ||
		    !store_crm_merge_contact(im->store, m->id, m->survivor, why, error))
			return FALSE;
		im->result->merged++;
	}
	return TRUE;
}

/* The live records the file does not name; over the guard, nothing. */
static gboolean
retire_absent(Import *im, AssocImportKind kind, guint live_before, const AssocImportOptions *opt, const char *reason,
	      GError **error)
{
	g_autoptr(GPtrArray) live = store_crm_live_ids(im->store, (StoreCrmKind)kind, error);
	if (!live)
		return FALSE;
	g_autoptr(GPtrArray) absent = g_ptr_array_new();
	for (guint i = 0; i < live->len; i++)
		if (!g_hash_table_contains(im->ids, live->pdata[i]))
			g_ptr_array_add(absent, live->pdata[i]);
	if ((guint64)absent->len * 100 > (guint64)opt->max_retire * live_before) {
		im->result->would_retire = absent->len;
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_RETIRE_GUARD,
			    "%s: a full sync would retire %u of %u %s, more than --max-retire %d%%: nothing was "
			    "changed (is the export complete? if so, raise --max-retire)",
			    assoc_csv_name(im->csv), absent->len, live_before, im->spec->name, opt->max_retire);
		return FALSE;
	}
	for (guint i = 0; i < absent->len; i++) {
		if (kind <= ASSOC_IMPORT_CONTACTS && kind != ASSOC_IMPORT_STAGES &&
		    !touch_stored(im, (StoreCrmKind)kind, absent->pdata[i], error))
			return FALSE;
		if (!store_crm_retire(im->store, (StoreCrmKind)kind, absent->pdata[i], reason, error))
			return FALSE;
		im->result->retired++;
	}
	return TRUE;
}

static void
merges_free(GArray *merges)
{
	for (guint i = 0; i < merges->len; i++) {
		g_free(g_array_index(merges, ImportMerge, i).id);
		g_free(g_array_index(merges, ImportMerge, i).survivor);
	}
	g_array_unref(merges);
}

static gboolean
import_all(Import *im, AssocImportKind kind, const AssocImportOptions *opt, AssocProgressFunc progress,
	   gpointer user_data, GError **error)
{
	g_autofree char *date = opt->export_date ? g_strdup(opt->export_date) : common_iso8601(common_now());
	g_autofree char *reason = g_strdup_printf("retired in CRM export of %s", date);
	g_autoptr(GPtrArray) live = opt->full ? store_crm_live_ids(im->store, (StoreCrmKind)kind, error) : NULL;
	if (opt->full && !live)
		return FALSE;
	return import_header(im, error) && import_rows(im, kind, progress, user_data, error) &&
	       apply_merges(im, reason, error) &&
	       (!opt->full || retire_absent(im, kind, live->len, opt, reason, error));
}

gboolean
assoc_import_csv(Store *store, AssocImportKind kind, AssocCsv *csv, const AssocImportOptions *options,
		 AssocProgressFunc progress, gpointer user_data, AssocImportResult *result, GError **error)
{
	const AssocImportOptions upsert = { .max_retire = 100 };
	AssocImportResult r = { .touched_keys = g_ptr_array_new_with_free_func(g_free) };
	Import im = { .store = store, .csv = csv, .spec = &specs[kind], .result = &r, .kind = kind };
	im.map = options ? options->map : NULL;
	im.row = g_ptr_array_new_with_free_func(g_free);
	im.ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	im.keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	im.merges = g_array_new(FALSE, FALSE, sizeof(ImportMerge));
	gboolean ok = store_begin(store, error);
	if (ok) {
		ok = import_all(&im, kind, options ? options : &upsert, progress, user_data, error);
		if (ok)
			ok = store_commit(store, error);
		else
			store_rollback(store);
	}
	g_ptr_array_unref(im.row);
	g_hash_table_unref(im.ids);
	g_hash_table_unref(im.keys);
	merges_free(im.merges);
	if (result) {
		assoc_import_result_clear(result);
		*result = r;
		if (!ok) /* only would_retire speaks for a failed import */
			*result = (AssocImportResult){ .would_retire = r.would_retire };
	}
	if (!ok || !result)
		assoc_import_result_clear(&r);
	return ok;
}

gboolean
assoc_import(Store *store, AssocImportKind kind, const char *path, AssocProgressFunc progress, gpointer user_data,
	     AssocImportResult *result, GError **error)
{
	g_autoptr(AssocCsv) csv = assoc_csv_open(path, error);
	return csv && assoc_import_csv(store, kind, csv, NULL, progress, user_data, result, error);
}
