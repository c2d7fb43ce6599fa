#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-snapshot-dev.sh MIB [KIND...]: the time to load an image up to the
# jump, through the module's loader (patch 0008: `lazyresume resume
# --dry-run`) against user space through /dev/snapshot (`lazyresume resume
# --via-snapshot-dev --dry-run`: a user-space TFTP client with the
# module's options, the same SHA-256 and LZ4 checks, the image written
# into /dev/snapshot opened O_WRONLY, closed instead of restored).
#
# A golden VM (release kernel, QEMU TCG, 3 * MIB + 512 MiB, the test
# workload holding MIB MiB) is captured to a tftpd-hpa on the host's
# loopback as each KIND (eager, lazy; default: eager lazy), as
# scripts/bench-resume.sh does.  Then, per KIND, one client VM of the same
# memory runs LAZYRESUME_BENCH_RUNS (3) rounds of both dry runs, the
# order alternating per round, and fetches pageset1 once more with the
# in-kernel client alone (`tftp-get`, without and with its SHA-256).
# Prints a table of medians; the raw lines go to
# build/bench/snapshot-dev-MIB.raw.  LAZYRESUME_BENCH_REUSE=1 uses the
# images of an earlier run (build/bench/snapshot-dev-images-MIB) if they
# are complete, instead of capturing again.  Measures only; fails if a
# dry run fails.  Each image is signed on the host right after its
# capture (scripts/sign-image.sh): the dry runs load a signed image, as
# a client would.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:?usage: bench-snapshot-dev.sh MIB [KIND...]}
shift
kinds=${*:-eager lazy}
runs=${LAZYRESUME_BENCH_RUNS:-3}
kernel="$here/build/kernel/release/arch/x86/boot/bzImage"
initrd="$here/build/initramfs/release.cpio.gz"
mem=$((mib * 3 + 512))
out="$here/build/bench"
images="$out/snapshot-dev-images-$mib"
raw="$out/snapshot-dev-$mib.raw"
mkdir -p "$out" "$here/build/runs"
mkdir -p "$images"
. "$here/scripts/bench-common.sh"
. "$here/scripts/sign-image.sh"
bench_server_up "$images"
: >"$raw"

qemu() { # NAME APPEND [options]: boot a VM, print its run directory
	bench_qemu "$1" "lrmib=$mib $2" "${@:3}"
}

for kind in $kinds; do
	if [ "${LAZYRESUME_BENCH_REUSE:-0}" = 1 ] && [ -s "$images/$kind/manifest" ]; then
		echo "[$kind] reusing the image in $images/$kind"
		# An image of a run before images were signed.
		[ -s "$images/$kind/manifest.sig" ] || sign_image "$images/$kind" | sed "s/^/[$kind] /"
		continue
	fi
	rm -rf "${images:?}/$kind"
	mkdir -p "$images/$kind"
	chmod 0777 "$images/$kind"
	case "$kind" in
	eager) opts=lreager=1 ;;
	lazy) opts="lrchunk=16" ;;
	*) echo "bench-snapshot-dev: unknown kind $kind (eager, lazy)" >&2; exit 2 ;;
	esac
	run=$(qemu "golden-$kind" "lrmode=golden lrimage=$kind lrserver=$server $opts" \
		--mac 52:54:00:00:01:10) || true
	grep -aq "^capture: image $kind in " "$run/result.log" || {
		cat "$run/result.log" >&2
		echo "bench-snapshot-dev: capture of $kind failed" >&2
		exit 1
	}
	grep -a '^capture: ' "$run/result.log" | sed "s/^/[$kind] /"
	# Signed on the host, as an admin host would, never in the golden VM.
	sign_image "$images/$kind" | sed "s/^/[$kind] /"
done

for kind in $kinds; do
	status=0
	run=$(qemu "snapshot-dev-$kind" \
		"lrmode=bench-snapshot-dev lrimage=$kind lrserver=$server lrruns=$runs" \
		--mac 52:54:00:00:01:a1) || status=$?
	# The serial console ends its lines with CR LF.
	tr -d '\r' <"$run/result.log" >"$run/result.txt"
	python3 - "$kind" "$mib" "$run/result.txt" >>"$raw" <<'PY'
import re
import sys
kind, mib, path = sys.argv[1:]
head = None
for line in open(path, errors="replace"):
    line = line.strip()
    m = re.match(r"bench-snapshot-dev (run=\d+ path=\S+|tftp-get \S+)$", line)
    if m:
        head = m.group(1).replace("tftp-get ", "path=tftp-get-")
        continue
    if head is None:
        continue
    m = re.match(r"resume: dry run: manifest \d+ bytes, pageset1 (\d+) bytes, "
                 r"fetched and loaded in (\d+) ms", line)
    if m:
        print(f"bench snapshot-dev kind={kind} mib={mib} {head} "
              f"total_us={int(m.group(2)) * 1000} pageset1_bytes={m.group(1)}")
    elif line.startswith("snapshot-dev: "):
        print(f"bench snapshot-dev kind={kind} mib={mib} {head} {line[14:]}")
    elif line.startswith("elapsed_us="):
        print(f"bench snapshot-dev kind={kind} mib={mib} {head} total_us={line[11:]}")
PY
	grep -a -e '^resume: ' -e '^not resuming' -e '^elapsed_us=' -e '^bench-snapshot-dev' \
		-e '^LAZYRESUME-VERDICT' "$run/result.txt" | sed "s/^/[$kind] /"
	if ! grep -q "kind=$kind .*path=snapshot-dev" "$raw" ||
		! grep -q "kind=$kind .*path=kernel" "$raw"; then
		echo "bench-snapshot-dev: the $kind client measured nothing (exit $status, see $run)" >&2
		exit 1
	fi
	[ "$status" = 0 ] || echo "bench-snapshot-dev: the $kind client ended with status $status (see $run)" >&2
done

python3 - "$raw" <<'PY'
import statistics
import sys
rows = [dict(kv.split("=", 1) for kv in l.split()[2:] if "=" in kv)
        for l in open(sys.argv[1]) if l.startswith("bench snapshot-dev ")]
def s(us):
    return f"{int(us) / 1e6:.2f}"
def med(rs, key):
    v = [int(r[key]) for r in rs if key in r]
    return s(statistics.median(v)) if v else "-"
print(f"{'image':<6} {'MiB':>5} {'pageset1':>9} {'image':>6} {'path':<18} {'runs':>4} "
      f"{'median s':>9} {'range s':>12} {'open':>6} {'fetch':>6} {'hash':>6} "
      f"{'decode':>6} {'write':>6} {'close':>6}")
for kind in dict.fromkeys(r["kind"] for r in rows):
    for path in ("kernel", "snapshot-dev", "tftp-get-no-digest", "tftp-get-sha256"):
        rs = [r for r in rows if r["kind"] == kind and r["path"] == path]
        if not rs:
            continue
        t = sorted(int(r["total_us"]) for r in rs)
        p1 = next((int(r["pageset1_bytes"]) for r in rows
                   if r["kind"] == kind and "pageset1_bytes" in r), 0)
        img = next((int(r["image_bytes"]) for r in rows
                    if r["kind"] == kind and "image_bytes" in r), 0)
        print(f"{kind:<6} {rs[0]['mib']:>5} {p1 / 2**20:>9.1f} {img / 2**20:>6.1f} {path:<18} "
              f"{len(rs):>4} {med(rs, 'total_us'):>9} {s(t[0]) + '-' + s(t[-1]):>12} "
              + " ".join(f"{med(rs, k + '_us'):>6}"
                         for k in ("open", "fetch", "hash", "decode", "write", "close")))
print(f"(seconds; medians of the runs; every run is in {sys.argv[1]})")
PY
