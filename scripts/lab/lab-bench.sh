#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lab-bench.sh resume MIB [MODE...]: the seed papers' experiment in the
# diskless lab (issue 18, item 5): one client at a time PXE-boots over a
# LAB_BENCH_RATE link (100mbit, no loss) and is timed from QEMU's start
# (firmware, DHCP, kernel and initramfs over TFTP from dnsmasq) to the
# workload's first correct answer.  MODEs (default "lazy eager cold"):
#   lazy   resumes the lazy image (every user page in pageset2, with its
#          stream) with the background lane on, the default; also timed
#          until it is complete (every page local, `lazyresume
#          wait-complete` in its post-resume settings), nothing touched
#   eager  resumes the eager image (lreager=1: nothing in pageset2)
#   cold   the normal network boot: the same kernel and initramfs boot
#          and start the workload themselves (lrmode=cold), which spends
#          LAB_BENCH_STARTUP seconds (0) on its own start-up work first
#   primary, failover
#          a failover at the link's rate: the lazy image from the test
#          TFTP server (scripts/tftp-test-server.py) on the image
#          server's address, port 1069, with tftpd-hpa on the mirror's
#          address as the mirror (lrmirror=).  In failover the primary
#          dies for good after half of pageset1's blocks, so the boot
#          kernel waits out its silence and fetches pageset1 again from
#          the mirror; primary is the same with a primary that answers
#          everything.  The difference of their times to interactive is
#          what the failover costs.
# LAB_BENCH_RUNS=N (1) boots each mode N times; the table gives medians.
#
# lab-bench.sh storm MIB [N...]: the boot storm (issue 18, item 4(a)): N
# lazy clients of one image (default N = 1, 2, 4, one round each) are
# powered on together, each on its own tap at LAB_BENCH_RATE; per client
# the time to the first answer and to complete (nothing touched), and for
# the round the host's load average and CPU use, and what each client's
# link carried (mean and peak over 1 s, against its rate, and the tbf
# qdisc's overlimits: how often the link held a packet back).
#
# Every client also passes the workload's verify of every byte once its
# time is taken (after complete, for lazy), then quits and must end with
# a PASS verdict (a clean kernel log).  The timings are measurements, not
# checks: the exit status says only whether every client resumed (or
# booted) and answered correctly.  Raw lines ("bench lab ...") go to
# build/bench/lab-resume-MIB.raw and build/bench/lab-storm-MIB.raw (one
# line per client, appended; the table is made from this invocation's
# lines), the storm's 1 s samples to build/bench/lab-storm-MIB-N.samples.
#
# The images are captured through lab_capture (QEMU user network) into
# build/lab/images-bench, with LAB_MEM = 3 * MIB + 512 MiB for the golden
# VM and every client (the memory bench-resume.sh gives each VM: room for
# the workload and the eager snapshot's copy; a restore needs the memory
# map of the capture), and kept while the kernel, the initramfs and MIB
# are the same.  LAB_BENCH_KERNEL and LAB_BENCH_INITRD pick the boot files
# (build/kernel/release/arch/x86/boot/bzImage and
# build/initramfs/release-client.cpio.gz).  Every VM gets `quiet` on its command
# line, as in bench-resume.sh.  LAB_BENCH_STOP=FILE: once FILE exists, no
# further VM is booted; the table is printed for what ran.  Needs root
# (the lab's namespace); the lab is taken down on exit.  Not part of
# make check (a 1024 MiB run takes about 10 minutes).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/lab/lab.sh"

usage() {
	echo "usage: lab-bench.sh resume MIB [lazy|eager|cold|primary|failover ...] | storm MIB [N ...]" >&2
	exit 2
}
what=${1:-}
mib=${2:-}
[ "$what" = resume ] || [ "$what" = storm ] || usage
[[ "$mib" =~ ^[0-9]+$ ]] || usage
shift 2
rate=${LAB_BENCH_RATE:-100mbit}
startup=${LAB_BENCH_STARTUP:-0}
runs=${LAB_BENCH_RUNS:-1}
stop=${LAB_BENCH_STOP:-}
kernel=${LAB_BENCH_KERNEL:-$here/build/kernel/release/arch/x86/boot/bzImage}
initrd=${LAB_BENCH_INITRD:-$here/build/initramfs/release-client.cpio.gz}
tool=$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume
client=$here/scripts/workload-client.py
out=$here/build/bench
images=$here/build/lab/images-bench
boot=$here/build/lab/boot-bench
# Every VM of a run, the golden ones included (lab_capture, lab_boot).
LAB_MEM=$((mib * 3 + 512))
# The longest wait for anything (seconds): an answer, complete, a verify,
# a VM.
limit=1800

if [ "$what" = resume ]; then
	modes=${*:-lazy eager cold}
	for m in $modes; do
		case "$m" in lazy | eager | cold | primary | failover) ;; *) usage ;; esac
	done
	raw=$out/lab-resume-$mib.raw
else
	counts=${*:-1 2 4}
	for n in $counts; do
		[[ "$n" =~ ^[1-8]$ ]] || {
			echo "lab-bench: N is 1 to 8 (one tap and address each)" >&2
			exit 2
		}
	done
	modes=lazy
	raw=$out/lab-storm-$mib.raw
fi
mkdir -p "$out" "$boot" "$here/build/runs"
# A lab of its own per clone, beside lab-test.sh's.
lab_init "${LAB_NAME:-bench-$(printf %s "$here" | sha256sum | cut -c1-6)}"

# Background helpers of this script (session shells, watchers, the
# sampler): ended on exit, then the lab with every process in it.
helpers=()
cleanup() {
	local p
	for p in ${helpers[@]+"${helpers[@]}"}; do kill "$p" 2>/dev/null || true; done
	lab_down
}
trap cleanup EXIT

# stopped: true once LAB_BENCH_STOP's file exists (checked before each
# VM boot).
stopped() {
	[ -n "$stop" ] && [ -e "$stop" ] && {
		echo "lab-bench: $stop exists, no more VMs"
		return 0
	}
	return 1
}

# The boot files, copied: the lab serves these, the captures use these.
cp "$kernel" "$boot/bzImage"
cp "$initrd" "$boot/initrd.cpio.gz"
# image_of MODE: the image a client of MODE resumes (none for cold).
image_of() {
	case "$1" in
	lazy | primary | failover) echo lazy ;;
	eager) echo eager ;;
	esac
}
# shellcheck disable=SC2086 # $modes: a list of words
for m in $(for x in $modes; do image_of "$x"; done | sort -u); do
	case "$m" in
	lazy) kind=stream ;;
	eager) kind=eager ;;
	esac
	stopped && exit 0
	t0=$(date +%s.%N)
	lab_capture "$boot/bzImage" "$boot/initrd.cpio.gz" "$images" "$m$mib" "$mib" "$kind" quiet
	echo "lab-bench: image $m$mib ready after $(echo "$(date +%s.%N) - $t0" | bc) s"
done

lab_up "$boot/bzImage" "$boot/initrd.cpio.gz" "$images"
case " $modes " in *" primary "* | *" failover "*) lab_mirror_up ;; esac
# The failover modes' primary: the test server, on port 1069 of the image
# server's address.
test_port=1069
# Every client on its own tap: MAC 52:54:00:77:00:0I, address .10I.
maxn=1
# shellcheck disable=SC2086 # $counts: a list of numbers
[ "$what" = storm ] && maxn=$(printf '%s\n' $counts | sort -n | tail -1)
for i in $(seq "$maxn"); do
	lab_client_tap "$i" "52:54:00:77:00:0$i" "$LAB_NET.10$i"
done
lab_rate "$rate"
lab_loss 0
# The lazy clients' post-resume settings: wait until complete (the line
# "complete S s after the resume" on the result channel).
if [ -d "$images/lazy$mib" ]; then
	mkdir -p "$images/lazy$mib/clients"
	for i in $(seq "$maxn"); do
		echo "lazyresume wait-complete --timeout $limit" \
			>"$images/lazy$mib/clients/52540077000$i"
	done
	chmod -R a+rX "$images/lazy$mib/clients"
fi

# append MODE: the clients' kernel command line (after ip=dhcp).
append() {
	local gen
	case "$1" in
	cold) echo "quiet lrmode=cold lrmib=$mib lrstartup=$startup" ;;
	primary | failover)
		# loglevel=5: the failover's warning on the console.
		gen=$(image_generation "$images/lazy$mib")
		echo "quiet loglevel=5 lrmode=client lrimage=lazy$mib" \
			"lrserver=$LAB_IMAGE_ADDR:$test_port lrmirror=$LAB_MIRROR_ADDR:69" \
			"lrmib=$mib lrmingen=$gen"
		;;
	*)
		gen=$(image_generation "$images/$1$mib")
		echo "quiet lrmode=client lrimage=$1$mib lrserver=$LAB_IMAGE_ADDR:69 lrmib=$mib lrmingen=$gen"
		;;
	esac
}

# run_dir NAME STAMP: the run directory of client NAME (lab_boot's
# lab-NAME) made after the file STAMP, once it exists.
run_dir() {
	find "$here/build/runs" -maxdepth 1 -name "lab-$1.*" -newer "$2" | head -1
}

# tap_bytes I: bytes, drops and overlimits so far of client I's link.
tap_bytes() {
	lab_ns tc -s qdisc show dev "lrtap$1" |
		sed -n 's/^ *Sent \([0-9]*\) bytes .*dropped \([0-9]*\), overlimits \([0-9]*\).*/\1 \2 \3/p' |
		head -1
}

# session I NAME MODE T0: what the harness does with client I (booted at
# T0 as NAME): wait for its first answer; for lazy, wait until it is
# complete; then the verify of every byte and quit.  Writes key=value
# lines into LAB_DIR/NAME.session.
session() {
	local i=$1 name=$2 mode=$3 t0=$4 addr=$LAB_NET.10$1 f=$LAB_DIR/$2.session
	local talk at run='' line='' _
	talk=$(lab_ns python3 "$client" "$addr:7000" wait-ready "$limit" 2>&1) || true
	echo "$talk" >"$f"
	at=$(echo "$talk" | sed -n 's/^ready_at=//p')
	[ -n "$at" ] || return 0
	echo "ready=$(echo "$at - $t0" | bc)" >>"$f"
	if [ "$mode" = lazy ]; then
		for _ in $(seq $((limit * 5))); do
			[ -z "$run" ] && run=$(run_dir "$name" "$LAB_DIR/$name.stamp")
			if [ -n "$run" ]; then
				line=$(grep -a '^complete [0-9.]* s after the resume' "$run/result.log" || true)
				[ -n "$line" ] && break
				# The VM ended without it.
				grep -aq '^LAZYRESUME-VERDICT: ' "$run/result.log" && break
			fi
			sleep 0.2
		done
		[ -n "$line" ] && echo "complete=$(echo "$(date +%s.%N) - $t0" | bc)" >>"$f"
	fi
	lab_ns python3 "$client" "$addr:7000" verify "$limit" quit >>"$f" 2>&1 || true
}

# sampler FILE N: every second until FILE.end exists (at most LIMIT s),
# one line: the time, the 1-minute load average, the host CPU's busy
# share since the last line (from /proc/stat) and the bytes of each of
# the N clients' links so far.
sampler() {
	local file=$1 n=$2 _ i cpu prev='' busy line
	for _ in $(seq "$limit"); do
		[ -e "$file.end" ] && return 0
		# user nice system idle iowait irq softirq steal
		cpu=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
		busy=nan
		if [ -n "$prev" ]; then
			busy=$(echo "$prev $cpu" | awk '{ b = $3 - $1; t = b + $4 - $2; print (t > 0 ? int(100 * b / t) : "nan") }')
		fi
		prev=$cpu
		line="t=$(date +%s.%N) load1=$(cut -d' ' -f1 /proc/loadavg) busy_pct=$busy"
		for i in $(seq "$n"); do
			line="$line tap$i=$(tap_bytes "$i" | cut -d' ' -f1)"
		done
		echo "$line" >>"$file"
		sleep 1
	done
}

# round N MODE TAG: boot clients 1..N of MODE together, each with a
# session; wait for them all; write one raw line per client.  Returns 1
# if a client did not resume (or boot) and answer correctly.
round() {
	local n=$1 mode=$2 tag=$3 i name t0 pids=() vms=() ok=0 run status before after
	local samples='' sp='' primary='' die=() blocks
	lab_script "$(append "$mode")"
	if [ "$mode" = primary ] || [ "$mode" = failover ]; then
		blocks=$(($(stat -c %s "$images/lazy$mib/pageset1") / 65464))
		[ "$mode" = failover ] && die=(--die-after "lazy$mib/pageset1:$((blocks / 2))")
		# Not through lab_ns: $! must be the server's own pid (ip netns
		# exec execs it).
		ip netns exec "$LAB_NS" python3 "$here/scripts/tftp-test-server.py" --address "$LAB_IMAGE_ADDR" \
			--port "$test_port" --lifetime "$limit" ${die[@]+"${die[@]}"} "$images" \
			>"$LAB_DIR/$tag-primary.log" 2>&1 &
		primary=$!
		helpers+=("$primary")
		lab_wait_udp "$LAB_IMAGE_ADDR" "$test_port" || return 1
	fi
	if [ "$what" = storm ]; then
		samples=$out/lab-storm-$mib-$n.samples
		rm -f "$samples" "$samples.end"
		sampler "$samples" "$n" &
		sp=$!
		helpers+=("$sp")
	fi
	for i in $(seq "$n"); do
		name=$what-$mib-$tag-c$i
		tap_bytes "$i" >"$LAB_DIR/$name.tap0"
		touch "$LAB_DIR/$name.stamp"
		t0=$(date +%s.%N)
		echo "$t0" >"$LAB_DIR/$name.t0"
		lab_boot "$name" "$i" "52:54:00:77:00:0$i" "$limit"
		vms+=("$lab_pid")
		helpers+=("$lab_pid")
		session "$i" "$name" "$mode" "$t0" &
		pids+=("$!")
		helpers+=("$!")
	done
	for i in $(seq "$n"); do
		wait "${pids[$((i - 1))]}" || true
		wait "${vms[$((i - 1))]}" || true
	done
	if [ -n "$sp" ]; then
		touch "$samples.end"
		wait "$sp" || true
	fi
	if [ -n "$primary" ]; then
		kill "$primary" 2>/dev/null || true
		wait "$primary" 2>/dev/null || true
	fi
	for i in $(seq "$n"); do
		name=$what-$mib-$tag-c$i
		run=$(tail -1 "$LAB_DIR/$name.out")
		status=$(tr -d '\r' <"$run/result.log" 2>/dev/null || true)
		local s ready complete verify resumed=yes pxe sent p1=0 after_resume wire
		local image failed_over=no
		image=$(image_of "$mode")
		s=$(cat "$LAB_DIR/$name.session" 2>/dev/null || true)
		t0=$(cat "$LAB_DIR/$name.t0")
		ready=$(echo "$s" | sed -n 's/^ready=//p')
		complete=$(echo "$s" | sed -n 's/^complete=//p')
		verify=$(echo "$s" | sed -n 's/^verify=ok .* verify_s=//p')
		if [ "$mode" != cold ] && ! echo "$status" |
			grep -q "^resume: image $image$mib resumed as $LAB_NET.10$i (52:54:00:77:00:0$i)"; then
			resumed=no
		fi
		grep -aq "pageset1: no answer from $LAB_IMAGE_ADDR:$test_port; going on from" \
			"$run/console.log" 2>/dev/null && failed_over=yes
		if [ -z "$ready" ] || [ -z "$verify" ] || [ "$resumed" = no ] ||
			{ [ "$mode" = failover ] && [ "$failed_over" = no ]; } ||
			! echo "$status" | grep -q '^LAZYRESUME-VERDICT: PASS'; then
			echo "$s"
			echo "$status" | tail -40
			echo "lab-bench: client $name did not answer correctly (run $run)" >&2
			ok=1
		fi
		# When dnsmasq sent the initramfs: PXE done (to the second).
		pxe=nan
		sent=$(grep "sent .*/initrd.cpio.gz to $LAB_NET.10$i\$" "$LAB_DIR/dnsmasq.log" |
			tail -1 | cut -c1-15)
		if [ -n "$sent" ]; then
			pxe=$(echo "$(date -d "$sent" +%s) - $t0" | bc)
		fi
		if [ "$mode" != cold ]; then
			p1=$("$tool" inspect "$images/$image$mib" |
				sed -n 's/^pageset1: *\([0-9]*\) bytes.*/\1/p')
			p1=$((p1 >> 20))
		fi
		after_resume=$(echo "$status" | sed -n 's/^complete \([0-9.]*\) s after the resume.*/\1/p' | tail -1)
		# The last status (the client prints one when the capture's
		# post-resume part returns and one when the workload quits).
		wire=$({
			echo "$status" | sed -n 's/^urgent: *//p' | tail -1
			echo "$status" | sed -n 's/^background: *//p' | tail -1
		} | { grep -o '[0-9.]* MiB,' || true; } | awk '{ s += $1 } END { printf "%.1f", s }')
		before=$(cat "$LAB_DIR/$name.tap0")
		after=$(tap_bytes "$i")
		[ -n "$before" ] || before="0 0 0"
		[ -n "$after" ] || after="0 0 0"
		echo "bench lab $what mode=$mode mib=$mib n=$n client=$i tag=$tag rate=$rate" \
			"startup_s=$startup ready_s=${ready:-nan} pxe_s=$pxe complete_s=${complete:-nan}" \
			"complete_after_resume_s=${after_resume:-nan} verify_s=${verify:-nan}" \
			"pageset1_mib=$p1 mib_after_resume=${wire:-0}" \
			"link_bytes=$((${after%% *} - ${before%% *}))" \
			"link_overlimits=$(($(echo "$after" | cut -d' ' -f3) - $(echo "$before" | cut -d' ' -f3)))" \
			"link_drops=$(($(echo "$after" | cut -d' ' -f2) - $(echo "$before" | cut -d' ' -f2)))" \
			"resumed=$resumed failed_over=$failed_over run=$run" | tee -a "$raw" >>"$LAB_DIR/lines"
	done
	return "$ok"
}

: >"$LAB_DIR/lines"
fail=0
if [ "$what" = resume ]; then
	for r in $(seq "$runs"); do
		for m in $modes; do
			stopped && break 2
			echo "lab-bench: $m client at $mib MiB, run $r of $runs"
			round 1 "$m" "$m-r$r" || fail=1
			tail -1 "$LAB_DIR/lines"
		done
	done
else
	for n in $counts; do
		stopped && break
		echo "lab-bench: $n lazy clients of $mib MiB together"
		round "$n" lazy "n$n" || fail=1
		tail -"$n" "$LAB_DIR/lines"
		# The round's host: peak load average, mean CPU busy; each
		# link: its peak over 1 s.
		awk -v n="$n" -v rate="$rate" '
			{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			  if (v["load1"] > load) load = v["load1"]
			  if (v["busy_pct"] != "nan") { busy += v["busy_pct"]; nb++ }
			  for (c = 1; c <= n; c++) {
				b = v["tap" c]; t = v["t"]
				if (c in lb && t > lt) { r = (b - lb[c]) * 8 / (t - lt) / 1e6; if (r > peak[c]) peak[c] = r }
				lb[c] = b
			  }
			  lt = v["t"] }
			END {
				printf "bench lab storm-host n=%d rate=%s samples=%d load1_max=%.2f cpu_busy_pct=%.0f", n, rate, NR, load, nb ? busy / nb : -1
				for (c = 1; c <= n; c++) printf " peak_mbit%d=%.1f", c, peak[c]
				printf "\n"
			}' "$out/lab-storm-$mib-$n.samples" | tee -a "$raw" >>"$LAB_DIR/lines"
		tail -1 "$LAB_DIR/lines"
	done
fi

python3 - "$LAB_DIR/lines" "$what" <<'PY'
import statistics
import sys
lines = [l.split() for l in open(sys.argv[1])]
rows = [dict(kv.split("=", 1) for kv in l[3:] if "=" in kv) for l in lines if l[2] in ("resume", "storm")]
hosts = {dict(kv.split("=", 1) for kv in l[3:])["n"]: dict(kv.split("=", 1) for kv in l[3:])
         for l in lines if l[2] == "storm-host"}
def f(v, w):
    return f"{'-':>{w}}" if v in (None, "", "nan") else f"{float(v):>{w}.1f}"
def med(rs, k, w):
    v = [float(r[k]) for r in rs if r.get(k, "nan") not in ("", "nan")]
    return f(statistics.median(v) if v else None, w)
def rate(r):
    # What came after the resume over the time from the resume to complete.
    t = r.get("complete_after_resume_s", "nan")
    return None if t in ("", "nan") or float(t) == 0 else float(r["mib_after_resume"]) / float(t)
if sys.argv[2] == "resume":
    print(f"{'mode':<8} {'MiB':>5} {'runs':>4} {'interactive s':>14} {'PXE done s':>11} "
          f"{'complete s':>11} {'(after resume)':>15} {'pageset1 MiB':>13} {'MiB after':>10} "
          f"{'MiB/s after':>12}")
    for mode in dict.fromkeys(r["mode"] for r in rows):
        rs = [r for r in rows if r["mode"] == mode]
        for r in rs:
            r["rate"] = rate(r)
        rates = [r["rate"] for r in rs if r["rate"] is not None]
        print(f"{mode:<8} {rs[0]['mib']:>5} {len(rs):>4} {med(rs, 'ready_s', 14)} "
              f"{med(rs, 'pxe_s', 11)} {med(rs, 'complete_s', 11)} "
              f"{med(rs, 'complete_after_resume_s', 15)} {rs[0]['pageset1_mib']:>13} "
              f"{med(rs, 'mib_after_resume', 10)} "
              f"{f(statistics.median(rates) if rates else None, 12)}")
    print("(seconds from QEMU's start; PXE done: dnsmasq sent the initramfs, to the second;"
          " complete: every page local, nothing touched; medians when runs > 1)")
else:
    print(f"{'N':>2} {'client':>6} {'interactive s':>14} {'complete s':>11} {'MiB after':>10} "
          f"{'MiB/s after':>12} {'link mean Mbit/s':>17} {'peak Mbit/s':>12} {'overlimits':>11} "
          f"{'load1 max':>10} {'CPU busy %':>11}")
    for r in rows:
        h = hosts.get(r["n"], {})
        secs = r.get("complete_s", "nan")
        mean = None
        if secs not in ("", "nan"):
            mean = int(r["link_bytes"]) * 8 / float(secs) / 1e6
        print(f"{r['n']:>2} {r['client']:>6} {f(r['ready_s'], 14)} {f(secs, 11)} "
              f"{f(r['mib_after_resume'], 10)} {f(rate(r), 12)} {f(mean, 17)} "
              f"{f(h.get('peak_mbit' + r['client']), 12)} {r['link_overlimits']:>11} "
              f"{f(h.get('load1_max'), 10)} {f(h.get('cpu_busy_pct'), 11)}")
    print("(seconds from each client's QEMU start; MiB/s after: what came after the resume over"
          " the time from the resume to complete; link: what the client's tap sent it, PXE"
          " included, mean up to complete, peak over 1 s; load and CPU: the host's, for the round)")
PY
[ "$fail" = 0 ] || echo "lab-bench: a client did not answer correctly (see above)" >&2
exit "$fail"
