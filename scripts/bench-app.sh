#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-app.sh MIB: a real application from Debian's archive, redis-server
# 7.0 (Debian 12's redis-server package), holding MIB MiB, measured as
# bench-resume.sh measures the test workload (release kernel, QEMU TCG,
# tftpd-hpa on 127.0.0.1).
#
# A golden VM (lrapp=redis: redis-server without persistence, filled in
# the guest with MIB * 256 keys of 4096 pseudo-random bytes by
# bench/redis_fill) prints the DEBUG DIGEST of the data set and is captured
# lazily (shared pages too, LAZYRESUME_BENCH_CHUNK pages per file, 16).
# Then clients boot: "lazy-bg" resumes it with the background lane on (the
# default), "lazy" with it off (lrbackground=off), "eager" resumes an image
# captured with everything in pageset1 (lreager=1, captured only for this
# mode), and "cold" boots and starts and fills redis itself.  Each is timed from the start of QEMU to
# its first correct answer (the host's redis-cli GETs the last key written,
# through a host forward to the guest's port 6379, until the value is the
# expected one: a cold boot answers it only once filled), then a full scan
# of the data set: LAZYRESUME_BENCH_SCAN=digest (the default) asks DEBUG
# DIGEST, which hashes every key and every value in the guest and must
# answer the golden machine's digest; LAZYRESUME_BENCH_SCAN=client lists
# the keys with `redis-cli --scan` and reads every value through the
# forward with GET, each checked against the expected one (after the time
# is taken).  Then SHUTDOWN NOSAVE, and the guest judges its kernel log.
# Prints one "bench app" line per client and a table; keeps the raw lines
# in build/bench/app-MIB.raw.  Measures; checks only that the answers are
# correct.  LAZYRESUME_BENCH_MODES picks the clients (default "lazy-bg lazy
# eager cold"); LAZYRESUME_BENCH_RUNS=N boots each N times and prints
# medians.  Each image is signed on the host right after its capture
# (scripts/sign-image.sh), and the lazy one gets its stream first
# (lazyresume make-stream) unless LAZYRESUME_BENCH_STREAM=0.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:?usage: bench-app.sh MIB}
kernel="$here/build/kernel/release/arch/x86/boot/bzImage"
initrd="$here/build/initramfs/release-redis.cpio.gz"
[ -r "$initrd" ] || {
	echo "bench-app: no $initrd (make initramfs-release)" >&2
	exit 1
}
command -v redis-cli >/dev/null || {
	echo "bench-app: no redis-cli on the host (make setup)" >&2
	exit 1
}
# The same memory as bench-resume.sh's VMs; every VM of a run has the
# same memory (a restore needs the same memory map).
mem=$((mib * 3 + 512))
value=4096
keys=$((mib * 1048576 / value))
scan=${LAZYRESUME_BENCH_SCAN:-digest}
case "$scan" in
digest | client) ;;
*) echo "bench-app: LAZYRESUME_BENCH_SCAN is digest or client" >&2; exit 2 ;;
esac
out="$here/build/bench"
images="$out/app-images-$mib"
raw="$out/app-$mib.raw"
client="$here/scripts/redis-client.py"
tool="$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume"
mkdir -p "$out" "$here/build/runs"
rm -rf "$images"
mkdir -p "$images/lazy" "$images/eager"
chmod 0777 "$images/lazy" "$images/eager"
. "$here/scripts/bench-common.sh"
. "$here/scripts/sign-image.sh"
bench_server_up "$images"
: >"$raw"

qemu() { # NAME APPEND [options]: boot a VM, print its run directory
	bench_qemu "$1" "lrapp=redis lrmib=$mib $2" "${@:3}"
}

runs=${LAZYRESUME_BENCH_RUNS:-1}
modes=${LAZYRESUME_BENCH_MODES:-lazy-bg lazy eager cold}
kinds=""
case " $modes " in *" lazy"*) kinds=lazy ;; esac
case " $modes " in *" eager "*) kinds="$kinds eager" ;; esac
# The golden machine also gives the digest that every client must answer.
[ -n "$kinds" ] || kinds=lazy
digest=""
for kind in $kinds; do
	opts="lrchunk=${LAZYRESUME_BENCH_CHUNK:-16}"
	[ "$kind" = eager ] && opts=lreager=1
	t0=$(date +%s.%N)
	run=$(qemu "golden-redis-$kind" "lrmode=golden lrimage=$kind lrserver=$server $opts" \
		--mac 52:54:00:00:01:10) || true
	t1=$(date +%s.%N)
	status=$(tr -d '\r' <"$run/result.log")
	d=$(echo "$status" | sed -n 's/^golden: redis digest \([0-9a-f]\{40\}\)$/\1/p')
	if ! echo "$status" | grep -q "^capture: image $kind in " || [ -z "$d" ] ||
		{ [ -n "$digest" ] && [ "$d" != "$digest" ]; }; then
		cat "$run/result.log" >&2
		echo "bench-app: capture of redis ($kind) failed" >&2
		exit 1
	fi
	digest=$d
	echo "$status" | grep '^capture: ' | sed "s/^/[golden $kind] /"
	# The stream and the signature made on the host, as an admin host
	# would, never in the golden VM.
	if [ "$kind" = lazy ] && [ "${LAZYRESUME_BENCH_STREAM:-1}" != 0 ]; then
		"$tool" make-stream "$images/$kind" | sed "s/^/[golden $kind] /"
	fi
	sign_image "$images/$kind" | sed "s/^/[golden $kind] /"
	echo "[golden $kind] digest $digest"
	echo "bench app capture image=$kind mib=$mib keys=$keys digest=$digest vm_s=$(echo "$t1 - $t0" | bc)" >>"$raw"
done
# mib_of: the sum of the "X MiB," on stdin (lazyresume status's urgent and
# background lines), nothing if there is none.
mib_of() {
	grep -o '[0-9.]* MiB,' | awk '{ s += $1 } END { if (NR) printf "%.1f", s }' || true
}

for mode in $(for _ in $(seq "$runs"); do echo "$modes"; done); do
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	case "$mode" in
	cold) append="lrmode=cold" ;;
	lazy-bg) append="lrmode=client lrimage=lazy lrserver=$server" ;;
	lazy) append="lrmode=client lrimage=lazy lrserver=$server lrbackground=off" ;;
	eager) append="lrmode=client lrimage=eager lrserver=$server" ;;
	*) echo "bench-app: unknown mode $mode" >&2; exit 2 ;;
	esac
	qemu "app-$mode" "$append" --mac 52:54:00:00:01:a1 \
		--hostfwd "tcp:127.0.0.1:$port-:6379" >"$out/app-$mode.run" &
	vm=$!
	if [ "$scan" = digest ]; then
		scan_action=(digest "$digest" 3000)
	else
		scan_action=(scan "$keys" "$value" 3000)
	fi
	talk=$(python3 "$client" "$port" wait-ready $((keys - 1)) "$value" 3000 \
		"${scan_action[@]}" quit) || true
	wait "$vm" || true
	run=$(tail -1 "$out/app-$mode.run")
	echo "$talk" | sed "s/^/[$mode] /"
	ready=$(echo "$talk" | sed -n 's/^ready_s=//p')
	scan_s=$(echo "$talk" | sed -n 's/^\(digest\|scan\)=ok .*_s=//p')
	if [ -z "$ready" ] || [ -z "$scan_s" ]; then
		cat "$run/result.log" >&2
		echo "bench-app: $mode client did not answer correctly" >&2
		exit 1
	fi
	image=lazy
	[ "$mode" = eager ] && image=eager
	if [ "$mode" != cold ] && ! grep -aq "^resume: image $image resumed" "$run/result.log"; then
		cat "$run/result.log" >&2
		echo "bench-app: $mode client did not resume" >&2
		exit 1
	fi
	# The serial console ends its lines with CR LF.
	status=$(tr -d '\r' <"$run/result.log")
	verdict=$(echo "$status" | sed -n 's/^LAZYRESUME-VERDICT: \([A-Z]*\).*/\1/p' | tail -1)
	[ "$verdict" = PASS ] || echo "bench-app: warning: $mode guest's verdict: ${verdict:-none} (see $run)" >&2
	# urgent: N pages, X MiB, fault latency p50 A us, p99 B us
	urgent=$(echo "$status" | sed -n 's/^urgent: *//p' | tail -1)
	background=$(echo "$status" | sed -n 's/^background: *//p' | tail -1)
	urgent_mib=$(echo "$urgent" | mib_of)
	bg_mib=$(echo "$background" | mib_of)
	bytes=$(echo "$status" | sed -n 's/^bytes fetched: *//p' | tail -1)
	# app: redis ready, ...; answering at A s, filled at B s of uptime
	fill=$(echo "$status" | sed -n 's/^app: redis ready.* answering at \([0-9.]*\) s, filled at \([0-9.]*\) s.*/\2 - \1/p' | tail -1)
	# complete: yes, X s after the resume (every page local)
	complete=$(echo "$status" | sed -n 's/^complete: *yes, \([0-9.]*\) s after.*/\1/p' | tail -1)
	echo "bench app mode=$mode app=redis mib=$mib keys=$keys ready_s=$ready scan=$scan" \
		"scan_s=$scan_s scanned_s=$(echo "$ready + $scan_s" | bc)" \
		"fault_fetched_mib=$(echo "scale=1; ${bytes:-0} / 1048576" | bc)" \
		"complete_after_resume_s=${complete:-nan} fill_s=$([ -n "$fill" ] && echo "$fill" | bc || echo nan)" \
		"urgent_mib=${urgent_mib:-nan} background_mib=${bg_mib:-nan} verdict=${verdict:-none}" >>"$raw"
done

python3 - "$raw" <<'PY'
import statistics
import sys
rows = [dict(kv.split("=", 1) for kv in l.split()[2:] if "=" in kv)
        for l in open(sys.argv[1]) if l.startswith("bench app mode=")]
def med(rs, key, width):
    v = [float(r[key]) for r in rs if r.get(key, "nan") not in ("", "nan")]
    return f"{statistics.median(v):>{width}.1f}" if v else f"{'-':>{width}}"
print(f"{'mode':<8} {'MiB':>5} {'runs':>4} {'first answer s':>15} {'full scan s':>12} "
      f"{'answer+scan s':>14} {'urgent MiB':>11} {'background MiB':>15} "
      f"{'complete s (1)':>15}  scan")
for mode in dict.fromkeys(r['mode'] for r in rows):
    rs = [r for r in rows if r['mode'] == mode]
    r = rs[-1]
    print(f"{mode:<8} {r['mib']:>5} {len(rs):>4} {med(rs, 'ready_s', 15)} {med(rs, 'scan_s', 12)} "
          f"{med(rs, 'scanned_s', 14)} {med(rs, 'urgent_mib', 11)} {med(rs, 'background_mib', 15)} "
          f"{med(rs, 'complete_after_resume_s', 15)}  {r['scan']}")
print("(1) every page local, seconds after the resume (lazyresume status)")
if len(rows) > 3:
    print("(medians; every run is in " + sys.argv[1] + ")")
PY
