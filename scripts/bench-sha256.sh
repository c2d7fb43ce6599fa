#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-sha256.sh [LOADS [ITERATIONS]]: the SHA-256 of a 4 KiB page, the
# check the module makes of every page it fetches, through the library's
# sha256() (what the module calls) against the crypto API's sha256 and its
# x86 drivers, in a guest on the release kernel under QEMU TCG
# (Documentation/performance.rst, "SHA-256: the library against the
# crypto API").  A benchmark: not part of make check.
#
# It builds two modules out of tree against build/kernel/release
# (tests/sha256_bench/Kbuild): sha256_bench.ko and sha256-ssse3.ko, the
# kernel's own arch/x86/crypto SHA-256 glue, which the release kernel
# leaves out (CONFIG_CRYPTO_SHA256_SSSE3 is not set), linked from its
# source tree; signs both with the kernel build's module key (the client
# kernels load no unsigned module); packs them with busybox and
# scripts/guest/bench-sha256.sh as /init into an initramfs of their own
# (nothing of lazyresume is needed); and boots it with one vCPU. The guest
# reports which of ssse3, avx, avx2 (with bmi2) and sha_ni its CPU has,
# loads sha256-ssse3.ko, then sha256_bench.ko LOADS times (3), each load
# hashing one page ITERATIONS times (the module's default, 2000) with each
# implementation.  Prints every load's lines and the median of each
# implementation over the loads; keeps the raw lines in
# build/bench/sha256.raw.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
loads=${1:-3}
iterations=${2:-}
k="$here/build/kernel/release"
[ -e "$k/.lazyresume-built" ] || {
	echo "bench-sha256: no release kernel, run 'make kernel-release'" >&2
	exit 1
}
bench="$here/build/bench/sha256"
mods="$bench/modules"
mkdir -p "$mods"

# The modules: Kbuild writes its objects next to the sources, so build in
# a copy of them (mtimes kept: Kbuild stays incremental).
rsync -a "$here/tests/sha256_bench/" "$mods/"
log="$mods/build.log"
if ! make -C "$k" M="$mods" LLVM=1 -j2 modules >"$log" 2>&1; then
	cat "$log" >&2
	echo "bench-sha256: module build failed" >&2
	exit 1
fi
if grep -q 'warning' "$log"; then
	cat "$log" >&2
	rm -f "$mods"/*.o
	echo "bench-sha256: module build has warnings" >&2
	exit 1
fi
. "$here/scripts/sign-modules.sh"
sign_modules "$k" "$mods/sha256-ssse3.ko" "$mods/sha256_bench.ko"

root="$bench/root"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,bench}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
install -m 0755 "$here/scripts/guest/bench-sha256.sh" "$root/init"
install -m 0644 "$mods/sha256-ssse3.ko" "$mods/sha256_bench.ko" "$root/bench/"
initrd="$bench/initramfs.cpio.gz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$initrd"

append="quiet lrloads=$loads"
[ -n "$iterations" ] && append+=" lriterations=$iterations"
status=0
run=$("$here/scripts/qemu-run.sh" --name bench-sha256 --timeout 900 --mem 256 \
	--smp 1 --kernel "$k/arch/x86/boot/bzImage" --initrd "$initrd" \
	--append "$append" | tail -1) || status=$?
if [ -z "$run" ] || [ ! -f "$run/result.log" ]; then
	echo "bench-sha256: no result (qemu-run.sh exit $status)" >&2
	exit 1
fi
raw="$here/build/bench/sha256.raw"
grep -a '^bench-sha256 ' "$run/result.log" >"$raw" || true
echo "bench-sha256: $(date -u '+%Y-%m-%d %H:%M UTC'), $loads loads, run $run"
cat "$raw"
python3 - "$raw" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"bench-sha256 load \d+ sha256_bench: (\S+) (\d+) ns/page", line)
    if m:
        rows.setdefault(m[1], []).append(int(m[2]))
if "lib" not in rows:
    sys.exit("bench-sha256: no result line of the library")
lib = statistics.median(rows["lib"])
print(f"{'implementation':<34} {'loads':>5} {'median ns/page':>15} {'MiB/s':>7} {'against lib':>12}")
for name, ns in rows.items():
    med = statistics.median(ns)
    print(f"{name:<34} {len(ns):>5} {med:>15.0f} {4096 / med * 1e9 / 2**20:>7.1f} {lib / med:>11.2f}x")
PY
[ "$status" = 0 ] || echo "bench-sha256: the guest said: $(grep -a '^LAZYRESUME-VERDICT' "$run/result.log" || echo 'no verdict')" >&2
exit "$status"
