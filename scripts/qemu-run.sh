#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-run.sh: boot a kernel + initramfs under QEMU (TCG) and return the
# guest's verdict as the exit status.
#
#   qemu-run.sh --kernel BZIMAGE --initrd CPIO [--append ARGS] [--name NAME]
#               [--timeout SECONDS] [--mem MIB] [--smp N] [--nic virtio|e1000]
#               [--mac MAC] [--hostfwd tcp::HOSTPORT-:GUESTPORT]...
#               [--tftp DIR] [--net CIDR] [--pcap]
#   qemu-run.sh --tap IFNAME [options but --kernel, --initrd, --append, ...]
#
# Each run gets its own directory build/runs/NAME.XXXX with console.log
# (the kernel's serial console, ttyS0) and result.log (the guest's result
# channel, ttyS1), so several guests run at once without clashing.  Guest
# networking is QEMU user mode: the guest reaches the host's 127.0.0.1 as
# 10.0.2.2; --tftp DIR also serves DIR with QEMU's own TFTP server at
# 10.0.2.2:69.  --net puts the guest on another user network (e.g.
# 10.0.3.0/24: guest 10.0.3.15, host 10.0.3.2).  --pcap (or
# LAZYRESUME_PCAP=1) records the guest's network traffic in net.pcap.
# --tap IFNAME is the diskless lab's client (scripts/lab/): the NIC is on
# tap IFNAME (run qemu-run.sh in the namespace that holds it), and the
# machine boots from it (-boot n) with QEMU's iPXE ROM: no --kernel, the
# kernel, initramfs and command line come over the network.
#
# Exit status: 0 the guest said PASS, 1 it said FAIL, 2 it stopped without
# a verdict (crash, panic), 124 it ran out of time.  The run directory is
# printed on stdout as the last line.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
kernel='' initrd='' append='' name=guest timeout=300 mem=1024 smp=2 nic=virtio mac='' tftp='' net='' tap=''
pcap=${LAZYRESUME_PCAP:-0}
machine=${LAZYRESUME_MACHINE:-q35}
fwds=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--nic) nic=$2; shift 2 ;;
	--mac) mac=$2; shift 2 ;;
	--hostfwd) fwds+=("$2"); shift 2 ;;
	--tftp) tftp=$2; shift 2 ;;
	--net) net=$2; shift 2 ;;
	--pcap) pcap=1; shift ;;
	--tap) tap=$2; shift 2 ;;
	*) echo "qemu-run: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$tap" ] || { [ -r "$kernel" ] && [ -r "$initrd" ]; } || {
	echo "qemu-run: need a readable --kernel and --initrd (or --tap)" >&2
	exit 2
}

mkdir -p "$here/build/runs"
run=$(mktemp -d "$here/build/runs/$name.XXXX")
console="$run/console.log"
result="$run/result.log"

netdev="user,id=n0${net:+,net=$net}"
for f in "${fwds[@]}"; do netdev+=",hostfwd=$f"; done
[ -n "$tftp" ] && netdev+=",tftp=$(readlink -f "$tftp")"
boot=(-kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 panic=-1 $append")
if [ -n "$tap" ]; then
	netdev="tap,id=n0,ifname=$tap,script=no,downscript=no"
	boot=(-boot n)
fi
case "$nic" in
virtio) dev="virtio-net-pci,netdev=n0" ;;
e1000) dev="e1000,netdev=n0" ;;
*) echo "qemu-run: unknown --nic $nic" >&2; exit 2 ;;
esac
[ -n "$mac" ] && dev+=",mac=$mac"
dump=()
[ "$pcap" = 1 ] && dump=(-object "filter-dump,id=dump0,netdev=n0,file=$run/net.pcap")

accel=tcg
if [ "${LAZYRESUME_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then accel=kvm; fi

set +e
timeout --kill-after=10 "$timeout" qemu-system-x86_64 \
	-nodefaults -no-reboot -display none -monitor none \
	-machine "$machine" -accel "$accel" -cpu max -smp "$smp" -m "$mem" \
	"${boot[@]}" \
	-serial "file:$console" -serial "file:$result" \
	-netdev "$netdev" -device "$dev" ${dump[@]+"${dump[@]}"} \
	</dev/null >"$run/qemu.log" 2>&1
rc=$?
set -e

verdict=$(grep -a '^LAZYRESUME-VERDICT: ' "$result" 2>/dev/null | tail -1 || true)
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "qemu-run: $name: timed out after ${timeout}s (see $run)" >&2
	status=124
elif [[ "$verdict" == "LAZYRESUME-VERDICT: PASS"* ]]; then
	status=0
elif [[ "$verdict" == "LAZYRESUME-VERDICT: FAIL"* ]]; then
	echo "qemu-run: $name: ${verdict#LAZYRESUME-VERDICT: } (see $run)" >&2
	status=1
else
	echo "qemu-run: $name: no verdict, qemu exit $rc (see $run)" >&2
	tail -20 "$console" >&2 || true
	status=2
fi
echo "$run"
exit "$status"
