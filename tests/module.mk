# Each tests/unit/test-NAME.c is one GTest binary, linked with tests/unit/testutil.c.
UNIT_TESTS += $(notdir $(basename $(wildcard tests/unit/test-*.c)))
$(foreach t,$(notdir $(basename $(wildcard tests/unit/test-*.c))),$(eval $(t)_SRCS := tests/unit/$(t).c tests/unit/testutil.c))
