#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-module-layers.sh: scripts/check-module-layers.sh passes the
# module as it is and fails, naming the file and line, on copies of it
# with one planted violation each: a call into the C bindings outside
# sys/, a `use kernel::{bindings, ...}` group over several lines, an
# upward reference (store uses ctl), one hidden in a multi-line
# `use crate::{...}` group (tftp uses fault), a `super::` from a layer's
# top file, a `super::super::` from a file one level deeper, an item of
# the crate root used by a layer, an absolute `::kernel::{bindings}`
# group, and a file outside every layer; and a `super::` inside a layer
# passes.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
check="$here/scripts/check-module-layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# expect NAME pass|fail [PATTERN]: run the check on $tmp/NAME; it must
# pass, or fail with PATTERN in its output.
expect() {
	local out rc=0
	out=$("$check" "$tmp/$1" 2>&1) || rc=$?
	if [ "$2" = pass ] && [ "$rc" = 0 ]; then
		echo "ok: $1 passes"
	elif [ "$2" = fail ] && [ "$rc" = 1 ] && grep -qE -- "$3" <<<"$out"; then
		echo "ok: $1 fails: $(grep -E -- "$3" <<<"$out" | head -1)"
	else
		echo "FAIL: $1: expected $2 ${3:-}, got exit $rc:"
		sed 's/^/    /' <<<"$out"
		failed=1
	fi
}

# plant NAME: a fresh copy of rust/ as $tmp/NAME.
plant() {
	cp -r "$here/rust" "$tmp/$1"
}

plant clean
expect clean pass

plant bindings-in-fault
printf 'fn f() -> bool {\n    unsafe { kernel::bindings::capable(0) }\n}\n' \
	>>"$tmp/bindings-in-fault/fault/mod.rs"
expect bindings-in-fault fail "^fault/mod.rs:[0-9]+: names the kernel's C bindings"

plant bindings-group
printf 'use kernel::{\n    alloc,\n    bindings,\n};\n' >>"$tmp/bindings-group/ctl/stats.rs"
expect bindings-group fail "^ctl/stats.rs:[0-9]+: names the kernel's C bindings"

plant store-uses-ctl
printf 'use crate::ctl::STATS as CTL_STATS;\n' >>"$tmp/store-uses-ctl/store/mod.rs"
expect store-uses-ctl fail "^store/mod.rs:[0-9]+: layer store uses ctl, a layer above it"

plant tftp-uses-fault
printf 'use crate::{\n    sys,\n    fault::STATS,\n};\n' >>"$tmp/tftp-uses-fault/tftp/client.rs"
expect tftp-uses-fault fail "^tftp/client.rs:[0-9]+: layer tftp uses fault, a layer above it"

plant super-from-top
printf 'use super::ctl;\n' >>"$tmp/super-from-top/resume/mod.rs"
expect super-from-top fail "^resume/mod.rs:[0-9]+: reaches the crate root with super::"

plant super-super-from-nested
printf 'use super::super::ctl;\n' >>"$tmp/super-super-from-nested/store/page_store.rs"
expect super-super-from-nested fail "^store/page_store.rs:[0-9]+: reaches the crate root with super::"

plant super-within-layer
printf 'use super::FetchError as E;\n' >>"$tmp/super-within-layer/store/page_store.rs"
expect super-within-layer pass

plant root-item
printf 'const V: &str = crate::ROOT_ITEM;\n' >>"$tmp/root-item/fault/mod.rs"
expect root-item fail "^fault/mod.rs:[0-9]+: layer fault uses ROOT_ITEM of the crate root"

plant absolute-bindings-group
printf 'use ::kernel::{\n    bindings,\n};\n' >>"$tmp/absolute-bindings-group/ctl/stats.rs"
expect absolute-bindings-group fail "^ctl/stats.rs:[0-9]+: names the kernel's C bindings"

plant stray-file
printf '// SPDX-License-Identifier: GPL-2.0\n' >"$tmp/stray-file/helpers.rs"
expect stray-file fail "^helpers.rs: not in a layer"

[ "$failed" = 0 ] && echo "selftest-module-layers: all cases behave"
exit "$failed"
