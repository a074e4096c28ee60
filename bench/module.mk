# Each bench/NAME/bench-NAME.c is one benchmark program; bench/NAME/run.sh drives it.
BENCHES += $(notdir $(basename $(wildcard bench/*/bench-*.c)))
$(foreach b,$(notdir $(basename $(wildcard bench/*/bench-*.c))),$(eval $(b)_SRCS := $(wildcard bench/*/$(b).c)))
# bench/postfix's baseline milter (bench/postfix/run.sh starts it).
BENCHES += null-milter
null-milter_SRCS := bench/postfix/null-milter.c
