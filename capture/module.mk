LIB_SRCS += $(wildcard capture/*.c)
