/* bccdrop dropbox-address: signed per-deal dropbox addresses (print one,
 * check one, rotate the key). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

/* The keys of [dropbox] tag_key_file, created on first use. */
static AssocDealtagKeys *
dealtag_keys(Cli *cli)
{
	const char *path = cli->config->dropbox_tag_key_file;
	gboolean existed = path && *path && g_file_test(path, G_FILE_TEST_EXISTS);
	g_autoptr(GError) error = NULL;
	AssocDealtagKeys *keys = assoc_dealtag_keys_load(path, TRUE, &error);
	if (!keys)
		cli_error("%s", error->message);
	else if (!existed)
		fprintf(stderr, "bccdrop: created key file %s (mode 0600): back it up, and let the milter's user "
			"read it (chown)\n", path);
	return keys;
}

static int
dealtag_print(Cli *cli, const char *user, const char *deal)
{
	Store *store = cli_store(cli);
	if (!store)
		return CLI_FAILED;
	g_autoptr(GError) error = NULL;
	g_autofree char *dropbox = NULL;
	g_autofree char *name = NULL;
	if (!store_user_dropbox(store, user, &dropbox, &error) || !store_deal_name(store, deal, &name, &error)) {
		cli_error("dropbox-address: %s", error->message);
		return CLI_FAILED;
	}
	if (!dropbox) {
		cli_error("dropbox-address: user %s has no dropbox address (column dropbox of `bccdrop import users`)",
			  user);
		return CLI_FAILED;
	}
	g_autoptr(AssocDealtagKeys) keys = dealtag_keys(cli);
	if (!keys)
		return CLI_FAILED;
	g_autofree char *address = assoc_dealtag_address(keys, dropbox, cli->config->dropbox_recipient_delimiter, user,
							 deal, name, &error);
	if (!address) {
		cli_error("dropbox-address: %s", error->message);
		return CLI_FAILED;
	}
	printf("%s\n", address);
	return CLI_OK;
}

static int
dealtag_rotate(Cli *cli)
{
	const CommonConfig *c = cli->config;
	g_autoptr(GError) error = NULL;
	gint64 now = common_now();
	if (!assoc_dealtag_rotate(c->dropbox_tag_key_file, now, c->dropbox_tag_grace_days, &error)) {
		cli_error("dropbox-address rotate-key: %s", error->message);
		return CLI_FAILED;
	}
	g_autofree char *until = common_iso8601(now + (gint64)c->dropbox_tag_grace_days * 86400);
	printf("new key in %s; addresses printed before verify until %s ([dropbox] tag_grace_days = %d)\n",
	       c->dropbox_tag_key_file, until, c->dropbox_tag_grace_days);
	return CLI_OK;
}

/* The user owning the per-deal ADDRESS's dropbox, or NULL after printing why. */
static char *
dealtag_check_user(Cli *cli, const char *address, const AssocDealtagAddress *a)
{
	Store *store = cli_store(cli);
	g_autoptr(GError) error = NULL;
	g_autofree char *key = capture_address_key(a->dropbox);
	char *user = NULL;
	g_autofree char *name = NULL;
	if (!store || !key)
		cli_error("%s: %s is not an email address", address, a->dropbox);
	else if (!store_user_by_dropbox(store, key, &user, &error))
		cli_error("%s", error->message);
	else if (!user)
		cli_error("%s: refused: %s is no user's dropbox", address, a->dropbox);
	else if (!store_deal_name(store, a->deal_id, &name, &error)) {
		cli_error("%s: refused: %s", address, error->message);
		g_clear_pointer(&user, g_free);
	}
	return user;
}

static int
dealtag_check(Cli *cli, const char *address)
{
	g_auto(AssocDealtagAddress) a = { 0 };
	const char *delims = cli->config->dropbox_recipient_delimiter;
	if (!assoc_dealtag_parse(address, delims, &a)) {
		cli_error("%s: not a per-deal address (LOCAL%sd-NAME.DEAL.TAG@DOMAIN)", address, delims);
		return CLI_FAILED;
	}
	g_autofree char *user = dealtag_check_user(cli, address, &a);
	if (!user)
		return CLI_FAILED;
	g_autoptr(AssocDealtagKeys) keys = dealtag_keys(cli);
	if (!keys)
		return CLI_FAILED;
	if (!assoc_dealtag_verify(keys, user, a.deal_id, a.tag, common_now(), cli->config->dropbox_tag_grace_days)) {
		cli_error("%s: refused: the tag does not verify for user %s and deal %s (mistyped, forged, or "
			  "signed by a key retired more than %d days ago)",
			  address, user, a.deal_id, cli->config->dropbox_tag_grace_days);
		return CLI_FAILED;
	}
	printf("%s: valid: user %s, deal %s\n", address, user, a.deal_id);
	return CLI_OK;
}

int
cli_cmd_dealtag(Cli *cli, int argc, char **argv)
{
	g_autofree char *user = NULL;
	g_autofree char *deal = NULL;
	const GOptionEntry entries[] = {
		{ "user", 0, 0, G_OPTION_ARG_STRING, &user, "CRM user id whose dropbox the address extends", "U" },
		{ "deal", 0, 0, G_OPTION_ARG_STRING, &deal, "CRM deal id the address files mail onto", "D" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!cli_parse(cli, &argc, &argv, entries, "[rotate-key | check ADDRESS]",
		       "Print the signed address that files mail onto deal D (--user U --deal D),\n"
		       "make a new signing key (rotate-key), or check an address (check ADDRESS)."))
		return CLI_USAGE;
	gboolean ids = user || deal;
	if (argc == 1 && user && deal)
		return dealtag_print(cli, user, deal);
	if (argc == 2 && !ids && !strcmp(argv[1], "rotate-key"))
		return dealtag_rotate(cli);
	if (argc == 3 && !ids && !strcmp(argv[1], "check"))
		return dealtag_check(cli, argv[2]);
	cli_error("dropbox-address: expects --user U --deal D, rotate-key, or check ADDRESS (see --help)");
	return CLI_USAGE;
}
