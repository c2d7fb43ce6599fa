#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lab-mirror-test.sh [FLAVOUR]: two image servers in the diskless lab
# (scripts/lab/lab.sh): tftpd-hpa at LAB_IMAGE_ADDR, the primary, and a
# mirror at LAB_MIRROR_ADDR with the same images; the iPXE script names
# both (lrserver=, lrmirror=), as a boot configuration would.  Two PXE
# clients at LAB_RATE (100mbit), no loss:
#   after   resumes from the primary with the background lane off; once
#           the workload answered, the primary falls silent for good (its
#           address leaves the bridge), and the workload's verify of every
#           byte makes the faults fetch the rest, from the mirror;
#   before  boots while the primary is still gone: the boot kernel goes on
#           from the mirror for the image, resumes, and verifies every
#           byte with every page from the mirror.
# Each must end with a PASS verdict (a clean kernel log), and the kernel
# log must say that the client left the primary for the mirror.  LAB_MIB
# (32) is the workload's size.  The lab is taken down on exit, also on
# failure.  LAB_NAME names the lab (mirror-FLAVOUR-HASH, one per clone).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lab/lab.sh"
flavour=${1:-release}
mib=${LAB_MIB:-32}
lab_init "${LAB_NAME:-mirror-$flavour-$(printf %s "$here" | sha256sum | cut -c1-6)}"
trap lab_down EXIT

lab_golden "$flavour" "$mib"
lab_up "$LAB_KERNEL" "$LAB_INITRD" "$LAB_GOLDEN_IMAGES"
lab_mirror_up
gen=$(image_generation "$LAB_GOLDEN_IMAGES/golden")
primary=$LAB_IMAGE_ADDR:69 mirror=$LAB_MIRROR_ADDR:69
lab_script "lrmode=client lrimage=golden lrserver=$primary lrmirror=$mirror lrmib=$mib lrmingen=$gen lrbackground=off"
LAB_RATE=
lab_client_tap 1 52:54:00:77:00:11 "$LAB_NET.111"
lab_client_tap 2 52:54:00:77:00:12 "$LAB_NET.112"
lab_rate "${LAB_RATE_ARG:-100mbit}"
ok=0

# expect NAME PATTERN FILE: FILE (of client NAME) has a line matching
# PATTERN.
expect() {
	if grep -aq -- "$2" "$3"; then
		echo "ok   lab $1: $2"
	else
		echo "FAIL lab $1: no '$2' in $3"
		ok=1
	fi
}

# client NAME N MAC ADDR [STEP]: PXE-boot client NAME on lrtapN, wait for
# its workload's first answer, run STEP (a function, if any), then verify
# every byte and check its verdict and that it left the primary.
client() {
	local name=$1 n=$2 mac=$3 addr=$4 step=${5:-} run
	lab_boot "$name" "$n" "$mac" 900
	local g=$lab_pid
	lab_ns python3 "$here/scripts/workload-client.py" "$addr:7000" wait-ready 600 \
		>"$LAB_DIR/$name.talk" 2>&1 || ok=1
	[ -n "$step" ] && "$step"
	lab_ns python3 "$here/scripts/workload-client.py" "$addr:7000" verify 900 quit \
		>>"$LAB_DIR/$name.talk" 2>&1 || ok=1
	wait "$g" || ok=1
	run=$(tail -1 "$LAB_DIR/$name.out")
	cat "$LAB_DIR/$name.talk" "$run/result.log"
	expect "$name" "^resume: image golden resumed as $addr ($mac)" "$run/result.log"
	expect "$name" "^verify=ok" "$LAB_DIR/$name.talk"
	expect "$name" "LAZYRESUME-VERDICT: PASS resumed" "$run/result.log"
	case "$name" in
	after) expect "$name" "page server $primary does not answer: a fetcher goes on with $mirror" "$run/console.log" ;;
	before) expect "$name" "no answer from $primary; going on from $mirror" "$run/console.log" ;;
	esac
	expect "$name" "^servers: .*$mirror ([1-9][0-9]* transfers" "$run/result.log"
}

primary_gone() {
	lab_image_server_gone
	echo "lab: the primary $primary is gone"
}
client after 1 52:54:00:77:00:11 "$LAB_NET.111" primary_gone
client before 2 52:54:00:77:00:12 "$LAB_NET.112"
[ "$ok" = 0 ] && echo "lab-mirror-test: PASS" || echo "lab-mirror-test: FAIL (state in $LAB_DIR)"
exit "$ok"
