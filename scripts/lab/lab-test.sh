#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lab-test.sh [FLAVOUR]: one diskless client in the lab (scripts/lab/lab.sh)
# PXE-boots through dnsmasq and iPXE over a LAB_RATE link (100mbit) with
# LAB_LOSS % (5) of the image server's packets dropped each way, resumes
# image golden lazily from tftpd-hpa, answers reads at the address DHCP
# gave it, passes the workload's verify of every byte (each page checked
# against its SHA-256 by the module, then every byte by the workload) and
# ends with a clean kernel log.  Prints the client's `lazyresume status`
# (with the TFTP client's retransmits) and the packets the loss rule
# dropped.  LAB_MIB (32) is the workload's size.  The lab is taken down
# on exit, also on failure.  LAB_NAME names the lab (test-FLAVOUR-HASH,
# one per clone).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lab/lab.sh"
flavour=${1:-release}
mib=${LAB_MIB:-32}
rate=${LAB_RATE_ARG:-${LAB_RATE:-100mbit}}
loss=${LAB_LOSS:-5}
mac=52:54:00:77:00:01
addr=$LAB_NET.101
# A name per clone: two clones' tests can run at once on one machine.
lab_init "${LAB_NAME:-test-$flavour-$(printf %s "$here" | sha256sum | cut -c1-6)}"
trap lab_down EXIT

t0=$(date +%s)
lab_golden "$flavour" "$mib"
t1=$(date +%s)

lab_up "$LAB_KERNEL" "$LAB_INITRD" "$LAB_GOLDEN_IMAGES"
# The boot configuration refuses an image older than this one (rollback).
gen=$(image_generation "$LAB_GOLDEN_IMAGES/golden")
[ -n "$gen" ] || { echo "lab-test: no generation in $LAB_GOLDEN_IMAGES/golden" >&2; exit 1; }
lab_script "lrmode=client lrimage=golden lrserver=$LAB_IMAGE_ADDR:69 lrmib=$mib lrmingen=$gen"
LAB_RATE=
lab_client_tap 1 "$mac" "$addr"
lab_rate "$rate"
lab_loss "$loss"
echo "lab: link $rate, $loss % loss on the image server's packets"
lab_boot client 1 "$mac" 900
g=$lab_pid
ok=0
lab_ns python3 "$here/scripts/workload-client.py" "$addr:7000" wait-ready 600 \
	whoami expect-mac "$mac" expect-addr "$addr" read 50 "$mib" verify 900 quit \
	>"$LAB_DIR/client.talk" 2>&1 || ok=1
wait "$g" || ok=1
t2=$(date +%s)
run=$(tail -1 "$LAB_DIR/client.out")
cat "$LAB_DIR/client.talk" "$run/result.log"
expect() {
	if grep -aq -- "$1" "$run/result.log"; then
		echo "ok   lab client: $1"
	else
		echo "FAIL lab client: no '$1' in $run/result.log"
		ok=1
	fi
}
expect "^resume: image golden resumed as $addr ($mac)"
# The boot kernel checked the signature and the generation (its log, on
# the console).
if grep -aq "resuming image golden generation $gen (signature verified)" "$run/console.log"; then
	echo "ok   lab client: image golden generation $gen, signature verified"
else
	echo "FAIL lab client: no 'resuming image golden generation $gen (signature verified)' in $run/console.log"
	ok=1
fi
expect "LAZYRESUME-VERDICT: PASS resumed"
if grep -q "sent .*/lab.ipxe" "$LAB_DIR/dnsmasq.log"; then
	echo "ok   dnsmasq served lab.ipxe (the PXE boot)"
else
	echo "FAIL dnsmasq did not serve lab.ipxe"
	ok=1
fi
echo "lab: $(lab_dropped) packets dropped by the loss rule; capture $((t1 - t0)) s, PXE client $((t2 - t1)) s"
[ "$ok" = 0 ] && echo "lab-test: PASS" || echo "lab-test: FAIL (state in $LAB_DIR, run $run)"
exit "$ok"
