LIB_SRCS += $(wildcard assoc/*.c)
# Where the shipped CRM mappings are found (`make install` copies contrib/ there).
$(B)/obj/assoc/crmmap.o $(B)/asan/obj/assoc/crmmap.o: override CFLAGS += -DBCCDROP_DATADIR='"$(PREFIX)/share/bccdrop"'
