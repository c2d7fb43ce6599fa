#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: boot the release kernel with the lazyresume initramfs, load the
# module and print what it reports.  (Capture and lazy resume come with
# the later work; see README.md.)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
k="$here/build/kernel/release"
start=$(date +%s.%N)
set +e
run=$("$here/scripts/qemu-run.sh" --name demo --timeout 180 \
	--kernel "$k/arch/x86/boot/bzImage" \
	--initrd "$here/build/initramfs/release.cpio.gz" \
	--append "quiet lrmode=demo")
rc=$?
set -e
end=$(date +%s.%N)
grep -av '^LAZYRESUME-VERDICT' "$run/result.log" || true
printf '== guest booted, ran the demo and shut down in %.1f s (QEMU TCG)\n' \
	"$(echo "$end - $start" | bc)"
exit "$rc"
