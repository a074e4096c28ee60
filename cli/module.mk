# Every cli/*.c is part of the bccdrop command (one file per command group).
PROGRAMS += bccdrop
bccdrop_SRCS := $(wildcard cli/*.c)
