#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh FLAVOUR: build lazyresume.ko and lazyresume_test.ko (the
# same crate with the requests of the tests, see Kbuild) against
# build/kernel/FLAVOUR into build/module/FLAVOUR/, with clippy (CLIPPY=1),
# and fail on any
# compiler or clippy warning.  Kbuild makes it incremental: unchanged
# sources are not rebuilt.  Both modules are signed with the kernel
# build's own module signing key: the client kernels load no unsigned
# module (CONFIG_MODULE_SIG_FORCE, scripts/kconfig/signing.config).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:?usage: build-module.sh release|debug}
kdir="$here/build/kernel/$flavour"
[ -e "$kdir/.lazyresume-built" ] || {
	echo "build-module: no $flavour kernel, run 'make kernel'" >&2
	exit 1
}

# Out-of-tree builds write their objects next to the sources, so each
# flavour builds in its own copy of them (mtimes kept, so Kbuild stays
# incremental).
out="$here/build/module/$flavour"
mkdir -p "$out"
(cd "$here" && rsync -a --relative \
	Kbuild rust/ userspace/crates/abi/src/ userspace/crates/tftp/src/ \
	userspace/crates/image/src/ "$out/")
# A source removed or moved since the last build must not linger in the
# copy, where the compiler would still find it.
(cd "$out" && find rust -name '*.rs' -print0) | while IFS= read -r -d '' f; do
	[ -e "$here/$f" ] || rm -f "$out/$f"
done

log="$out/build.log"
if ! make -C "$kdir" M="$out" LLVM=1 CLIPPY=1 -j3 modules >"$log" 2>&1; then
	cat "$log" >&2
	echo "build-module: $flavour module build failed" >&2
	exit 1
fi
if grep -q 'warning' "$log"; then
	cat "$log" >&2
	# Kbuild would not recompile (nor warn) next time: make it.
	find "$out/rust" -name '*.o' -delete
	echo "build-module: $flavour module build has warnings" >&2
	exit 1
fi
. "$here/scripts/sign-modules.sh"
sign_modules "$kdir" "$out/rust/lazyresume.ko" "$out/rust/lazyresume_test.ko"
echo "build-module: $out/rust/lazyresume.ko $out/rust/lazyresume_test.ko"
