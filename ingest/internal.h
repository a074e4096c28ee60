/* ingest: internal interfaces shared by the files of ingest/ only.
 *
 * This is the one header that may mention GMime; nothing outside ingest/
 * includes it, so no GMime type escapes the module. */
#ifndef BCCDROP_INGEST_INTERNAL_H
#define BCCDROP_INGEST_INTERNAL_H

#include <gmime/gmime.h>

#include "ingest/ingest.h"

/* GMime 3.2 declares no g_autoptr() support of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeFilter, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeContentType, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeContentDisposition, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InternetAddress, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeReferences, g_mime_references_free)

/* Deeper MIME trees are legal but only ever seen in attacks; GMime itself
 * stops nesting at a much higher level, so this bounds our own recursion. */
#define INGEST_MAX_DEPTH 64
/* A hostile message can raise thousands of defects; past this many the rest
 * are summarised in one line so the record stays small. */
#define INGEST_MAX_WARNINGS 50

/* Everything one ingest_parse() call carries between the files. */
typedef struct {
	IngestMessage *msg;
	GMimeParserOptions *options; /* per call: its warning callback points here */
	char *raw_date;		     /* unfolded, trimmed Date value, or NULL */
	char *header_charset;	     /* the body's charset: a hint for raw 8-bit headers */
	GMimePart *plain_part;	     /* first inline text/plain leaf */
	GMimePart *html_part;	     /* first inline text/html leaf */
	GPtrArray *fp_attachments;   /* char*: per-attachment fingerprint hashes */
	guint warnings_dropped;
	gboolean quiet; /* re-parsing what GMime already warned about */
} IngestCtx;

/* ingest.c */
void ingest_warn(IngestCtx *ctx, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* charset.c: always returns valid UTF-8 (newly allocated). WHAT names the
 * text in warnings ("body", "Subject", ...); CTX may be NULL. */
char *ingest_charset_decode(IngestCtx *ctx, const char *data, gsize len, const char *charset,
			    const char *what);
void ingest_charset_init(void);
void ingest_charset_shutdown(void);
/* The character a Windows-1252 byte stands for. */
gunichar ingest_cp1252_char(guint8 byte);

/* rfc2047.c */
char *ingest_header_unfold(const char *raw);
/* Unstructured header text (Subject) to UTF-8, unfolded and trimmed. */
char *ingest_rfc2047_decode(IngestCtx *ctx, const char *raw, const char *what);
/* Structured header (addresses, parameters): every run of adjacent
 * encoded-words becomes one well-formed UTF-8 B-word that GMime decodes
 * correctly (works around GMime #133). Returns NULL when RAW has none. */
char *ingest_rfc2047_normalise(IngestCtx *ctx, const char *raw, const char *what);

/* html.c */
char *ingest_html_to_text(const char *html, gsize len);
/* The charset named in a <meta> tag near the start of HTML, or NULL. */
char *ingest_html_sniff_charset(const char *html, gsize len);

/* address.c */
void ingest_addresses_add(IngestCtx *ctx, IngestRole role, const char *raw_value);

/* body.c */
void ingest_body_walk(IngestCtx *ctx, GMimeObject *root);
char *ingest_body_charset_hint(GMimeObject *root);
void ingest_body_extract(IngestCtx *ctx);
char *ingest_object_param(IngestCtx *ctx, GMimeObject *obj, const char *header, const char *param);

/* decode.c: feeds the decoded content of PART to FUNC in chunks (base64 is
 * decoded here rather than by GMime: GMime #150). */
typedef void (*IngestChunkFunc)(const guint8 *data, gsize len, gpointer user_data);
void ingest_part_decode(IngestCtx *ctx, GMimePart *part, IngestChunkFunc func, gpointer user_data);
/* Base64 by GLib's rule (unlike GMime 3.2.13, decoding goes on after a
 * mid-stream '='): "aGVsbG8=d29ybGQ=" is "helloworld". */
typedef struct {
	int state;	    /* digits of the current group so far (0..3) */
	guint32 save;	    /* their bits */
	int eq;		    /* which of the last two digits were '=' */
	gsize invalid;	    /* bytes outside the alphabet (whitespace excluded) */
	gboolean padded;    /* a '=' was seen ... */
	gboolean restarted; /* ... and more data followed it */
} IngestBase64;
void ingest_base64_init(IngestBase64 *b64);
/* OUT must hold LEN / 4 * 3 + 3 bytes. */
gsize ingest_base64_step(IngestBase64 *b64, const char *in, gsize len, guint8 *out);
/* Decodes what a missing final padding left behind; OUT holds 3 bytes.
 * *INCOMPLETE is set when a lone character had to be dropped. */
gsize ingest_base64_finish(IngestBase64 *b64, guint8 *out, gboolean *incomplete);

/* sha256.c */
typedef struct {
	void *hd;	      /* gnutls_hash_hd_t */
	GChecksum *fallback; /* when GnuTLS refuses */
} IngestSha256;
void ingest_sha256_init(IngestSha256 *s);
void ingest_sha256_update(IngestSha256 *s, const void *data, gsize len);
/* Writes the lower-case hex digest and frees the state. */
void ingest_sha256_finish(IngestSha256 *s, char hex[65]);

/* fingerprint.c */
void ingest_fingerprint_finish(IngestCtx *ctx);
/* SHA-256 of DATA with the ASCII whitespace bytes left out: the same for
 * CRLF and LF copies, or a copy whose long lines an MTA broke. */
typedef struct {
	IngestSha256 sum;
} IngestFpHash;
void ingest_fp_hash_init(IngestFpHash *h);
void ingest_fp_hash_update(IngestFpHash *h, const guint8 *data, gsize len);
char *ingest_fp_hash_finish(IngestFpHash *h);

/* FALSE, with INGEST_ERROR_TOO_LARGE naming WHAT, when LEN bytes do not
 * fit a GByteArray (guint length): a silent 32-bit truncation there would
 * lose data or, before a full-length copy, overflow the heap. */
gboolean ingest_check_array_size(guint64 len, const char *what, GError **error);

#endif
