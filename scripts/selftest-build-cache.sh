#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-build-cache.sh: the machine-wide build cache (scripts/cache.sh)
# publishes complete entries only, builds a key once when two builders race
# for it, detects a corrupt or partial entry and rebuilds it; and the
# kernel build's key (build-kernel.sh --print-key) changes with every input
# (a patch, a config fragment, the toolchain) and with nothing else.
# Uses a scratch cache; builds no kernel.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$here/build"
tmp=$(mktemp -d "$here/build/selftest-cache.XXXX")
trap 'rm -rf "$tmp"' EXIT
export LAZYRESUME_CACHE="$tmp/cache"
. "$here/scripts/cache.sh"
failed=0
ok() { echo "ok   $1"; }
bad() {
	echo "FAIL $1"
	failed=1
}

# A builder that counts its runs, optionally sleeps, and writes two files.
runs="$tmp/runs"
: >"$runs"
fake_build() {
	echo run >>"$runs"
	sleep "${FAKE_SLEEP:-0}"
	[ "${FAKE_FAIL:-0}" = 0 ] || return 1
	echo "payload $RANDOM" >"$1/data"
	echo "not verified" >"$1/other"
	echo data
}
nruns() { wc -l <"$runs"; }

e1=$(cache_build fake k1 fake_build)
[ -L "$LAZYRESUME_CACHE/fake/k1" ] && [ -f "$e1/data" ] &&
	ok "a built entry is published" || bad "a built entry is published"
[ "$(find "$LAZYRESUME_CACHE/fake" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 1 ] &&
	ok "nothing else is left" || bad "nothing else is left"
e2=$(cache_build fake k1 fake_build)
[ "$e2" = "$e1" ] && [ "$(nruns)" = 1 ] &&
	ok "the same key again is a hit" || bad "the same key again is a hit"
cache_get fake k2 >/dev/null && bad "an absent key misses" || ok "an absent key misses"

# Two builders of one key at once: one builds, the other waits and hits.
: >"$runs"
FAKE_SLEEP=2 cache_build fake k3 fake_build >"$tmp/a" &
a=$!
FAKE_SLEEP=2 cache_build fake k3 fake_build >"$tmp/b" &
b=$!
wait "$a" && wait "$b" || bad "two builders of one key both succeed"
[ "$(nruns)" = 1 ] && [ "$(cat "$tmp/a")" = "$(cat "$tmp/b")" ] &&
	ok "two builders of one key at once build it once" ||
	bad "two builders of one key at once build it once ($(nruns) runs)"

# A corrupt entry (a verified file changed) is detected and rebuilt.
: >"$runs"
echo tampered >>"$e1/data"
cache_get fake k1 >/dev/null && bad "a corrupt entry is detected" ||
	ok "a corrupt entry is detected"
e3=$(cache_build fake k1 fake_build)
[ "$(nruns)" = 1 ] && cache_get fake k1 >/dev/null && [ ! -e "$e1" ] && [ -e "$e3" ] &&
	ok "a corrupt entry is rebuilt, the old one removed" ||
	bad "a corrupt entry is rebuilt, the old one removed"
# An entry without its record (the builder was killed) is not one.
rm "$e3/.lazyresume-entry"
cache_get fake k1 >/dev/null && bad "an entry without its record is partial" ||
	ok "an entry without its record is partial"

# A builder killed before publishing leaves a directory nobody points at:
# not an entry, removed by the next build of that key.  A failed build
# publishes nothing.
mkdir "$LAZYRESUME_CACHE/fake/k4.dead01"
cache_get fake k4 >/dev/null && bad "a partial build is not an entry" ||
	ok "a partial build is not an entry"
FAKE_FAIL=1 cache_build fake k4 fake_build >/dev/null &&
	bad "a failed build fails" || ok "a failed build fails"
[ ! -e "$LAZYRESUME_CACHE/fake/k4" ] &&
	[ -z "$(find "$LAZYRESUME_CACHE/fake" -maxdepth 1 -name 'k4.*' -type d)" ] &&
	ok "a failed build leaves nothing, the partial one is gone" ||
	bad "a failed build leaves nothing, the partial one is gone"

# Pruning keeps the most recently used entries.
for k in p1 p2 p3; do
	cache_build fake "$k" fake_build >/dev/null
	sleep 0.01
done
cache_get fake p1 >/dev/null
cache_prune fake 2 p
[ -e "$LAZYRESUME_CACHE/fake/p1" ] && [ -e "$LAZYRESUME_CACHE/fake/p3" ] &&
	[ ! -e "$LAZYRESUME_CACHE/fake/p2" ] &&
	ok "pruning keeps the two most recently used" ||
	bad "pruning keeps the two most recently used"

# The kernel key: untouched inputs give the same key, each input changes it.
mkdir -p "$tmp/patches" "$tmp/kconfig" "$tmp/bin"
cp "$here"/patches/* "$tmp/patches/"
cp "$here"/scripts/kconfig/* "$tmp/kconfig/"
key() {
	LAZYRESUME_PATCHES="$tmp/patches" LAZYRESUME_KCONFIG="$tmp/kconfig" \
		"$here/scripts/build-kernel.sh" --print-key "$1"
}
declare -A base
for f in release debug baseline; do
	base[$f]=$(key "$f")
	[ "${base[$f]}" = "$("$here/scripts/build-kernel.sh" --print-key "$f")" ] &&
		ok "$f: a copy of the tree has the tree's key" ||
		bad "$f: a copy of the tree has the tree's key"
done
[ "${base[debug]}" != "${base[baseline]}" ] && [ "${base[release]}" != "${base[debug]}" ] &&
	ok "the flavours have keys of their own" || bad "the flavours have keys of their own"

first=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$tmp/patches/series" | head -1)
cp "$tmp/patches/$first" "$tmp/$first"
sed -i '0,/^+[^+]/s//+\/* changed *\/ &/' "$tmp/patches/$first"
[ "$(key release)" != "${base[release]}" ] && [ "$(key debug)" != "${base[debug]}" ] &&
	ok "a patch change misses the cache" || bad "a patch change misses the cache"
[ "$(key baseline)" = "${base[baseline]}" ] &&
	ok "a patch change leaves the unpatched baseline's key" ||
	bad "a patch change leaves the unpatched baseline's key"
cp "$tmp/$first" "$tmp/patches/$first"

cp "$tmp/kconfig/debug.config" "$tmp/debug.config"
echo "CONFIG_DEBUG_KMEMLEAK=y" >>"$tmp/kconfig/debug.config"
[ "$(key debug)" != "${base[debug]}" ] && [ "$(key baseline)" != "${base[baseline]}" ] &&
	[ "$(key release)" = "${base[release]}" ] &&
	ok "a config fragment change misses the flavours that use it only" ||
	bad "a config fragment change misses the flavours that use it only"
cp "$tmp/debug.config" "$tmp/kconfig/debug.config"

printf '#!/bin/sh\necho "Debian clang version 99.0.0"\n' >"$tmp/bin/clang"
chmod +x "$tmp/bin/clang"
[ "$(PATH="$tmp/bin:$PATH" key release)" != "${base[release]}" ] &&
	ok "a toolchain change misses the cache" || bad "a toolchain change misses the cache"
[ "$(key release)" = "${base[release]}" ] &&
	ok "the inputs restored, the key is the same again" ||
	bad "the inputs restored, the key is the same again"

exit "$failed"
