/* ingest: raw message bytes in, a plain parsed record out.
 *
 * GMime is used inside this module only; no GMime type appears here, so the
 * store, the association engine and the daemons see plain C and GLib data. */
#ifndef BCCDROP_INGEST_H
#define BCCDROP_INGEST_H

#include <glib.h>

#define INGEST_ERROR (ingest_error_quark())
GQuark ingest_error_quark(void);
typedef enum {
	INGEST_ERROR_NOT_A_MESSAGE, /* the bytes are not an RFC 5322 message */
	INGEST_ERROR_IO,	    /* reading the input failed */
	INGEST_ERROR_MBOX,	    /* an mbox file is malformed */
	INGEST_ERROR_TOO_LARGE,	    /* over the 4 GiB a GByteArray (GMime's memory) holds */
} IngestError;

typedef enum {
	INGEST_ROLE_FROM,
	INGEST_ROLE_TO,
	INGEST_ROLE_CC,
	INGEST_ROLE_REPLY_TO,
} IngestRole;

typedef struct {
	IngestRole role;
	char *name;    /* decoded display name (UTF-8), or NULL */
	char *address; /* addr-spec as written, decoded to UTF-8 */
	char *key;     /* normalised key used for matching: see ingest_address_key() */
} IngestAddress;

typedef struct {
	char *filename;	    /* decoded (RFC 2047/2231) UTF-8, or NULL */
	char *content_type; /* "type/subtype", lower-case */
	guint64 size;	    /* decoded size in bytes */
	char sha256[65];    /* hex SHA-256 of the decoded bytes */
} IngestAttachment;

typedef struct {
	char *message_id;	      /* without angle brackets */
	gboolean message_id_synthetic; /* no usable Message-ID: derived from content */
	gint64 date;		      /* Unix seconds, UTC */
	gboolean date_synthetic;      /* Date missing/unparsable: receipt time used */
	char *subject;		      /* decoded UTF-8; "" when absent */
	GPtrArray *addresses;	      /* IngestAddress*, header order within each role */
	char *in_reply_to;	      /* first msg-id of In-Reply-To, no brackets, or NULL */
	GPtrArray *references;	      /* char*, msg-ids of References (oldest first), no brackets */
	char *body_text;	      /* best text body as valid UTF-8 ("" when none) */
	char *body_type;	      /* "text/plain", "text/html" (reduced to text) or NULL */
	GPtrArray *attachments;	      /* IngestAttachment* */
	GPtrArray *warnings;	      /* char*: defects found and how they were handled */
	char fingerprint[65];	      /* content fingerprint: docs/ingest.md */
	guint64 raw_size;	      /* bytes of the raw message */
} IngestMessage;

/* The raw input: either bytes in memory, or a file descriptor of a regular
 * (seekable) file holding the whole message from offset 0. Exactly one is set. */
typedef struct {
	const guint8 *data;
	gsize len;
	int fd; /* -1 when data is used */
} IngestInput;

#define INGEST_INPUT_BYTES(d, l) ((IngestInput){ (const guint8 *)(d), (l), -1 })
#define INGEST_INPUT_FD(f) ((IngestInput){ NULL, 0, (f) })

/* Once per process, before any other call; thread-safe afterwards. */
void ingest_init(void);
void ingest_shutdown(void);

/* Parse one message. RECEIVED_AT (Unix seconds) stands in for a missing or
 * unparsable Date. Malformed input is parsed as well as it can be and the
 * defects recorded in ->warnings; only input that is not a message at all is
 * an error (INGEST_ERROR_NOT_A_MESSAGE, with the reason). */
IngestMessage *ingest_parse(const IngestInput *input, gint64 received_at, GError **error);
void ingest_message_free(IngestMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IngestMessage, ingest_message_free)

/* Normalised address key: trimmed, angle brackets removed, local part and
 * domain lower-cased, an internationalised domain converted to ASCII (IDNA).
 * Returns NULL when TEXT holds no plausible addr-spec. */
char *ingest_address_key(const char *text);

/* Split an mbox file (mboxo/mboxrd: ">From " unescaped) into messages and
 * call FUNC for each with its raw bytes and 1-based index. A file that does
 * not start with "From " is a single message. Stops early when FUNC returns
 * FALSE (its error is passed up). */
typedef gboolean (*IngestMboxFunc)(const guint8 *data, gsize len, guint index, gpointer user_data,
				   GError **error);
gboolean ingest_mbox_foreach(const guint8 *data, gsize len, IngestMboxFunc func, gpointer user_data,
			     GError **error);
/* TRUE when DATA looks like an mbox (first line "From "). */
gboolean ingest_is_mbox(const guint8 *data, gsize len);

/* Write RAW as one mboxrd entry (From_ line with SENDER and DATE, ">From"
 * quoting) to OUT; the body bytes are otherwise untouched. */
void ingest_mboxrd_append(GString *out, const char *sender, gint64 date, const guint8 *raw, gsize len);

#endif
