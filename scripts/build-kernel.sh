#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh FLAVOUR: build the lazyresume kernel (FLAVOUR "release" or
# "debug") under build/, cached.  FLAVOUR "baseline" is the debug kernel
# without the patch series (and without CONFIG_LAZY_ENTRY): the reference
# the mm selftests of the patched kernel are compared with.
#
# The Debian linux-source-6.12 tarball is unpacked once per (source version,
# patch series) into build/linux-src/<key>; patches/series is applied in
# order and a patch that does not apply stops the build, naming it.  Each
# flavour is built out of tree into build/kernel/<flavour>-<key> where the
# key also covers the config fragments, this script and the toolchain, and
# build/kernel/<flavour> points at the current one.  Nothing changed: no work.
#
# LAZYRESUME_PATCHES and LAZYRESUME_BUILD override patches/ and build/ (for
# the test of this script).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
patches=${LAZYRESUME_PATCHES:-$here/patches}
build=${LAZYRESUME_BUILD:-$here/build}
. "$here/scripts/versions.sh"

flavour=${1:?usage: build-kernel.sh release|debug|baseline}
patched=1
case "$flavour" in
release) fragments=(scripts/kconfig/lazyresume.config) ;;
debug) fragments=(scripts/kconfig/lazyresume.config scripts/kconfig/debug.config) ;;
baseline)
	fragments=(scripts/kconfig/lazyresume.config scripts/kconfig/debug.config)
	patched=0
	;;
*) echo "build-kernel: unknown flavour '$flavour'" >&2; exit 2 ;;
esac
# Options only the patched kernel has.
patch_only='^CONFIG_LAZY_ENTRY='
# The fragment lines this flavour asks for.
fragment_lines() {
	if [ "$patched" = 1 ]; then cat "$1"; else grep -v "$patch_only" "$1"; fi
}
jobs=${JOBS:-3}
[ "$jobs" -gt 3 ] && jobs=3

tarball=/usr/src/linux-source-6.12.tar.xz
[ -r "$tarball" ] || { echo "build-kernel: $tarball missing, run 'make setup'" >&2; exit 1; }
src_version=$(dpkg-query -W -f='${Version}' linux-source-6.12)

series=()
[ "$patched" = 1 ] &&
	mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patches/series")

hash_of() { sha256sum | cut -c1-16; }

src_key=$( {
	echo "$src_version"
	for p in ${series[@]+"${series[@]}"}; do echo "$p"; cat "$patches/$p"; done
} | hash_of)
src="$build/linux-src/$src_key"

if [ ! -e "$src/.lazyresume-patched" ]; then
	echo "build-kernel: unpacking linux-source $src_version"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	for p in ${series[@]+"${series[@]}"}; do
		if ! patch -d "$src.tmp" -p1 -N --batch --dry-run -s \
			<"$patches/$p" >/dev/null; then
			echo "build-kernel: patch does not apply: patches/$p" >&2
			patch -d "$src.tmp" -p1 -N --batch --dry-run \
				<"$patches/$p" >&2 || true
			rm -rf "$src.tmp"
			exit 1
		fi
		patch -d "$src.tmp" -p1 -N --batch -s <"$patches/$p"
		echo "build-kernel: applied patches/$p"
	done
	touch "$src.tmp/.lazyresume-patched"
	mv "$src.tmp" "$src"
fi
# Unpacked trees that no kernel build uses any more (the flavours are
# rebuilt one by one, so keep those the other flavours still point at).
for tree in "$build"/linux-src/*; do
	[ "$tree" = "$src" ] && continue
	used=0
	for s in "$build"/kernel/*/source; do
		[ "$(readlink -f "$s")" = "$(readlink -f "$tree")" ] && used=1
	done
	[ "$used" = 1 ] || rm -rf "$tree"
done

# Bump when the way the kernel is configured or built below changes.
recipe=1
targets=(bzImage modules)
build_key=$( {
	echo "$src_key $flavour recipe $recipe ${targets[*]}"
	for f in "${fragments[@]}"; do fragment_lines "$here/$f"; done
	rustc --version; clang --version | head -1; bindgen --version
} | hash_of)
out="$build/kernel/$flavour-$build_key"
link="$build/kernel/$flavour"

kmake() { make -C "$src" O="$out" LLVM=1 ARCH=x86_64 "$@"; }

# Builds of this flavour under other keys are stale (or failed).
prune_others() {
	find "$build/kernel" -mindepth 1 -maxdepth 1 -name "$flavour-*" \
		! -name "$(basename "$out")" -exec rm -rf {} +
}

if [ -e "$out/.lazyresume-built" ]; then
	ln -sfn "$(basename "$out")" "$link"
	prune_others
	echo "build-kernel: $flavour kernel up to date ($(basename "$out"))"
	exit 0
fi

mkdir -p "$out"
start=$(date +%s)
kmake -s tinyconfig
frag_paths=()
for f in "${fragments[@]}"; do
	fragment_lines "$here/$f" >"$out/$(basename "$f")"
	frag_paths+=("$out/$(basename "$f")")
done
(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" .config \
	"${frag_paths[@]}" >/dev/null)
kmake -s olddefconfig

# kconfig silently drops what it cannot satisfy: check every line.
bad=()
for f in "${frag_paths[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$out/.config" || bad+=("$line")
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$out/.config" && bad+=("$line")
			;;
		esac
	done <"$f"
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "build-kernel: options of the fragment not set as asked:" >&2
	for b in "${bad[@]}"; do
		opt=$(sed -E 's/^# //; s/[= ].*//' <<<"$b")
		got=$(grep -E "^$opt=|^# $opt is not set" "$out/.config" || echo "absent")
		echo "  wanted: $b    got: $got" >&2
	done
	exit 1
fi

echo "build-kernel: building $flavour kernel with -j$jobs (log: $out/build.log)"
if ! kmake -j"$jobs" "${targets[@]}" >"$out/build.log" 2>&1 ||
	! kmake -s headers >>"$out/build.log" 2>&1; then
	tail -40 "$out/build.log" >&2
	echo "build-kernel: $flavour kernel build failed" >&2
	exit 1
fi
touch "$out/.lazyresume-built"
ln -sfn "$(basename "$out")" "$link"
prune_others
echo "build-kernel: $flavour kernel built in $(($(date +%s) - start)) s"
