#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh FLAVOUR: build the lazyresume kernel (FLAVOUR "release" or
# "debug") under build/, cached.  FLAVOUR "baseline" is the debug kernel
# without the patch series and its options (series.config): the
# reference the mm selftests of the patched kernel are compared with.
#
# The Debian linux-source-6.12 tarball, imported into git with
# patches/series applied by git am (a patch that does not apply stops the
# build, naming it; see scripts/kernel-source.sh), and each flavour's out-of-tree build are entries of the machine-wide
# build cache (scripts/cache.sh): the source keyed by its version and the
# patches, the build by that and the config fragments, this script's
# recipe and the toolchain versions.  build/kernel/<flavour> points at the
# current build.  Nothing changed, or the same kernel built by another
# clone: no work.
#
#   build-kernel.sh --print-key FLAVOUR   print the build's key, build nothing
#
# LAZYRESUME_PATCHES, LAZYRESUME_KCONFIG and LAZYRESUME_BUILD override
# patches/, scripts/kconfig/ and build/ (for the tests of this script);
# LAZYRESUME_CACHE moves the cache.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
patches=${LAZYRESUME_PATCHES:-$here/patches}
kconfig=${LAZYRESUME_KCONFIG:-$here/scripts/kconfig}
build=${LAZYRESUME_BUILD:-$here/build}
. "$here/scripts/versions.sh"
. "$here/scripts/cache.sh"
. "$here/scripts/kernel-source.sh"

print_key=0
if [ "${1:-}" = --print-key ]; then
	print_key=1
	shift
fi
flavour=${1:?usage: build-kernel.sh [--print-key] release|debug|baseline}
patched=1
case "$flavour" in
release)
	fragments=("$kconfig/lazyresume.config" "$kconfig/series.config"
		"$kconfig/signing.config")
	;;
debug)
	fragments=("$kconfig/lazyresume.config" "$kconfig/series.config"
		"$kconfig/signing.config" "$kconfig/debug.config")
	;;
baseline)
	fragments=("$kconfig/lazyresume.config" "$kconfig/debug.config")
	patched=0
	;;
*) echo "build-kernel: unknown flavour '$flavour'" >&2; exit 2 ;;
esac
jobs=${JOBS:-3}
[ "$jobs" -gt 3 ] && jobs=3

# The patched flavours trust the image signing certificate (keys.sh).
trusted_cert=
[ "$patched" = 1 ] && trusted_cert=$("$here/scripts/keys.sh" --cert)

src_version=$(dpkg-query -W -f='${Version}' linux-source-6.12)

series=()
[ "$patched" = 1 ] && mapfile -t series < <(ksrc_series "$patches")

hash_of() { sha256sum | cut -c1-16; }

src_key=$( {
	echo "$src_version"
	for p in ${series[@]+"${series[@]}"}; do echo "$p"; cat "$patches/$p"; done
} | hash_of)

# Bump when the way the kernel is configured or built below changes.
recipe=3
targets=(bzImage modules)
build_key=$( {
	echo "$src_key $flavour recipe $recipe ${targets[*]}"
	for f in "${fragments[@]}"; do cat "$f"; done
	[ -n "$trusted_cert" ] && cat "$trusted_cert"
	rustc --version; clang --version | head -1; ld.lld --version
	bindgen --version
} | hash_of)
if [ "$print_key" = 1 ]; then
	echo "$flavour-$build_key"
	exit 0
fi

# unpack_source DIR: the source tree as a git repository, the series
# applied by git am (scripts/kernel-source.sh), into DIR; prints the files
# the series touches (they prove the entry intact).
unpack_source() {
	local dir=$1
	ksrc_import "$dir" || return 1
	if [ "$patched" = 1 ]; then
		ksrc_am "$dir" "$patches" || return 1
	fi
	echo Makefile
	ksrc_git -C "$dir" diff --name-only --diff-filter=d lazyresume-base HEAD
}

# LOCALVERSION set, even empty, keeps scripts/setlocalversion from
# appending "+" for a source tree in git past its tag: the release is
# the Debian source's own, 6.12.N.
kmake() { make -C "$src" O="$out" LLVM=1 ARCH=x86_64 LOCALVERSION= "$@"; }

# build_kernel DIR: configure and build this flavour out of tree in DIR;
# prints the files that prove the entry intact.
build_kernel() {
	out=$1
	local start f frag_paths=() bad=() line opt got b
	start=$(date +%s)
	kmake -s tinyconfig >&2
	for f in "${fragments[@]}"; do
		cat "$f" >"$out/$(basename "$f")"
		frag_paths+=("$out/$(basename "$f")")
	done
	if [ -n "$trusted_cert" ]; then
		cp "$trusted_cert" "$out/trusted-image-keys.pem"
		echo "CONFIG_SYSTEM_TRUSTED_KEYS=\"$out/trusted-image-keys.pem\"" \
			>"$out/trusted-keys.config"
		frag_paths+=("$out/trusted-keys.config")
	fi
	(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" .config \
		"${frag_paths[@]}" >/dev/null)
	kmake -s olddefconfig >&2

	# kconfig silently drops what it cannot satisfy: check every line.
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
		return 1
	fi

	echo "build-kernel: building $flavour kernel with -j$jobs (log: $out/build.log)" >&2
	if ! kmake -j"$jobs" "${targets[@]}" >"$out/build.log" 2>&1 ||
		! kmake -s headers >>"$out/build.log" 2>&1; then
		tail -40 "$out/build.log" >&2
		echo "build-kernel: $flavour kernel build failed" >&2
		return 1
	fi
	touch "$out/.lazyresume-built"
	echo "build-kernel: $flavour kernel built in $(($(date +%s) - start)) s" >&2
	# source/Makefile: the source entry the build points at is still there.
	for f in arch/x86/boot/bzImage .config Module.symvers rust/libkernel.rmeta \
		include/generated/utsrelease.h source/Makefile; do
		[ -f "$out/$f" ] && echo "$f"
	done
}

if out=$(cache_get kernel "$flavour-$build_key"); then
	echo "build-kernel: $flavour kernel up to date ($flavour-$build_key, cached in $(dirname "$out"))"
else
	src=$(cache_build linux-src "$src_key" unpack_source)
	out=$(cache_build kernel "$flavour-$build_key" build_kernel)
fi
mkdir -p "$build/kernel"
ln -sfn "$out" "$build/kernel/$flavour"

# Keep the two most recently used builds of each flavour, and the sources
# they (or a build under way) use.
cache_prune kernel 2 "$flavour-"
root=$(cache_root)
for tree in "$root"/linux-src/*; do
	[ -L "$tree" ] || continue
	[ -n "$(find "$tree" -maxdepth 0 -mmin -60)" ] && continue
	real=$(readlink -f "$tree")
	used=0
	for s in "$root"/kernel/*/source; do
		[ "$(readlink -f "$s")" = "$real" ] && used=1
	done
	[ "$used" = 1 ] || cache_prune_entry linux-src "$(basename "$tree")"
done
