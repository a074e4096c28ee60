# bccdrop: CRM mail capture (milter + mailbox poller) into SQLite.
#
#   make          build the three programs into build/bin (the default goal)
#   make demo     build, then run the end-to-end demo on embedded defaults
#   make check    install Debian build/test packages (as root), build, run every test
#   make bench    run the benchmarks under bench/
#   make fuzz     run each libFuzzer target (tests/fuzz/) for FUZZ_SECONDS
#   make install  install binaries, man pages, units and contrib files (PREFIX, DESTDIR)
#   make deb      build the Debian package $(B)/bccdrop_VERSION_ARCH.deb (debian/)
#
# Each folder contributes its sources through its own module.mk; everything
# that is not a program's main() goes into $(B)/libbccdrop.a.

# The module.mk files define targets of their own: `make` alone must still
# build the programs.
.DEFAULT_GOAL := all
# One version for the programs and the package: debian/changelog's.
VERSION  := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/bccdrop
SYSCONFDIR ?= /etc
# Debian 12 still keeps packaged units in /lib (not /usr/lib).
UNITDIR  ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

# B: the build directory (a separate one lets several trees build side by side).
B        ?= build
export BCCDROP_BUILD := $(abspath $(B))
CC       ?= cc
PKG_CONFIG ?= pkg-config
PKGS     := glib-2.0 gio-2.0 gmime-3.0 sqlite3 milter libetpan gnutls libcurl libpq

# Debian 12 packages needed to build and to run every test.
DEBIAN_PACKAGES := build-essential pkg-config libglib2.0-dev libgmime-3.0-dev \
	libsqlite3-dev sqlite3 libmilter-dev miltertest postfix \
	dovecot-imapd dovecot-pop3d libetpan-dev libcurl4-gnutls-dev \
	libgnutls28-dev gnutls-bin isync ca-certificates openssl python3 \
	tzdata \
	debhelper dpkg-dev fakeroot lintian mandoc man-db systemd \
	postgresql-15 libpq-dev \
	clang libclang-rt-14-dev

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter
# libetpan's .pc carries a Debian linker spec that is not for us; keep its -l flags only.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(filter -l% -L% -pthread,$(shell $(PKG_CONFIG) --libs $(PKGS))) -lpthread
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -DBCCDROP_VERSION='"$(VERSION)"' -g $(WARN) -I. $(PKG_CFLAGS)
OPT_CFLAGS  ?= -O2
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRCS   :=
PROGRAMS   :=
UNIT_TESTS :=
BENCHES    :=

include common/module.mk
include ingest/module.mk
include store/module.mk
include assoc/module.mk
include capture/module.mk
include milter/module.mk
include poll/module.mk
include cli/module.mk
include tests/module.mk
include bench/module.mk

# ---- two variants: $(B)/ (release) and $(B)/asan/ (sanitizers) ------------

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(OPT_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC/SAN  $<")
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The programs print BCCDROP_VERSION: a new changelog entry rebuilds them.
VERSION_OBJS := cli/main.o milter/main.o poll/main.o
$(addprefix $(B)/obj/,$(VERSION_OBJS)) $(addprefix $(B)/asan/obj/,$(VERSION_OBJS)): debian/changelog

LIB_OBJS      := $(addprefix $(B)/obj/,$(LIB_SRCS:.c=.o))
ASAN_LIB_OBJS := $(addprefix $(B)/asan/obj/,$(LIB_SRCS:.c=.o))

$(B)/libbccdrop.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/asan/libbccdrop.a: $(ASAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# $(1): output dir prefix ("" or "asan/"), $(2): name, $(3): extra link flags
define link_rule
$(B)/$(1)$(2): $$(addprefix $(B)/$(1)obj/,$$($(notdir $(2))_SRCS:.c=.o)) $(B)/$(1)libbccdrop.a
	@mkdir -p $$(dir $$@)
	@$$(if $$(V),,echo "  LD      $$@")
	$$(Q)$$(CC) $(3) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef

$(foreach p,$(PROGRAMS),$(eval $(call link_rule,,bin/$(p),)))
$(foreach p,$(PROGRAMS),$(eval $(call link_rule,asan/,bin/$(p),$(SAN_FLAGS))))
$(foreach t,$(UNIT_TESTS),$(eval $(call link_rule,,tests/$(t),)))
$(foreach t,$(UNIT_TESTS),$(eval $(call link_rule,asan/,tests/$(t),$(SAN_FLAGS))))
$(foreach b,$(BENCHES),$(eval $(call link_rule,,bench/$(b),)))

BIN_TARGETS       := $(addprefix $(B)/bin/,$(PROGRAMS))
ASAN_BIN_TARGETS  := $(addprefix $(B)/asan/bin/,$(PROGRAMS))
TEST_TARGETS      := $(addprefix $(B)/tests/,$(UNIT_TESTS)) $(addprefix $(B)/asan/tests/,$(UNIT_TESTS))
BENCH_TARGETS     := $(addprefix $(B)/bench/,$(BENCHES))

# ---- libFuzzer targets (clang): $(B)/fuzz/fuzz-NAME ----------------------
# The library is built a third time, instrumented for coverage and with
# ASan+UBSan; each tests/fuzz/fuzz-NAME.c is one target. make check runs a
# short smoke pass (tests/integration/fuzz-smoke.sh); make fuzz runs each
# target for FUZZ_SECONDS (tests/fuzz/run.sh).
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 300
FUZZERS      := $(notdir $(basename $(wildcard tests/fuzz/fuzz-*.c)))
FUZZ_TARGETS := $(if $(shell command -v $(FUZZ_CC) 2>/dev/null),$(addprefix $(B)/fuzz/,$(FUZZERS)))
FUZZ_LIB_OBJS := $(addprefix $(B)/fuzz/obj/,$(LIB_SRCS:.c=.o))

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC/FUZZ $<")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) -O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/fuzz/libbccdrop.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

.SECONDARY: $(addprefix $(B)/fuzz/obj/tests/fuzz/,$(addsuffix .o,$(FUZZERS)))
$(B)/fuzz/fuzz-%: $(B)/fuzz/obj/tests/fuzz/fuzz-%.o $(B)/fuzz/libbccdrop.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

.PHONY: all check check-run deps demo bench install clean tests fuzz deb
all: $(BIN_TARGETS)

tests: $(BIN_TARGETS) $(ASAN_BIN_TARGETS) $(TEST_TARGETS) $(BENCH_TARGETS) $(FUZZ_TARGETS)

fuzz: deps
	@$(MAKE) --no-print-directory $(addprefix $(B)/fuzz/,$(FUZZERS))
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# deps runs first in its own make so that pkg-config is asked only after the
# packages exist.
check: deps
	@$(MAKE) --no-print-directory tests
	@tests/run.sh

deps:
	@tests/deps.sh $(DEBIAN_PACKAGES)

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_TARGETS)
	@bench/run.sh

# Units name the installed programs: @SBINDIR@ is filled in here.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR) \
		$(addprefix $(DESTDIR)$(MANDIR)/man,1 5 8) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSCONFDIR)/bccdrop $(DESTDIR)$(PREFIX)/share/bccdrop
	install -m 0755 $(B)/bin/bccdrop $(DESTDIR)$(BINDIR)/bccdrop
	for p in $(filter-out bccdrop,$(PROGRAMS)); do \
		install -m 0755 $(B)/bin/$$p $(DESTDIR)$(SBINDIR)/$$p; done
	for s in 1 5 8; do install -m 0644 docs/*.$$s $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	for u in contrib/systemd/*.service.in; do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' $$u >$(DESTDIR)$(UNITDIR)/$$(basename $$u .in); done
	install -m 0644 contrib/systemd/*.timer $(DESTDIR)$(UNITDIR)/
	install -m 0755 contrib/bccdrop-crm-sync $(DESTDIR)$(SBINDIR)/bccdrop-crm-sync
	install -m 0644 contrib/systemd/tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/bccdrop.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/bccdrop/bccdrop.conf ] || \
		install -m 0640 contrib/bccdrop.conf $(DESTDIR)$(SYSCONFDIR)/bccdrop/bccdrop.conf
	cp -R contrib $(DESTDIR)$(PREFIX)/share/bccdrop/

# The package is built from this tree with its own build directory (release
# flags from dpkg-buildflags); DEB_DIR receives the .deb.
DEB_DIR ?= $(B)
deb:
	debian/rules clean
	DEB_DIR=$(abspath $(DEB_DIR)) $(if $(filter 0,$(shell id -u)),,fakeroot) debian/rules binary
	@ls $(DEB_DIR)/bccdrop_$(VERSION)_*.deb

clean:
	rm -rf $(B) demo

-include $(shell find $(B) -name '*.d' 2>/dev/null)
