# mkagent - concurrent HSM master key changes on the AP bus, automated.
#
#   make          build agent/mkagent
#   make check    install missing packages, build, run every test (prove)
#   make demo     a full master key change on the simulated AP bus
#   make interop  the real openCryptoki 3.23 (Debian trixie root) and the
#                 real lszcrypt (s390x, qemu-user) on apsim
#   make deps     install the Debian packages the build and tests need
#   make install  DESTDIR=... PREFIX=...

VERSION    := 0.1
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/mkagent
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/mkagent
SYSCONFDIR ?= /etc
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
UNITDIR    ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL    ?= install

# Debian bookworm packages for the build and the tests.
DEB_PKGS := gcc make pkg-config perl systemd libudev-dev libkmod-dev libssl-dev \
	libnl-3-dev libinih-dev libjson-c-dev umockdev libumockdev-dev groff-base \
	prometheus

PKGS      := libudev libkmod openssl libnl-3.0 inih json-c
TEST_PKGS := umockdev-1.0

CC     ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
# make check SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer
ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
export ASAN_OPTIONS = verify_asan_link_order=0:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
endif
WARN   := -Wall -Wextra -Werror -Wformat-security -Wshadow -Wstrict-prototypes \
	-fstack-protector-strong
# Evaluated when a recipe runs, after `make deps` may have installed pkg-config.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS))
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DVERSION='"$(VERSION)"' $(WARN) $(CPPFLAGS) $(CFLAGS) -Iagent $(PKG_CFLAGS) -MMD -MP

AGENT_LAYERS := core io step daemon cmd
AGENT_SRCS := $(filter-out agent/cmd/main.c,$(foreach l,$(AGENT_LAYERS),$(wildcard agent/$(l)/*.c)))
AGENT_OBJS := $(AGENT_SRCS:.c=.o)
SIM_SRCS   := selftest/tap.c selftest/run.c $(wildcard selftest/apsim*.c) selftest/fixture.c \
	selftest/simkey.c selftest/agentstage.c selftest/zkeystage.c selftest/stubborn.c
SIM_OBJS   := $(SIM_SRCS:.c=.o)
TEST_SRCS  := $(wildcard selftest/test-*.c)
TESTS      := $(TEST_SRCS:.c=)

# A helper in C is one file, helpers/NAME.c built as helpers/NAME, or a folder,
# helpers/NAME/*.c built as helpers/mkagent-NAME. The other files are scripts.
HELPER_DIRS := $(patsubst %/,%,$(wildcard helpers/*/))
HELPER_OBJS := $(patsubst %.c,%.o,$(wildcard helpers/*/*.c))
HELPER_DIR_BINS := $(patsubst helpers/%,helpers/mkagent-%,$(HELPER_DIRS))
HELPER_BINS := $(patsubst %.c,%,$(wildcard helpers/*.c)) $(HELPER_DIR_BINS)
HELPER_SCRIPTS := $(filter-out %.c $(HELPER_BINS) $(HELPER_DIRS),$(wildcard helpers/*))

all: agent/mkagent $(HELPER_BINS)

# Everything built depends on .build-flags, which holds the compiler and its
# flags and is rewritten only when they change: switching SANITIZE, CFLAGS,
# CPPFLAGS or LDFLAGS rebuilds, nothing else does. $(inputs) is $^ without it.
FLAGS_STAMP := .build-flags
inputs = $(filter-out $(FLAGS_STAMP),$^)

$(FLAGS_STAMP): FORCE
	@$(file >$@.new,CC=$(CC) CPPFLAGS=$(CPPFLAGS) CFLAGS=$(CFLAGS) LDFLAGS=$(LDFLAGS))
	@cmp -s $@.new $@ && rm -f $@.new || mv -f $@.new $@

# agent/io/paths.h: where make install puts the helpers, for the compiled-in
# default PIN helper; rewritten only when LIBEXECDIR changes.
agent/io/paths.h: FORCE
	@$(file >$@.new,#define LIBEXECDIR "$(LIBEXECDIR)" /* written by make: do not edit */)
	@cmp -s $@.new $@ && rm -f $@.new || mv -f $@.new $@

agent/io/config.o agent/faults/io/config.o: agent/io/paths.h

helpers/%: helpers/%.c $(FLAGS_STAMP)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

helpers/%.o: helpers/%.c $(FLAGS_STAMP)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# a folder's helper links the objects of its folder
$(HELPER_DIR_BINS): helpers/mkagent-%: $(HELPER_OBJS) $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter helpers/$*/%,$^)

agent/libmkagent.a: $(AGENT_OBJS)
	rm -f $@ && $(AR) rcs $@ $(inputs)

agent/mkagent: agent/cmd/main.o agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS)

agent/%.o: agent/%.c $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The crash test's build: kill points armed (agent/io/fault.h).
FAULT_OBJS := $(patsubst agent/%.c,agent/faults/%.o,$(AGENT_SRCS) agent/cmd/main.c)

agent/faults/%.o: agent/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DMKAGENT_FAULTS -c -o $@ $<

agent/mkagent-faults: $(FAULT_OBJS) $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS)

selftest/tools/%.o: selftest/tools/%.c $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

selftest/%.o: selftest/%.c $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

selftest/libselftest.a: $(SIM_OBJS)
	rm -f $@ && $(AR) rcs $@ $(inputs)

selftest/test-%: selftest/test-%.o selftest/libselftest.a agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS) $(TEST_LIBS)

selftest/demo: selftest/demo.o selftest/libselftest.a agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS) $(TEST_LIBS)

SIMKEYS_OBJS := $(patsubst %.c,%.o,$(wildcard selftest/simkeys*.c))

selftest/simkeys: $(SIMKEYS_OBJS) selftest/libselftest.a agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS) $(TEST_LIBS)

ZKEY_OBJS := $(patsubst %.c,%.o,selftest/tools/zkey.c $(wildcard selftest/tools/zkey-*.c))
selftest/tools/zkey: $(ZKEY_OBJS) selftest/libselftest.a agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS) $(TEST_LIBS)

TOOL_SIMS := selftest/tools/zkey

# test-eio's failing disk, preloaded into the agent and its helpers: built
# without the sanitizers, which a preloaded library cannot carry.
selftest/tools/eio.so: selftest/tools/eio.c $(FLAGS_STAMP)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) -O2 -fPIC -shared -o $@ $< -ldl

tests: agent/mkagent agent/mkagent-faults $(HELPER_BINS) selftest/simkeys $(TOOL_SIMS) \
	selftest/tools/eio.so $(TESTS)

# Installs what is missing; without root, prints the apt-get line and fails.
missing_pkgs = for p in $(DEB_PKGS); do \
	dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || printf '%s ' $$p; done

deps:
	@missing=$$($(missing_pkgs)); \
	if [ -z "$$missing" ]; then echo "make deps: every package is installed"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "make deps: needs root; run: apt-get install -y $$missing" >&2; exit 1; fi; \
	echo "make deps: installing $$missing"; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing

need-deps:
	@missing=$$($(missing_pkgs)); [ -z "$$missing" ] || $(MAKE) --no-print-directory deps

check: need-deps
	@$(MAKE) --no-print-directory tests
	prove -f $(TESTS)

# The build's output goes to a log, shown only when the build fails.
demo: need-deps
	@log=$$(mktemp); $(MAKE) --no-print-directory agent/mkagent selftest/simkeys selftest/demo \
		>$$log 2>&1 || { cat $$log; rm -f $$log; exit 1; }; rm -f $$log
	@./selftest/demo

# make stress: a long randomized model check (STRESS_SEQUENCES x STRESS_STEPS).
STRESS_SEQUENCES ?= 30
STRESS_STEPS     ?= 60
stress: need-deps
	@$(MAKE) --no-print-directory tests
	./selftest/test-model $(STRESS_SEQUENCES) $(STRESS_STEPS) $${SEED:-$$(date +%s)}

# make bench: mkagent and the alternatives measured side by side on apsim;
# the figures go to selftest/bench/last-run.md (see selftest/bench/README.md).
BENCH_RUN := latency reads idle scale-head "scale 256" "scale 1024" "scale 4096" ops phase
BENCH_OBJS := $(patsubst %.c,%.o,$(filter-out selftest/bench/stamp.c,$(wildcard selftest/bench/*.c)))
selftest/bench/bench: $(BENCH_OBJS) selftest/libselftest.a agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS) $(TEST_LIBS)

selftest/bench/stamp: selftest/bench/stamp.c $(FLAGS_STAMP)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) -O2 -o $@ $<

bench: need-deps
	@$(MAKE) --no-print-directory tests selftest/bench/bench selftest/bench/stamp
	@for s in $(BENCH_RUN); do ./selftest/bench/bench $$s || exit 1; done | tee selftest/bench/last-run.md

# make interop: the real openCryptoki 3.23 from Debian trixie, in a root built
# once by mmdebstrap and cached outside the clone (selftest/interop/README.md).
INTEROP_PKGS := mmdebstrap libp11-kit-dev
INTEROP_TESTS := selftest/interop/test-csulcca selftest/interop/test-interop selftest/interop/test-agent \
	selftest/interop/test-agent-kill

interop-deps:
	@missing=$$(for p in $(INTEROP_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || printf '%s ' $$p; done); \
	[ -z "$$missing" ] || $(MAKE) --no-print-directory deps DEB_PKGS="$$missing"

interop-root: interop-deps
	@selftest/interop/mkroot.sh

# The simulated CCA adapter, built here: bookworm's glibc is older than
# trixie's, so the library loads in the root.
CSULCCA_SRCS := $(wildcard selftest/interop/csulcca/*.c)
selftest/interop/libcsulcca.so: $(CSULCCA_SRCS) selftest/interop/csulcca/csulcca.h
	$(CC) -std=gnu11 -D_GNU_SOURCE $(CPPFLAGS) $(WARN) -O2 -g -fPIC -shared -fvisibility=hidden -o $@ \
		$(CSULCCA_SRCS) -lcrypto

# A PKCS#11 application for the root (pkcs11.h from p11-kit, nothing linked).
selftest/interop/p11app: selftest/interop/p11app.c
	$(CC) -std=gnu11 -D_GNU_SOURCE $(CPPFLAGS) $(WARN) -O2 -g -I/usr/include/p11-kit-1 -o $@ $< -ldl

selftest/interop/test-%: selftest/interop/test-%.o selftest/libselftest.a agent/libmkagent.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(PKG_LIBS) $(TEST_LIBS)

# The programs that run in the trixie root.
selftest/interop/test-interop selftest/interop/test-agent selftest/interop/test-agent-kill: selftest/interop/stage.o
selftest/interop/test-agent selftest/interop/test-agent-kill: selftest/interop/ock.o

interop: need-deps interop-deps interop-lszcrypt
	@$(MAKE) --no-print-directory agent/mkagent $(HELPER_BINS) selftest/interop/libcsulcca.so \
		selftest/interop/p11app $(INTEROP_TESTS)
	@root=$$(selftest/interop/mkroot.sh) && MKAGENT_INTEROP_ROOT=$$root prove -f $(INTEROP_TESTS)

# make deb: the Debian package (debian/), checked by lintian; it lands in ../
DEB_BUILD_PKGS := dpkg-dev debhelper lintian fakeroot
deb: need-deps
	@missing=$$(for p in $(DEB_BUILD_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || printf '%s ' $$p; done); \
	[ -z "$$missing" ] || $(MAKE) --no-print-directory deps DEB_PKGS="$$missing"
	dpkg-buildpackage -us -uc -b
	lintian --fail-on error ../mkagent_$(VERSION)_*.changes

# make memcheck: the unit tests under valgrind, failing on any error or leak.
MEMCHECK_TESTS := test-apqn test-mkvp test-mkvps test-opfile test-config test-decide test-uevent \
	test-ini test-queue test-readplan test-mktype
memcheck: need-deps
	@$(MAKE) --no-print-directory tests
	@command -v valgrind >/dev/null || $(MAKE) --no-print-directory deps DEB_PKGS=valgrind
	@for t in $(MEMCHECK_TESTS); do \
		valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
			./selftest/$$t >/dev/null || { echo "memcheck: $$t failed"; exit 1; }; \
		echo "memcheck: $$t: no errors, no leaks"; done

# make interop-lszcrypt: the real lszcrypt (Debian's s390-tools for s390x, run
# by qemu-user) on apsim's AP bus, compared with mkagent status. Runs alone;
# root installs its packages, and its sysroot is cached outside the clone
# (selftest/interop/README-lszcrypt.md).
LSZCRYPT_PKGS := qemu-user-static binfmt-support

interop-lszcrypt-deps:
	@missing=$$(for p in $(LSZCRYPT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || printf '%s ' $$p; done); \
	[ -z "$$missing" ] || $(MAKE) --no-print-directory deps DEB_PKGS="$$missing"

selftest/interop/test-lszcrypt: selftest/interop/test-lszcrypt.o selftest/libselftest.a \
		agent/libmkagent.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(inputs) $(PKG_LIBS) $(TEST_LIBS)

interop-lszcrypt: need-deps interop-lszcrypt-deps
	@$(MAKE) --no-print-directory agent/mkagent selftest/interop/test-lszcrypt
	@sysroot=$$(selftest/interop/s390x-sysroot.sh) && \
		MKAGENT_S390X_SYSROOT=$$sysroot prove -f selftest/interop/test-lszcrypt


# make fuzz [FUZZ_SECONDS=N]: each libFuzzer target for N seconds (clang);
# make -j6 fuzz runs the six side by side. The log of each is in selftest/fuzz/work/.
FUZZ_PKGS    := clang libclang-rt-14-dev
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := mkvps opfile config profile uevent values
FUZZ_ID_mkvps := 1
FUZZ_ID_opfile := 2
FUZZ_ID_config := 3
FUZZ_ID_profile := 4
FUZZ_ID_uevent := 5
FUZZ_ID_values := 6
# Every target links the pure core/ only; config and profile also their io/ file.
FUZZ_SRCS    := $(wildcard agent/core/*.c)
FUZZ_SRCS_config := agent/io/config.c agent/io/fileio.c agent/io/trust.c
FUZZ_SRCS_profile := agent/io/profile.c agent/io/fileio.c agent/io/trust.c

fuzz: $(addprefix fuzz-,$(FUZZ_NAMES))

fuzz-deps:
	@missing=$$(for p in $(FUZZ_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || printf '%s ' $$p; done); \
	[ -z "$$missing" ] || $(MAKE) --no-print-directory deps DEB_PKGS="$$missing"

# One rule per target, so `make -j6 fuzz` runs them side by side.
$(addprefix fuzz-,$(FUZZ_NAMES)): fuzz-%: fuzz-deps agent/io/paths.h
	@mkdir -p selftest/fuzz/work/corpus-$* selftest/fuzz/crashes
	@clang -g -O1 -std=gnu11 -D_GNU_SOURCE $(CPPFLAGS) \
		-DFUZZ_TARGET=$(FUZZ_ID_$*) -Iagent \
		-fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
		-o selftest/fuzz/work/fuzz-$* selftest/fuzz/fuzz-parsers.c $(FUZZ_SRCS) $(FUZZ_SRCS_$*) -linih
	@cp selftest/fuzz/corpus/$*/* selftest/fuzz/work/corpus-$*/
	@echo "fuzz-$*: $(FUZZ_SECONDS) s"
	@selftest/fuzz/work/fuzz-$* -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=selftest/fuzz/crashes/$*- selftest/fuzz/work/corpus-$* \
		> selftest/fuzz/work/fuzz-$*.log 2>&1; rc=$$?; \
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE|ERROR|SUMMARY' \
			selftest/fuzz/work/fuzz-$*.log | sed 's/^/fuzz-$*: /'; exit $$rc

# The shipped files name the Debian paths (/usr/sbin/mkagent, /usr/libexec/mkagent,
# /usr/share/mkagent, ...); installed, they name SBINDIR, LIBEXECDIR, DATADIR, ...
# (the man pages write bash\-completion).
SUBST_PATHS = sed -e 's|/usr/sbin/mkagent|$(SBINDIR)/mkagent|g' \
	-e 's|/usr/libexec/mkagent|$(LIBEXECDIR)|g' -e 's|/usr/share/mkagent|$(DATADIR)|g' \
	-e 's|/usr/lib/udev/rules.d|$(UDEVRULESDIR)|g' -e 's|/usr/lib/systemd/system|$(UNITDIR)|g' \
	-e 's|/usr/share/bash.\{0,1\}-completion/completions|$(BASHCOMPDIR)|g'

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(SYSCONFDIR)/mkagent/profiles $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 agent/mkagent $(DESTDIR)$(SBINDIR)/mkagent
	$(INSTALL) -D -m 0644 completion/mkagent.bash $(DESTDIR)$(BASHCOMPDIR)/mkagent
	$(INSTALL) -D -m 0644 etc/mkagent.rules.yml $(DESTDIR)$(DATADIR)/mkagent.rules.yml
	for m in man/*.[1-8]; do \
		s=$${m##*.}; $(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s; \
		$(SUBST_PATHS) $$m > $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} || exit 1; done
	$(INSTALL) -m 0755 $(HELPER_BINS) $(DESTDIR)$(LIBEXECDIR)/
	for f in $(HELPER_SCRIPTS); do [ -x "$$f" ] || continue; \
		$(SUBST_PATHS) $$f > $(DESTDIR)$(LIBEXECDIR)/$${f##*/} && \
		chmod 0755 $(DESTDIR)$(LIBEXECDIR)/$${f##*/} || exit 1; done
	for f in profiles/*.profile rules/*.rules etc/*.conf etc/*.service; do \
		case "$$f" in *.profile) d=$(SYSCONFDIR)/mkagent/profiles ;; *.rules) d=$(UDEVRULESDIR) ;; \
		*.conf) d=$(SYSCONFDIR)/mkagent ;; *) d=$(UNITDIR) ;; esac; \
		$(SUBST_PATHS) $$f > $(DESTDIR)$$d/$${f##*/} && chmod 0644 $(DESTDIR)$$d/$${f##*/} || exit 1; done

clean:
	rm -rf agent/faults agent/mkagent-faults $(FLAGS_STAMP) agent/io/paths.h
	rm -f agent/*/*.o agent/*/*.d agent/*.a agent/mkagent selftest/*.o selftest/*.d \
		selftest/*.a selftest/tools/*.o selftest/tools/*.d selftest/tools/eio.so selftest/bench/*.o selftest/bench/*.d \
		selftest/bench/bench selftest/bench/stamp selftest/demo selftest/simkeys $(TOOL_SIMS) $(HELPER_BINS) $(TESTS) \
		helpers/*/*.o helpers/*/*.d \
		selftest/interop/*.o selftest/interop/*.d selftest/interop/libcsulcca.so selftest/interop/p11app \
		$(INTEROP_TESTS) selftest/interop/test-lszcrypt

FORCE:
.PHONY: FORCE all tests deps need-deps check demo interop interop-deps interop-root \
	interop-lszcrypt interop-lszcrypt-deps bench deb fuzz fuzz-deps $(addprefix fuzz-,$(FUZZ_NAMES)) stress memcheck install clean
.SECONDARY:
-include $(wildcard agent/*/*.d agent/faults/*/*.d selftest/*.d selftest/tools/*.d selftest/interop/*.d \
	selftest/bench/*.d helpers/*/*.d)
