LIB_SRCS += $(filter-out poll/main.c,$(wildcard poll/*.c))
PROGRAMS += bccdrop-poll
bccdrop-poll_SRCS := poll/main.c
