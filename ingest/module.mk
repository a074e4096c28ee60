LIB_SRCS += $(wildcard ingest/*.c)
