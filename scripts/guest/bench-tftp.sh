#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In-guest TFTP benchmark (lrmode=bench-tftp): throughput of the in-kernel
# client and of busybox tftp fetching a 64 MiB file across block and window
# sizes, and the latency of one-block fetches.  Prints "bench ..." lines
# that scripts/bench-tftp.sh turns into tables.  Measures; checks nothing.

server() {
	for s in $(sed -n 's/.*lrtftp=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' '); do
		case "$s" in "$1"@*) echo "${s#*@}" ;; esac
	done
}
now_us() { awk '{ printf "%d\n", $1 * 1000000 }' /proc/uptime; }

# Transfers by the in-kernel client are a request of the test module.
modprobe lazyresume_test
FILE=r64m
SIZE=67108864

kernel_run() { # server-name addr blksize windowsize
	out=$(lazyresume tftp-get --no-digest --deadline-ms 900000 --blksize "$3" \
		--windowsize "$4" "$2" "$FILE" 2>&1)
	us=$(echo "$out" | sed -n 's/^elapsed_us=//p')
	bs=$(echo "$out" | sed -n 's/^blksize=//p')
	ws=$(echo "$out" | sed -n 's/^windowsize=//p')
	rt=$(echo "$out" | sed -n 's/^retransmits=//p')
	echo "bench throughput client=kernel server=$1 blksize=$3 windowsize=$4 used_blksize=${bs:-?} used_windowsize=${ws:-?} elapsed_us=${us:-fail} retransmits=${rt:-?}"
}

busybox_run() { # server-name addr blksize
	t0=$(now_us)
	if tftp -g -b "$3" -r "$FILE" -l /tmp/bench.out "${2%:*}" "${2#*:}" 2>/dev/null &&
		[ "$(wc -c </tmp/bench.out)" = "$SIZE" ]; then
		us=$(($(now_us) - t0))
	else
		us=fail
	fi
	rm -f /tmp/bench.out
	echo "bench throughput client=busybox server=$1 blksize=$3 windowsize=1 elapsed_us=$us"
}

for s in hpa atftpd qemu; do
	addr=$(server "$s")
	[ -n "$addr" ] || continue
	case $s in
	qemu) sizes="512 1428" ;;
	*) sizes="512 1428 8192 65464" ;;
	esac
	case $s in
	atftpd) windows="1 4 16 64" ;;
	*) windows="1" ;;
	esac
	for b in $sizes; do
		for w in $windows; do
			kernel_run "$s" "$addr" "$b" "$w"
		done
		busybox_run "$s" "$addr" "$b"
	done
done

# Latency: a one-byte file and a one-page file (4096 bytes in one block of
# an 8192-byte blksize, so one round trip like the one-byte file).
addr=$(server hpa)
for f in one b4096; do
	i=0
	while [ $i -lt 40 ]; do
		us=$(lazyresume tftp-get --no-digest --blksize 8192 "$addr" "$f" |
			sed -n 's/^elapsed_us=//p')
		echo "bench latency server=hpa file=$f elapsed_us=$us"
		i=$((i + 1))
	done
done
