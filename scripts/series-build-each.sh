#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# series-build-each.sh: prove that every patch of the series builds on its
# own, as a maintainer bisecting the series needs: git rebase --exec over
# the series' commits builds the release kernel (bzImage and modules) after
# each one, incrementally in one build directory.
#
# The result is cached (scripts/cache.sh, kind series-each) under the
# release kernel's key, which covers the patches, the config fragments
# and the toolchain: nothing changed, no work.  The first build costs a
# full kernel build, each further commit an incremental one (38 min in
# all on a busy 2-core machine).  Builds the release kernel first if needed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${LAZYRESUME_BUILD:-$here/build}
. "$here/scripts/cache.sh"
. "$here/scripts/kernel-source.sh"

"$here/scripts/build-kernel.sh" release >&2
key=$( {
	"$here/scripts/build-kernel.sh" --print-key release
	sha256sum <"$0"
} | sha256sum | cut -c1-16)

# build_each DIR: the per-commit builds; prints the result file.
build_each() {
	local dir=$1 work src kernel
	kernel=$(readlink -f "$build/kernel/release")
	src=$(readlink -f "$kernel/source")
	git -C "$src" rev-parse -q --verify lazyresume-base >/dev/null || {
		echo "series-build-each: $src is not a git tree of the series" >&2
		return 1
	}
	work=$(mktemp -d "$build/series-each.XXXXXX")
	ksrc_git clone -q --shared "$src" "$work/src"
	mkdir "$work/out"
	cp "$kernel/.config" "$work/out/.config"
	cat >"$work/build-one" <<EOF
#!/bin/bash
set -euo pipefail
start=\$(date +%s)
subject=\$(git log -1 --format=%s)
n=\$(git rev-list --count lazyresume-base..HEAD)
kmake() { make -C "$work/src" O="$work/out" LLVM=1 ARCH=x86_64 "\$@"; }
if kmake -s olddefconfig >"$work/build.log" 2>&1 &&
	kmake -j"\${JOBS:-3}" bzImage modules >>"$work/build.log" 2>&1; then
	echo "builds: \$(printf %04d "\$n") \$subject (\$((\$(date +%s) - start)) s)" |
		tee -a "$dir/result" >&2
else
	tail -40 "$work/build.log" >&2
	echo "series-build-each: DOES NOT BUILD: \$(printf %04d "\$n") \$subject" >&2
	exit 1
fi
EOF
	chmod +x "$work/build-one"
	echo "series-build-each: building the release kernel at each commit" >&2
	if ! (cd "$work/src" && ksrc_git checkout -q -B each lazyresume &&
		ksrc_git rebase -q --exec "$work/build-one" lazyresume-base); then
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
