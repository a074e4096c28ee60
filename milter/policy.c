/* Small pure checks behind the "only the owner may file" rule. */
#include "milter/milter.h"

#include <string.h>

const char *
milter_key_domain(const char *key)
{
	const char *at = strrchr(key, '@');
	return at ? at + 1 : "";
}

gboolean
milter_owner_proof_parse(const char *text, MilterOwnerProof *out)
{
	static const char *const names[] = { "auth", "auth-or-dmarc", "auth-or-sender" };
	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		if (!g_strcmp0(text, names[i])) {
			*out = (MilterOwnerProof)i;
			return TRUE;
		}
	return FALSE;
}

gboolean
milter_config_check(const CommonConfig *config, MilterOwnerProof *proof, GError **error)
{
	if (!milter_owner_proof_parse(config->owner_proof, proof)) {
		g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG, "[milter] owner_proof: '%s' is not auth, "
			    "auth-or-dmarc or auth-or-sender", config->owner_proof);
		return FALSE;
	}
	if (!config->dropbox_domains || !config->dropbox_domains[0]) {
		if (!config->dropbox_anywhere) {
			g_set_error(error, COMMON_ERROR, COMMON_ERROR_CONFIG,
				    "[milter] dropbox_domains is empty: set the domains of the dropbox addresses "
				    "(or dropbox_anywhere = true to look up every recipient)");
			return FALSE;
		}
		g_warning("[milter] dropbox_anywhere = true: every recipient of every message costs a database lookup");
	}
	if (*proof == MILTER_PROOF_AUTH_OR_SENDER)
		g_warning("[milter] owner_proof = auth-or-sender: anyone who forges the owner's envelope and header "
			  "From can file mail into a dropbox");
	if (*proof == MILTER_PROOF_AUTH_OR_DMARC && !*config->trusted_authserv_id)
		g_warning("[milter] owner_proof = auth-or-dmarc without trusted_authserv_id: only SMTP AUTH proves "
			  "ownership");
	return TRUE;
}

/* ---- Authentication-Results (RFC 8601) ------------------------------------
 *
 * The header is cut into words, ';' and '=', after dropping CFWS: comments
 * (nested, with quoted pairs) never count, and a quoted string is one word
 * whatever it contains. Anything outside the grammar makes the whole header
 * worthless rather than half-read. */

typedef enum { AR_WORD, AR_SEMI, AR_EQ } ArKind;

typedef struct {
	ArKind kind;
	gboolean quoted;
	char *text;
} ArToken;

static void
ar_token_free(gpointer p)
{
	ArToken *t = p;
	g_free(t->text);
	g_free(t);
}

static void
ar_push(GPtrArray *out, ArKind kind, gboolean quoted, char *text)
{
	ArToken *t = g_new0(ArToken, 1);
	t->kind = kind;
	t->quoted = quoted;
	t->text = text;
	g_ptr_array_add(out, t);
}

/* Past a comment starting at P ("(" ... ")"), or NULL when unterminated. */
static const char *
ar_skip_comment(const char *p)
{
	int depth = 0;
	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

/* A quoted string starting at P: its unescaped text, P moved past it. */
static char *
ar_quoted(const char **pp)
{
	GString *s = g_string_new(NULL);
	for (const char *p = *pp + 1; *p; p++) {
		if (*p == '\\' && p[1])
			g_string_append_c(s, *++p);
		else if (*p == '"') {
			*pp = p + 1;
			return g_string_free(s, FALSE);
		} else
			g_string_append_c(s, *p);
	}
	g_string_free(s, TRUE);
	return NULL;
}

static gboolean
ar_word_char(char c)
{
	return c && !g_ascii_isspace(c) && !strchr("();=\"\\", c);
}

/* The tokens up to the end, or up to where the text leaves the grammar
 * (*COMPLETE then FALSE). */
static GPtrArray *
ar_tokenize(const char *p, gboolean *complete)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(ar_token_free);
	while (p && *p) {
		const char *start = p;
		if (g_ascii_isspace(*p))
			p++;
		else if (*p == '(')
			p = ar_skip_comment(p);
		else if (*p == ';' || *p == '=')
			ar_push(out, *p++ == ';' ? AR_SEMI : AR_EQ, FALSE, NULL);
		else if (*p == '"') {
			char *q = ar_quoted(&p);
			if (q)
				ar_push(out, AR_WORD, TRUE, q);
			else
				p = NULL;
		} else {
			while (ar_word_char(*p))
				p++;
			if (p == start)
				p = NULL; /* a stray ')' or '\\' */
			else
				ar_push(out, AR_WORD, FALSE, g_strndup(start, p - start));
		}
	}
	*complete = p != NULL;
	return out;
}

static const ArToken *
ar_at(GPtrArray *t, guint i, ArKind kind)
{
	if (i >= t->len)
		return NULL;
	const ArToken *tok = g_ptr_array_index(t, i);
	return tok->kind == kind ? tok : NULL;
}

/* One resinfo after its ';' at *I: "method[/version] = result" then any
 * "name = value" (reason, ptype.property). Records a dmarc verdict. */
static gboolean
ar_resinfo(GPtrArray *t, guint *i, gboolean *dmarc_fail, char **dmarc_from)
{
	const ArToken *method = ar_at(t, *i, AR_WORD), *result = ar_at(t, *i + 2, AR_WORD);
	if (method && !method->quoted && !g_ascii_strcasecmp(method->text, "none") && !ar_at(t, *i + 1, AR_EQ)) {
		*i += 1;
		return TRUE;
	}
	if (!method || method->quoted || !ar_at(t, *i + 1, AR_EQ) || !result || result->quoted)
		return FALSE;
	*i += 3;
	g_autofree char *name = g_strndup(method->text, strcspn(method->text, "/"));
	gboolean dmarc = !g_ascii_strcasecmp(name, "dmarc");
	gboolean pass = !g_ascii_strcasecmp(result->text, "pass");
	const char *from = NULL;
	while (ar_at(t, *i, AR_WORD)) {
		const ArToken *key = ar_at(t, *i, AR_WORD), *value = ar_at(t, *i + 2, AR_WORD);
		if (key->quoted || !ar_at(t, *i + 1, AR_EQ) || !value)
			return FALSE;
		if (!g_ascii_strcasecmp(key->text, "header.from"))
			from = value->text;
		*i += 3;
	}
	if (dmarc && (!pass || !from || (*dmarc_from && g_ascii_strcasecmp(*dmarc_from, from))))
		*dmarc_fail = TRUE;
	else if (dmarc && !*dmarc_from)
		*dmarc_from = g_ascii_strdown(from, -1);
	return TRUE;
}

static gboolean
ar_resinfos(GPtrArray *t, guint i, char **dmarc_from)
{
	gboolean dmarc_fail = FALSE;
	while (i < t->len) {
		if (!ar_at(t, i, AR_SEMI))
			return FALSE;
		i++;
		if (!ar_resinfo(t, &i, &dmarc_fail, dmarc_from))
			return FALSE;
	}
	return !dmarc_fail;
}

MilterArVerdict
milter_auth_results(const char *value, const char *authserv_id, char **dmarc_from)
{
	*dmarc_from = NULL;
	if (!value || !authserv_id || !*authserv_id)
		return MILTER_AR_OTHER;
	gboolean complete = FALSE;
	g_autoptr(GPtrArray) t = ar_tokenize(value, &complete);
	const ArToken *id = ar_at(t, 0, AR_WORD);
	if (!id || g_ascii_strcasecmp(id->text, authserv_id) != 0)
		return MILTER_AR_OTHER;
	guint i = 1;
	const ArToken *version = ar_at(t, 1, AR_WORD);
	if (version && !version->quoted && strspn(version->text, "0123456789") == strlen(version->text))
		i++;
	/* Still ours when malformed: it hides any header below it. */
	if (!complete || !ar_resinfos(t, i, dmarc_from))
		g_clear_pointer(dmarc_from, g_free);
	return MILTER_AR_OURS;
}
