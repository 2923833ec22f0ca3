# Top-level build: pfsd (the bundled PFS server) and the nginx dynamic module.
#
#   make               build build/pfsd and build/ngx_http_pfs_s3_module.so
#   make pfsd          only the daemon
#   make module        only the nginx module (against $(NGINX_SRC))
#   make check-unit    C unit tests of pfsd's intricate parts
#   make pyproto       Python message classes for the t/pfsd tests
#   make clean
#
# NGINX_SRC is any nginx source tree with a ./configure script; by default
# the one Debian ships in nginx-dev, which matches Debian's nginx binary.
# NGINX_CONFIGURE_FLAGS defaults to the flags Debian built its nginx with, so
# the module loads into the stock binary.  SANITIZE=address builds everything
# of ours with AddressSanitizer and UBSan.

BUILD      ?= build
NGINX_SRC  ?= /usr/share/nginx/src
SANITIZE   ?=

PKGS       := grpc libprotobuf-c sqlite3 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN       := -Wall -Wextra -Werror
OPT        ?= -O2 -g
# A sanitizer report stops the process, so that no test passes over one
# (and gcc's recovering UBSan nonnull check trips -Wformat-truncation).
SAN_FLAGS  := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
              -fno-omit-frame-pointer,)

PROTO_DIR  := proto
PROTO_SRC  := pfs.proto auth.proto version.proto \
              google/protobuf/empty.proto google/protobuf/timestamp.proto \
              google/protobuf/wrappers.proto
PROTO_OUT  := $(BUILD)/proto
PROTO_C    := $(addprefix $(PROTO_OUT)/,$(PROTO_SRC:.proto=.pb-c.c))
PROTO_H    := $(PROTO_C:.c=.h)

PFSD_SRCS  := $(wildcard pfsd/*.c)
PFSD_MAIN  := pfsd/main.c
PFSD_LIB   := $(filter-out $(PFSD_MAIN),$(PFSD_SRCS))
PFSD_OBJS  := $(patsubst pfsd/%.c,$(BUILD)/pfsd-obj/%.o,$(PFSD_LIB))
PROTO_OBJS := $(patsubst $(PROTO_OUT)/%.c,$(BUILD)/proto-obj/%.o,$(PROTO_C))

CFLAGS_PFSD := -std=gnu11 $(OPT) $(WARN) $(SAN_FLAGS) -D_GNU_SOURCE \
               -I$(PROTO_OUT) -Ipfsd $(PKG_CFLAGS) -pthread
LDLIBS_PFSD := $(PKG_LIBS) -lpthread -lm

UNIT_SRCS  := $(wildcard pfsd/tests/*.c)
UNIT_BINS  := $(patsubst pfsd/tests/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

MODULE_SO  := $(BUILD)/ngx_http_pfs_s3_module.so

# Unit tests of the module's pure parts (t/unit/), against nginx's headers
# in the private tree that "make module" configures.
NGX_TREE      := $(BUILD)/nginx
NGX_INCS      := -I$(NGX_TREE)/src/core -I$(NGX_TREE)/src/event \
                 -I$(NGX_TREE)/src/os/unix -I$(NGX_TREE)/objs -Isrc
MOD_UNIT_BINS := $(BUILD)/unit/sigv4_test
MODULE_DEPS := config ngx_http_pfs_s3_module.c $(wildcard src/*.c src/*.h) \
               $(addprefix $(PROTO_DIR)/,$(PROTO_SRC))

.PHONY: all pfsd module proto check-unit clean

all: pfsd module

proto: $(PROTO_C)

# protoc-c writes every output of one invocation; generate them together.
$(PROTO_C) $(PROTO_H) &: $(addprefix $(PROTO_DIR)/,$(PROTO_SRC))
	@mkdir -p $(PROTO_OUT)
	protoc-c -I$(PROTO_DIR) --c_out=$(PROTO_OUT) $(PROTO_SRC)

$(BUILD)/proto-obj/%.o: $(PROTO_OUT)/%.c $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) $(SAN_FLAGS) -I$(PROTO_OUT) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/pfsd-obj/%.o: pfsd/%.c $(wildcard pfsd/*.h) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PFSD) -c $< -o $@

pfsd: $(BUILD)/pfsd

$(BUILD)/pfsd: $(PFSD_MAIN) $(PFSD_OBJS) $(PROTO_OBJS)
	$(CC) $(CFLAGS_PFSD) $^ -o $@ $(LDLIBS_PFSD)

$(BUILD)/unit/%: pfsd/tests/%.c $(PFSD_OBJS) $(PROTO_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PFSD) $^ -o $@ $(LDLIBS_PFSD)

check-unit: $(UNIT_BINS) $(MOD_UNIT_BINS)
	@set -e; for t in $(UNIT_BINS) $(MOD_UNIT_BINS); do echo "== $$t"; $$t; done


$(BUILD)/unit/sigv4_test: t/unit/sigv4_test.c src/ngx_http_pfs_s3_sigv4.c \
                          src/ngx_http_pfs_s3_sigv4.h $(MODULE_SO)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) $(WARN) $(SAN_FLAGS) $(NGX_INCS) \
	    t/unit/sigv4_test.c src/ngx_http_pfs_s3_sigv4.c -o $@ -lcrypto

# Python message classes for the t/pfsd tests (google well-known types come
# from the installed python3-protobuf, so only our own files are generated).
PY_OUT     := $(BUILD)/py
PY_PROTO   := pfs.proto auth.proto version.proto
PY_GEN     := $(addprefix $(PY_OUT)/,$(PY_PROTO:.proto=_pb2.py))

.PHONY: pyproto
pyproto: $(PY_GEN)

$(PY_GEN) &: $(addprefix $(PROTO_DIR)/,$(PY_PROTO))
	@mkdir -p $(PY_OUT)
	protoc -I$(PROTO_DIR) --python_out=$(PY_OUT) $(PY_PROTO)

# The module is built by nginx's own build system in a private copy of the
# source tree, so the tree given in NGINX_SRC is never written to.
module: $(MODULE_SO)

$(MODULE_SO): $(MODULE_DEPS)
	SANITIZE="$(SANITIZE)" scripts/build-module "$(NGINX_SRC)" "$(BUILD)"

clean:
	rm -rf $(BUILD)

# Fuzz targets (libFuzzer, clang): the module's parsers linked with a
# minimal nginx runtime (fuzz/ngx_fuzz_rt.c), and pfsd's ModifyFile
# handling.  scripts/fuzz runs them; see README "Fuzzing".
FUZZ_CC      ?= clang-14
FUZZ_DIR     := $(BUILD)/fuzz
# nonnull-attribute is off: nginx code copies empty strings with
# ngx_cpymem(p, NULL, 0) everywhere, which glibc's memcpy takes.
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-sanitize=nonnull-attribute
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link -Wall -Wextra -Werror \
                -Wno-unused-parameter
FUZZ_NGX     := $(BUILD)/nginx
FUZZ_INCS    := -I$(FUZZ_NGX)/src/core -I$(FUZZ_NGX)/src/event \
                -I$(FUZZ_NGX)/src/event/modules -I$(FUZZ_NGX)/src/os/unix \
                -I$(FUZZ_NGX)/objs -I$(FUZZ_NGX)/src/http \
                -I$(FUZZ_NGX)/src/http/modules -I$(FUZZ_NGX)/src/http/v2 \
                -Isrc -Ifuzz -I$(PROTO_OUT) \
                $(shell pkg-config --cflags libxml-2.0 libpcre2-8 2>/dev/null)
FUZZ_LIBS    := -lprotobuf-c $(shell pkg-config --libs libxml-2.0 libpcre2-8 \
                2>/dev/null) -lcrypto
FUZZ_MOD_SRC := request bucket error xml response body decode headers auth \
                chunksig sigv4 checksum copy_source
FUZZ_MOD_OBJ := $(patsubst %,$(FUZZ_DIR)/mod/ngx_http_pfs_s3_%.o,$(FUZZ_MOD_SRC)) \
                $(FUZZ_DIR)/mod/ngx_fuzz_rt.o \
                $(patsubst $(PROTO_OUT)/%.c,$(FUZZ_DIR)/proto/%.o,$(PROTO_C))
FUZZ_MOD_TARGETS := request chunked decode xml headers copy_source auth
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_MOD_TARGETS))

.PHONY: fuzz
.SECONDARY:
fuzz: $(FUZZ_BINS)

# the module build configures build/nginx (ngx_auto_config.h)
$(FUZZ_NGX)/objs/ngx_auto_config.h: $(MODULE_SO)

$(FUZZ_DIR)/mod/%.o: src/%.c src/ngx_http_pfs_s3.h $(PROTO_H) \
                     $(FUZZ_NGX)/objs/ngx_auto_config.h Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INCS) -c $< -o $@

$(FUZZ_DIR)/mod/%.o: fuzz/%.c fuzz/ngx_fuzz.h src/ngx_http_pfs_s3.h \
                     $(PROTO_H) $(FUZZ_NGX)/objs/ngx_auto_config.h Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INCS) -c $< -o $@

$(FUZZ_DIR)/proto/%.o: $(PROTO_OUT)/%.c $(PROTO_H) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -I$(PROTO_OUT) \
	    -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/mod/fuzz_%.o $(FUZZ_MOD_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LIBS)

# pfsd's ModifyFile handling against a real store and committer thread
# (clang warns of a deliberate string concatenation gcc accepts)
FUZZ_PFSD_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                    -fsanitize=fuzzer-no-link -Wall -Wextra -Werror \
                    -Wno-string-concatenation -D_GNU_SOURCE -I$(PROTO_OUT) -Ipfsd $(PKG_CFLAGS) -pthread
FUZZ_PFSD_OBJS   := $(patsubst pfsd/%.c,$(FUZZ_DIR)/pfsd/%.o,$(PFSD_LIB))

fuzz: $(FUZZ_DIR)/fuzz_pfsd_modify

$(FUZZ_DIR)/pfsd/%.o: pfsd/%.c $(wildcard pfsd/*.h) $(PROTO_H) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_PFSD_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_pfsd_modify: fuzz/fuzz_pfsd_modify.c $(FUZZ_PFSD_OBJS) \
                              $(patsubst $(PROTO_OUT)/%.c,$(FUZZ_DIR)/proto/%.o,$(PROTO_C))
	$(FUZZ_CC) $(FUZZ_PFSD_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS_PFSD)
