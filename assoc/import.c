/* `bccdrop import`: CRM users, stages, contacts and deals from CSV, upserted
 * by CRM id in one transaction. The columns and their rules are documented in
 * docs/association.md; every error names the file, the line and the field. */
#include "assoc/assoc.h"

#include <string.h>

#include "assoc/assoc-internal.h"

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

static gboolean
touch_query(Import *im, const char *sql, const char *id, GError **error)
{
	sqlite3_stmt *st = store_prepare(im->store, sql, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		touch(im, assoc_col_text(st, 0));
	return assoc_step_end(im->store, st, rc, error, "reading addresses");
}

static gboolean
exists(Import *im, const char *sql, const char *id, gboolean *out, GError **error)
{
	sqlite3_stmt *st = store_prepare(im->store, sql, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW;
	return assoc_step_end(im->store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "looking up a record");
}

static gboolean
run(Import *im, const char *sql, const char *const *values, guint n, GError **error)
{
	sqlite3_stmt *st = store_prepare(im->store, sql, error);
	if (!st)
		return FALSE;
	for (guint i = 0; i < n; i++)
		store_bind_text(st, (int)i + 1, values[i] && *values[i] ? values[i] : NULL);
	return assoc_exec_stmt(im->store, st, error, "importing");
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

static gboolean
parse_percent(Import *im, guint col, gboolean optional, char **out, GError **error)
{
	const char *v = field(im, col);
	*out = NULL;
	if (!*v && optional)
		return TRUE;
	gint64 n;
	if (!g_ascii_string_to_signed(v, 10, 0, 100, &n, NULL))
		return import_fail(im, error, im->spec->columns[col], "'%s' is not a number 0..100", v);
	*out = g_strdup_printf("%" G_GINT64_FORMAT, n);
	return TRUE;
}

static gboolean
parse_time(Import *im, guint col, gboolean optional, char **out, GError **error)
{
	const char *v = field(im, col);
	*out = NULL;
	gint64 t;
	if (!*v && optional)
		return TRUE;
	if (!common_parse_iso8601(v, &t))
		return import_fail(im, error, im->spec->columns[col],
				   "'%s' is not an ISO 8601 date or time (e.g. 2026-03-01T12:00:00Z)", v);
	*out = common_iso8601(t);
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

static gboolean
user_address(Import *im, const char *id, const char *key, const char *kind, guint col, GError **error)
{
	sqlite3_stmt *st = store_prepare(im->store, "SELECT user_id FROM user_addresses WHERE address_key = ?", error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	g_autofree char *other = rc == SQLITE_ROW ? g_strdup(assoc_col_text(st, 0)) : NULL;
	if (!assoc_step_end(im->store, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, error, "reading user addresses"))
		return FALSE;
	if (other && strcmp(other, id))
		return import_fail(im, error, im->spec->columns[col], "address %s already belongs to user %s", key,
				   other);
	if (other)
		return TRUE; /* the same address given twice for this user */
	const char *v[] = { key, id, kind };
	touch(im, key);
	return run(im, "INSERT INTO user_addresses(address_key, user_id, kind) VALUES (?, ?, ?)", v, 3, error);
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
	if (!parse_addresses(im, U_EMAIL, orig, email, error) || !parse_addresses(im, U_ALIASES, orig, aliases, error))
		return FALSE;
	if (email->len != 1)
		return import_fail(im, error, "email", "exactly one address is required");
	g_autofree char *dropbox = NULL;
	if (*field(im, U_DROPBOX) && !(dropbox = ingest_address_key(field(im, U_DROPBOX))))
		return import_fail(im, error, "dropbox", "'%s' is not an email address", field(im, U_DROPBOX));
	const char *sharing = *field(im, U_SHARING) ? field(im, U_SHARING) : "public";
	if (strcmp(sharing, "public") && strcmp(sharing, "private") && strcmp(sharing, "custom"))
		return import_fail(im, error, "sharing", "'%s' is not one of public, private, custom", sharing);
	g_autofree char *last_active = NULL;
	if (!parse_time(im, U_LAST_ACTIVE, TRUE, &last_active, error))
		return FALSE;
	gboolean taken = FALSE;
	const char *dsql = "SELECT 1 FROM users WHERE dropbox = ?1 AND id <> ?2";
	sqlite3_stmt *st = store_prepare(im->store, dsql, error);
	if (!st)
		return FALSE;
	store_bind_text(st, 1, dropbox);
	store_bind_text(st, 2, id);
	int rc = sqlite3_step(st);
	taken = rc == SQLITE_ROW;
	if (!assoc_step_end(im->store, st, taken ? SQLITE_DONE : rc, error, "reading users"))
		return FALSE;
	if (taken)
		return import_fail(im, error, "dropbox", "%s is already another user's dropbox", dropbox);
	if (!touch_query(im, "SELECT address_key FROM user_addresses WHERE user_id = ?", id, error))
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	const char *v[] = { id, email->pdata[0], field(im, U_NAME), dropbox, sharing, last_active, now };
	const char *del[] = { id };
	if (!run(im,
		 "INSERT INTO users(id, email, name, dropbox, sharing, last_active_at, updated_at) "
		 "VALUES (?1, ?2, coalesce(?3, ''), ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE SET "
		 "email = ?2, name = coalesce(?3, ''), dropbox = ?4, sharing = ?5, last_active_at = ?6, "
		 "updated_at = ?7",
		 v, G_N_ELEMENTS(v), error) ||
	    !run(im, "DELETE FROM user_addresses WHERE user_id = ?", del, 1, error) ||
	    !run(im, "DELETE FROM user_excluded_domains WHERE user_id = ?", del, 1, error) ||
	    !user_address(im, id, email->pdata[0], "email", U_EMAIL, error))
		return FALSE;
	for (guint i = 0; i < aliases->len; i++)
		if (!user_address(im, id, aliases->pdata[i], "alias", U_ALIASES, error))
			return FALSE;
	g_auto(GStrv) domains = g_strsplit(field(im, U_EXCLUDED), ";", -1);
	for (char **d = domains; *d; d++) {
		g_autofree char *dom = g_ascii_strdown(g_strstrip(*d), -1);
		const char *name = dom[0] == '@' ? dom + 1 : dom;
		if (!*name)
			continue;
		if (strchr(name, '@') || strchr(name, ' '))
			return import_fail(im, error, "excluded_domains", "'%s' is not a domain", *d);
		const char *ev[] = { id, name };
		if (!run(im, "INSERT OR IGNORE INTO user_excluded_domains(user_id, domain) VALUES (?, ?)", ev, 2,
			 error))
			return FALSE;
	}
	return TRUE;
}

/* ---- stages --------------------------------------------------------------- */

static gboolean
import_stage(Import *im, GError **error)
{
	if (!check_id(im, 0, error))
		return FALSE;
	g_autofree char *prob = NULL;
	if (!parse_percent(im, 1, FALSE, &prob, error))
		return FALSE;
	const char *v[] = { field(im, 0), prob };
	return run(im,
		   "INSERT INTO stages(name, probability) VALUES (?1, ?2) "
		   "ON CONFLICT(name) DO UPDATE SET probability = ?2",
		   v, 2, error);
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
	const char *owner = field(im, C_OWNER);
	gboolean found = TRUE;
	if (*owner && !exists(im, "SELECT 1 FROM users WHERE id = ?", owner, &found, error))
		return FALSE;
	if (!found)
		return import_fail(im, error, "owner", "unknown user id '%s' (import users first)", owner);
	g_autoptr(GPtrArray) orig = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	if (!parse_addresses(im, C_EMAILS, orig, keys, error))
		return FALSE;
	if (!touch_query(im, "SELECT address_key FROM contact_addresses WHERE contact_id = ?", id, error))
		return FALSE;
	g_autofree char *now = common_iso8601(common_now());
	const char *v[] = { id, kind, field(im, C_NAME), owner, now };
	const char *del[] = { id };
	if (!run(im,
		 "INSERT INTO contacts(id, kind, name, owner_id, updated_at) VALUES (?1, ?2, coalesce(?3, ''), ?4, ?5) "
		 "ON CONFLICT(id) DO UPDATE SET kind = ?2, name = coalesce(?3, ''), owner_id = ?4, updated_at = ?5",
		 v, G_N_ELEMENTS(v), error) ||
	    !run(im, "DELETE FROM contact_addresses WHERE contact_id = ?", del, 1, error))
		return FALSE;
	for (guint i = 0; i < keys->len; i++) {
		const char *a[] = { id, orig->pdata[i], keys->pdata[i] };
		touch(im, keys->pdata[i]);
		if (!run(im,
			 "INSERT OR IGNORE INTO contact_addresses(contact_id, address, address_key) VALUES (?, ?, ?)",
			 a, 3, error))
			return FALSE;
	}
	return TRUE;
}

/* ---- deals ---------------------------------------------------------------- */

enum { D_ID, D_NAME, D_STAGE, D_PROBABILITY, D_MODIFIED, D_CONTACTS };

static gboolean
import_deal(Import *im, GError **error)
{
	if (!check_id(im, D_ID, error))
		return FALSE;
	const char *id = field(im, D_ID), *stage = field(im, D_STAGE);
	gboolean found = TRUE;
	if (*stage && !exists(im, "SELECT 1 FROM stages WHERE name = ?", stage, &found, error))
		return FALSE;
	if (!found)
		return import_fail(im, error, "stage", "unknown stage '%s' (import stages first)", stage);
	g_autofree char *prob = NULL, *modified = NULL;
	if (!parse_percent(im, D_PROBABILITY, TRUE, &prob, error) || !parse_time(im, D_MODIFIED, FALSE, &modified, error))
		return FALSE;
	if (!*stage && !prob)
		return import_fail(im, error, "probability", "is empty and the deal has no stage to take it from");
	g_auto(GStrv) contacts = g_strsplit(field(im, D_CONTACTS), ";", -1);
	for (char **c = contacts; *c; c++) {
		g_strstrip(*c);
		if (**c && !exists(im, "SELECT 1 FROM contacts WHERE id = ?", *c, &found, error))
			return FALSE;
		if (**c && !found)
			return import_fail(im, error, "contacts", "unknown contact id '%s' (import contacts first)", *c);
	}
	const char *v[] = { id, field(im, D_NAME), stage, prob, modified };
	const char *del[] = { id };
	if (!run(im,
		 "INSERT INTO deals(id, name, stage, probability, modified_at) VALUES (?1, coalesce(?2, ''), ?3, ?4, ?5) "
		 "ON CONFLICT(id) DO UPDATE SET name = coalesce(?2, ''), stage = ?3, probability = ?4, "
		 "modified_at = ?5",
		 v, G_N_ELEMENTS(v), error) ||
	    !run(im, "DELETE FROM deal_contacts WHERE deal_id = ?", del, 1, error))
		return FALSE;
	for (char **c = contacts; *c; c++) {
		const char *dc[] = { id, *c };
		if (**c && !run(im, "INSERT OR IGNORE INTO deal_contacts(deal_id, contact_id) VALUES (?, ?)", dc, 2,
				error))
			return FALSE;
	}
	return TRUE;
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
