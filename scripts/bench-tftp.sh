#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-tftp.sh: TFTP benchmark of the in-kernel client against busybox
# tftp in the same guest (release kernel, QEMU TCG), from tftpd-hpa, atftpd
# and QEMU's own server on the host's loopback.  Prints the tables written
# up in Documentation/performance.rst and keeps the raw lines in
# build/bench/tftp.raw.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
k="$here/build/kernel/release"
mkdir -p "$here/build/bench"
. "$here/scripts/tftp-servers-up.sh"

g=10.0.2.2
run=$("$here/scripts/qemu-run.sh" --name bench-tftp --timeout 1800 --mem 1024 \
	--tftp "$root" --kernel "$k/arch/x86/boot/bzImage" \
	--initrd "$here/build/initramfs/release.cpio.gz" \
	--append "ip=dhcp quiet lrmode=bench-tftp lrtftp=hpa@$g:$HPA_PORT,atftpd@$g:$ATFTPD_PORT,qemu@$g:69" |
	tail -1)
grep -a '^bench ' "$run/result.log" >"$here/build/bench/tftp.raw"
python3 "$here/scripts/bench-tftp-report.py" "$here/build/bench/tftp.raw"
