/* A small RFC 4180 reader for the CRM import files. The whole file is mapped,
 * not read, so a million-row export costs no more memory than the page cache. */
#include "assoc/assoc.h"

#include <string.h>

G_DEFINE_QUARK(bccdrop-assoc-error-quark, assoc_error)

struct AssocCsv {
	char *name;
	GMappedFile *map; /* when opened from a file */
	char *copy;	  /* when built from memory */
	const char *data;
	gsize len;
	gsize pos;
	guint line;	   /* line of the next character */
	guint record_line; /* line where the last record started */
};

static AssocCsv *
csv_new(const char *name, const char *data, gsize len)
{
	AssocCsv *csv = g_new0(AssocCsv, 1);
	csv->name = g_strdup(name);
	csv->data = data;
	csv->len = len;
	csv->line = 1;
	/* Spreadsheets save UTF-8 with a byte order mark. */
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
		csv->pos = 3;
	return csv;
}

AssocCsv *
assoc_csv_new(const char *name, const char *data, gsize len)
{
	char *copy = g_memdup2(data ? data : "", len);
	AssocCsv *csv = csv_new(name, copy, len);
	csv->copy = copy;
	return csv;
}

AssocCsv *
assoc_csv_open(const char *path, GError **error)
{
	g_autoptr(GError) e = NULL;
	GMappedFile *map = g_mapped_file_new(path, FALSE, &e);
	if (!map) {
		g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_CSV, "%s", e->message);
		return NULL;
	}
	g_autofree char *base = g_path_get_basename(path);
	AssocCsv *csv = csv_new(base, g_mapped_file_get_contents(map), g_mapped_file_get_length(map));
	csv->map = map;
	return csv;
}

void
assoc_csv_free(AssocCsv *csv)
{
	if (!csv)
		return;
	if (csv->map)
		g_mapped_file_unref(csv->map);
	g_free(csv->copy);
	g_free(csv->name);
	g_free(csv);
}

guint
assoc_csv_line(const AssocCsv *csv)
{
	return csv->record_line;
}

const char *
assoc_csv_name(const AssocCsv *csv)
{
	return csv->name;
}

static gboolean
csv_fail(AssocCsv *csv, GError **error, const char *what)
{
	g_set_error(error, ASSOC_ERROR, ASSOC_ERROR_CSV, "%s:%u: %s", csv->name, csv->line, what);
	return FALSE;
}

/* An end of line at the current position: its length (1 or 2), else 0. */
static gsize
csv_eol(const AssocCsv *csv)
{
	if (csv->pos >= csv->len)
		return 0;
	if (csv->data[csv->pos] == '\n')
		return 1;
	if (csv->data[csv->pos] == '\r')
		return csv->pos + 1 < csv->len && csv->data[csv->pos + 1] == '\n' ? 2 : 1;
	return 0;
}

static gboolean
csv_quoted(AssocCsv *csv, GString *field, GError **error)
{
	guint start_line = csv->line;
	csv->pos++; /* opening quote */
	for (;;) {
		if (csv->pos >= csv->len) {
			g_autofree char *what =
				g_strdup_printf("quoted field opened on line %u is never closed", start_line);
			return csv_fail(csv, error, what);
		}
		char c = csv->data[csv->pos];
		if (c == '"') {
			if (csv->pos + 1 < csv->len && csv->data[csv->pos + 1] == '"') {
				g_string_append_c(field, '"');
				csv->pos += 2;
				continue;
			}
			csv->pos++;
			break;
		}
		if (c == '\n')
			csv->line++;
		g_string_append_c(field, c);
		csv->pos++;
	}
	if (csv->pos < csv->len && csv->data[csv->pos] != ',' && !csv_eol(csv))
		return csv_fail(csv, error, "unexpected character after a closing quote (a quote inside a "
					    "quoted field is written as two quotes)");
	return TRUE;
}

static gboolean
csv_field(AssocCsv *csv, GString *field, GError **error)
{
	g_string_truncate(field, 0);
	if (csv->pos < csv->len && csv->data[csv->pos] == '"')
		return csv_quoted(csv, field, error);
	while (csv->pos < csv->len && csv->data[csv->pos] != ',' && !csv_eol(csv)) {
		if (csv->data[csv->pos] == '"')
			return csv_fail(csv, error, "a quote inside an unquoted field (quote the whole field)");
		g_string_append_c(field, csv->data[csv->pos++]);
	}
	return TRUE;
}

gboolean
assoc_csv_next(AssocCsv *csv, GPtrArray *fields, GError **error)
{
	g_ptr_array_set_size(fields, 0);
	gsize eol;
	while ((eol = csv_eol(csv)) > 0) { /* blank lines */
		csv->pos += eol;
		csv->line++;
	}
	if (csv->pos >= csv->len)
		return FALSE;
	csv->record_line = csv->line;
	g_autoptr(GString) field = g_string_new(NULL);
	for (;;) {
		if (!csv_field(csv, field, error))
			return FALSE;
		if (!g_utf8_validate_len(field->str, field->len, NULL)) {
			g_autofree char *what = g_strdup_printf("field %u is not valid UTF-8", fields->len + 1);
			return csv_fail(csv, error, what);
		}
		g_ptr_array_add(fields, g_strndup(field->str, field->len));
		if (csv->pos < csv->len && csv->data[csv->pos] == ',') {
			csv->pos++;
			continue;
		}
		if ((eol = csv_eol(csv)) > 0) {
			csv->pos += eol;
			csv->line++;
		}
		return TRUE;
	}
}

void
assoc_csv_append_field(GString *out, const char *value)
{
	if (!strpbrk(value, ",\"\r\n")) {
		g_string_append(out, value);
		return;
	}
	g_string_append_c(out, '"');
	for (const char *p = value; *p; p++) {
		if (*p == '"')
			g_string_append_c(out, '"');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}
