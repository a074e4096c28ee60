/* Addresses: the participants of a message and the key they are matched by. */
#include "ingest/internal.h"

#include <string.h>

/* Between the last '<' and its '>', when TEXT is "Name <addr>" or "<addr>". */
static char *
ingest_key_addr_spec(const char *text)
{
	const char *lt = strrchr(text, '<');
	if (!lt)
		return g_strstrip(g_strdup(text));
	const char *gt = strchr(lt, '>');
	char *spec = gt ? g_strndup(lt + 1, gt - lt - 1) : g_strdup(lt + 1);
	return g_strstrip(spec);
}

static gboolean
ingest_key_local_ok(const char *local, gsize len)
{
	gboolean quoted = len >= 2 && local[0] == '"' && local[len - 1] == '"';
	for (gsize i = 0; i < len; i++) {
		guint8 c = (guint8)local[i];
		if (c < 0x20 || c == 0x7f)
			return FALSE;
		if (!quoted && (c == ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == ':' ||
				c == '@' || c == '(' || c == ')' || c == '[' || c == ']' || c == '\\'))
			return FALSE;
	}
	return len > 0 && len <= 256;
}

static gboolean
ingest_key_domain_chars_ok(const char *d)
{
	for (const char *p = d; *p; p++)
		if ((guint8)*p <= 0x20 || *p == 0x7f || strchr("<>,;:@()\\\"", *p))
			return FALSE;
	return TRUE;
}

static char *
ingest_key_domain(const char *domain)
{
	gsize len = strlen(domain);
	if (len && domain[len - 1] == '.')
		len--; /* the root label: "example.com." is example.com */
	if (!len || len > 255)
		return NULL;
	g_autofree char *d = g_strndup(domain, len);
	if (!ingest_key_domain_chars_ok(d))
		return NULL;
	if (d[0] == '[') /* address literal: nothing to convert */
		return d[len - 1] == ']' ? g_ascii_strdown(d, -1) : NULL;
	g_autofree char *ascii = g_hostname_to_ascii(d);
	/* Empty labels: leading, doubled, or a second dot at the end (only one
	 * root label was dropped above; keeping another would make "a.." and
	 * "a." two keys of one domain). */
	if (!ascii || !*ascii || ascii[0] == '.' || strstr(ascii, "..") || g_str_has_suffix(ascii, "."))
		return NULL;
	/* IDNA mapping can turn a harmless-looking character into a forbidden
	 * one (U+037E GREEK QUESTION MARK becomes ';', a soft hyphen vanishes
	 * before a '['): the result must be a plain host name. */
	if (strspn(ascii, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != strlen(ascii))
		return NULL;
	/* A key is its own key: its ASCII form must pass the checks above as
	 * input too (punycode can make a domain outgrow 255 bytes). */
	if (strlen(ascii) > 255)
		return NULL;
	return g_ascii_strdown(ascii, -1);
}

char *
ingest_address_key(const char *text)
{
	if (!text || !g_utf8_validate(text, -1, NULL))
		return NULL;
	g_autofree char *spec = ingest_key_addr_spec(text);
	const char *at = strrchr(spec, '@');
	if (!at || at == spec)
		return NULL;
	if (!ingest_key_local_ok(spec, at - spec))
		return NULL;
	g_autofree char *domain = ingest_key_domain(at + 1);
	if (!domain)
		return NULL;
	g_autofree char *local = g_utf8_strdown(spec, at - spec);
	return g_strconcat(local, "@", domain, NULL);
}

/* ---- participants -------------------------------------------------------- */

static const char *
ingest_role_header(IngestRole role)
{
	switch (role) {
	case INGEST_ROLE_FROM: return "From";
	case INGEST_ROLE_TO: return "To";
	case INGEST_ROLE_CC: return "Cc";
	case INGEST_ROLE_REPLY_TO: return "Reply-To";
	}
	return "?";
}

static char *
ingest_utf8_or_null(const char *text)
{
	if (!text || !*text)
		return NULL;
	char *valid = g_utf8_make_valid(text, -1);
	g_strstrip(valid);
	if (!*valid) {
		g_free(valid);
		return NULL;
	}
	return valid;
}

static void
ingest_address_add_mailbox(IngestCtx *ctx, IngestRole role, InternetAddressMailbox *mb)
{
	const char *addr = internet_address_mailbox_get_addr(mb);
	if (!addr || !*addr)
		return;
	IngestAddress *a = g_new0(IngestAddress, 1);
	a->role = role;
	a->name = ingest_utf8_or_null(internet_address_get_name(INTERNET_ADDRESS(mb)));
	a->address = g_utf8_make_valid(addr, -1);
	a->key = ingest_address_key(a->address);
	if (!a->key)
		ingest_warn(ctx, "%s: \"%s\" is not a usable address (kept without a key)",
			    ingest_role_header(role), a->address);
	g_ptr_array_add(ctx->msg->addresses, a);
}

/* Groups are flattened: "Team: a@x, b@y;" gives a and b in the role. GMime
 * cannot nest groups, but the depth is bounded all the same. */
static void
ingest_address_list_add(IngestCtx *ctx, IngestRole role, InternetAddressList *list, int depth)
{
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			ingest_address_add_mailbox(ctx, role, INTERNET_ADDRESS_MAILBOX(ia));
		else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 4)
			ingest_address_list_add(ctx, role,
						internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
						depth + 1);
	}
}

/* For lists GMime rejects outright, such as "Name user@example.com"
 * (a display name without angle brackets): per comma-separated item, the
 * last word holding an '@' is the address and the words before it the name. */
static void
ingest_addresses_salvage(IngestCtx *ctx, IngestRole role, const char *value)
{
	g_auto(GStrv) items = g_strsplit_set(value, ",;", -1);
	for (char **item = items; *item; item++) {
		g_strstrip(*item);
		char *sp = strrchr(*item, ' ');
		char *word = sp ? sp + 1 : *item;
		if (!strchr(word, '@'))
			continue;
		g_strdelimit(word, "<>", ' ');
		g_strstrip(word);
		if (sp)
			*sp = '\0';
		g_autofree char *name = sp ? ingest_rfc2047_decode(ctx, *item, ingest_role_header(role)) : NULL;
		g_autoptr(InternetAddress) mb = internet_address_mailbox_new(name, word);
		ingest_address_add_mailbox(ctx, role, INTERNET_ADDRESS_MAILBOX(mb));
	}
	ingest_warn(ctx, "%s: malformed address list \"%.80s\": addresses recovered word by word",
		    ingest_role_header(role), value);
}

void
ingest_addresses_add(IngestCtx *ctx, IngestRole role, const char *raw_value)
{
	g_autofree char *value = ingest_header_unfold(raw_value);
	if (!value || !*value)
		return;
	g_autofree char *normalised = ingest_rfc2047_normalise(ctx, value, ingest_role_header(role));
	guint before = ctx->msg->addresses->len;
	ctx->quiet = TRUE; /* GMime reported this header's defects while parsing the message */
	InternetAddressList *list = internet_address_list_parse(ctx->options, normalised ? normalised : value);
	ctx->quiet = FALSE;
	if (list) {
		ingest_address_list_add(ctx, role, list, 0);
		g_object_unref(list);
	}
	if (ctx->msg->addresses->len == before && strchr(value, '@'))
		ingest_addresses_salvage(ctx, role, value);
	/* An empty group ("undisclosed-recipients:;") is no defect. */
	if (ctx->msg->addresses->len == before && !(strchr(value, ':') && strchr(value, ';')))
		ingest_warn(ctx, "%s: no address found in \"%.80s\"", ingest_role_header(role), value);
}
