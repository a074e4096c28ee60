LIB_SRCS += $(wildcard assoc/*.c)
# Where the shipped CRM mappings are found (`make install` copies contrib/
# there). The stamp file changes with PREFIX, so `make install PREFIX=/usr`
# rebuilds crmmap.o with the right directory.
CRMMAP_DATADIR := $(PREFIX)/share/bccdrop
$(B)/obj/assoc/crmmap.o $(B)/asan/obj/assoc/crmmap.o: override CFLAGS += -DBCCDROP_DATADIR='"$(CRMMAP_DATADIR)"'
$(B)/obj/assoc/crmmap.o $(B)/asan/obj/assoc/crmmap.o: $(B)/crmmap-datadir
$(B)/crmmap-datadir: crmmap-datadir-check
	@mkdir -p $(dir $@)
	@echo '$(CRMMAP_DATADIR)' | cmp -s - $@ || echo '$(CRMMAP_DATADIR)' > $@
.PHONY: crmmap-datadir-check
