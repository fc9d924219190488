# xenlet - one entry point for building, testing, installing.
#   make            build xenletd and xl-pod into $(B)/
#   make deps       install the Debian packages the build and tests need
#   make unit | integration | e2e | check | demo | demo-sim | bench | install
#   SAN=1           build with AddressSanitizer + UndefinedBehaviorSanitizer (in build-san/)
#   CC=clang        build with clang (in build-clang/ unless B is given)

CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?= 0
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(SAN),1)
B ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifneq ($(findstring clang,$(CC)),)
B ?= build-clang
else
B ?= build
endif

PKGS    = libevent libevent_openssl libcurl libcjson yaml-0.1 openssl zlib
XENPKGS = xenlight xenstore xentoollog
CPPFLAGS += -Iinclude -D_GNU_SOURCE -DXN_VERSION='"$(VERSION)"'
CFLAGS  ?= -O2 -g

# pkg-config OPTION PACKAGES, run once when first needed (so `make clean` and
# `make deps` work without the packages); a missing package stops the build
# with its name and pkg-config's own message, never an empty flag list.
pkg_missing = $(strip $(foreach p,$(1),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
pkg = $(if $(call pkg_missing,$(2)),$(error pkg-config cannot find: $(call pkg_missing,$(2)) \
      ($(shell pkg-config --print-errors --exists $(2) 2>&1 | head -n 1)); \
      `make deps` installs what the build needs),$(shell pkg-config $(1) $(2)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkg,--cflags,$(PKGS) $(XENPKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(call pkg,--libs,$(PKGS) $(XENPKGS)))$(PKG_LIBS)
TEST_LDLIBS = $(eval TEST_LDLIBS := $$(call pkg,--libs,cmocka))$(TEST_LDLIBS)

# -MMD -MP: each object (and each test binary, which may #include a .c file)
# gets a .d file listing the headers and sources it was built from.
DEPFLAGS = -MMD -MP
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
           -Wmissing-prototypes -Wstrict-prototypes -fPIC $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lutil -lm

LIB_SRCS   := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(B)/%.o)
XLPOD_SRCS := $(wildcard xl-plugin/*.c)
XLPOD_OBJS := $(XLPOD_SRCS:%.c=$(B)/%.o)
UNIT_SRCS  := $(wildcard test/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:%.c=$(B)/%)
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard test/unit/*.c))
UNIT_HELPER_OBJS := $(UNIT_HELPERS:%.c=$(B)/%.o)
# the unit-test helper objects are kept between builds, not intermediate
.SECONDARY: $(UNIT_HELPER_OBJS)
GUESTS     := $(B)/guests/xn-test-pvh $(B)/guests/xn-test-pv

.PHONY: all deps unit integration e2e check demo demo-sim bench install clean format-check guests fuzz fuzz-bins

all: $(B)/xenletd $(B)/xl-pod

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/libxenlet.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/xenletd: $(B)/daemon/main.o $(B)/libxenlet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/xl-pod: $(XLPOD_OBJS) $(B)/libxenlet.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test/unit/test_%: test/unit/test_%.c $(UNIT_HELPER_OBJS) $(B)/libxenlet.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CPPFLAGS) -Itest/unit $(CFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ \
	  -DXN_SRCDIR='"$(CURDIR)"' -DXN_BUILDDIR='"$(CURDIR)/$(B)"' $(LDFLAGS) -o $@ $< \
	  $(UNIT_HELPER_OBJS) $(B)/libxenlet.a $(LDLIBS) $(TEST_LDLIBS)

-include $(LIB_OBJS:.o=.d) $(B)/daemon/main.d $(XLPOD_OBJS:.o=.d) $(UNIT_HELPER_OBJS:.o=.d) \
	 $(UNIT_BINS:=.d)

# Test unikernels: freestanding, no libc (see test/guests/README.md).
guests:
	@if [ -f test/guests/Makefile ]; then $(MAKE) -C test/guests O=$(CURDIR)/$(B)/guests; \
	 else echo "guests: no test unikernels yet"; fi

deps:
	scripts/deps.sh
	@# the cluster network components (kube-proxy, CoreDNS, flannel) from Go
	@# modules into the cache, as the control plane (test/cluster)
	@if command -v go >/dev/null || [ -x /usr/local/go/bin/go ]; then \
	  test/cluster/build-netcomp.sh >/dev/null; \
	 else echo "deps: no Go toolchain: the network components are not built"; fi

unit: all $(UNIT_BINS) guests
	test/unit/run.sh $(B)

integration: all guests
	test/integration/run.sh $(B)

e2e: all guests
	test/e2e/run.sh $(B)

# All tiers CI runs: unit tests under gcc, clang, and ASan+UBSan, then the
# integration and end-to-end tiers.
check:
	$(MAKE) unit
	$(MAKE) CC=clang unit
	$(MAKE) SAN=1 unit
	$(MAKE) format-check
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)
	$(MAKE) integration
	$(MAKE) e2e

demo: all
	scripts/demo.sh $(B)

demo-sim: all
	scripts/demo-sim.sh $(B)

bench: all
	test/bench/run.sh $(B)

format-check:
	scripts/format-check.sh

# Fuzzing (docs/fuzzing.md): libFuzzer targets in test/fuzz/, built with clang
# and ASan+UBSan against the daemon's own objects in $(FUZZ_B)/, each run for
# FUZZ_SECONDS, one after the other (the machine is shared: never in parallel).
#   make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS="quantity kube_watch"]
FUZZ_B       ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_TARGETS ?=
FUZZ_SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_SRCS    := $(wildcard test/fuzz/fuzz_*.c)

fuzz:
	@if test/fuzz/run.sh --probe $(FUZZ_CC); then \
	  $(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) SANFLAGS='$(FUZZ_SANFLAGS)' fuzz-bins; \
	fi
	FUZZ_CC=$(FUZZ_CC) test/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Only with B=$(FUZZ_B) and the fuzz flags, as `make fuzz` calls it.
fuzz-bins: $(FUZZ_SRCS:test/fuzz/%.c=$(B)/test/fuzz/%)

$(B)/test/fuzz/fuzz_%: test/fuzz/fuzz_%.c $(wildcard test/fuzz/*.h) $(B)/libxenlet.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(CC) $(CPPFLAGS) -Itest/fuzz $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< \
	  $(B)/libxenlet.a $(LDLIBS)

install: all
	scripts/install.sh "$(DESTDIR)" "$(PREFIX)" "$(B)"

clean:
	rm -rf build build-san build-clang build-fuzz
