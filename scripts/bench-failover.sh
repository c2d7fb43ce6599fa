#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-failover.sh [MIB]: what a failover of the boot kernel costs the
# time to interactive (release kernel, QEMU TCG, servers on 127.0.0.1).
#
# A golden VM captures the test workload (MIB MiB, default 64) lazily.
# Then clients boot, alternating, LAZYRESUME_BENCH_RUNS times each
# (default 3): "one" resumes from the test TFTP server
# (scripts/tftp-test-server.py) with tftpd-hpa as its mirror, and the
# primary answers everything; "failover" the same, but the primary dies
# (falls silent for good) after half of pageset1's blocks, so that the
# boot kernel waits out its silence and fetches pageset1 again from the
# mirror. Each is timed from the start of QEMU to the workload's first
# answer; the difference of the medians is what the failover costs.
# The clients log warnings on their console (loglevel=5), where the
# failover's line is looked for.
# Prints one "bench failover" line per client and the medians; keeps the
# raw lines in build/bench/failover-MIB.raw. Measures; checks only that
# every client answered, and that the failover clients failed over.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-64}
runs=${LAZYRESUME_BENCH_RUNS:-3}
kernel="$here/build/kernel/release/arch/x86/boot/bzImage"
initrd="$here/build/initramfs/release-client.cpio.gz"
mem=$((mib * 3 + 512))
out="$here/build/bench"
images="$out/failover-images-$mib"
raw="$out/failover-$mib.raw"
client="$here/scripts/workload-client.py"
mkdir -p "$out" "$here/build/runs"
rm -rf "$images"
mkdir -p "$images/lazy"
chmod 0777 "$images/lazy"
. "$here/scripts/bench-common.sh"
. "$here/scripts/sign-image.sh"
bench_server_up "$images"
mirror=$server
: >"$raw"

free_port() { # tcp|udp
	python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_${1}); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

run=$(bench_qemu golden "lrmode=golden lrimage=lazy lrserver=$server lrmib=$mib lrchunk=16" \
	--mac 52:54:00:00:01:10) || true
grep -aq "^capture: image lazy in " "$run/result.log" || {
	cat "$run/result.log" >&2
	echo "bench-failover: capture failed" >&2
	exit 1
}
sign_image "$images/lazy" | sed 's/^/[golden] /'
blocks=$(($(stat -c %s "$images/lazy/pageset1") / 65464))
echo "[golden] pageset1: $blocks blocks of 65464 bytes; the primary dies after $((blocks / 2))"

primary=
primary_down() {
	[ -n "$primary" ] && kill "$primary" 2>/dev/null
	wait "$primary" 2>/dev/null || true
	primary=
}
trap 'primary_down; "$here/scripts/tftp-servers.sh" stop "$srv"' EXIT

for mode in $(for _ in $(seq "$runs"); do echo one failover; done); do
	pport=$(free_port DGRAM)
	die=()
	[ "$mode" = failover ] && die=(--die-after "lazy/pageset1:$((blocks / 2))")
	python3 "$here/scripts/tftp-test-server.py" --port "$pport" --lifetime 900 \
		"${die[@]}" "$images" >"$out/failover-primary.log" 2>&1 &
	primary=$!
	for _ in $(seq 50); do
		ss -Hlun "sport = :$pport" | grep -q . && break
		sleep 0.1
	done
	port=$(free_port STREAM)
	bench_qemu "failover-$mode" \
		"loglevel=5 lrmode=client lrimage=lazy lrserver=10.0.2.2:$pport lrmirror=$mirror lrmib=$mib" \
		--mac 52:54:00:00:01:a1 --hostfwd "tcp:127.0.0.1:$port-:7000" \
		>"$out/failover-$mode.run" &
	vm=$!
	talk=$(python3 "$client" "$port" wait-ready 900 quit)
	wait "$vm" || true
	primary_down
	run=$(tail -1 "$out/failover-$mode.run")
	ready=$(echo "$talk" | sed -n 's/^ready_s=//p')
	went=no
	grep -aq "lazy/pageset1: no answer from 10.0.2.2:$pport; going on from $mirror" \
		"$run/console.log" && went=yes
	if [ -z "$ready" ] || { [ "$mode" = failover ] && [ "$went" = no ]; }; then
		cat "$run/result.log" >&2
		echo "bench-failover: the $mode client did not answer, or did not fail over" >&2
		exit 1
	fi
	echo "[$mode] ready_s=$ready failed_over=$went"
	echo "bench failover mode=$mode mib=$mib ready_s=$ready failed_over=$went" >>"$raw"
done

python3 - "$raw" <<'PY'
import statistics
import sys
rows = [dict(kv.split("=", 1) for kv in l.split()[2:]) for l in open(sys.argv[1])]
med = {m: statistics.median(float(r["ready_s"]) for r in rows if r["mode"] == m)
       for m in ("one", "failover")}
for m, v in med.items():
    runs = [r["ready_s"] for r in rows if r["mode"] == m]
    print(f"{m:<9} time to interactive {v:6.2f} s (median of {', '.join(runs)})")
print(f"a failover at boot costs {med['failover'] - med['one']:.2f} s")
PY
