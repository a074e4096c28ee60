/* Internal to assoc/. */
#ifndef BCCDROP_ASSOC_INTERNAL_H
#define BCCDROP_ASSOC_INTERNAL_H
#include "assoc/assoc.h"
/* Transitional, for assoc/import.c until its SQL moves into store/. */
#include "assoc/import-compat.h"
#endif
