LIB_SRCS += $(wildcard store/*.c)
LIB_SRCS += $(wildcard store/pg/*.c)
