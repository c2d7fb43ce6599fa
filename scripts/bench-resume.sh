#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-resume.sh MIB [STARTUP_SECS]: time to interactive of lazy resume,
# eager resume and a cold boot, with the test workload holding MIB MiB
# (release kernel, QEMU TCG, tftpd-hpa on 127.0.0.1).
#
# A golden VM starts the workload and captures it twice: "lazy" (every
# user page in pageset2, fetched on first access) and "eager" (nothing in
# pageset2: everything comes with pageset1 at boot).  Then one client boots
# each way, and a cold one boots and starts the workload itself (which
# spends STARTUP_SECS, default 0, on its own start-up work before it fills
# its memory and listens).  Each client is timed from the start of QEMU to
# the workload's first correct answer (a read of 4 KiB), then until
# `verify` has checked (touched) every byte.  Prints one "bench resume"
# line per mode and a table; keeps the raw lines in
# build/bench/resume-MIB.raw.  Measures; checks only that the answers are
# correct.  LAZYRESUME_BENCH_TOUCH=0 skips the verify.  The lazy image has
# LAZYRESUME_BENCH_CHUNK (default 16) pages per pageset2 file and is
# captured with --evict-shared (LAZYRESUME_BENCH_SHARED=0: without).
# LAZYRESUME_BENCH_RUNS=N boots each client N times from the same images
# and prints the medians (emulation makes single boots noisy).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:?usage: bench-resume.sh MIB [STARTUP_SECS]}
startup=${2:-0}
kernel="$here/build/kernel/release/arch/x86/boot/bzImage"
initrd="$here/build/initramfs/release.cpio.gz"
# Room for the workload, its snapshot copy (eager) and the system; every
# VM of a run has the same memory (a restore needs the same memory map).
mem=$((mib * 3 + 512))
out="$here/build/bench"
images="$out/resume-images-$mib"
raw="$out/resume-$mib.raw"
client="$here/scripts/workload-client.py"
tool="$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume"
mkdir -p "$out" "$here/build/runs"
rm -rf "$images"
mkdir -p "$images/lazy" "$images/eager"
chmod 0777 "$images/lazy" "$images/eager"
srv=$(mktemp -d "$here/build/runs/image-server.XXXX")
trap '"$here/scripts/tftp-servers.sh" stop "$srv"' EXIT
"$here/scripts/tftp-servers.sh" start-hpa "$images" "$srv"
. "$srv/servers.env"
server=10.0.2.2:$HPA_PORT
: >"$raw"

qemu() { # NAME APPEND [options]: boot a VM, print its run directory
	local name=$1 append=$2
	shift 2
	"$here/scripts/qemu-run.sh" --name "$name" --timeout 3600 --mem "$mem" \
		--kernel "$kernel" --initrd "$initrd" \
		--append "ip=dhcp quiet lrmib=$mib lrstartup=$startup $append" "$@" | tail -1
}

for kind in lazy eager; do
	# Lazy pageset2 in files of LAZYRESUME_BENCH_CHUNK pages (16), with
	# the pages shared copy-on-write unless LAZYRESUME_BENCH_SHARED=0.
	opts=lrchunk=${LAZYRESUME_BENCH_CHUNK:-16}
	[ "${LAZYRESUME_BENCH_SHARED:-1}" = 1 ] && opts="$opts lrshared=1"
	[ "$kind" = eager ] && opts=lreager=1
	t0=$(date +%s.%N)
	run=$(qemu "golden-$kind" "lrmode=golden lrimage=$kind lrserver=$server $opts" \
		--mac 52:54:00:00:01:10) || true
	t1=$(date +%s.%N)
	grep -aq "^capture: image $kind in " "$run/result.log" || {
		cat "$run/result.log" >&2
		echo "bench-resume: capture of $kind failed" >&2
		exit 1
	}
	grep -a '^capture: ' "$run/result.log" | sed "s/^/[$kind] /"
	echo "bench resume capture kind=$kind mib=$mib vm_s=$(echo "$t1 - $t0" | bc)" >>"$raw"
done

runs=${LAZYRESUME_BENCH_RUNS:-1}
for mode in $(for _ in $(seq "$runs"); do echo lazy eager cold; done); do
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	case "$mode" in
	cold) append="lrmode=cold" ;;
	*) append="lrmode=client lrimage=$mode lrserver=$server" ;;
	esac
	qemu "client-$mode" "$append" --mac 52:54:00:00:01:a1 \
		--hostfwd "tcp:127.0.0.1:$port-:7000" >"$out/client-$mode.run" &
	vm=$!
	if [ "${LAZYRESUME_BENCH_TOUCH:-1}" = 0 ]; then
		talk=$(python3 "$client" "$port" wait-ready 3000 quit)
	else
		talk=$(python3 "$client" "$port" wait-ready 3000 verify 3000 quit)
	fi
	wait "$vm" || true
	run=$(tail -1 "$out/client-$mode.run")
	echo "$talk" | sed "s/^/[$mode] /"
	ready=$(echo "$talk" | sed -n 's/^ready_s=//p')
	verify=$(echo "$talk" | sed -n 's/^verify=ok .* verify_s=//p')
	[ "${LAZYRESUME_BENCH_TOUCH:-1}" = 0 ] && verify=nan
	if [ -z "$ready" ] || [ -z "$verify" ]; then
		cat "$run/result.log" >&2
		echo "bench-resume: $mode client did not answer correctly" >&2
		exit 1
	fi
	[ "$mode" != cold ] && ! grep -aq "^resume: image $mode resumed" "$run/result.log" && {
		cat "$run/result.log" >&2
		echo "bench-resume: $mode client did not resume" >&2
		exit 1
	}
	p1=0 p1img=0
	if [ "$mode" != cold ]; then
		manifest=$("$tool" inspect "$images/$mode")
		p1=$(echo "$manifest" | sed -n 's/^pageset1: *\([0-9]*\) bytes.*/\1/p')
		p1img=$(echo "$manifest" | sed -n 's/^pageset1 image: *\([0-9]*\) bytes.*/\1/p')
		p1=$((p1 >> 20)) p1img=$((p1img >> 20))
	fi
	# The serial console ends its lines with CR LF.
	status=$(tr -d '\r' <"$run/result.log")
	pages=$(echo "$status" | sed -n 's/^pages fetched: *//p' | tail -1)
	bytes=$(echo "$status" | sed -n 's/^bytes fetched: *//p' | tail -1)
	faults=$(echo "$status" | sed -n 's/^fault latency: .* over \([0-9]*\) faults/\1/p' | tail -1)
	echo "bench resume mode=$mode mib=$mib startup_s=$startup ready_s=$ready" \
		"all_touched_s=$(echo "$ready + $verify" | bc 2>/dev/null || echo nan) pageset1_mib=${p1:-0}" \
		"pageset1_image_mib=${p1img:-0}" \
		"fetched_pages=${pages:-0} fetched_bytes=${bytes:-0} faults=${faults:-0}" >>"$raw"
done

python3 - "$raw" <<'PY'
import statistics
import sys
rows = [dict(kv.split("=", 1) for kv in l.split()[2:] if "=" in kv)
        for l in open(sys.argv[1]) if l.startswith("bench resume mode=")]
def med(rs, key):
    v = [float(r[key]) for r in rs if r[key] not in ("", "nan")]
    return f"{statistics.median(v):>14.1f}" if v else f"{'-':>14}"
print(f"{'mode':<6} {'MiB':>5} {'runs':>4} {'interactive s':>14} {'all touched s':>14} "
      f"{'pageset1 MiB':>13} {'(image MiB)':>12} {'pages on demand':>16} {'MiB on demand':>14}")
for mode in dict.fromkeys(r['mode'] for r in rows):
    rs = [r for r in rows if r['mode'] == mode]
    r = rs[-1]
    print(f"{mode:<6} {r['mib']:>5} {len(rs):>4} {med(rs, 'ready_s')} "
          f"{med(rs, 'all_touched_s')} {r['pageset1_mib']:>13} {r.get('pageset1_image_mib', '0'):>12} "
          f"{r['fetched_pages']:>16} {int(r['fetched_bytes']) / 2**20:>14.1f}")
if len(rows) > 3:
    print("(medians; every run is in " + sys.argv[1] + ")")
PY
