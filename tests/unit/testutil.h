/* Small helpers shared by the unit tests. */
#ifndef BCCDROP_TESTUTIL_H
#define BCCDROP_TESTUTIL_H
#include <glib.h>

#include "common/common.h"
/* The corpus folder (../shared/corpus beside the checkout, or
 * $BCCDROP_CORPUS), or NULL when it is absent. */
const char *testutil_corpus_dir(void);
/* Read a whole file; aborts the test on failure. */
GBytes *testutil_read(const char *path);
/* A fresh temporary directory, removed at exit. */
const char *testutil_tmpdir(void);
/* The default configuration with its database NAME in testutil_tmpdir()
 * and the given busy timeout. */
CommonConfig *testutil_config(const char *name, int busy_timeout_ms);
/* The single integer the query SQL returns (e.g. a count). Tests only. */
typedef struct Store Store;
gint64 testutil_count(Store *store, const char *sql);
#endif
