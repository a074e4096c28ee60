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
/* Runs SQL (no parameters, no results) on STORE; the test fails otherwise. */
typedef void (*TestutilExecFunc)(Store *store, const char *sql);
/* The contract of store_mailbox_lease and store_mailbox_lease_release,
 * whatever the backend: A and B are two connections (two pollers) to one
 * fresh store, EXEC runs SQL on it. */
void testutil_lease_contract(Store *a, Store *b, TestutilExecFunc exec);
#endif
