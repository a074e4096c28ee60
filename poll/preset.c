/* Well-known providers: host names and where their app passwords live. */
#include "poll/poll.h"

#include <string.h>

static const char *const gmail_domains[] = { "gmail.com", "googlemail.com", NULL };
static const char *const outlook_domains[] = { "outlook.com", "hotmail.com", "live.com", "msn.com", NULL };
static const char *const yahoo_domains[] = { "yahoo.com", "ymail.com", "rocketmail.com", NULL };
static const char *const zoho_domains[] = { "zoho.com", "zohomail.com", NULL };
static const char *const icloud_domains[] = { "icloud.com", "me.com", "mac.com", NULL };

static const PollPreset presets[] = {
	{ "gmail", gmail_domains, "imap.gmail.com", "pop.gmail.com",
	  "Google account > Security > App passwords (or use --oauth2-token-command)" },
	{ "outlook", outlook_domains, "outlook.office365.com", "outlook.office365.com",
	  "Microsoft account > Security > App passwords; Microsoft 365 tenants need OAuth2" },
	{ "yahoo", yahoo_domains, "imap.mail.yahoo.com", "pop.mail.yahoo.com",
	  "Yahoo account > Account security > Generate app password" },
	{ "zoho", zoho_domains, "imap.zoho.com", "pop.zoho.com", "Zoho accounts > Security > App passwords" },
	{ "icloud", icloud_domains, "imap.mail.me.com", NULL, "appleid.apple.com > Sign-In and Security > App-Specific Passwords" },
};

const PollPreset *
poll_preset_find(const char *name)
{
	if (!name)
		return NULL;
	if (!g_ascii_strcasecmp(name, "microsoft365") || !g_ascii_strcasecmp(name, "office365") ||
	    !g_ascii_strcasecmp(name, "hotmail"))
		name = "outlook";
	for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
		if (!g_ascii_strcasecmp(name, presets[i].name))
			return &presets[i];
	return NULL;
}

const PollPreset *
poll_preset_for_username(const char *username)
{
	const char *at = username ? strrchr(username, '@') : NULL;
	if (!at)
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
		for (const char *const *d = presets[i].domains; *d; d++)
			if (!g_ascii_strcasecmp(at + 1, *d))
				return &presets[i];
	return NULL;
}

int
poll_default_port(const char *protocol, const char *tls)
{
	gboolean implicit = !g_strcmp0(tls, "implicit");
	if (!g_strcmp0(protocol, "pop3"))
		return implicit ? 995 : 110;
	return implicit ? 993 : 143;
}
