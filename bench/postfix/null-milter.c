/* null-milter: the least any capture milter costs the MTA, the baseline of
 * bench/postfix. It takes part in the same protocol steps as bccdrop-milter
 * (the same steps skipped, the same no-reply answers negotiated) and does the
 * one thing a dropbox needs done to the mail, smfi_delrcpt() of the dropbox
 * recipient at end of message; it stores nothing.
 *
 *   null-milter SOCKET RCPT   e.g. unix:/tmp/x/null.sock alice-drop@crm.example
 *
 * Stops on TERM or INT (libmilter turns them into smfi_stop()). */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *null_dropbox; /* the recipient to delete, no brackets */

typedef struct {
	char *drop_rcpt; /* the dropbox recipient exactly as received, or NULL */
	int noreply;	 /* SMFIP_NR_* the MTA agreed to */
} NullSession;

static NullSession *
null_session(SMFICTX *ctx)
{
	NullSession *s = smfi_getpriv(ctx);
	if (!s) {
		s = calloc(1, sizeof *s);
		smfi_setpriv(ctx, s);
	}
	return s;
}

static void
null_forget_rcpt(NullSession *s)
{
	free(s->drop_rcpt);
	s->drop_rcpt = NULL;
}

/* A step the MTA does not wait on must answer NOREPLY, the others CONTINUE. */
static sfsistat
null_answer(SMFICTX *ctx, unsigned long flag)
{
	NullSession *s = smfi_getpriv(ctx);
	return s && (s->noreply & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The same steps as bccdrop-milter's cb_negotiate (milter/callbacks.c), so
 * that the MTA's side of the protocol costs both the same. */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	       unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	NullSession *s = null_session(ctx);
	unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NOEOH;
	unsigned long nr = SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_BODY;
	*pf0 = f0 & SMFIF_DELRCPT;
	*pf1 = (f1 & skip) | (f1 & SMFIP_HDR_LEADSPC) | (f1 & nr);
	*pf2 = 0;
	*pf3 = 0;
	s->noreply = (int)(f1 & nr);
	return SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	null_forget_rcpt(null_session(ctx));
	return null_answer(ctx, SMFIP_NR_MAIL);
}

/* Compares without the angle brackets, ignoring case, like the address
 * bccdrop-milter would look up. */
static int
null_is_dropbox(const char *rcpt)
{
	size_t n = strlen(rcpt), want = strlen(null_dropbox);
	if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>') {
		rcpt++;
		n -= 2;
	}
	return n == want && !strncasecmp(rcpt, null_dropbox, n);
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	NullSession *s = null_session(ctx);
	if (argv[0] && !s->drop_rcpt && null_is_dropbox(argv[0]))
		s->drop_rcpt = strdup(argv[0]);
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	return null_answer(ctx, SMFIP_NR_HDR);
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return null_answer(ctx, SMFIP_NR_BODY);
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	NullSession *s = null_session(ctx);
	sfsistat rc = SMFIS_CONTINUE;
	if (s->drop_rcpt && smfi_delrcpt(ctx, s->drop_rcpt) != MI_SUCCESS)
		rc = SMFIS_TEMPFAIL;
	null_forget_rcpt(s);
	return rc;
}

static sfsistat
null_abort(SMFICTX *ctx)
{
	null_forget_rcpt(null_session(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	NullSession *s = smfi_getpriv(ctx);
	if (s) {
		null_forget_rcpt(s);
		free(s);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
	.xxfi_name = "null-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_DELRCPT,
	.xxfi_envfrom = null_envfrom,
	.xxfi_envrcpt = null_envrcpt,
	.xxfi_header = null_header,
	.xxfi_body = null_body,
	.xxfi_eom = null_eom,
	.xxfi_abort = null_abort,
	.xxfi_close = null_close,
	.xxfi_negotiate = null_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET DROPBOX-RCPT\n", argv[0]);
		return 2;
	}
	null_dropbox = argv[2];
	/* Postfix's smtpd (user postfix) must be able to connect. */
	umask(0111);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(null_desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "%s: cannot listen on %s\n", argv[0], argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
