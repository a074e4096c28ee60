/* `bccdrop import`: CRM users, stages, contacts and deals from CSV, upserted
 * by CRM id in one transaction. The columns and their rules are documented in
 * docs/association.md; every error names the file, the line and the field. */
#include "assoc/assoc.h"

#include <string.h>

#define IMPORT_PROGRESS_EVERY 1000

typedef struct {
	const char *name;
	const char *const *columns;
} ImportSpec;

static const char *const users_cols[] = { "id", "email", "name", "dropbox", "aliases", "sharing", "excluded_domains",
					  "last_active_at", NULL };
static const char *const stages_cols[] = { "name", "probability", NULL };
static const char *const contacts_cols[] = { "id", "kind", "name", "emails", "owner", NULL };
static const char *const deals_cols[] = { "id", "name", "stage", "probability", "modified_at", "contacts", NULL };

static const ImportSpec specs[] = {
	[ASSOC_IMPORT_USERS] = { "users", users_cols },
	[ASSOC_IMPORT_STAGES] = { "stages", stages_cols },
	[ASSOC_IMPORT_CONTACTS] = { "contacts", contacts_cols },
	[ASSOC_IMPORT_DEALS] = { "deals", deals_cols },
};

typedef struct {
	Store *store;
	AssocCsv *csv;
	const ImportSpec *spec;
	int index[16];	  /* column number of each spec column */
	GPtrArray *row;	  /* char* fields of the current record */
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
	if (field)
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: field '%s': %s", assoc_csv_name(im->csv),
			    assoc_csv_line(im->csv), field, what);
	else
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: %s", assoc_csv_name(im->csv),
			    assoc_csv_line(im->csv), what);
	return FALSE;
}

/* The current row's value of spec column COL, stripped. */
static const char *
field(Import *im, guint col)
{
	return g_strstrip((char *)im->row->pdata[im->index[col]]);
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
	for (guint k = 0; k < n; k++)
		if (im->index[k] < 0)
			return import_fail(im, error, NULL, "missing column '%s' (the header row must name: %s)",
					   im->spec->columns[k], cols);
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

enum { U_ID, U_EMAIL, U_NAME, U_DROPBOX, U_ALIASES, U_SHARING, U_EXCLUDED, U_LAST_ACTIVE };

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
	if (!parse_sharing(im, &u.sharing, error) || !parse_time(im, U_LAST_ACTIVE, TRUE, &u.last_active_at, error) ||
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

enum { C_ID, C_KIND, C_NAME, C_EMAILS, C_OWNER };

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
	if (!parse_addresses(im, C_EMAILS, orig, keys, error) || !touch_stored(im, STORE_CRM_CONTACT, id, error))
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
import_rows(Import *im, AssocImportKind kind, AssocProgressFunc progress, gpointer user_data, GError **error)
{
	g_autoptr(GError) e = NULL;
	guint ncols = g_strv_length((char **)im->spec->columns);
	while (assoc_csv_next(im->csv, im->row, &e)) {
		if (im->row->len != ncols)
			return import_fail(im, error, NULL, "%u fields where the header has %u", im->row->len, ncols);
		gboolean ok = kind == ASSOC_IMPORT_USERS    ? import_user(im, error)
			      : kind == ASSOC_IMPORT_STAGES ? import_stage(im, error)
			      : kind == ASSOC_IMPORT_CONTACTS ? import_contact(im, error)
							      : import_deal(im, error);
		if (!ok)
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

gboolean
assoc_import(Store *store, AssocImportKind kind, const char *path, AssocProgressFunc progress, gpointer user_data,
	     AssocImportResult *result, GError **error)
{
	g_autoptr(AssocCsv) csv = assoc_csv_open(path, error);
	if (!csv)
		return FALSE;
	AssocImportResult r = { 0, g_ptr_array_new_with_free_func(g_free) };
	Import im = { .store = store, .csv = csv, .spec = &specs[kind], .result = &r };
	im.row = g_ptr_array_new_with_free_func(g_free);
	im.ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	im.keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gboolean ok = store_begin(store, error);
	if (ok) {
		ok = import_header(&im, error) && import_rows(&im, kind, progress, user_data, error);
		if (ok)
			ok = store_commit(store, error);
		else
			store_rollback(store);
	}
	g_ptr_array_unref(im.row);
	g_hash_table_unref(im.ids);
	g_hash_table_unref(im.keys);
	if (ok && result) {
		assoc_import_result_clear(result);
		*result = r;
	} else {
		assoc_import_result_clear(&r);
	}
	return ok;
}
