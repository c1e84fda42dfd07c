# smimepub — the only build entry. Dependencies are found with pkg-config.
#   make            build build/smimepub, build/smimepub-sync, build/smimepub-lookupd
#   make check      install missing Debian packages, build, run every test
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan
#   make install PREFIX=/usr/local [DESTDIR=...]; make uninstall (the same)
#   make deb        the Debian packages (debian/), into ..
#
# CFLAGS, CPPFLAGS and LDFLAGS are the caller's (dpkg-buildflags gives
# Debian's); what the code needs, the warnings and the hardening (PIE, full
# RELRO, BIND_NOW, stack protector, fortify) are added to them. WERROR=1
# makes warnings errors: the developer's and CI's targets (tests, check,
# bench) default to it; a plain `make`, `make install` and the package
# build do not, so a newer compiler's new warning stops neither a user nor
# a packager.
.SUFFIXES:
# Objects of tests and fuzz targets are intermediate: keep them all.
.SECONDARY:

PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?= 0
ifneq ($(filter tests check bench,$(MAKECMDGOALS)),)
WERROR   ?= 1
endif
WERROR   ?= 0
BUILD    ?= build

CC      ?= cc
PKGS     = ldap libcrypto libssl libconfig lmdb libcurl jansson libmicrohttpd libsystemd ldns libidn2
CFLAGS  ?= -O2 -g
SP_CPPFLAGS = -D_GNU_SOURCE -I. $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
SP_CFLAGS   = -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -fstack-protector-strong -fPIE \
	      $(if $(filter 1,$(WERROR)),-Werror) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
SP_LDFLAGS  = -pie -Wl,-z,relro -Wl,-z,now
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -llber -lpthread

ifeq ($(SANITIZE),1)
BUILD    = build-san
# after the caller's flags, so that these win
SP_LAST      = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	       -U_FORTIFY_SOURCE
SP_LDFLAGS  += -fsanitize=address,undefined
endif

COMMON_SRC = $(wildcard common/*.c)
LDAP_SRC   = $(wildcard ldap/*.c)
CA_SRC     = $(wildcard ca/*.c)
DNS_SRC    = $(wildcard dns/*.c)
ENROL_SRC  = $(wildcard enrol/*.c)
SYNC_SRC   = $(filter-out sync/main.c,$(wildcard sync/*.c))
CLI_SRC    = $(filter-out cli/main.c,$(wildcard cli/*.c))
LOOKUP_SRC = $(filter-out lookup/lk_main.c,$(wildcard lookup/*.c))
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
HELPER_SRC = $(wildcard tests/helpers/*.c)
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# The version: VERSION, then `git describe` where this is a git checkout
# (not when a tarball is unpacked inside another repository), kept to
# [0-9A-Za-z.+-] so it needs no quoting in C, metric labels or User-Agent.
# Only common/version.o is rebuilt when it changes (the stamp below).
SMIMEPUB_VERSION := $(shell { v=$$(cat VERSION 2>/dev/null || echo unknown); \
	d=$$([ -e .git ] && git describe --always --tags --dirty 2>/dev/null); \
	echo "$$v$${d:++$$d}"; } | tr -cd 'A-Za-z0-9.+-')

# Archives, higher layers first (the order they are linked in): the CLI's
# commands, lookup/ less its main, then every lower layer in one.
LIBS = $(BUILD)/libcli.a $(BUILD)/liblookup.a $(BUILD)/libsmimepub.a
PROGS = $(BUILD)/smimepub $(BUILD)/smimepub-sync $(BUILD)/smimepub-lookupd
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TEST_HELPERS = $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELPER_SRC))
FUZZ_BINS = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
ALL_OBJ = $(call obj,$(COMMON_SRC) $(LDAP_SRC) $(CA_SRC) $(DNS_SRC) $(ENROL_SRC) \
	$(wildcard sync/*.c) \
	$(wildcard cli/*.c) $(wildcard lookup/*.c) $(UNIT_SRC) $(HELPER_SRC) \
	$(FUZZ_SRC) tests/fuzz/driver.c)

all: $(PROGS)

# Header dependencies: each object's .d file, written by the compiler
# (-MMD), lists the headers it included; -MP adds an empty rule for each so
# that a header removed later does not break the build.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SP_CPPFLAGS) $(CPPFLAGS) $(SP_CFLAGS) $(CFLAGS) $(SP_LAST) -MMD -MP -c -o $@ $<

# Written when make reads this file, only when the version changed (no
# FORCE rule: `make -n` could not tell that it leaves the stamp unchanged).
$(shell mkdir -p $(BUILD) && { echo '$(SMIMEPUB_VERSION)' | \
	cmp -s - $(BUILD)/version.stamp || echo '$(SMIMEPUB_VERSION)' >$(BUILD)/version.stamp; })

$(BUILD)/obj/common/version.o: $(BUILD)/version.stamp
$(BUILD)/obj/common/version.o: SP_CPPFLAGS += -DSMIMEPUB_VERSION='"$(SMIMEPUB_VERSION)"'

-include $(ALL_OBJ:.o=.d)

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)
$(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/helpers/%.o: SP_CFLAGS += $(CHECK_CFLAGS)

# A program links only the archive members it references; the layering is
# kept by what each file includes.
$(BUILD)/libsmimepub.a: $(call obj,$(COMMON_SRC) $(LDAP_SRC) $(CA_SRC) $(DNS_SRC) \
	$(ENROL_SRC) $(SYNC_SRC))
$(BUILD)/liblookup.a: $(call obj,$(LOOKUP_SRC))
$(BUILD)/libcli.a: $(call obj,$(CLI_SRC))
$(LIBS):
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/smimepub: $(call obj,cli/main.c) $(LIBS)
	$(CC) $(SP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/smimepub-lookupd: $(call obj,lookup/lk_main.c) $(BUILD)/liblookup.a $(BUILD)/libsmimepub.a
	$(CC) $(SP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/smimepub-sync: $(call obj,sync/main.c) $(BUILD)/libsmimepub.a
	$(CC) $(SP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# Fuzz targets, linked with a deterministic driver so `make check` runs them.
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/driver.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SP_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh scripts/deps.sh

tests: $(PROGS) $(UNIT_BINS) $(TEST_HELPERS) $(FUZZ_BINS)

# check installs what is missing first, then builds in a second make so the
# pkg-config lookups above see the freshly installed packages.
check: deps
	@$(MAKE) --no-print-directory tests SANITIZE=$(SANITIZE) WERROR=1
	@BUILD=$(BUILD) sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh scripts/demo.sh

# like check: the benchmarks use the test helpers (ldap_bench, bench_people)
bench: deps
	@$(MAKE) --no-print-directory tests SANITIZE=$(SANITIZE)
	@BUILD=$(BUILD) sh scripts/bench.sh

# Install paths. Units, sysusers.d and tmpfiles.d go under PREFIX/lib, where
# systemd also looks for /usr/local; Debian's package puts units in
# /lib/systemd/system (UNITDIR, debian/rules).
SBINDIR      ?= $(PREFIX)/sbin
SYSCONFDIR   ?= /etc
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
DOCDIR       ?= $(DATADIR)/doc/smimepub
# The administrators' guides, the alert rules and the OpenAPI description of
# lookupd's API, beside the sample config
# (docs/BENCHMARKS.md is the developers' record of measurements: not shipped).
GUIDES        = docs/openldap.md docs/active-directory.md docs/389ds.md docs/alerts.yml \
		docs/openapi.yaml
UNITDIR      ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR  ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR  ?= $(PREFIX)/lib/tmpfiles.d
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
UNITS = smimepub-sync.service smimepub-lookupd.service

# The units with the install paths.
$(BUILD)/etc/%.service: etc/%.service.in $(BUILD)/paths.stamp
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@.tmp
	@mv $@.tmp $@
$(shell mkdir -p $(BUILD) && { echo '$(SBINDIR) $(SYSCONFDIR)' | \
	cmp -s - $(BUILD)/paths.stamp || echo '$(SBINDIR) $(SYSCONFDIR)' >$(BUILD)/paths.stamp; })

units: $(addprefix $(BUILD)/etc/,$(UNITS))

install: all units
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/smimepub/schema \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(LOGROTATEDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 schema/smimepub.schema schema/smimepub.ldif schema/README.md \
		$(DESTDIR)$(DATADIR)/smimepub/schema/
	install -m 0644 etc/smimepub.conf $(DESTDIR)$(DOCDIR)/smimepub.conf.sample
	install -m 0644 $(GUIDES) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(addprefix $(BUILD)/etc/,$(UNITS)) $(DESTDIR)$(UNITDIR)/
	install -m 0644 etc/smimepub.sysusers $(DESTDIR)$(SYSUSERSDIR)/smimepub.conf
	install -m 0644 etc/smimepub.tmpfiles $(DESTDIR)$(TMPFILESDIR)/smimepub.conf
	install -m 0644 etc/smimepub.logrotate $(DESTDIR)$(LOGROTATEDIR)/smimepub
	install -m 0644 docs/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/*.5 $(DESTDIR)$(MANDIR)/man5/

# Removes what install put there; the state, logs and the user are left.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(PROGS))) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(SYSUSERSDIR)/smimepub.conf $(DESTDIR)$(TMPFILESDIR)/smimepub.conf \
		$(DESTDIR)$(LOGROTATEDIR)/smimepub \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard docs/*.8))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard docs/*.5)))
	rm -rf $(DESTDIR)$(DATADIR)/smimepub $(DESTDIR)$(DOCDIR)

# The Debian packages (debian/), written to the parent directory.
deb:
	dpkg-buildpackage -us -uc -b

clean:
	rm -rf build build-san

.PHONY: all deps tests check demo bench install uninstall units deb clean
