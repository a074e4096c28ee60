/* CRM export mappings: read a CRM's own export file (Zoho, HubSpot,
 * Salesforce, Pipedrive, ...) through a small GKeyFile mapping and write the
 * CSV that assoc_import reads. The format and every key are documented in
 * docs/crm-import.md; the shipped mappings live in contrib/crm/. */
#include "assoc/assoc.h"

#include <string.h>

#ifndef BCCDROP_DATADIR
#define BCCDROP_DATADIR "/usr/local/share/bccdrop"
#endif
#define CRMMAP_SUFFIX ".map"
#define CRMMAP_MAX_FIELDS 10

typedef enum {
	FIELD_TEXT,    /* copied; several columns are joined with a space */
	FIELD_LIST,    /* split on list_separator, written ';'-separated */
	FIELD_DATE,    /* read with date_format in time_zone, written as UTC */
	FIELD_PERCENT, /* read with probability_format, written as 0..100 */
} FieldType;

typedef struct {
	const char *name;
	FieldType type;
	gboolean required;
} FieldSpec;

/* Fields whose importer column is optional (added after the first release):
 * written only when the mapping maps them. */
static const char *const optional_columns[] = { "deactivated", "merged_into", NULL };

/* The fields of each section, in the column order assoc_import documents. */
static const FieldSpec users_fields[] = {
	{ "id", FIELD_TEXT, TRUE },	  { "email", FIELD_TEXT, TRUE },
	{ "name", FIELD_TEXT, FALSE },	  { "dropbox", FIELD_TEXT, FALSE },
	{ "aliases", FIELD_LIST, FALSE }, { "sharing", FIELD_TEXT, FALSE },
	{ "excluded_domains", FIELD_LIST, FALSE }, { "last_active_at", FIELD_DATE, FALSE },
	{ "deactivated", FIELD_TEXT, FALSE }, { NULL, 0, 0 },
};
static const FieldSpec stages_fields[] = {
	{ "name", FIELD_TEXT, TRUE },
	{ "probability", FIELD_PERCENT, TRUE },
	{ NULL, 0, 0 },
};
static const FieldSpec contacts_fields[] = {
	{ "id", FIELD_TEXT, TRUE },	{ "kind", FIELD_TEXT, FALSE },	{ "name", FIELD_TEXT, FALSE },
	{ "emails", FIELD_LIST, FALSE }, { "owner", FIELD_TEXT, FALSE }, { "merged_into", FIELD_TEXT, FALSE },
	{ NULL, 0, 0 },
};
static const FieldSpec deals_fields[] = {
	{ "id", FIELD_TEXT, TRUE },	       { "name", FIELD_TEXT, FALSE },
	{ "stage", FIELD_TEXT, FALSE },	       { "probability", FIELD_PERCENT, FALSE },
	{ "modified_at", FIELD_DATE, TRUE },   { "contacts", FIELD_LIST, FALSE },
	{ NULL, 0, 0 },
};
static const FieldSpec links_fields[] = {
	{ "deal", FIELD_TEXT, TRUE },
	{ "contact", FIELD_TEXT, TRUE },
	{ NULL, 0, 0 },
};

enum { SECTION_LINKS = ASSOC_IMPORT_DEALS + 1, N_SECTIONS };

static const struct {
	const char *name;
	const FieldSpec *fields;
} sections[N_SECTIONS] = {
	[ASSOC_IMPORT_USERS] = { "users", users_fields },
	[ASSOC_IMPORT_STAGES] = { "stages", stages_fields },
	[ASSOC_IMPORT_CONTACTS] = { "contacts", contacts_fields },
	[ASSOC_IMPORT_DEALS] = { "deals", deals_fields },
	[SECTION_LINKS] = { "deal_contacts", links_fields },
};

typedef enum { PROB_PERCENT, PROB_FRACTION, PROB_AUTO } ProbFormat;

typedef struct {
	gboolean present;
	char **columns[CRMMAP_MAX_FIELDS]; /* export columns of each field, or NULL */
	char *fixed[CRMMAP_MAX_FIELDS];	   /* FIELD_value: the same value on every row */
	char *date_format;		   /* "iso8601" or a %-pattern */
	GTimeZone *tz;
	ProbFormat prob;
	char *separator;
} Section;

struct AssocCrmMap {
	char *file; /* basename, for messages */
	int first;  /* the first section in the file */
	Section s[N_SECTIONS];
};

/* ---- loading ---------------------------------------------------------------- */

static gboolean G_GNUC_PRINTF(3, 4)
map_fail(const AssocCrmMap *map, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s: %s", map->file, what);
	return FALSE;
}

static const char *
crmmap_dir(void)
{
	const char *env = g_getenv("BCCDROP_DATADIR");
	return env && *env ? env : BCCDROP_DATADIR;
}

static gint
crmmap_name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
assoc_crmmap_shipped(void)
{
	g_autofree char *dir = g_build_filename(crmmap_dir(), "contrib", "crm", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	const char *f;
	while (d && (f = g_dir_read_name(d)))
		if (g_str_has_suffix(f, CRMMAP_SUFFIX))
			g_ptr_array_add(names, g_strndup(f, strlen(f) - strlen(CRMMAP_SUFFIX)));
	g_ptr_array_sort(names, crmmap_name_cmp);
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

/* A path as given, or the shipped file that NAME stands for. */
static char *
crmmap_resolve(const char *name, GError **error)
{
	if (strchr(name, '/') || g_str_has_suffix(name, CRMMAP_SUFFIX))
		return g_strdup(name);
	g_autofree char *file = g_strconcat(name, CRMMAP_SUFFIX, NULL);
	char *path = g_build_filename(crmmap_dir(), "contrib", "crm", file, NULL);
	if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return path;
	g_free(path);
	g_auto(GStrv) shipped = assoc_crmmap_shipped();
	g_autofree char *list = g_strjoinv(", ", shipped);
	g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT,
		    "unknown mapping '%s' (shipped in %s/contrib/crm: %s; or give a path to a .map file)", name,
		    crmmap_dir(), *list ? list : "none");
	return NULL;
}

static int
field_index(const FieldSpec *fields, const char *name)
{
	for (int i = 0; fields[i].name; i++)
		if (!strcmp(fields[i].name, name))
			return i;
	return -1;
}

static gboolean
date_format_valid(const char *fmt)
{
	if (!strcmp(fmt, "iso8601"))
		return TRUE;
	if (!strstr(fmt, "%Y") || !strstr(fmt, "%m") || !strstr(fmt, "%d"))
		return FALSE;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (!*++p || !strchr("YmdHIMSp%", *p))
			return FALSE;
	}
	return !strstr(fmt, "%I") == !strstr(fmt, "%p");
}

/* Each option key's reader: FALSE with a message (the value is named by
 * the caller) when VALUE is not acceptable. */
typedef gboolean (*OptionFunc)(Section *sec, const char *value, const char **why);

static gboolean
option_date_format(Section *sec, const char *value, const char **why)
{
	*why = "is neither iso8601 nor a pattern of %Y %m %d %H %M %S (%I with %p for AM/PM)";
	if (!date_format_valid(value))
		return FALSE;
	g_free(sec->date_format);
	sec->date_format = g_strdup(value);
	return TRUE;
}

static gboolean
option_time_zone(Section *sec, const char *value, const char **why)
{
	*why = "is not a known time zone (e.g. UTC, Europe/Berlin, America/New_York)";
	GTimeZone *tz = g_time_zone_new_identifier(value);
	if (!tz)
		return FALSE;
	g_time_zone_unref(sec->tz);
	sec->tz = tz;
	return TRUE;
}

static const char *const prob_names[] = { "percent", "fraction", "auto" };
static const char *const prob_reads[] = { "0..100 or 0%..100%", "0..1", "60, 60% or 0.6" };

static gboolean
option_probability_format(Section *sec, const char *value, const char **why)
{
	*why = "is not percent, fraction or auto";
	for (guint i = 0; i < G_N_ELEMENTS(prob_names); i++) {
		if (!strcmp(prob_names[i], value)) {
			sec->prob = (ProbFormat)i;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
option_list_separator(Section *sec, const char *value, const char **why)
{
	*why = "is empty";
	if (!*value)
		return FALSE;
	g_free(sec->separator);
	sec->separator = g_strdup(value);
	return TRUE;
}

static const struct {
	const char *key;
	OptionFunc read;
} options[] = {
	{ "date_format", option_date_format },
	{ "time_zone", option_time_zone },
	{ "probability_format", option_probability_format },
	{ "list_separator", option_list_separator },
};

static gboolean
load_option(AssocCrmMap *map, Section *sec, const char *group, const char *key, const char *value, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(options); i++) {
		const char *why = NULL;
		if (strcmp(options[i].key, key))
			continue;
		if (!options[i].read(sec, value, &why))
			return map_fail(map, error, "[%s] %s '%s' %s", group, key, value, why);
		return TRUE;
	}
	return map_fail(map, error, "[%s] unknown key '%s' (see docs/crm-import.md)", group, key);
}

/* FIELD = Column[;Column...] */
static gboolean
load_columns(AssocCrmMap *map, GKeyFile *kf, int kind, int f, GError **error)
{
	const char *group = sections[kind].name, *key = sections[kind].fields[f].name;
	g_autoptr(GError) e = NULL;
	char **cols = g_key_file_get_string_list(kf, group, key, NULL, &e);
	map->s[kind].columns[f] = cols;
	if (!cols)
		return map_fail(map, error, "[%s] %s: %s", group, key, e->message);
	for (char **c = cols; *c; c++)
		g_strstrip(*c);
	if (!cols[0] || !*cols[0])
		return map_fail(map, error, "[%s] %s names no column", group, key);
	if (sections[kind].fields[f].type >= FIELD_DATE && cols[1])
		return map_fail(map, error, "[%s] %s takes exactly one column", group, key);
	return TRUE;
}

/* FIELD_value = text, for a text field: the index of FIELD, else -1. */
static int
fixed_field(const FieldSpec *fields, const char *key)
{
	if (!g_str_has_suffix(key, "_value"))
		return -1;
	g_autofree char *base = g_strndup(key, strlen(key) - strlen("_value"));
	int f = field_index(fields, base);
	return f >= 0 && fields[f].type == FIELD_TEXT ? f : -1;
}

static gboolean
load_key(AssocCrmMap *map, GKeyFile *kf, int kind, const char *key, GError **error)
{
	const char *group = sections[kind].name;
	int f = field_index(sections[kind].fields, key);
	if (f >= 0)
		return load_columns(map, kf, kind, f, error);
	g_autoptr(GError) e = NULL;
	g_autofree char *value = g_key_file_get_string(kf, group, key, &e);
	if (!value)
		return map_fail(map, error, "[%s] %s: %s", group, key, e->message);
	g_strstrip(value);
	if ((f = fixed_field(sections[kind].fields, key)) >= 0) {
		map->s[kind].fixed[f] = g_steal_pointer(&value);
		return TRUE;
	}
	return load_option(map, &map->s[kind], group, key, value, error);
}

static gboolean
load_section(AssocCrmMap *map, GKeyFile *kf, int kind, GError **error)
{
	Section *sec = &map->s[kind];
	const FieldSpec *fields = sections[kind].fields;
	sec->present = TRUE;
	sec->date_format = g_strdup("iso8601");
	sec->tz = g_time_zone_new_utc();
	sec->separator = g_strdup(";");
	g_auto(GStrv) keys = g_key_file_get_keys(kf, sections[kind].name, NULL, NULL);
	for (char **k = keys; k && *k; k++)
		if (!load_key(map, kf, kind, *k, error))
			return FALSE;
	for (int f = 0; fields[f].name; f++) {
		if (sec->columns[f] && sec->fixed[f])
			return map_fail(map, error, "[%s] both %s and %s_value are set", sections[kind].name,
					fields[f].name, fields[f].name);
		if (fields[f].required && !sec->columns[f] && !sec->fixed[f])
			return map_fail(map, error, "[%s] must name the export column for '%s'", sections[kind].name,
					fields[f].name);
	}
	return TRUE;
}

static gboolean
load_groups(AssocCrmMap *map, GKeyFile *kf, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	map->first = -1;
	for (char **g = groups; *g; g++) {
		int kind = 0;
		while (kind < N_SECTIONS && strcmp(sections[kind].name, *g))
			kind++;
		if (kind == N_SECTIONS)
			return map_fail(map, error, "unknown section [%s] (users, stages, contacts, deals, deal_contacts)",
					*g);
		if (map->first < 0)
			map->first = kind;
		if (!load_section(map, kf, kind, error))
			return FALSE;
	}
	if (map->first < 0)
		return map_fail(map, error, "no section: a mapping needs one of [users], [stages], [contacts], "
					    "[deals], [deal_contacts]");
	return TRUE;
}

AssocCrmMap *
assoc_crmmap_load(const char *name, GError **error)
{
	g_autofree char *path = crmmap_resolve(name, error);
	if (!path)
		return NULL;
	g_autoptr(AssocCrmMap) map = g_new0(AssocCrmMap, 1);
	map->file = g_path_get_basename(path);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) e = NULL;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
		map_fail(map, error, "%s", e->message);
		return NULL;
	}
	if (!load_groups(map, kf, error))
		return NULL;
	return g_steal_pointer(&map);
}

void
assoc_crmmap_free(AssocCrmMap *map)
{
	if (!map)
		return;
	for (int k = 0; k < N_SECTIONS; k++) {
		Section *sec = &map->s[k];
		for (int f = 0; f < CRMMAP_MAX_FIELDS; f++) {
			g_strfreev(sec->columns[f]);
			g_free(sec->fixed[f]);
		}
		g_free(sec->date_format);
		g_free(sec->separator);
		if (sec->tz)
			g_time_zone_unref(sec->tz);
	}
	g_free(map->file);
	g_free(map);
}

gboolean
assoc_crmmap_kind(const AssocCrmMap *map, AssocImportKind *out)
{
	for (int k = map->first; k <= ASSOC_IMPORT_DEALS; k++) {
		if (map->s[k].present) {
			*out = (AssocImportKind)k;
			return TRUE;
		}
	}
	return FALSE;
}

/* ---- reading values --------------------------------------------------------- */

typedef struct Translate Translate;
/* Receives the translated values of one record (one per field, in order). */
typedef gboolean (*RowSink)(Translate *t, char **values, GError **error);

struct Translate {
	const AssocCrmMap *map;
	int kind;
	const Section *sec;
	const FieldSpec *fields;
	AssocCsv *csv;
	GPtrArray *row;
	guint ncols;
	int *idx[CRMMAP_MAX_FIELDS]; /* row index of each mapped column */
	GHashTable *ids;	     /* ids seen: a duplicate is an error */
	RowSink sink;
	GString *out;	   /* CSV sinks */
	GHashTable *links; /* deal id -> GString of ';'-joined contact ids */
};

static gboolean G_GNUC_PRINTF(5, 6)
value_fail(Translate *t, GError **error, const char *column, const char *value, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: column '%s': '%s' %s", assoc_csv_name(t->csv),
		    assoc_csv_line(t->csv), column, value, what);
	return FALSE;
}

static const char *
cell(Translate *t, int f, guint i)
{
	return g_strstrip((char *)t->row->pdata[t->idx[f][i]]);
}

/* Digits with at most one decimal point: no sign, exponent or hex. */
static gboolean
decimal_valid(const char *s)
{
	gboolean digit = FALSE, point = FALSE;
	for (; *s; s++) {
		if (g_ascii_isdigit(*s))
			digit = TRUE;
		else if (*s == '.' && !point)
			point = TRUE;
		else
			return FALSE;
	}
	return digit;
}

static gboolean
percent_value(Translate *t, int f, char **out, GError **error)
{
	const char *col = t->sec->columns[f][0], *v = cell(t, f, 0);
	ProbFormat pf = t->sec->prob;
	if (!*v)
		return (*out = g_strdup("")) != NULL;
	g_autofree char *num = g_strdup(v);
	gboolean sign = g_str_has_suffix(num, "%");
	if (sign)
		num[strlen(num) - 1] = '\0'; /* cells come stripped */
	g_strstrip(num);
	if (!decimal_valid(num) || (sign && pf == PROB_FRACTION))
		return value_fail(t, error, col, v, "is not a probability (probability_format = %s reads %s)",
				  prob_names[pf], prob_reads[pf]);
	double x = g_ascii_strtod(num, NULL);
	gboolean fraction = pf == PROB_FRACTION || (pf == PROB_AUTO && !sign && strchr(num, '.') && x <= 1.0);
	if (fraction && x > 1.0)
		return value_fail(t, error, col, v, "is over 1 (probability_format = fraction reads 0..1)");
	double pct = fraction ? x * 100.0 : x;
	if (pct > 100.0)
		return value_fail(t, error, col, v, "is over 100 (a probability is 0..100 %%)");
	*out = g_strdup_printf("%d", (int)(pct + 0.5 + 1e-9));
	return TRUE;
}

/* Up to MAX digits (at least MIN) at *S. */
static gboolean
pattern_number(const char **s, int min, int max, int *out)
{
	int n = 0, digits = 0;
	while (digits < max && g_ascii_isdigit(**s)) {
		n = n * 10 + (*(*s)++ - '0');
		digits++;
	}
	*out = n;
	return digits >= min;
}

static gboolean
pattern_ampm(const char **s, int *pm)
{
	if (g_ascii_strncasecmp(*s, "AM", 2) && g_ascii_strncasecmp(*s, "PM", 2))
		return FALSE;
	*pm = g_ascii_toupper(**s) == 'P';
	*s += 2;
	return TRUE;
}

/* V read with the %-pattern FMT (validated at load) as a time in TZ. */
static GDateTime *
date_by_pattern(const char *fmt, const char *v, GTimeZone *tz)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, pm = -1;
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			if (*v != *f)
				return NULL;
			v++;
			continue;
		}
		f++;
		gboolean ok = *f == 'Y'	  ? pattern_number(&v, 4, 4, &y)
			      : *f == 'm' ? pattern_number(&v, 1, 2, &mo)
			      : *f == 'd' ? pattern_number(&v, 1, 2, &d)
			      : *f == 'M' ? pattern_number(&v, 2, 2, &mi)
			      : *f == 'S' ? pattern_number(&v, 2, 2, &sec)
			      : *f == 'p' ? pattern_ampm(&v, &pm)
			      : *f == '%' ? *v++ == '%'
					  : pattern_number(&v, 1, 2, &h); /* H or I */
		if (!ok)
			return NULL;
	}
	if (*v || (pm >= 0 && (h < 1 || h > 12)))
		return NULL;
	if (pm >= 0)
		h = h % 12 + (pm ? 12 : 0);
	return g_date_time_new(tz, y, mo, d, h, mi, sec);
}

static gboolean
date_value(Translate *t, int f, char **out, GError **error)
{
	const char *v = cell(t, f, 0), *fmt = t->sec->date_format;
	if (!*v)
		return (*out = g_strdup("")) != NULL;
	g_autoptr(GDateTime) dt = !strcmp(fmt, "iso8601") ? g_date_time_new_from_iso8601(v, t->sec->tz)
							   : date_by_pattern(fmt, v, t->sec->tz);
	if (!dt && !strcmp(fmt, "iso8601"))
		return value_fail(t, error, t->sec->columns[f][0], v,
				  "is not an ISO 8601 date and time (date_format = iso8601, e.g. 2026-03-01T12:00:00+01:00)");
	if (!dt)
		return value_fail(t, error, t->sec->columns[f][0], v, "is not a date as date_format = %s", fmt);
	*out = common_iso8601(g_date_time_to_unix(dt));
	return TRUE;
}

static gboolean
list_value(Translate *t, int f, char **out, GError **error)
{
	g_autoptr(GString) acc = g_string_new(NULL);
	const char *sep = t->sec->separator;
	for (guint i = 0; t->sec->columns[f][i]; i++) {
		g_auto(GStrv) items = g_strsplit(cell(t, f, i), sep, -1);
		for (char **it = items; *it; it++) {
			if (!*g_strstrip(*it))
				continue;
			if (strcmp(sep, ";") && strchr(*it, ';'))
				return value_fail(t, error, t->sec->columns[f][i], *it,
						  "contains ';', which separates list items in bccdrop's import files");
			g_string_append_printf(acc, "%s%s", acc->len ? ";" : "", *it);
		}
	}
	*out = g_string_free(g_steal_pointer(&acc), FALSE);
	return TRUE;
}

static char *
text_value(Translate *t, int f)
{
	g_autoptr(GString) acc = g_string_new(NULL);
	for (guint i = 0; t->sec->columns[f][i]; i++) {
		const char *v = cell(t, f, i);
		if (*v)
			g_string_append_printf(acc, "%s%s", acc->len ? " " : "", v);
	}
	return g_string_free(g_steal_pointer(&acc), FALSE);
}

static gboolean
field_value(Translate *t, int f, char **out, GError **error)
{
	if (t->sec->fixed[f])
		return (*out = g_strdup(t->sec->fixed[f])) != NULL;
	if (!t->sec->columns[f])
		return (*out = g_strdup("")) != NULL;
	switch (t->fields[f].type) {
	case FIELD_LIST:
		return list_value(t, f, out, error);
	case FIELD_DATE:
		return date_value(t, f, out, error);
	case FIELD_PERCENT:
		return percent_value(t, f, out, error);
	default:
		*out = text_value(t, f);
		return TRUE;
	}
}

/* ---- translating a file ------------------------------------------------------ */

static gboolean
bind_columns(Translate *t, GError **error)
{
	g_autoptr(GHashTable) at = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < t->row->len; i++) {
		char *name = g_strstrip((char *)t->row->pdata[i]);
		if (!g_hash_table_contains(at, name))
			g_hash_table_insert(at, name, GUINT_TO_POINTER(i + 1));
	}
	for (int f = 0; t->fields[f].name; f++) {
		guint n = t->sec->columns[f] ? g_strv_length(t->sec->columns[f]) : 0;
		t->idx[f] = g_new0(int, n + 1);
		for (guint i = 0; i < n; i++) {
			guint at1 = GPOINTER_TO_UINT(g_hash_table_lookup(at, t->sec->columns[f][i]));
			if (!at1) {
				g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT,
					    "%s:%u: column '%s' is not in the header (%s maps [%s] %s%s to it)",
					    assoc_csv_name(t->csv), assoc_csv_line(t->csv), t->sec->columns[f][i],
					    t->map->file, sections[t->kind].name, t->fields[f].name,
					    t->fields[f].required ? ", a required field," : "");
				return FALSE;
			}
			t->idx[f][i] = (int)at1 - 1;
		}
	}
	return TRUE;
}

static gboolean
read_header(Translate *t, GError **error)
{
	g_autoptr(GError) e = NULL;
	if (assoc_csv_next(t->csv, t->row, &e)) {
		t->ncols = t->row->len;
		return bind_columns(t, error);
	}
	if (e)
		g_propagate_error(error, g_steal_pointer(&e));
	else
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s: empty file: the export's header row is missing",
			    assoc_csv_name(t->csv));
	return FALSE;
}

/* Required values present; the record's id not seen before in this file. */
static gboolean
check_record(Translate *t, char **values, GError **error)
{
	for (int f = 0; t->fields[f].name; f++)
		if (t->fields[f].required && !*values[f])
			return value_fail(t, error, t->sec->columns[f][0], "", "is empty (every row needs its %s)",
					  t->fields[f].name);
	if (t->kind == SECTION_LINKS)
		return TRUE;
	if (!g_hash_table_add(t->ids, g_strdup(values[0])))
		return value_fail(t, error, t->sec->columns[0] ? t->sec->columns[0][0] : t->fields[0].name, values[0],
				  "is a duplicate %s (already on an earlier line)", t->fields[0].name);
	return TRUE;
}

static gboolean
translate_row(Translate *t, GError **error)
{
	if (t->row->len != t->ncols) {
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s:%u: %u fields where the header has %u",
			    assoc_csv_name(t->csv), assoc_csv_line(t->csv), t->row->len, t->ncols);
		return FALSE;
	}
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	for (int f = 0; t->fields[f].name; f++) {
		char *v = NULL;
		if (!field_value(t, f, &v, error))
			return FALSE;
		g_ptr_array_add(values, v);
	}
	return check_record(t, (char **)values->pdata, error) && t->sink(t, (char **)values->pdata, error);
}

static gboolean
translate_file(Translate *t, const char *path, GError **error)
{
	g_autoptr(GError) e = NULL;
	t->csv = assoc_csv_open(path, error);
	if (!t->csv)
		return FALSE;
	t->row = g_ptr_array_new_with_free_func(g_free);
	t->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gboolean ok = read_header(t, error);
	while (ok && assoc_csv_next(t->csv, t->row, &e))
		ok = translate_row(t, error);
	if (ok && e) {
		g_propagate_error(error, g_steal_pointer(&e));
		ok = FALSE;
	}
	for (int f = 0; f < CRMMAP_MAX_FIELDS; f++)
		g_free(t->idx[f]);
	g_ptr_array_unref(t->row);
	g_hash_table_unref(t->ids);
	assoc_csv_free(t->csv);
	return ok;
}

/* An optional column the mapping leaves out is left out of the CSV too. */
static gboolean
field_written(const Section *sec, const FieldSpec *fields, int f)
{
	return !g_strv_contains(optional_columns, fields[f].name) || sec->columns[f] || sec->fixed[f];
}

static gboolean
sink_csv(Translate *t, char **values, GError **error)
{
	for (int f = 0; t->fields[f].name; f++) {
		if (!field_written(t->sec, t->fields, f))
			continue;
		if (f)
			g_string_append_c(t->out, ',');
		assoc_csv_append_field(t->out, values[f]);
	}
	g_string_append_c(t->out, '\n');
	return TRUE;
}

static gboolean
sink_link(Translate *t, char **values, GError **error)
{
	GString *contacts = g_hash_table_lookup(t->links, values[0]);
	if (!contacts) {
		contacts = g_string_new(NULL);
		g_hash_table_insert(t->links, g_strdup(values[0]), contacts);
	}
	g_string_append_printf(contacts, "%s%s", contacts->len ? ";" : "", values[1]);
	return TRUE;
}

enum { DEAL_CONTACTS = 5 }; /* deals_fields[] index of "contacts" */

static gboolean
sink_deal_with_links(Translate *t, char **values, GError **error)
{
	GString *linked = g_hash_table_lookup(t->links, values[0]);
	if (linked) {
		char *merged = g_strconcat(values[DEAL_CONTACTS], *values[DEAL_CONTACTS] ? ";" : "", linked->str, NULL);
		g_free(values[DEAL_CONTACTS]);
		values[DEAL_CONTACTS] = merged; /* the row's array frees it */
	}
	return sink_csv(t, values, error);
}

static void
links_free(gpointer contacts)
{
	g_string_free(contacts, TRUE);
}

static gboolean
translate_section(const AssocCrmMap *map, int kind, const char *path, Translate *t, GError **error)
{
	if (!map->s[kind].present) {
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_IMPORT, "%s: no [%s] section: this mapping is not for %s files",
			    map->file, sections[kind].name, sections[kind].name);
		return FALSE;
	}
	t->map = map;
	t->kind = kind;
	t->sec = &map->s[kind];
	t->fields = sections[kind].fields;
	return translate_file(t, path, error);
}

static void
append_header(GString *out, const AssocCrmMap *map, int kind)
{
	for (int f = 0; sections[kind].fields[f].name; f++)
		if (field_written(&map->s[kind], sections[kind].fields, f))
			g_string_append_printf(out, "%s%s", f ? "," : "", sections[kind].fields[f].name);
	g_string_append_c(out, '\n');
}

const char *
assoc_crmmap_column(const AssocCrmMap *map, AssocImportKind kind, const char *field)
{
	int f = field_index(sections[kind].fields, field);
	return f >= 0 && map->s[kind].columns[f] ? map->s[kind].columns[f][0] : NULL;
}

gboolean
assoc_crmmap_translate(const AssocCrmMap *map, AssocImportKind kind, const char *path, GString *out,
		       GError **error)
{
	Translate t = { .sink = sink_csv, .out = out };
	g_string_truncate(out, 0);
	append_header(out, map, kind);
	return translate_section(map, kind, path, &t, error);
}

gboolean
assoc_crmmap_translate_links(const AssocCrmMap *map, const char *path, const AssocCrmMap *links_map,
			     const char *links_path, GString *out, GError **error)
{
	g_autoptr(GHashTable) links =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, links_free);
	Translate lt = { .sink = sink_link, .links = links };
	if (!translate_section(links_map, SECTION_LINKS, links_path, &lt, error))
		return FALSE;
	Translate t = { .sink = sink_deal_with_links, .out = out, .links = links };
	g_string_truncate(out, 0);
	append_header(out, map, ASSOC_IMPORT_DEALS);
	return translate_section(map, ASSOC_IMPORT_DEALS, path, &t, error);
}
