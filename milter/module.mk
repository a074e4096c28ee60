LIB_SRCS += $(filter-out milter/main.c,$(wildcard milter/*.c))
PROGRAMS += bccdrop-milter
bccdrop-milter_SRCS := milter/main.c
