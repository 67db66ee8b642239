# cdsession - make a multisession disc behave like a directory.
#
#   make            build the programs into build/
#   make deps       install the Debian packages needed to build and test
#   make check      build, run the unit tests (also under ASan+UBSan), the
#                   fuzz targets' seed replay and the bats tests; the last
#                   line says "N passed, N failed"
#   make check-slow the same with CDS_SLOW=1: ten times the model-based and
#                   crash trials (100 power cuts and kills mid-burn), the
#                   4 GiB file, the 100k-file trees
#   make demo       deps + build + the main job on a virtual disc
#   make fuzz       run every fuzz target for FUZZ_SECONDS each
#   make bench      the benchmarks in bench/ (burn, mkimage, staging, fs),
#                   side by side, as tables
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= /sbin
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

CC ?= cc
CLANG ?= clang
PKGS_LIBS := libcdio libiso9660 fuse3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_LIBS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS_LIBS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
	-Wno-format-truncation
VERSION := 0.1.0
CPPFLAGS += -DCDS_VERSION=\"$(VERSION)\"
CPPFLAGS += -I. -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(PKG_CFLAGS)
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN) -fPIC
LDLIBS += $(PKG_LIBS) -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

B := build
LIB_SRCS := $(wildcard common/*.c mmc/*.c iso/*.c staging/*.c fs/*.c)
PROG_DIR := mount.cdsession
PROG_SRCS := $(filter-out %_main.c,$(wildcard $(PROG_DIR)/*.c))
PROGS := $(B)/cdsession $(B)/cdsession-fix $(B)/sbin/mount.cdsession
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
ASAN_TESTS := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
SHIM := $(B)/libsgshim.so

LIB_OBJS := $(patsubst %.c,$(B)/%.o,$(LIB_SRCS))
PROG_OBJS := $(patsubst %.c,$(B)/%.o,$(PROG_SRCS))
ASAN_LIB_OBJS := $(patsubst %.c,$(B)/asan/%.o,$(LIB_SRCS) tests/unit/tap.c)

DEBIAN_PKGS := build-essential pkg-config libfuse3-dev fuse3 libcdio-dev \
	libiso9660-dev bats genisoimage xorriso libcdio-utils cdrskin wodim \
	qemu-system-x86 clang libclang-rt-14-dev rsync clang-format cppcheck

.PHONY: all deps check check-slow check-unit check-asan check-fuzz check-bats demo fuzz \
	bench install clean format format-check lint
all: $(PROGS) $(SHIM)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(B)/libcds.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/asan/libcds.a: $(ASAN_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/cdsession: $(B)/$(PROG_DIR)/cdsession_main.o $(PROG_OBJS) $(B)/libcds.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/cdsession-fix: $(B)/$(PROG_DIR)/cdsession-fix_main.o $(PROG_OBJS) $(B)/libcds.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# in sbin/: $(B)/mount.cdsession is the directory of the programs' objects
$(B)/sbin/mount.cdsession: $(B)/$(PROG_DIR)/mount.cdsession_main.o $(PROG_OBJS) $(B)/libcds.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(SHIM): $(B)/tests/shim/sgshim.o $(B)/libcds.a
	$(CC) $(CFLAGS) -shared -Wl,--exclude-libs,ALL -o $@ $^ $(LDLIBS) -ldl

$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(B)/tests/unit/tap.o $(B)/libcds.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/asan/tests/test_%: $(B)/asan/tests/unit/test_%.o $(B)/asan/libcds.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer targets: the library once with clang's instrumentation, then
# each target linked against it.
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=address,undefined
FUZZ_LIB_OBJS := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(LIB_SRCS))

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<

$(B)/fuzz/libcds.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(B)/fuzz/libcds.a
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer \
		-o $@ $< $(B)/fuzz/libcds.a $(PKG_LIBS) -lpthread

deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "deps: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: run as root: apt-get install$$missing"; exit 1; fi

check: deps
	$(MAKE) -j$(JOBS) all $(UNIT_TESTS) $(ASAN_TESTS) $(FUZZERS)
	@tests/lib/run-checks $(B)

check-slow: deps
	$(MAKE) -j$(JOBS) all $(UNIT_TESTS) $(ASAN_TESTS) $(FUZZERS)
	@CDS_SLOW=1 tests/lib/run-checks $(B)

demo: deps
	$(MAKE) all
	@tests/lib/demo $(B)

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$$(basename $$f); \
		mkdir -p $(B)/fuzz/corpus/$$n; \
		echo "== $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(B)/fuzz/corpus/$$n tests/fuzz/seeds/$$n || exit 1; done

bench: all $(B)/bench/stgbench $(B)/bench/fusefloor
	@bench/burn $(B)
	@bench/mkimage $(B)
	@bench/staging $(B)
	@bench/fs $(B)

$(B)/bench/stgbench: bench/stgbench.c $(B)/libcds.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# the FUSE floor for bench/fs: a passthrough with the daemon's settings
$(B)/bench/fusefloor: bench/fusefloor.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDLIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(B)/cdsession $(DESTDIR)$(PREFIX)/bin/cdsession
	install -m 755 $(B)/cdsession-fix $(DESTDIR)$(SBINDIR)/cdsession-fix
	install -m 755 $(B)/sbin/mount.cdsession $(DESTDIR)$(SBINDIR)/mount.cdsession
	install -m 644 man/cdsession.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/cdsession-fix.8 man/mount.cdsession.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -I. --std=c11 $$(git ls-files '*.c')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
