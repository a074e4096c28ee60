LIB_SRCS += capture/decide.c
