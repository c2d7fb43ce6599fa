#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-storm.sh [MIB]     the boot storm, replayed from the host (issue 18,
#                          4b): N = 1, 4, 16, 64 clients against 1 and 2
#                          tftpd-hpa servers; prints a table
# bench-storm.sh --smoke   the check of `make check`: 2 clients, 2 servers,
#                          every file's SHA-256 checked against the image,
#                          once unlimited and once on 100 Mbit/s links
#
# STORM_CLIENT_RATE=MBIT gives every replayed client a link of its own of
# MBIT Mbit/s (`lazyresume loadgen --client-rate`: a model, the client
# paces what it takes; the servers stay on the loopback); unset or empty:
# unlimited, nothing but the servers limits a client.
#
# A test image of MIB MiB of pageset2 (64 by default) and MIB/8 of
# pageset1 is made without a VM (`lazyresume image-create`: one chunk of
# 16 pages in 8 all zeros, which has no file, and of the others' pages one
# in 8 zeros, one random, the rest compressible about 2:1; chunk files of
# 16 pages in LZ4 blocks as a capture writes them; a loading set of the
# first tenth of the pages; its stream, `lazyresume make-stream`), kept
# in build/bench/storm/ for the next run.  The servers are tftpd-hpa on 127.0.0.1 only (tftp-servers.sh
# start-hpa), stopped on exit.  `lazyresume loadgen` replays the clients
# (derived fault sequences: 32 faults 20 ms apart per client), checking
# every file's SHA-256 (a file that arrives wrong is fetched again, as the
# module's hash check makes it do, and counted).  Every run
# is bounded (STORM_TIMEOUT, 300 s each; a run that misses it is reported
# with its incomplete clients and the others go on).  Raw lines in
# build/bench/storm.raw, the table in build/bench/storm.tsv and its plot
# in build/bench/storm.svg (scripts/plot-storm.py); with STORM_CLIENT_RATE,
# build/bench/storm-MBITmbit.{raw,tsv,svg}.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tool="$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume"
smoke=
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
mib=${1:-64}
[ -n "$smoke" ] && mib=8
timeout=${STORM_TIMEOUT:-300}
clients=${STORM_CLIENTS:-1 4 16 64}
servers=${STORM_SERVERS:-1 2}
rate=${STORM_CLIENT_RATE:-}
if [ -n "$rate" ]; then
	rate_args=(--client-rate "$rate")
	rate_words="client links $rate Mbit/s each (modelled)"
	out_name=storm-${rate}mbit
else
	rate_args=()
	rate_words="client links unlimited"
	out_name=storm
fi

if [ ! -x "$tool" ] || [ -z "$smoke" ]; then
	make -s -C "$here" userspace >/dev/null
fi

# The image, made once per size.
work="$here/build/bench/storm"
root="$work/root-$mib"
name=storm
# The smoke test makes its (small) image anew, so that it is always of
# this tool's format.
[ -n "$smoke" ] && rm -rf "$root"
if [ ! -e "$root/$name/manifest" ]; then
	rm -rf "$root"
	mkdir -p "$root" "$work/tmp"
	python3 - "$work/tmp" "$mib" <<'EOF'
import random, sys
out, mib = sys.argv[1], int(sys.argv[2])
def pages(path, n, seed):
    r = random.Random(seed)
    with open(path, "wb") as f:
        for i in range(n):
            k = i % 8
            if k == 0 or (i // 16) % 8 == 7:
                f.write(bytes(4096))
            elif k == 1:
                f.write(r.randbytes(4096))
            else:
                half = r.randbytes(2048)
                f.write(half + half)
pages(out + "/pageset2", mib * 256, 2)
pages(out + "/pageset1", max(1, mib // 8) * 256, 1)
EOF
	p2=$((mib * 256))
	"$tool" image-create "$root/$name" --pageset1 "$work/tmp/pageset1" \
		--pageset2 "$work/tmp/pageset2" --kernel-id "bench-storm" \
		--chunk-pages 16 --lz4 --name "$name" --generation 1 \
		--loadset-pages "0-$((p2 / 10 - 1))" >/dev/null
	rm -rf "$work/tmp"
	# tftpd-hpa runs as nobody.
	find "$root" -type d -exec chmod 0755 {} +
	find "$root" -type f -exec chmod 0644 {} +
fi

# Its stream, as an admin host makes it after a capture (also for an
# image kept from before streams).
if [ ! -e "$root/$name/stream" ]; then
	"$tool" make-stream "$root/$name" >/dev/null
	chmod 0644 "$root/$name/stream"
fi

# The servers: two tftpd-hpa on 127.0.0.1, each on a free port.
run=$(mktemp -d "$work/run.XXXX")
stop() {
	"$here/scripts/tftp-servers.sh" stop "$run/s1" || true
	"$here/scripts/tftp-servers.sh" stop "$run/s2" || true
	rm -rf "$run"
}
trap stop EXIT
ports=()
for s in s1 s2; do
	"$here/scripts/tftp-servers.sh" start-hpa "$root" "$run/$s"
	# shellcheck source=/dev/null
	. "$run/$s/servers.env"
	ports+=("$HPA_PORT")
done

# loadgen CLIENTS SERVERS [ARGS]: one replay (of the image directory
# $img if set: what the files are checked against).
loadgen() {
	local n=$1 s=$2 args=()
	shift 2
	args=(--server "127.0.0.1:${ports[0]}")
	[ "$s" = 2 ] && args+=(--server "127.0.0.1:${ports[1]}")
	timeout $((timeout + 30)) "$tool" loadgen --image "${img:-$root/$name}" \
		"${args[@]}" --clients "$n" --timeout "$timeout" --machine \
		${rate_args[@]+"${rate_args[@]}"} "$@"
}

if [ -n "$smoke" ]; then
	# The smoke test sets its rates itself.
	rate_args=()
	"$tool" verify "$root/$name" >/dev/null
	loadgen 2 2 --verify
	# On 100 Mbit/s links: no client can be interactive before its link
	# carried pageset1 and the loading set (a bound, not a timing).
	out=$(loadgen 2 2 --verify --client-rate 100)
	floor=$(stat -c %s "$root/$name/pageset1" "$root/$name/loadset" |
		awk '{ s += $1 } END { printf "%.4f", s * 8 / 100e6 }')
	tti=$(sed -n 's/^storm .* tti_med=\([^ ]*\).* client_mbit=100$/\1/p' <<<"$out")
	if [ -z "$tti" ] || ! awk -v t="$tti" -v f="$floor" 'BEGIN { exit !(t >= f) }'; then
		echo "$out" >&2
		echo "bench-storm: on 100 Mbit/s links, interactive after '$tti' s, the link needs $floor s" >&2
		exit 1
	fi
	# The check must catch a file that differs: the servers serve the
	# image, the loadgen compares with a copy whose one chunk file and
	# loading set have a byte flipped.
	cp -r "$root/$name" "$run/copy"
	for f in "$run/copy/p2-0000000000000003" "$run/copy/loadset"; do
		python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1
open(p, "wb").write(b)' "$f"
	done
	if img="$run/copy" loadgen 2 1 --verify --name "$name" >"$run/bad.out" 2>&1; then
		echo "bench-storm: a differing file went unnoticed" >&2
		exit 1
	fi
	grep -q 'SHA-256 differs' "$run/bad.out" || {
		cat "$run/bad.out" >&2
		exit 1
	}
	echo "bench-storm: smoke ok (and a differing file is caught)"
	exit 0
fi

mkdir -p "$here/build/bench"
raw="$here/build/bench/$out_name.raw"
tsv="$here/build/bench/$out_name.tsv"
echo "# bench-storm: $mib MiB image, $rate_words" >"$raw"
printf 'servers\tclients\ttti_med\ttti_p90\ttti_max\tdone_med\tdone_max\tMiB\twall\tMiB/s\tretransmits\twrong\tfault_p50_ms\tfault_p90_ms\tincomplete\tclient_mbit\n' >"$tsv"
for s in $servers; do
	for n in $clients; do
		echo "bench-storm: $n clients, $s server(s)" >&2
		out=$(loadgen "$n" "$s" --verify 2>&1) || echo "bench-storm: $n clients, $s server(s) failed" >&2
		echo "$out" >>"$raw"
		line=$(grep '^storm ' <<<"$out")
		v() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$n" \
			"$(v tti_med)" "$(v tti_p90)" "$(v tti_max)" "$(v done_med)" \
			"$(v done_max)" "$(v mib)" "$(v wall)" "$(v mibps)" \
			"$(v retransmits)" "$(v wrong)" "$(v fault_wait_med_ms)" "$(v fault_wait_p90_ms)" \
			"$(v incomplete)" "$(v client_mbit)" >>"$tsv"
	done
done

echo "Boot storm, $mib MiB image, $rate_words, $(nproc) cores, $(date -u +%F):"
column -t -s "$(printf '\t')" "$tsv"

"$here/scripts/plot-storm.py" "$tsv" "$here/build/bench/$out_name.svg"
