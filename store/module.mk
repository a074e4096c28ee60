LIB_SRCS += $(wildcard store/*.c)
