/* CRM export mappings: every shipped mapping against its sample export, each
 * value format, and each bad input (one line naming file, line, column and
 * value). */
#include <string.h>

#include "assoc/assoc.h"
#include "tests/unit/testutil.h"

static const char *
top(void)
{
	const char *t = g_getenv("BCCDROP_TOP");
	return t && *t ? t : ".";
}

static char *
read_text(const char *path)
{
	g_autoptr(GBytes) b = testutil_read(path);
	return g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
}

/* ---- shipped mappings ------------------------------------------------------- */

typedef struct {
	const char *name;  /* shipped mapping, also the sample's and expected file's name */
	const char *links; /* link mapping (its sample has the same name), or NULL */
} ShippedCase;

static const ShippedCase shipped[] = {
	{ "zoho-users", NULL },
	{ "zoho-contacts", NULL },
	{ "zoho-leads", NULL },
	{ "zoho-deals", NULL },
	{ "hubspot-contacts", NULL },
	{ "hubspot-deals", NULL },
	{ "salesforce-opportunitystage", NULL },
	{ "salesforce-contact", NULL },
	{ "salesforce-opportunity", "salesforce-opportunitycontactrole" },
	{ "pipedrive-persons", NULL },
	{ "pipedrive-deals", NULL },
};

static char *
sample_path(const char *name)
{
	g_autofree char *file = g_strconcat(name, ".csv", NULL);
	return g_build_filename(top(), "contrib", "crm", "samples", file, NULL);
}

/* The shipped mapping NAME applied to its sample (with LINKS when given). */
static GString *
translate_shipped(const char *name, const char *links, GError **error)
{
	g_autoptr(AssocCrmMap) map = assoc_crmmap_load(name, error);
	g_assert_nonnull(map);
	GString *out = g_string_new(NULL);
	g_autofree char *sample = sample_path(name);
	AssocImportKind kind;
	g_assert_true(assoc_crmmap_kind(map, &kind));
	if (!links) {
		g_assert_true(assoc_crmmap_translate(map, kind, sample, out, error));
		return out;
	}
	g_autoptr(AssocCrmMap) lmap = assoc_crmmap_load(links, error);
	g_assert_nonnull(lmap);
	g_autofree char *lsample = sample_path(links);
	g_assert_true(assoc_crmmap_translate_links(map, sample, lmap, lsample, out, error));
	return out;
}

static void
test_shipped(gconstpointer data)
{
	const ShippedCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = translate_shipped(c->name, c->links, &error);
	g_assert_no_error(error);
	g_autofree char *file = g_strconcat(c->name, ".csv", NULL);
	g_autofree char *want_path = g_build_filename(top(), "tests", "data", "crm", file, NULL);
	g_autofree char *want = read_text(want_path);
	g_assert_cmpstr(out->str, ==, want);
}

/* Every shipped mapping has a case above (or is a link file used by one). */
static void
test_shipped_all_tested(void)
{
	g_auto(GStrv) names = assoc_crmmap_shipped();
	g_assert_cmpuint(g_strv_length(names), >=, G_N_ELEMENTS(shipped) + 1);
	for (char **n = names; *n; n++) {
		gboolean found = FALSE;
		for (guint i = 0; i < G_N_ELEMENTS(shipped); i++)
			found |= !strcmp(shipped[i].name, *n) || !g_strcmp0(shipped[i].links, *n);
		if (!found)
			g_test_message("shipped mapping without a test: %s", *n);
		g_assert_true(found);
	}
}

/* The translations are exactly what the importer reads: a whole Zoho and a
 * whole Salesforce export go into a store. */
static void
import_translated(Store *store, const char *dir, const char *name, const char *links)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = translate_shipped(name, links, &error);
	g_autoptr(AssocCrmMap) map = assoc_crmmap_load(name, &error);
	AssocImportKind kind;
	g_assert_true(assoc_crmmap_kind(map, &kind));
	g_autofree char *file = g_strconcat(name, ".csv", NULL);
	g_autofree char *path = g_build_filename(dir, file, NULL);
	g_assert_true(g_file_set_contents(path, out->str, (gssize)out->len, NULL));
	g_assert_true(assoc_import(store, kind, path, NULL, NULL, NULL, &error));
	g_assert_no_error(error);
}

static Store *
fresh_store(const char *name, char **dir)
{
	*dir = g_build_filename(testutil_tmpdir(), name, NULL);
	g_assert_cmpint(g_mkdir_with_parents(*dir, 0700), ==, 0);
	g_autofree char *db = g_build_filename(*dir, "db", NULL);
	g_autoptr(GError) error = NULL;
	Store *store = store_open(db, NULL, &error);
	g_assert_no_error(error);
	return store;
}

static void
test_import_zoho(void)
{
	g_autofree char *dir = NULL;
	g_autoptr(Store) store = fresh_store("zoho", &dir);
	g_autofree char *stages = g_build_filename(dir, "stages.csv", NULL);
	g_assert_true(g_file_set_contents(
		stages, "name,probability\nQualification,10\nProposal/Price Quote,75\nClosed Lost,0\n", -1, NULL));
	g_autoptr(GError) error = NULL;
	g_assert_true(assoc_import(store, ASSOC_IMPORT_STAGES, stages, NULL, NULL, NULL, &error));
	const char *order[] = { "zoho-users", "zoho-contacts", "zoho-leads", "zoho-deals" };
	for (guint i = 0; i < G_N_ELEMENTS(order); i++)
		import_translated(store, dir, order[i], NULL);
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM contacts WHERE kind = 'lead'"), ==, 2);
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM contact_addresses"), ==, 5);
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM deals WHERE id = 'zcrm_5000000000102' AND "
				     "modified_at = '2026-02-20T16:30:00Z' AND probability = 0"),
			==, 1);
}

static void
test_import_salesforce(void)
{
	g_autofree char *dir = NULL;
	g_autoptr(Store) store = fresh_store("salesforce", &dir);
	import_translated(store, dir, "salesforce-opportunitystage", NULL);
	import_translated(store, dir, "salesforce-contact", NULL);
	import_translated(store, dir, "salesforce-opportunity", "salesforce-opportunitycontactrole");
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM deal_contacts"), ==, 4);
	g_assert_cmpint(testutil_count(store, "SELECT count(*) FROM deals WHERE modified_at = '2026-02-01T08:00:00Z'"), ==, 1);
}

/* ---- value formats and bad input ------------------------------------------- */

typedef struct {
	const char *name;
	const char *map; /* mapping text, written to m.map */
	const char *csv; /* export, written to in.csv */
	const char *want; /* the output, or "ERROR: " and the start of the message */
} MapCase;

#define DEALS_HEAD "id,name,stage,probability,modified_at,contacts\n"
#define DEAL_MAP(extra) \
	"[deals]\nid = Id\nmodified_at = Modified\nprobability = Prob\n" extra

static const MapCase cases[] = {
	/* dates */
	{ "iso8601 with offset", DEAL_MAP(""), "Id,Modified,Prob\nd1,2026-01-15T12:00:00+02:00,5\n",
	  DEALS_HEAD "d1,,,5,2026-01-15T10:00:00Z,\n" },
	{ "iso8601 fraction and Z", DEAL_MAP(""), "Id,Modified,Prob\nd1,2026-01-15T10:00:00.000Z,5\n",
	  DEALS_HEAD "d1,,,5,2026-01-15T10:00:00Z,\n" },
	{ "iso8601 without offset in time_zone", DEAL_MAP("time_zone = America/New_York\n"),
	  "Id,Modified,Prob\nd1,2026-01-15T10:00:00,5\n", DEALS_HEAD "d1,,,5,2026-01-15T15:00:00Z,\n" },
	{ "named zone, winter", DEAL_MAP("date_format = %Y-%m-%d %H:%M:%S\ntime_zone = America/New_York\n"),
	  "Id,Modified,Prob\nd1,2026-01-15 10:00:00,5\n", DEALS_HEAD "d1,,,5,2026-01-15T15:00:00Z,\n" },
	{ "named zone, summer", DEAL_MAP("date_format = %Y-%m-%d %H:%M:%S\ntime_zone = America/New_York\n"),
	  "Id,Modified,Prob\nd1,2026-07-01 10:00:00,5\n", DEALS_HEAD "d1,,,5,2026-07-01T14:00:00Z,\n" },
	{ "US with AM or PM", DEAL_MAP("date_format = %m/%d/%Y %I:%M %p\n"),
	  "Id,Modified,Prob\nd1,03/01/2026 12:30 AM,5\nd2,03/01/2026 12:30 PM,5\nd3,3/1/2026 1:05 pm,5\n",
	  DEALS_HEAD "d1,,,5,2026-03-01T00:30:00Z,\nd2,,,5,2026-03-01T12:30:00Z,\nd3,,,5,2026-03-01T13:05:00Z,\n" },
	/* probabilities */
	{ "percent", DEAL_MAP("probability_format = percent\n"), "Id,Modified,Prob\na,2026-01-01T00:00:00Z,60\n"
	  "b,2026-01-01T00:00:00Z,60%\nc,2026-01-01T00:00:00Z,60.4\nd,2026-01-01T00:00:00Z,1\ne,2026-01-01T00:00:00Z,\n",
	  DEALS_HEAD "a,,,60,2026-01-01T00:00:00Z,\nb,,,60,2026-01-01T00:00:00Z,\nc,,,60,2026-01-01T00:00:00Z,\n"
	  "d,,,1,2026-01-01T00:00:00Z,\ne,,,,2026-01-01T00:00:00Z,\n" },
	{ "fraction", DEAL_MAP("probability_format = fraction\n"), "Id,Modified,Prob\na,2026-01-01T00:00:00Z,0.6\n"
	  "b,2026-01-01T00:00:00Z,1\nc,2026-01-01T00:00:00Z,0\n",
	  DEALS_HEAD "a,,,60,2026-01-01T00:00:00Z,\nb,,,100,2026-01-01T00:00:00Z,\nc,,,0,2026-01-01T00:00:00Z,\n" },
	{ "auto", DEAL_MAP("probability_format = auto\n"), "Id,Modified,Prob\na,2026-01-01T00:00:00Z,60\n"
	  "b,2026-01-01T00:00:00Z,60%\nc,2026-01-01T00:00:00Z,0.6\nd,2026-01-01T00:00:00Z,1\ne,2026-01-01T00:00:00Z,1.0\n",
	  DEALS_HEAD "a,,,60,2026-01-01T00:00:00Z,\nb,,,60,2026-01-01T00:00:00Z,\nc,,,60,2026-01-01T00:00:00Z,\n"
	  "d,,,1,2026-01-01T00:00:00Z,\ne,,,100,2026-01-01T00:00:00Z,\n" },
	/* lists, several columns, fixed values, quoting */
	{ "list separator", "[contacts]\nid = Id\nemails = Mail;Other\nlist_separator = ,\nkind_value = lead\n",
	  "Id,Mail,Other\nc1,\"a@x.example, b@x.example\",c@x.example\nc2,,\n",
	  "id,kind,name,emails,owner\nc1,lead,,a@x.example;b@x.example;c@x.example,\nc2,lead,,,\n" },
	{ "name from two columns", "[contacts]\nid = Id\nname = First;Last\n",
	  "Last,Id,First\n\"Doe, Jr.\",c1,Jane\nSolo,c2,\n",
	  "id,kind,name,emails,owner\nc1,,\"Jane Doe, Jr.\",,\nc2,,Solo,,\n" },
	/* bad values */
	{ "wrong date format", DEAL_MAP("date_format = %Y-%m-%d %H:%M:%S\n"),
	  "Id,Modified,Prob\nd1,2026-01-15 10:00:00,5\nd2,15/01/2026 10:00,5\n",
	  "ERROR: in.csv:3: column 'Modified': '15/01/2026 10:00' is not a date as date_format = %Y-%m-%d %H:%M:%S" },
	{ "impossible date", DEAL_MAP("date_format = %Y-%m-%d %H:%M:%S\n"), "Id,Modified,Prob\nd1,2026-02-30 10:00:00,5\n",
	  "ERROR: in.csv:2: column 'Modified': '2026-02-30 10:00:00' is not a date as date_format" },
	{ "not iso8601", DEAL_MAP(""), "Id,Modified,Prob\nd1,01/15/2026,5\n",
	  "ERROR: in.csv:2: column 'Modified': '01/15/2026' is not an ISO 8601 date and time" },
	{ "hour 13 PM", DEAL_MAP("date_format = %m/%d/%Y %I:%M %p\n"), "Id,Modified,Prob\nd1,03/01/2026 13:30 PM,5\n",
	  "ERROR: in.csv:2: column 'Modified': '03/01/2026 13:30 PM' is not a date" },
	{ "probability over 100", DEAL_MAP(""), "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z,150\n",
	  "ERROR: in.csv:2: column 'Prob': '150' is over 100" },
	{ "fraction over 1", DEAL_MAP("probability_format = fraction\n"), "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z,1.5\n",
	  "ERROR: in.csv:2: column 'Prob': '1.5' is over 1" },
	{ "percent sign in fraction", DEAL_MAP("probability_format = fraction\n"),
	  "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z,60%\n", "ERROR: in.csv:2: column 'Prob': '60%' is not a probability" },
	{ "probability not a number", DEAL_MAP(""), "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z,-5\n",
	  "ERROR: in.csv:2: column 'Prob': '-5' is not a probability" },
	{ "missing required column", DEAL_MAP(""), "Id,Prob\nd1,5\n",
	  "ERROR: in.csv:1: column 'Modified' is not in the header (m.map maps [deals] modified_at, a required field, to it)" },
	{ "mapped column missing", DEAL_MAP("name = Title\n"), "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z,5\n",
	  "ERROR: in.csv:1: column 'Title' is not in the header (m.map maps [deals] name to it)" },
	{ "empty id", DEAL_MAP(""), "Id,Modified,Prob\n,2026-01-01T00:00:00Z,5\n",
	  "ERROR: in.csv:2: column 'Id': '' is empty (every row needs its id)" },
	{ "duplicate id", DEAL_MAP(""), "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z,5\nd1,2026-01-02T00:00:00Z,5\n",
	  "ERROR: in.csv:3: column 'Id': 'd1' is a duplicate id" },
	{ "field count", DEAL_MAP(""), "Id,Modified,Prob\nd1,2026-01-01T00:00:00Z\n",
	  "ERROR: in.csv:2: 2 fields where the header has 3" },
	{ "semicolon inside an item", "[contacts]\nid = Id\nemails = Mail\nlist_separator = ,\n",
	  "Id,Mail\nc1,a@x.example;b@x.example\n",
	  "ERROR: in.csv:2: column 'Mail': 'a@x.example;b@x.example' contains ';'" },
	{ "empty export", DEAL_MAP(""), "", "ERROR: in.csv: empty file" },
	/* bad mappings */
	{ "unknown key", DEAL_MAP("colour = red\n"), "", "ERROR: m.map: [deals] unknown key 'colour'" },
	{ "unknown section", "[opportunities]\nid = Id\n", "", "ERROR: m.map: unknown section [opportunities]" },
	{ "no section", "# nothing\n", "", "ERROR: m.map: no section" },
	{ "bad probability_format", DEAL_MAP("probability_format = percnt\n"), "",
	  "ERROR: m.map: [deals] probability_format 'percnt' is not percent, fraction or auto" },
	{ "bad time_zone", DEAL_MAP("time_zone = Mars/Olympus\n"), "",
	  "ERROR: m.map: [deals] time_zone 'Mars/Olympus' is not a known time zone" },
	{ "bad date_format", DEAL_MAP("date_format = %d.%m.%y\n"), "",
	  "ERROR: m.map: [deals] date_format '%d.%m.%y' is neither iso8601 nor a pattern" },
	{ "AM or PM without %I", DEAL_MAP("date_format = %Y-%m-%d %H:%M %p\n"), "",
	  "ERROR: m.map: [deals] date_format '%Y-%m-%d %H:%M %p' is neither" },
	{ "required field unmapped", "[deals]\nid = Id\n", "",
	  "ERROR: m.map: [deals] must name the export column for 'modified_at'" },
	{ "field and value", "[contacts]\nid = Id\nkind = Type\nkind_value = lead\n", "",
	  "ERROR: m.map: [contacts] both kind and kind_value are set" },
	{ "two columns for a date", "[deals]\nid = Id\nmodified_at = A;B\n", "",
	  "ERROR: m.map: [deals] modified_at takes exactly one column" },
	{ "mapping syntax", "[deals\nid = Id\n", "", "ERROR: m.map: " },
	{ "bad escape", "[deals]\nid = Id\\q\nmodified_at = M\n", "", "ERROR: m.map: [deals] id: " },
};

/* CASE's mapping applied to its export: the output or "ERROR: message". */
static char *
run_case(const MapCase *c, const char *kind_name)
{
	static int n;
	g_autofree char *dir = g_strdup_printf("%s/case%d", testutil_tmpdir(), n++);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_autofree char *map_path = g_build_filename(dir, "m.map", NULL);
	g_autofree char *csv_path = g_build_filename(dir, "in.csv", NULL);
	g_assert_true(g_file_set_contents(map_path, c->map, -1, NULL));
	g_assert_true(g_file_set_contents(csv_path, c->csv, -1, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocCrmMap) map = assoc_crmmap_load(map_path, &error);
	g_autoptr(GString) out = g_string_new(NULL);
	AssocImportKind kind = ASSOC_IMPORT_DEALS;
	if (map)
		g_assert_true(kind_name ? assoc_import_kind_parse(kind_name, &kind) : assoc_crmmap_kind(map, &kind));
	if (map && assoc_crmmap_translate(map, kind, csv_path, out, &error))
		return g_string_free(g_steal_pointer(&out), FALSE);
	g_assert_nonnull(error);
	g_assert_null(strchr(error->message, '\n')); /* one line */
	return g_strdup_printf("ERROR: %s", error->message);
}

static void
test_case(gconstpointer data)
{
	const MapCase *c = data;
	g_autofree char *got = run_case(c, NULL);
	if (g_str_has_prefix(c->want, "ERROR: ")) {
		if (!g_str_has_prefix(got, c->want))
			g_test_message("got: %s", got);
		g_assert_true(g_str_has_prefix(got, c->want));
	} else {
		g_assert_cmpstr(got, ==, c->want);
	}
}

static void
test_wrong_kind(void)
{
	const MapCase c = { "", DEAL_MAP(""), "Id\n", "" };
	g_autofree char *got = run_case(&c, "contacts");
	g_assert_cmpstr(got, ==, "ERROR: m.map: no [contacts] section: this mapping is not for contacts files");
}

static void
test_unknown_shipped(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AssocCrmMap) map = assoc_crmmap_load("zoho-potentials", &error);
	g_assert_null(map);
	g_assert_true(g_str_has_prefix(error->message, "unknown mapping 'zoho-potentials' (shipped in "));
	g_assert_nonnull(strstr(error->message, "zoho-deals"));
}

/* A link to a deal absent from the deals file is ignored; a link file's
 * errors name the link file. */
static void
test_links(void)
{
	g_autofree char *dir = g_build_filename(testutil_tmpdir(), "links", NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_autofree char *deals = g_build_filename(dir, "deals.csv", NULL);
	g_autofree char *links = g_build_filename(dir, "links.csv", NULL);
	g_assert_true(g_file_set_contents(deals, "Id,Modified,Prob,Who\nd1,2026-01-01T00:00:00Z,5,c0\n", -1, NULL));
	g_assert_true(g_file_set_contents(links, "OpportunityId,ContactId\nd1,c1\nd9,c2\nd1,c3\n", -1, NULL));
	g_autoptr(GError) error = NULL;
	g_autofree char *map_path = g_build_filename(dir, "d.map", NULL);
	g_assert_true(g_file_set_contents(map_path, DEAL_MAP("contacts = Who\n"), -1, NULL));
	g_autoptr(AssocCrmMap) map = assoc_crmmap_load(map_path, &error);
	g_autoptr(AssocCrmMap) lmap = assoc_crmmap_load("salesforce-opportunitycontactrole", &error);
	g_assert_no_error(error);
	AssocImportKind kind;
	g_assert_false(assoc_crmmap_kind(lmap, &kind));
	g_autoptr(GString) out = g_string_new(NULL);
	g_assert_true(assoc_crmmap_translate_links(map, deals, lmap, links, out, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(out->str, ==, DEALS_HEAD "d1,,,5,2026-01-01T00:00:00Z,c0;c1;c3\n");
	g_assert_true(g_file_set_contents(links, "OpportunityId,ContactId\nd1,\n", -1, NULL));
	g_assert_false(assoc_crmmap_translate_links(map, deals, lmap, links, out, &error));
	g_assert_cmpstr(error->message, ==, "links.csv:2: column 'ContactId': '' is empty (every row needs its contact)");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (!g_getenv("BCCDROP_DATADIR"))
		g_setenv("BCCDROP_DATADIR", top(), TRUE);
	for (guint i = 0; i < G_N_ELEMENTS(shipped); i++) {
		g_autofree char *name = g_strdup_printf("/crmmap/shipped/%s", shipped[i].name);
		g_test_add_data_func(name, &shipped[i], test_shipped);
	}
	g_test_add_func("/crmmap/shipped/all-tested", test_shipped_all_tested);
	g_test_add_func("/crmmap/import/zoho", test_import_zoho);
	g_test_add_func("/crmmap/import/salesforce", test_import_salesforce);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *name = g_strdup_printf("/crmmap/case/%s", cases[i].name);
		g_test_add_data_func(name, &cases[i], test_case);
	}
	g_test_add_func("/crmmap/wrong-kind", test_wrong_kind);
	g_test_add_func("/crmmap/unknown-shipped", test_unknown_shipped);
	g_test_add_func("/crmmap/links", test_links);
	return g_test_run();
}
