# SPDX-License-Identifier: GPL-2.0
#
# lazyresume: the project's make targets.  The module itself is built by
# Kbuild (see Kbuild) through scripts/build-module.sh.
#
#   make setup      install what this Debian 12 machine lacks (idempotent)
#   make keys       the machine's test image signing key and certificate,
#                   made once (build/keys; scripts/keys.sh), which the
#                   client kernels trust and the tests sign images with
#   make kernel     the patched kernel, release and debug flavours (cached)
#   make module     lazyresume.ko for both flavours
#   make userspace  the static userspace tools
#   make initramfs  the test initramfs for both flavours
#   make initramfs-baseline  the unpatched debug kernel and its initramfs,
#                   the reference of the mm selftests regression check
#   make check      every test; ends with "N passed, M failed"
#   make demo       build everything, boot, load the module, show it
#   make lab-demo   the diskless lab (scripts/lab/): a client PXE-boots
#                   through dnsmasq and iPXE at 100 Mbit with 5 % loss and
#                   resumes lazily (Documentation/lab.rst)
#   make fmt        reformat the Rust code
#   make clean      remove this tree's build products (keeps the kernels)
#   make distclean  also remove build/ and empty the machine-wide build
#                   cache (scripts/cache.sh path says where it is)

FLAVOURS := release debug
CARGO_STATIC := CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"

.PHONY: all setup keys kernel module userspace initramfs check demo lab-demo fmt clean distclean \
	$(addprefix kernel-,$(FLAVOURS)) $(addprefix module-,$(FLAVOURS)) \
	$(addprefix initramfs-,$(FLAVOURS)) kernel-baseline initramfs-baseline

all: initramfs

setup:
	@scripts/setup.sh

keys: setup
	@scripts/keys.sh >/dev/null && echo "keys: $$(readlink -f build/keys)"

kernel: $(addprefix kernel-,$(FLAVOURS))
$(addprefix kernel-,$(FLAVOURS) baseline): kernel-%: setup
	@scripts/build-kernel.sh $*

module: $(addprefix module-,$(FLAVOURS))
$(addprefix module-,$(FLAVOURS)): module-%: kernel-%
	@scripts/build-module.sh $*

userspace: setup
	@cd userspace && $(CARGO_STATIC) cargo build --quiet --release --locked \
		--target x86_64-unknown-linux-gnu --target-dir ../build/userspace

initramfs: $(addprefix initramfs-,$(FLAVOURS))
$(addprefix initramfs-,$(FLAVOURS)): initramfs-%: module-% userspace
	@scripts/build-initramfs.sh $*
initramfs-baseline: kernel-baseline userspace
	@scripts/build-initramfs.sh baseline

check: setup
	@scripts/check.sh

demo: initramfs-release
	@scripts/demo.sh

lab-demo: initramfs-release
	@scripts/lab/lab-test.sh release

fmt:
	cd userspace && cargo fmt
	rustfmt --config-path .rustfmt.toml rust/lazyresume.rs

clean:
	rm -rf build/module build/initramfs build/runs build/tests build/userspace \
		build/check userspace/target

distclean: clean
	rm -rf build
	scripts/cache.sh clear
