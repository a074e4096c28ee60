LIB_SRCS += $(wildcard assoc/*.c)
