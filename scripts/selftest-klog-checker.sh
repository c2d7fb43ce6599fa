#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-guest kernel_log_clean.sh test must fail on a log with a splat and
# pass on a clean one (so that its "pass" means something).  Runs it on the
# host with busybox sh, as in the guest.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ksrc=$(readlink -f "$here/build/kernel/release/source")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/tests/kernel_log_clean.sh" \
	"$ksrc/tools/testing/selftests/kselftest/ktap_helpers.sh" "$tmp/"

cat >"$tmp/clean.log" <<'LOG'
[    0.000000] Linux version 6.12.117 (root@host) #1 SMP
[    1.234567] lazyresume: lazyresume 0.1.0 loaded (ABI 1.0)
[    1.334567] lazyresume: lazyresume unloading
LOG
status=0
if busybox sh "$tmp/kernel_log_clean.sh" "$tmp/clean.log" >"$tmp/out"; then
	echo "ok: clean log passes"
else
	echo "FAIL: clean log rejected"; cat "$tmp/out"; status=1
fi
for splat in \
	'WARNING: CPU: 0 PID: 1 at mm/memory.c:123 do_swap_page+0x1/0x2' \
	'BUG: KASAN: slab-use-after-free in lazyresume_ioctl+0x10/0x20' \
	'WARNING: possible circular locking dependency detected' \
	'BUG: Bad rss-counter state mm:000000001 type:MM_SWAPENTS val:-1' \
	'BUG: sleeping function called from invalid context at mm/slub.c:1' \
	'Oops: general protection fault, probably for non-canonical address' \
	'ACPI Error: Aborting method \_SB.PCI0._PRT due to previous error (AE_AML_LOOP_TIMEOUT) (20240827/psparse-545)' \
	'virtio_net virtio0 eth0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 5340 ms'; do
	{ cat "$tmp/clean.log"; echo "[    2.000000] $splat"; } >"$tmp/splat.log"
	if busybox sh "$tmp/kernel_log_clean.sh" "$tmp/splat.log" >"$tmp/out"; then
		echo "FAIL: not caught: $splat"; status=1
	else
		echo "ok: caught: $splat"
	fi
done
exit "$status"
