#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-fault.sh: service time of faults on lazy entries filled by the
# memory backend against plain anonymous faults, and by the tftp backend
# (tftpd-hpa on 127.0.0.1) against a one-block TFTP fetch of the same page
# file (bench/fault_latency.c), and of missing faults resolved by a
# userfaultfd handler thread with UFFDIO_COPY (bench/uffd_latency.c), in a
# guest on the release kernel under QEMU TCG.  Prints the table written up
# in Documentation/performance.rst and keeps the raw lines in
# build/bench/fault.raw.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
k="$here/build/kernel/release"
mkdir -p "$here/build/bench"
. "$here/scripts/tftp-servers-up.sh"
run=$("$here/scripts/qemu-run.sh" --name bench-fault --timeout 900 --mem 1024 \
	--kernel "$k/arch/x86/boot/bzImage" \
	--initrd "$here/build/initramfs/release.cpio.gz" \
	--append "ip=dhcp quiet lrmode=bench-fault lrtftp=hpa@10.0.2.2:$HPA_PORT" |
	tail -1)
grep -a '^bench ' "$run/result.log" >"$here/build/bench/fault.raw"
python3 - "$here/build/bench/fault.raw" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"bench fault kind=(\S+) n=(\d+) median_ns=(\d+) p90_ns=(\d+) mean_ns=(\d+)", line)
    if m:
        rows[m[1]] = [int(x) for x in m.groups()[1:]]
    elif line.startswith("bench kernel fault_latency_mean_ns"):
        print(f"in-kernel fill time, mean over all kinds: {int(line.split()[-1]) / 1000:.1f} us")
print(f"{'fault':<20} {'n':>6} {'median us':>10} {'p90 us':>8} {'mean us':>8} {'median ratio':>13}")
for kind, (n, med, p90, mean) in rows.items():
    # Memory and userfaultfd faults against a plain fault, TFTP faults
    # against a fetch.
    base = rows["tftp-get" if kind.startswith("tftp") else "plain-write"][1]
    print(f"{kind:<20} {n:>6} {med/1000:>10.1f} {p90/1000:>8.1f} {mean/1000:>8.1f} {med/base:>13.2f}")
PY
