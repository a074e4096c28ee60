/* assoc: decides which CRM records a stored message is linked to, records
 * why, and is the single path by which mail from every source enters the
 * store (parse -> store -> decide -> commit, one transaction). */
#ifndef BCCDROP_ASSOC_H
#define BCCDROP_ASSOC_H

#include <glib.h>

#include "common/common.h"
#include "ingest/ingest.h"
#include "store/store.h"

#define ASSOC_ERROR (assoc_error_quark())
GQuark assoc_error_quark(void);
typedef enum {
	ASSOC_ERROR_FAILED,
} AssocError;

typedef struct {
	gint64 message;	       /* rowid in messages */
	char *message_id;      /* Message-ID (no brackets) */
	gboolean new_message;  /* FALSE: identical content already stored */
	gboolean new_source;   /* FALSE: same source already recorded: a no-op */
	gboolean id_collision; /* a different message shares the Message-ID */
	gboolean unmatched;    /* no participant matched a contact or lead */
	guint n_links;
} AssocFiled;
void assoc_filed_clear(AssocFiled *filed);

/* The whole path for one message: parse RAW, then in one transaction store
 * it with SOURCE, decide its links and commit. On error nothing is stored. */
gboolean assoc_file(Store *store, const CommonConfig *config, const IngestInput *raw,
		    const StoreSource *source, AssocFiled *filed, GError **error);

/* The same for an already parsed message, inside the caller's transaction
 * (the poller commits a batch and its cursor together). */
gboolean assoc_file_parsed(Store *store, const CommonConfig *config, const IngestMessage *msg,
			   const IngestInput *raw, const StoreSource *source, AssocFiled *filed,
			   GError **error);

/* Run the rule for a stored message inside the caller's transaction, replace
 * its links, store the trace, and record every link change with REASON. */
gboolean assoc_decide(Store *store, const CommonConfig *config, gint64 message, const char *reason,
		      AssocFiled *filed, GError **error);

#endif
