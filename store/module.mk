LIB_SRCS += $(wildcard store/*.c store/sqlite/*.c store/pg/*.c)
