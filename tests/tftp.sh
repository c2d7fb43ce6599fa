#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The in-kernel TFTP client against real servers on the host: tftpd-hpa,
# atftpd (windowsize), QEMU's built-in server, and a test server that dies
# mid-transfer or sends from a wrong transfer ID.  Each fetched file's
# length and SHA-256 must match SHA256SUMS (fetched with busybox tftp);
# uploads to tftpd-hpa (upload/, --create) must fetch back identical.
#
# The servers come from the kernel command line, as started by
# scripts/tftp-servers.sh and qemu-run.sh --tftp:
#   lrtftp=hpa@ADDR:PORT,atftpd@ADDR:PORT,qemu@ADDR:PORT,test@ADDR:PORT

DIR="$(dirname "$0")"
. "$DIR/ktap_helpers.sh"

STATS=/sys/kernel/debug/lazyresume/stats
SUMS=/tmp/tftp-SHA256SUMS
SIZES=/tmp/tftp-SIZES
OUT=/tmp/tftp-get.out

server() {
	for s in $(sed -n 's/.*lrtftp=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' '); do
		case "$s" in "$1"@*) echo "${s#*@}" ;; esac
	done
}
stat_value() { awk -v k="$1" '$1 == k { print $2 }' "$STATS"; }
udp_sockets() { tail -n +2 /proc/net/udp | wc -l; }

HPA=$(server hpa)
ATFTPD=$(server atftpd)
QEMU=$(server qemu)
TEST=$(server test)

ktap_print_header
if [ -z "$HPA" ] || [ -z "$ATFTPD" ] || [ -z "$QEMU" ] || [ -z "$TEST" ]; then
	ktap_skip_all "no lrtftp= servers on the kernel command line"
	exit "$KSFT_SKIP"
fi
if ! grep -q '/lazyresume_test.ko:' "/lib/modules/$(uname -r)/modules.dep" 2>/dev/null; then
	ktap_skip_all "no lazyresume_test module for this kernel"
	exit "$KSFT_SKIP"
fi
# Transfers by the in-kernel client are a request of the test module.
if ! grep -q '^lazyresume_test ' /proc/modules; then
	grep -q '^lazyresume ' /proc/modules && modprobe -r lazyresume
	modprobe lazyresume_test
fi

# fetch NAME SERVER FILE [tftp-get options]: fetch and compare with SUMS.
fetch() {
	name=$1 srv=$2 file=$3
	shift 3
	# The test server's directives (die-after-N/, stranger/) prefix names.
	want=$(awk -v f="${file##*/}" '$2 == f { print $1 }' "$SUMS")
	if ! lazyresume tftp-get "$@" "$srv" "$file" >"$OUT" 2>&1; then
		sed 's/^/# /' "$OUT"
		ktap_test_fail "$name"
		return
	fi
	got=$(sed -n 's/^sha256=//p' "$OUT")
	# --no-digest: the length must match the reference file's.
	[ -z "$got" ] && got=$(sed -n 's/^length=//p' "$OUT") &&
		want=$(awk -v f="${file##*/}" '$1 == f { print $2 }' "$SIZES")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ktap_test_pass "$name: $(grep -v sha256= "$OUT" | tr '\n' ' ')"
	else
		echo "# want $want got $got"
		ktap_test_fail "$name"
	fi
}

# fails NAME ERRNO SERVER FILE [options]: the fetch fails with ERRNO.
fails() {
	name=$1 errno=$2 srv=$3 file=$4
	shift 4
	if lazyresume tftp-get "$@" "$srv" "$file" >"$OUT" 2>&1; then
		ktap_test_fail "$name (succeeded)"
	elif grep -q "(os error $errno)" "$OUT"; then
		ktap_test_pass "$name"
	else
		sed 's/^/# /' "$OUT"
		ktap_test_fail "$name"
	fi
}

SMALL="empty one b511 b512 b513 b1024 b100k"
nsmall=$(echo $SMALL | wc -w)
ktap_set_plan $((2 + 3 * nsmall + 8 + 4 + 3 + 2 + 2 + 2 + 4 + 2))

# The reference digests and sizes, through an independent client.
for f in SHA256SUMS SIZES; do
	if tftp -g -r "$f" -l "/tmp/tftp-$f" "${HPA%:*}" "${HPA#*:}" &&
		[ -s "/tmp/tftp-$f" ]; then
		ktap_test_pass "$f fetched with busybox tftp"
	else
		ktap_test_fail "$f fetched with busybox tftp"
	fi
done

# Sizes around one block, at blksize 512, from each server.
for s in hpa atftpd qemu; do
	addr=$(server "$s")
	for f in $SMALL; do
		fetch "$s $f blksize 512" "$addr" "$f"
	done
done

# Large blocks, exact multiples of blksize, windows, rollover, 64 MiB.
fetch "hpa b2856 blksize 1428 (2 blocks, exact)" "$HPA" b2856 --blksize 1428
fetch "hpa b130928 blksize 65464 (2 blocks, exact)" "$HPA" b130928 --blksize 65464
# Under TCG with KASAN a large file takes minutes at blksize 512.
LONG="--deadline-ms 600000"
fetch "hpa r64m blksize 65464" "$HPA" r64m --blksize 65464 --no-digest $LONG
fetch "hpa roll blksize 512 (65538 blocks, rollover)" "$HPA" roll $LONG
fetch "atftpd b130928 blksize 65464 windowsize 2 (exact)" "$ATFTPD" b130928 \
	--blksize 65464 --windowsize 2
fetch "atftpd r64m blksize 65464 windowsize 16" "$ATFTPD" r64m \
	--blksize 65464 --windowsize 16 $LONG
fetch "atftpd roll blksize 512 windowsize 4 (rollover)" "$ATFTPD" roll \
	--windowsize 4 $LONG
fetch "qemu r64m blksize 1428" "$QEMU" r64m --blksize 1428 $LONG

# Errors come back at once with the right errno.
fails "hpa missing file: ENOENT" 2 "$HPA" no-such-file --rto-ms 5000
fails "atftpd missing file: ENOENT" 2 "$ATFTPD" no-such-file --rto-ms 5000
fails "qemu missing file: ENOENT" 2 "$QEMU" no-such-file --rto-ms 5000
fails "hpa unreadable file: EACCES" 13 "$HPA" noaccess --rto-ms 5000

# A server that dies mid-transfer: ETIMEDOUT by the deadline, no socket
# left behind, and the next fetch works once it answers again.
before=$(udp_sockets)
fails "server dies mid-transfer: ETIMEDOUT" 110 "$TEST" die-after-5/b100k \
	--rto-ms 100 --deadline-ms 2000
after=$(udp_sockets)
if [ "$before" = "$after" ]; then
	ktap_test_pass "no socket left behind ($after UDP sockets)"
else
	ktap_test_fail "no socket left behind ($before before, $after after)"
fi
fetch "the server is back: next fetch works" "$TEST" b100k

# A signal interrupts a transfer that waits for a dead server at once
# (well before its 60 s deadline), and the socket goes with it.
before=$(udp_sockets)
eintr=$(stat_value tftp_err_eintr)
lazyresume tftp-get --rto-ms 100 --deadline-ms 60000 "$TEST" die-after-2/b100k \
	>"$OUT" 2>&1 &
pid=$!
sleep 2
# (SIGTERM: a non-interactive shell starts background jobs with SIGINT
# ignored.)
kill -TERM "$pid"
wait "$pid"
if [ "$(stat_value tftp_err_eintr)" -gt "${eintr:-0}" ]; then
	ktap_test_pass "a signal interrupts a transfer (EINTR counted)"
else
	sed 's/^/# /' "$OUT"
	ktap_test_fail "a signal interrupts a transfer (EINTR counted)"
fi
if [ "$(udp_sockets)" = "$before" ]; then
	ktap_test_pass "no socket left behind by the interrupted transfer"
else
	ktap_test_fail "no socket left behind by the interrupted transfer"
fi

# A packet from a wrong transfer ID gets ERROR 5 and changes nothing.
strangers=$(stat_value tftp_strangers)
fetch "wrong-TID packet mid-transfer: file intact" "$TEST" stranger/b100k
: "${strangers:=0}"
if [ "$(stat_value tftp_strangers)" -gt "$strangers" ]; then
	ktap_test_pass "wrong-TID packet answered (tftp_strangers counted it)"
else
	ktap_test_fail "wrong-TID packet answered (tftp_strangers counted it)"
fi

# On a socket kept from one transfer to the next (the fetch engine's), a
# block the previous transfer's server port sends late is refused, not
# taken for the next file's first block: the test server sends one before
# it answers the second request (late/). A first transfer that sent
# anything twice (a loaded host) leaves its socket, and the late block
# then goes to a closed port: try up to three times.
strangers=$(stat_value tftp_strangers)
: "${strangers:=0}"
for try in 1 2 3; do
	if ! lazyresume tftp-get --twice --blksize 1428 "$TEST" late/b1024 >"$OUT" 2>&1 ||
	   ! grep -qx "sha256=$(awk '$2 == "b1024" { print $1 }' "$SUMS")" "$OUT"; then
		sed 's/^/# /' "$OUT"
		break
	fi
	[ "$(stat_value tftp_strangers)" -gt "$strangers" ] && break
	echo "# try $try: the first transfer's socket was not kept"
done
if grep -qx "sha256=$(awk '$2 == "b1024" { print $1 }' "$SUMS")" "$OUT"; then
	ktap_test_pass "kept socket: a late block of the previous transfer is not taken"
else
	ktap_test_fail "kept socket: a late block of the previous transfer is not taken"
fi
if [ "$(stat_value tftp_strangers)" -gt "$strangers" ]; then
	ktap_test_pass "kept socket: the late block was answered with ERROR 5"
else
	ktap_test_fail "kept socket: the late block was answered with ERROR 5"
fi

# 16 concurrent fetches all complete correctly.
want=$(awk '$2 == "b1m" { print $1 }' "$SUMS")
i=0
while [ $i -lt 16 ]; do
	case $((i % 3)) in
	0) srv=$HPA opts="--blksize 8192" ;;
	1) srv=$ATFTPD opts="--blksize 1428 --windowsize 4" ;;
	2) srv=$QEMU opts="--blksize 1428" ;;
	esac
	lazyresume tftp-get $opts $LONG "$srv" b1m >"/tmp/conc.$i" 2>&1 &
	i=$((i + 1))
done
wait
ok=0
i=0
while [ $i -lt 16 ]; do
	grep -qx "sha256=$want" "/tmp/conc.$i" && ok=$((ok + 1))
	i=$((i + 1))
done
if [ "$ok" = 16 ]; then
	ktap_test_pass "16 concurrent fetches from 3 servers all correct"
else
	cat /tmp/conc.* | sed 's/^/# /'
	ktap_test_fail "16 concurrent fetches from 3 servers all correct ($ok)"
fi
if [ "$(udp_sockets)" = "$after" ]; then
	ktap_test_pass "no socket left behind after the concurrent fetches"
else
	ktap_test_fail "no socket left behind after the concurrent fetches"
fi

# Uploads (WRQ) of the test pattern, fetched back: same digest.
# roundtrip NAME LENGTH [options]
roundtrip() {
	name=$1 len=$2
	shift 2
	file="upload/t$$-$len-$(date +%s)"
	if ! lazyresume tftp-put --length "$len" "$@" "$HPA" "$file" >"$OUT" 2>&1; then
		sed 's/^/# /' "$OUT"
		ktap_test_fail "$name"
		return
	fi
	sent=$(sed -n 's/^sha256=//p' "$OUT")
	if ! lazyresume tftp-get "$@" "$HPA" "$file" >"$OUT" 2>&1; then
		sed 's/^/# /' "$OUT"
		ktap_test_fail "$name (fetch back)"
		return
	fi
	got=$(sed -n 's/^sha256=//p' "$OUT")
	back=$(sed -n 's/^length=//p' "$OUT")
	if [ -n "$sent" ] && [ "$sent" = "$got" ] && [ "$back" = "$len" ]; then
		ktap_test_pass "$name"
	else
		echo "# sent $sent, fetched back $got ($back bytes)"
		ktap_test_fail "$name"
	fi
}
roundtrip "upload 0 bytes, fetch back" 0
roundtrip "upload 1024 bytes at blksize 512 (exact), fetch back" 1024
roundtrip "upload 1 MiB at blksize 8192, fetch back" 1048576 --blksize 8192
# QEMU's server ignores write requests: the upload times out.
if lazyresume tftp-put --length 100 --deadline-ms 3000 "$QEMU" upload/refused \
	>"$OUT" 2>&1; then
	ktap_test_fail "an upload the server refuses fails"
else
	ktap_test_pass "an upload the server refuses fails: $(tail -1 "$OUT")"
fi

ktap_finished
