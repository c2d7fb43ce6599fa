#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-resume.sh MIB [STARTUP_SECS]: time to interactive of lazy resume,
# eager resume and a cold boot, with the test workload holding MIB MiB
# (release kernel, QEMU TCG, tftpd-hpa on 127.0.0.1).
#
# A golden VM starts the workload and captures it twice: "lazy" (every
# user page in pageset2) and "eager" (nothing in pageset2: everything
# comes with pageset1 at boot).  Then clients boot: "lazy-bg" resumes the
# lazy image with the fetch engine's background lane on (the default: the
# rest of pageset2 streams in behind the faults), "lazy" with it off (only
# what faults ask for is fetched), "eager" the eager image, and "cold"
# boots and starts the workload itself (which spends STARTUP_SECS, default
# 0, on its own start-up work before it fills its memory and listens).
# Each client is timed from the start of QEMU to the workload's first
# correct answer (`ready`: its first page and its hot set, if any), then
# until `verify` has checked
# (touched) every byte; lazy-bg also until it is complete (every page
# local, `lazyresume wait-complete` in its post-resume settings).  Prints
# one "bench resume" line per mode and a table (with, for lazy-bg once
# complete and for eager after its resume, the client's MemFree and
# AnonPages: what a complete client holds; for lazy-bg only meaningful
# with LAZYRESUME_BENCH_TOUCH=0, since otherwise the workload may have
# quit before it was complete); keeps the raw lines in
# build/bench/resume-MIB.raw.  Measures; checks only that the answers are
# correct.  LAZYRESUME_BENCH_TOUCH=0 skips the verify (then lazy-bg runs
# until it is complete, with nothing touched); LAZYRESUME_BENCH_MODES picks
# the clients (default "lazy-bg lazy eager cold"), and only the images they
# need are captured.  The lazy image has
# LAZYRESUME_BENCH_CHUNK (default 16) pages per pageset2 file and is
# captured with the pages shared copy-on-write in pageset2, once
# (LAZYRESUME_BENCH_SHARED=0: in pageset1, --keep-shared).  The host
# writes its stream (lazyresume make-stream) right after the capture, so
# that the background lane fetches the pages in one transfer, unless
# LAZYRESUME_BENCH_STREAM=0 (then in one transfer per page file).
# LAZYRESUME_BENCH_RUNS=N boots each client N times from the same images
# and prints the medians (emulation makes single boots noisy).
# LAZYRESUME_BENCH_HOT=N gives the workload a hot set of N MiB that its
# readiness answer reads (--hot-mib; default 0: the first page only).
# Mode "lazy-ws" (not in the default list) resumes a copy of the lazy image
# with a loading set and the background lane on: a recording client
# (--record-workingset, background lane off) answers once, then saves its
# first touches as that copy's loading set (not timed).  The lazy modes
# also report "demand faults before the first answer": page files their
# faults had to fetch (fetch_urgent_files), read once the client's faults
# were quiet for 10 s after its first answer, before the verify. With
# lazy-ws, one more client (not timed) replays the loading set while it
# records what it touches, and `lazyresume workingset compare` says how
# much of the loading set it never touched.
# Every image is signed on the host right after its capture
# (scripts/sign-image.sh), and the clients resume signed images.  Mode
# "lazy-unsigned" (not in the default list) is "lazy" from an unsigned
# copy of the lazy image, resumed with --allow-unsigned: what checking the
# signature costs (compare it with "lazy" in the same run).
# The lazy-bg and lazy-ws clients, once complete, write their resume's
# timeline (lazyresume status --timeline) to the result channel; the last
# run of each is kept as build/bench/timeline-MODE-MIB.csv and, with
# python3-matplotlib, plotted into build/bench/timeline-MIB.svg
# (scripts/plot-timeline.py).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:?usage: bench-resume.sh MIB [STARTUP_SECS]}
startup=${2:-0}
kernel="$here/build/kernel/release/arch/x86/boot/bzImage"
initrd="$here/build/initramfs/release-client.cpio.gz"
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
. "$here/scripts/bench-common.sh"
. "$here/scripts/sign-image.sh"
bench_server_up "$images"
: >"$raw"

hot=${LAZYRESUME_BENCH_HOT:-0}
# A readiness answer that reads a hot set may take longer than the
# harness's default wait for an answer.
poll=
[ "$hot" != 0 ] && poll=30
qemu() { # NAME APPEND [options]: boot a VM, print its run directory
	bench_qemu "$1" "lrmib=$mib lrstartup=$startup lrhot=$hot $2" "${@:3}"
}

runs=${LAZYRESUME_BENCH_RUNS:-1}
modes=${LAZYRESUME_BENCH_MODES:-lazy-bg lazy eager cold}
# The images the modes need: lazy for lazy and lazy-bg, eager for eager.
kinds=
case " $modes " in *" lazy"*) kinds=lazy ;; esac
case " $modes " in *" eager "*) kinds="$kinds eager" ;; esac
for kind in $kinds; do
	# Lazy pageset2 in files of LAZYRESUME_BENCH_CHUNK pages (16), with
	# the pages shared copy-on-write unless LAZYRESUME_BENCH_SHARED=0.
	opts=lrchunk=${LAZYRESUME_BENCH_CHUNK:-16}
	[ "${LAZYRESUME_BENCH_SHARED:-1}" = 0 ] && opts="$opts lrshared=0"
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
	# The stream and the signature made on the host, as an admin host
	# would, never in the golden VM.
	if [ "$kind" = lazy ] && [ "${LAZYRESUME_BENCH_STREAM:-1}" != 0 ]; then
		"$tool" make-stream "$images/$kind" | sed "s/^/[$kind] /"
	fi
	sign_image "$images/$kind" | sed "s/^/[$kind] /"
	echo "bench resume capture kind=$kind mib=$mib vm_s=$(echo "$t1 - $t0" | bc)" >>"$raw"
done

# The lazy clients first wait until their faults are quiet for 10 s after
# the first answer (the harness waits with its verify meanwhile) and say
# how many page files their faults fetched: the demand faults before the
# first answer.
quiet='st=/sys/kernel/debug/lazyresume/stats; n=-1 q=0; while [ "$q" -lt 2 ]; do m=$(awk "/^fault_served /{print \$2}" $st); if [ "$m" = "$n" ] && [ "$m" -gt 0 ]; then q=$((q + 1)); else q=0; fi; n=$m; sleep 5; done; echo "demand faults: $(awk "/^fetch_urgent_files /{print \$2}" $st) (faults served: $m)"'
# The lazy-bg client waits for complete in its post-resume settings, then
# shows its memory; the eager one shows it at once (everything is local).
meminfo="grep -E '^(MemFree|AnonPages):' /proc/meminfo | sed 's/^/meminfo: /'"
# The timeline of a client, once complete, on its result channel.
timeline="lazyresume status --timeline /tmp/timeline.csv >/dev/null && sed 's/^/timeline-csv: /' /tmp/timeline.csv"
mkdir -p "$images/lazy/clients" "$images/eager/clients"
echo "$quiet; lazyresume wait-complete --timeout 3000 && $meminfo && $timeline" >"$images/lazy/clients/5254000001a2"
echo "$quiet" >"$images/lazy/clients/5254000001a1"
echo "$meminfo" >"$images/eager/clients/5254000001a1"

# newest_run NAME STAMP: the run directory of VM NAME made after STAMP.
newest_run() {
	find "$here/build/runs" -maxdepth 1 -name "$1.*" -newer "$2" | head -1
}

# wait_line NAME STAMP PATTERN: wait (at most 10 min) until the result
# channel of the running VM NAME has a line matching PATTERN.
wait_line() {
	local run=
	for _ in $(seq 6000); do
		[ -z "$run" ] && run=$(newest_run "$1" "$2")
		[ -n "$run" ] && grep -aq -- "$3" "$run/result.log" 2>/dev/null && return
		sleep 0.1
	done
	echo "bench-resume: no '$3' from $1" >&2
	return 1
}

# recording_client NAME MAC: boot a client of lazy-ws (MAC address MAC)
# that records its first touches (background lane off), let it answer
# once, and wait until its settings (clients/MAC, which the caller wrote)
# saved what it recorded as a loading set.
recording_client() {
	local name=$1 mac=$2 port vm
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	touch "$out/$name.stamp"
	qemu "$name" "lrmode=client lrimage=lazy-ws lrserver=$server lrbackground=off lrrecord=1" \
		--mac "$mac" --hostfwd "tcp:127.0.0.1:$port-:7000" >"$out/$name.run" &
	vm=$!
	python3 "$client" "$port" wait-ready 900 $poll | sed "s/^/[$name] /"
	wait_line "$name" "$out/$name.stamp" "^workingset: loading set tftp://"
	python3 "$client" "$port" quit >/dev/null
	wait "$vm" || true
}

# lazy-ws: a copy of the lazy image, whose loading set a recording client
# makes (not timed).
case " $modes " in *" lazy-ws "*)
	image_copy "$images/lazy" "$images/lazy-ws"
	chmod 0777 "$images/lazy-ws"
	# Its own name, before the loading set (bound to the manifest) exists.
	sign_image "$images/lazy-ws" --name lazy-ws | sed 's/^/[lazy-ws] /'
	echo "$quiet; lazyresume workingset stop --save" >"$images/lazy-ws/clients/5254000001a3"
	echo "$quiet; lazyresume workingset show; lazyresume wait-complete --timeout 3000 && $timeline" \
		>"$images/lazy-ws/clients/5254000001a4"
	recording_client record 52:54:00:00:01:a3
	grep -a "^demand faults: \|^workingset: " "$(tail -1 "$out/record.run")/result.log" | sed 's/^/[record] /'
	# The stream again, without the pages the loading set brings.
	if [ -e "$images/lazy-ws/stream" ]; then
		"$tool" make-stream "$images/lazy-ws" | sed 's/^/[lazy-ws] /'
	fi
	;;
esac

# lazy-unsigned: a copy of the lazy image under its own name, without a
# signature.
case " $modes " in *" lazy-unsigned "*)
	image_copy "$images/lazy" "$images/lazy-unsigned"
	sign_image "$images/lazy-unsigned" --name lazy-unsigned | sed 's/^/[lazy-unsigned] /'
	rm "$images/lazy-unsigned/manifest.sig"
	;;
esac

# complete_watch STAMP T0: print the seconds from T0 to the line "complete
# ... after the resume" of the lazy-bg run made after the file STAMP.
complete_watch() {
	local stamp=$1 t0=$2 run=
	for _ in $(seq 36000); do
		[ -z "$run" ] && run=$(find "$here/build/runs" -maxdepth 1 \
			-name 'client-lazy-bg.*' -newer "$stamp" | head -1)
		if [ -n "$run" ] && grep -aq '^complete [0-9.]* s after the resume' "$run/result.log" 2>/dev/null; then
			echo "$(date +%s.%N) - $t0" | bc
			return
		fi
		sleep 0.1
	done
	echo nan
}

for mode in $(for _ in $(seq "$runs"); do echo "$modes"; done); do
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mac=52:54:00:00:01:a1 image=$mode
	case "$mode" in
	cold) append="lrmode=cold" ;;
	lazy-bg) append="lrmode=client lrimage=lazy lrserver=$server" mac=52:54:00:00:01:a2 image=lazy ;;
	lazy) append="lrmode=client lrimage=lazy lrserver=$server lrbackground=off" ;;
	lazy-ws) append="lrmode=client lrimage=lazy-ws lrserver=$server" mac=52:54:00:00:01:a4 image=lazy-ws ;;
	# The same client settings as lazy's (MAC ...:a1).
	lazy-unsigned) append="lrmode=client lrimage=lazy-unsigned lrserver=$server lrbackground=off lrunsigned=1" ;;
	*) append="lrmode=client lrimage=$mode lrserver=$server" ;;
	esac
	touch "$out/client-$mode.stamp"
	t0=$(date +%s.%N)
	if [ "$mode" = lazy-bg ]; then
		complete_watch "$out/client-$mode.stamp" "$t0" >"$out/client-$mode.complete" &
		watch=$!
	fi
	qemu "client-$mode" "$append" --mac "$mac" \
		--hostfwd "tcp:127.0.0.1:$port-:7000" >"$out/client-$mode.run" &
	vm=$!
	if [ "${LAZYRESUME_BENCH_TOUCH:-1}" = 0 ] && [ "$mode" = lazy-bg ]; then
		# Nothing touched: keep the client until it is complete.
		talk=$(python3 "$client" "$port" wait-ready 3000 $poll)
		wait "$watch" || true
		talk="$talk
$(python3 "$client" "$port" quit)"
	elif [ "${LAZYRESUME_BENCH_TOUCH:-1}" = 0 ]; then
		talk=$(python3 "$client" "$port" wait-ready 3000 $poll quit)
	else
		talk=$(python3 "$client" "$port" wait-ready 3000 $poll)
		# The lazy clients count their demand faults before the verify.
		case "$mode" in lazy*) wait_line "client-$mode" "$out/client-$mode.stamp" "^demand faults: " || true ;; esac
		talk="$talk
$(python3 "$client" "$port" verify 3000 quit)"
	fi
	wait "$vm" || true
	complete=nan
	if [ "$mode" = lazy-bg ]; then
		kill "$watch" 2>/dev/null || true
		wait "$watch" 2>/dev/null || true
		complete=$(cat "$out/client-$mode.complete")
		complete=${complete:-nan}
	fi
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
	[ "$mode" != cold ] && ! grep -aq "^resume: image $image resumed" "$run/result.log" && {
		cat "$run/result.log" >&2
		echo "bench-resume: $mode client did not resume" >&2
		exit 1
	}
	p1=0 p1img=0
	if [ "$mode" != cold ]; then
		manifest=$("$tool" inspect "$images/$image")
		p1=$(echo "$manifest" | sed -n 's/^pageset1: *\([0-9]*\) bytes.*/\1/p')
		p1img=$(echo "$manifest" | sed -n 's/^pageset1 image: *\([0-9]*\) bytes.*/\1/p')
		p1=$((p1 >> 20)) p1img=$((p1img >> 20))
	fi
	# The serial console ends its lines with CR LF.
	status=$(tr -d '\r' <"$run/result.log")
	pages=$(echo "$status" | sed -n 's/^pages fetched: *//p' | tail -1)
	bytes=$(echo "$status" | sed -n 's/^bytes fetched: *//p' | tail -1)
	faults=$(echo "$status" | sed -n 's/^fault latency: .* over \([0-9]*\) faults/\1/p' | tail -1)
	# urgent: N pages, X MiB, fault latency p50 A us, p99 B us
	urgent=$(echo "$status" | sed -n 's/^urgent: *//p' | tail -1)
	background=$(echo "$status" | sed -n 's/^background: *//p' | tail -1)
	wire=$(echo "$urgent;$background" | { grep -o '[0-9.]* MiB,' || true; } |
		awk '{ s += $1 } END { printf "%.1f", s }')
	memfree=$(echo "$status" | sed -n 's/^meminfo: MemFree: *\([0-9]*\) kB/\1/p' | tail -1)
	anon=$(echo "$status" | sed -n 's/^meminfo: AnonPages: *\([0-9]*\) kB/\1/p' | tail -1)
	demand=$(echo "$status" | sed -n 's/^demand faults: \([0-9]*\).*/\1/p' | tail -1)
	if echo "$status" | grep -q '^timeline-csv: '; then
		echo "$status" | sed -n 's/^timeline-csv: //p' >"$out/timeline-$mode-$mib.csv"
	fi
	p50=$(echo "$urgent" | sed -n 's/.*p50 \([0-9]*\) us.*/\1/p')
	p99=$(echo "$urgent" | sed -n 's/.*p99 \([0-9]*\) us.*/\1/p')
	echo "bench resume mode=$mode mib=$mib startup_s=$startup ready_s=$ready" \
		"all_touched_s=$(echo "$ready + $verify" | bc 2>/dev/null || echo nan) pageset1_mib=${p1:-0}" \
		"pageset1_image_mib=${p1img:-0} complete_s=$complete wire_mib=${wire:-0}" \
		"urgent_p50_us=${p50:-nan} urgent_p99_us=${p99:-nan} demand_faults=${demand:-nan} hot_mib=$hot" \
		"memfree_kib=${memfree:-nan} anon_kib=${anon:-nan}" \
		"fetched_pages=${pages:-0} fetched_bytes=${bytes:-0} faults=${faults:-0}" >>"$raw"
done

# lazy-ws: the pages of the loading set that a replaying client never
# touches. One more client (not timed) replays the loading set while it
# records its first touches (background lane off, as a recording wants),
# until its faults are quiet, as the recording client did; its recording
# is then compared with the loading set on the host.
case " $modes " in *" lazy-ws "*)
	mkdir -p "$images/lazy-ws-touch"
	chmod 0777 "$images/lazy-ws-touch"
	echo "$quiet; lazyresume workingset stop --upload tftp://$server/lazy-ws-touch" \
		>"$images/lazy-ws/clients/5254000001a5"
	recording_client touch 52:54:00:00:01:a5
	compared=$("$tool" workingset compare "$images/lazy-ws" "$images/lazy-ws-touch/loadset")
	echo "$compared" | sed 's/^/[lazy-ws] /'
	untouched=$(echo "$compared" | sed -n 's/^never touched: .*, \([0-9.]*\) %)$/\1/p')
	echo "bench resume loadset mib=$mib untouched_pct=${untouched:-nan}" >>"$raw"
	;;
esac

python3 - "$raw" <<'PY'
import statistics
import sys
rows = [dict(kv.split("=", 1) for kv in l.split()[2:] if "=" in kv)
        for l in open(sys.argv[1]) if l.startswith("bench resume mode=")]
for r in rows:
    for k in ("memfree", "anon"):
        v = r.get(k + "_kib", "nan")
        r[k + "_mib"] = "nan" if v == "nan" else str(int(v) / 1024)
def med(rs, key, width=14):
    v = [float(r[key]) for r in rs if r.get(key, "nan") not in ("", "nan")]
    return f"{statistics.median(v):>{width}.1f}" if v else f"{'-':>{width}}"
print(f"{'mode':<13} {'MiB':>5} {'runs':>4} {'interactive s':>14} {'all touched s':>14} "
      f"{'complete s':>11} {'pageset1 MiB':>13} {'(image MiB)':>12} {'MiB after':>10} "
      f"{'urgent p50 us':>14} {'p99 us':>9} {'MemFree MiB':>12} {'Anon MiB':>9} "
      f"{'demand faults before the first answer':>38}")
for mode in dict.fromkeys(r['mode'] for r in rows):
    rs = [r for r in rows if r['mode'] == mode]
    r = rs[-1]
    print(f"{mode:<13} {r['mib']:>5} {len(rs):>4} {med(rs, 'ready_s')} "
          f"{med(rs, 'all_touched_s')} {med(rs, 'complete_s', 11)} {r['pageset1_mib']:>13} "
          f"{r.get('pageset1_image_mib', '0'):>12} {med(rs, 'wire_mib', 10)} "
          f"{med(rs, 'urgent_p50_us')} {med(rs, 'urgent_p99_us', 9)} "
          f"{med(rs, 'memfree_mib', 12)} {med(rs, 'anon_mib', 9)} "
          f"{med(rs, 'demand_faults', 38)}")
for l in open(sys.argv[1]):
    if l.startswith("bench resume loadset "):
        kv = dict(x.split("=", 1) for x in l.split()[3:] if "=" in x)
        print(f"loading set pages the replaying client never touched: {kv['untouched_pct']} %")
if len(rows) > 4:
    print("(medians; every run is in " + sys.argv[1] + ")")
PY

# The timelines of this run, side by side.
tls=()
for mode in $modes; do
	f="$out/timeline-$mode-$mib.csv"
	[ -s "$f" ] && [ "$f" -nt "$out/client-$mode.stamp" ] && tls+=("$f=$mode, $mib MiB, hot set $hot MiB")
done
if [ ${#tls[@]} -gt 0 ] && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
	"$here/scripts/plot-timeline.py" "$out/timeline-$mib.svg" "${tls[@]}"
fi
