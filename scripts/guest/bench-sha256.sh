#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the initramfs of scripts/bench-sha256.sh: busybox, this script
# and two modules in /bench (sha256-ssse3.ko, the kernel's x86 SHA-256
# drivers for the crypto API, and sha256_bench.ko, tests/sha256_bench).
# It reports the CPU's flags that matter to SHA-256 (ssse3, avx, avx2 with
# bmi2, sha_ni), loads sha256-ssse3.ko, lists the sha256 drivers the
# crypto API then has, and loads sha256_bench.ko lrloads=N times (3), each
# load a run of the benchmark (lriterations=N hashes per implementation,
# the module's default when not given), which prints its lines and stays
# loaded when every digest matched (then it is removed for the next load).
# Results go to /dev/ttyS1 (qemu-run.sh's result channel), as lines
#   bench-sha256 cpu ...
#   bench-sha256 load I sha256_bench: ...
# and end with LAZYRESUME-VERDICT: PASS|FAIL <reason>.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

out=/dev/ttyS1
[ -c "$out" ] || out=/dev/console

verdict() {
	echo "LAZYRESUME-VERDICT: $*" >"$out"
	sync
	reboot -f
}

loads=3 param=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lrloads=*) loads=${arg#lrloads=} ;;
	lriterations=*) param="iterations=${arg#lriterations=}" ;;
	esac
done

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1)
have=
for f in ssse3 avx avx2 bmi2 sha_ni; do
	case " $flags " in
	*" $f "*) have="$have $f" ;;
	esac
done
{
	echo "bench-sha256 cpu model: $model"
	echo "bench-sha256 cpu flags:${have:- none of ssse3 avx avx2 bmi2 sha_ni}"
	echo "bench-sha256 kernel: $(uname -r)"
} >"$out"

# sha256-ssse3.ko refuses to load (ENODEV) on a CPU without SSSE3; the
# benchmark then has only the generic drivers to compare.
if ! insmod /bench/sha256-ssse3.ko 2>/tmp/insmod.err; then
	echo "bench-sha256 sha256-ssse3.ko not loaded: $(cat /tmp/insmod.err)" >"$out"
fi
awk '/^name/ { name = $3 } /^driver/ { drv = $3 }
	/^priority/ && name == "sha256" { print "bench-sha256 driver " drv " priority " $3 }' \
	/proc/crypto >"$out"

status=PASS
for i in $(seq "$loads"); do
	dmesg -c >/dev/null
	# shellcheck disable=SC2086 # $param is empty or one word
	if insmod /bench/sha256_bench.ko $param 2>/tmp/insmod.err; then
		rmmod sha256_bench || status="FAIL rmmod sha256_bench"
	else
		status="FAIL load $i: $(cat /tmp/insmod.err)"
	fi
	dmesg | sed -n "s/^.*\(sha256_bench: \)/bench-sha256 load $i \1/p" >"$out"
done
verdict "$status"
