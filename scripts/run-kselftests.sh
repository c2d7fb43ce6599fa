#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-kselftests.sh FLAVOUR: boot FLAVOUR's kernel with the test initramfs
# (the baseline kernel has the tests but no module: they skip)
# and run the in-guest kselftests, with the TFTP servers they need started
# on 127.0.0.1 for the duration of the run (and stopped after it).
# Exit status and last stdout line as scripts/qemu-run.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:?usage: run-kselftests.sh release|debug|baseline}
k="$here/build/kernel/$flavour"

. "$here/scripts/tftp-servers-up.sh"

g=10.0.2.2
servers="hpa@$g:$HPA_PORT,atftpd@$g:$ATFTPD_PORT,test@$g:$TEST_PORT,qemu@$g:69"
"$here/scripts/qemu-run.sh" --name "kselftests-$flavour" --timeout 1500 \
	--mem 2048 --tftp "$root" \
	--kernel "$k/arch/x86/boot/bzImage" \
	--initrd "$here/build/initramfs/$flavour.cpio.gz" \
	--append "ip=dhcp lrmode=tests lrtftp=$servers"
