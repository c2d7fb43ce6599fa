#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# series-build-each.sh: prove that every patch of the series builds on its
# own, as a maintainer bisecting the series needs: git rebase --exec over
# the series' commits builds the release kernel (bzImage and modules) after
# each one, incrementally in one build directory, with no new compiler
# warning in the files the commit touches.
#
# The result is cached (scripts/cache.sh, kind series-each) under the
# release kernel's key, which covers the patches, the config fragments
# and the toolchain, and the recipe below: nothing changed, no work.  The first build costs a
# full kernel build, each further commit an incremental one (25 to 38
# min in all on a busy 2-core machine).  Builds the release kernel first if needed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${LAZYRESUME_BUILD:-$here/build}
. "$here/scripts/cache.sh"
. "$here/scripts/kernel-source.sh"

# build_one WORK RESULT: run by git rebase --exec at each commit, in WORK's
# clone: the release config (as the release kernel has it: the options of
# later patches are dropped by olddefconfig until their patch adds them),
# bzImage and modules, and no compiler warning in a file the commit
# touches; at the last commit the config must be the release kernel's.
build_one() {
	local work=$1 result=$2 start subject n f warned=0
	start=$(date +%s)
	subject=$(git log -1 --format=%s)
	n=$(printf %04d "$(git rev-list --count lazyresume-base..HEAD)")
	kmake() { make -C "$work/src" O="$work/out" LLVM=1 ARCH=x86_64 "$@"; }
	cp "$work/release.config" "$work/out/.config" || return 1
	if ! kmake -s olddefconfig >"$work/build.log" 2>&1 ||
		! kmake -j"${JOBS:-3}" bzImage modules >>"$work/build.log" 2>&1; then
		tail -40 "$work/build.log" >&2
		echo "series-build-each: DOES NOT BUILD: $n $subject" >&2
		return 1
	fi
	while read -r f; do
		if grep -F "$f:" "$work/build.log" | grep -q 'warning:'; then
			grep -F "$f:" "$work/build.log" | grep -A3 'warning:' >&2
			warned=1
		fi
	done < <(git diff --name-only HEAD~1 HEAD)
	if [ "$warned" = 1 ]; then
		echo "series-build-each: WARNS: $n $subject" >&2
		return 1
	fi
	if [ "$(git rev-parse HEAD)" = "$(git rev-parse lazyresume)" ] &&
		! diff -u "$work/release.config" "$work/out/.config" >&2; then
		echo "series-build-each: the last commit's config is not the release kernel's" >&2
		return 1
	fi
	echo "builds: $n $subject ($(($(date +%s) - start)) s)" | tee -a "$result" >&2
}

if [ "${1:-}" = --one ]; then
	build_one "$2" "$3"
	exit
fi

"$here/scripts/build-kernel.sh" release >&2
# Bump when the way each commit is built changes.
recipe=2
key=$(echo "$("$here/scripts/build-kernel.sh" --print-key release) each recipe $recipe" |
	sha256sum | cut -c1-16)

# build_each DIR: the per-commit builds; prints the result file.
build_each() {
	local dir=$1 work src kernel
	kernel=$(readlink -f "$build/kernel/release")
	src=$(readlink -f "$kernel/source")
	git -C "$src" rev-parse -q --verify lazyresume-base >/dev/null || {
		echo "series-build-each: $src is not a git tree of the series" >&2
		return 1
	}
	work=$(mktemp -d "$build/series-each.XXXXXX") || return 1
	# A clone of its own (hard links, not --shared): the source entry may
	# be pruned while this runs.
	if ! ksrc_git clone -q "$src" "$work/src" || ! mkdir "$work/out" ||
		! cp "$kernel/.config" "$work/release.config"; then
		rm -rf "$work"
		return 1
	fi
	echo "series-build-each: building the release kernel at each commit" >&2
	if ! (cd "$work/src" && ksrc_git checkout -q -B each lazyresume &&
		ksrc_git rebase -q --exec \
		"$here/scripts/series-build-each.sh --one $work $dir/result" lazyresume-base); then
		rm -rf "$work"
		return 1
	fi
	rm -rf "$work"
	echo result
}

if out=$(cache_get series-each "$key"); then
	echo "series-build-each: up to date (series-each/$key)"
else
	out=$(cache_build series-each "$key" build_each)
fi
cat "$out/result"
echo "series-build-each: $(wc -l <"$out/result") of $(git -C "$(readlink -f "$build/kernel/release/source")" rev-list --count lazyresume-base..lazyresume) commits build"
cache_prune series-each 2 ""
