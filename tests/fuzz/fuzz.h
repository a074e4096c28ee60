/* The libFuzzer entry points every tests/fuzz/fuzz-*.c defines. */
#ifndef BCCDROP_FUZZ_H
#define BCCDROP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
