#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-resume.sh SCENARIO [FLAVOUR]: end-to-end scenarios of lazy network
# resume under QEMU (TCG), against tftpd-hpa on 127.0.0.1 (guests reach it
# as 10.0.2.2, or 10.0.3.2 on the second user network).  FLAVOUR is the
# kernel, "debug" by default.  The image lives in build/e2e/images; run
# "capture" first.
#
#   capture       a golden VM starts the test workload (LAZYRESUME_E2E_MIB,
#                 default 32 MiB) and captures image "golden"; the host
#                 signs it (scripts/sign-image.sh) and checks its signature
#                 and every hash (lazyresume verify --cert); another one
#                 captures into a directory (--out) and verifies it
#   signatures    copies of the signed image that a client must refuse,
#                 each with its reason, before anything is restored: one
#                 unsigned, one whose signature has a flipped byte, one
#                 whose signature is of another manifest, one signed by a
#                 key the kernel does not trust, one copied under another
#                 name without signing it again, and the image itself below
#                 a --min-generation (rollback); one client VM dry-runs
#                 each (lrmode=sigcheck), then the image itself (signature
#                 verified) and the unsigned copy with --allow-unsigned;
#                 a client of a copy with one chunk file altered after
#                 signing resumes, and its workload dies of SIGBUS on
#                 the altered pages (given up after three hash checks,
#                 never mapped)
#   two-clients   two clients with different MACs, on two networks, resume
#                 the image at the same time; each keeps its own MAC and
#                 address, answers reads, passes verify of every byte and
#                 ends with a clean kernel log
#   fallback      clients asked for a corrupted image (a flipped byte of
#                 pageset1, refused at its segment; a malformed first LZ4
#                 block in an image whose hashes match it; a flipped
#                 byte of pageset1.sums), and one asked for a
#                 missing image, each say why and boot normally (the
#                 workload starts cold and answers); a dry run loads the
#                 image and gives up just before the jump
#   server-down   with the background lane off (lrbackground=off), after a
#                 resume the page server stops: with the sigbus policy (set
#                 by the per-client post-resume settings) only the faulting
#                 workload dies; with block it waits and goes on once the
#                 server is back
#   complete      with the background lane on (the default), a client of
#                 a copy of the image with a stream (lazyresume
#                 make-stream) reaches complete (lazyresume wait-complete)
#                 with pages from the stream, then the page server
#                 stops and verify of every byte still passes; the same
#                 for a copy whose stream is damaged and whose loading set
#                 is another image's (both refused: the page files bring
#                 every page);
#                 its timeline (lazyresume status --timeline) has the
#                 events of both kernels, in the order of a resume, and
#                 times and page counts that never go back (no timing is
#                 judged)
#   workingset    a golden VM with a hot set (lrhot, 8 MiB read by each
#                 readiness answer) captures image "hot"; a client records
#                 its first touches and saves them as the image's loading
#                 set; a client replaying it waits for fewer pages before
#                 its first answer (background lane off in both, so that
#                 every page comes from a fault or the loading set) and
#                 verifies every byte; one given a damaged loading set
#                 refuses it and still resumes
#   mirrors       the image on two servers (lrserver and lrmirror): the
#                 primary dies in the middle of pageset1 (a test server
#                 that falls silent for good after half of its blocks):
#                 the client goes on from the mirror, resumes, completes
#                 and verifies every byte; the primary stops after the
#                 resume, before the background lane starts: the client
#                 completes from the mirror and verifies every byte; the
#                 primary dies after 40 blocks of the background lane (a
#                 copy with a stream): the client completes from the
#                 mirror and verifies every byte; the primary stops
#                 after the resume and comes back: a fetcher that left it
#                 goes back to it, and pages come from it again; both
#                 dead in the middle of pageset1: a normal boot; both
#                 stopped after a resume, with the sigbus policy: only
#                 the faulting workload dies (no timing is judged)
#
# Every image the scenarios resume is signed on the host right after its
# capture, and a copy under another name is signed again under that name
# (sign_image, scripts/sign-image.sh): clients resume signed images only.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: e2e-resume.sh capture|signatures|two-clients|fallback|server-down|complete|workingset|mirrors [FLAVOUR]}
flavour=${2:-debug}
kernel="$here/build/kernel/$flavour/arch/x86/boot/bzImage"
initrd="$here/build/initramfs/$flavour-client.cpio.gz"
e2e="$here/build/e2e/$flavour"
images="$e2e/images"
image=golden
mib=${LAZYRESUME_E2E_MIB:-32}
mem=1024
tool="$here/build/userspace/x86_64-unknown-linux-gnu/release/lazyresume"
client="$here/scripts/workload-client.py"
mkdir -p "$here/build/runs" "$e2e"
. "$here/scripts/sign-image.sh"

free_tcp_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# flip_byte FILE OFFSET [MASK]: XOR the byte at OFFSET of FILE (negative:
# from its end; "mid": its middle) with MASK (default 1), in place.
flip_byte() {
	python3 - "$@" <<'PY'
import os, sys
path, at = sys.argv[1], sys.argv[2]
mask = int(sys.argv[3], 0) if len(sys.argv) > 3 else 1
size = os.path.getsize(path)
at = size // 2 if at == "mid" else int(at) % size
with open(path, "r+b") as f:
    f.seek(at)
    b = f.read(1)[0]
    f.seek(at)
    f.write(bytes([b ^ mask]))
PY
}

free_udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# image_server_up [PORT]: tftpd-hpa on $images for the rest of this script.
srv=
image_server_up() {
	srv=$(mktemp -d "$here/build/runs/image-server.XXXX")
	"$here/scripts/tftp-servers.sh" start-hpa "$images" "$srv" "${1:-}"
	. "$srv/servers.env"
}
image_server_down() {
	"$here/scripts/tftp-servers.sh" stop "$srv"
}
trap '[ -n "$srv" ] && image_server_down' EXIT

# guest NAME APPEND [qemu-run options]: boot a guest in the background; its
# pid is in $guest_pid, its run directory will be the last line of
# build/runs/NAME.out.
guest() {
	local name=$1 append=$2
	shift 2
	"$here/scripts/qemu-run.sh" --name "$flavour-$name" --timeout 1800 --mem "$mem" \
		--kernel "$kernel" --initrd "$initrd" \
		--append "ip=dhcp lrmib=$mib $append" "$@" \
		>"$e2e/$name.out" 2>&1 &
	guest_pid=$!
}

# client_up NAME APPEND MAC: boot client NAME (kernel command line APPEND,
# MAC address MAC) with its workload's port forwarded, and wait for the
# workload's first answer; sets $client_port and $client_pid.
client_up() {
	client_port=$(free_tcp_port)
	guest "$1" "$2" --mac "$3" --hostfwd "tcp:127.0.0.1:$client_port-:7000"
	client_pid=$guest_pid
	python3 "$client" "$client_port" wait-ready 900
}

# client_verify NAME: the workload of client NAME (of client_up) checks
# every byte and quits; wait for the guest and print what it said.
client_verify() {
	local rc=0
	python3 "$client" "$client_port" verify 1200 quit >"$e2e/$1.talk" 2>&1 || rc=1
	cat "$e2e/$1.talk"
	wait_guest "$client_pid" 600 || rc=1
	cat "$(guest_dir "$1")/result.log"
	return "$rc"
}

# wait_guest PID SECS: wait for a guest, at most SECS seconds, and return
# its qemu-run.sh status; after that, stop it (qemu-run.sh and its QEMU)
# and return 125.
wait_guest() {
	local pid=$1 i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$pid" 2>/dev/null || {
			wait "$pid"
			return
		}
		sleep 1
	done
	echo "FAIL: guest still running after $2 s, stopped"
	kill_tree "$pid"
	wait "$pid" || true
	return 125
}

# kill_tree PID: stop PID and everything it started.
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do
		kill_tree "$c"
	done
	kill "$1" 2>/dev/null || true
}

# wait_log NAME PATTERN SECS: wait (at most SECS seconds) until the result
# channel of running guest NAME has a line matching PATTERN.
wait_log() {
	local i run
	for ((i = 0; i < $3; i++)); do
		run=$(ls -td "$here/build/runs/$flavour-$1."* 2>/dev/null | head -1)
		grep -aq -- "$2" "$run/result.log" 2>/dev/null && return
		sleep 1
	done
	echo "FAIL $1: no '$2' in its result channel after $3 s"
	return 1
}

# hook_done NAME SECS: wait (at most SECS seconds) until the post-resume
# hook of running guest NAME has applied its per-client settings.
hook_done() { wait_log "$1" "^post-resume: applying" "$2"; }

# expect_console NAME PATTERN: the guest's kernel log has a line matching it.
expect_console() {
	if ! grep -aq -- "$2" "$(guest_dir "$1")/console.log"; then
		echo "FAIL $1: no '$2' in $(guest_dir "$1")/console.log"
		return 1
	fi
	echo "ok   $1: $2 (kernel log)"
}

# guest_dir NAME: the run directory of guest NAME (once it ended).
guest_dir() { tail -1 "$e2e/$1.out"; }

# expect NAME PATTERN: the guest's result channel has a line matching it.
expect() {
	if ! grep -aq -- "$2" "$(guest_dir "$1")/result.log"; then
		echo "FAIL $1: no '$2' in $(guest_dir "$1")/result.log"
		return 1
	fi
	echo "ok   $1: $2"
}

case "$scenario" in
capture)
	rm -rf "$images"
	mkdir -p "$images/$image"
	# tftpd-hpa runs as nobody: the image directory takes its uploads.
	chmod 0777 "$images/$image"
	image_server_up
	# Pages the workload shares with its forked child go to pageset2 too,
	# once for both: two-clients then verifies the child's view of them
	# after the resume.
	guest golden "lrmode=golden lrimage=$image lrserver=10.0.2.2:$HPA_PORT" \
		--mac 52:54:00:00:00:10
	rc=0
	wait "$guest_pid" || rc=$?
	cat "$(guest_dir golden)/result.log"
	# The capture powers the golden VM off: no verdict (2) is its success.
	[ "$rc" = 2 ] || { echo "FAIL golden VM: qemu-run status $rc"; exit 1; }
	expect golden "^capture: image $image in "
	expect golden "^capture: .*pages shared copy-on-write went once, for all the processes"
	# Signed here, on the host (the admin host), never in the golden VM.
	sign_image "$images/$image"
	"$tool" verify "$images/$image" --cert "$("$here/scripts/keys.sh" --cert)"
	# The same into a directory (--out), verified in the guest.
	guest golden-out "lrmode=golden lrout=1 lrimage=out lrserver=10.0.2.2:$HPA_PORT" \
		--mac 52:54:00:00:00:11
	wait "$guest_pid" || { cat "$(guest_dir golden-out)/result.log"; exit 1; }
	cat "$(guest_dir golden-out)/result.log"
	expect golden-out "/tmp/out: OK (pageset1 "
	;;
signatures)
	# Copies of the signed image beside it in the server's root, each to
	# be refused for one reason before anything is restored (the module
	# checks the signature right after the manifest, before pageset1):
	#   NAME-unsigned   its manifest.sig removed (signed under its name
	#                   first, so that --allow-unsigned then resumes it)
	#   NAME-tampered   signed under its name, then one byte of the
	#                   signature flipped (in the RSA signature, at the end
	#                   of the PKCS#7 message)
	#   NAME-foreign    signed under its name, then given the original's
	#                   manifest.sig: a valid signature of another manifest
	#   NAME-untrusted  signed under its name by a key made here and now,
	#                   which no client kernel trusts
	#   NAME-renamed    copied, not signed again: its manifest names NAME
	# and NAME itself with --min-generation above its generation (rollback).
	t0=$SECONDS
	cert=$("$here/scripts/keys.sh" --cert)
	[ -s "$images/$image/manifest.sig" ] || {
		echo "FAIL signatures: $images/$image is not a signed image (run capture first)"
		exit 1
	}
	gen=$(image_generation "$images/$image")
	[ -n "$gen" ] || { echo "FAIL signatures: no generation in $images/$image"; exit 1; }
	echo "image $image: generation $gen"
	keydir=$(mktemp -d "$e2e/untrusted-key.XXXX")
	for c in unsigned tampered foreign untrusted renamed; do
		image_copy "$images/$image" "$images/$image-$c"
	done
	sign_image "$images/$image-unsigned" --name "$image-unsigned"
	rm "$images/$image-unsigned/manifest.sig"
	sign_image "$images/$image-tampered" --name "$image-tampered"
	flip_byte "$images/$image-tampered/manifest.sig" -16
	sign_image "$images/$image-foreign" --name "$image-foreign"
	cp --remove-destination "$images/$image/manifest.sig" "$images/$image-foreign/manifest.sig"
	# A key of the same kind as the trusted one (RSA-2048, code signing),
	# that no kernel was built to trust.
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 2 \
		-subj "/CN=lazyresume untrusted test key/" \
		-addext "keyUsage=critical,digitalSignature" \
		-addext "extendedKeyUsage=codeSigning" \
		-keyout "$keydir/untrusted.key" -out "$keydir/untrusted.crt" 2>/dev/null
	"$tool" sign "$images/$image-untrusted" --key "$keydir/untrusted.key" \
		--cert "$keydir/untrusted.crt" --name "$image-untrusted"
	rm -rf "$keydir"
	ok=0
	# The host's check agrees: only the image itself verifies against the
	# trusted certificate.
	for c in "" -unsigned -tampered -foreign -untrusted; do
		if "$tool" verify "$images/$image$c" --cert "$cert" >"$e2e/verify$c.out" 2>&1; then
			v=verifies
		else
			v=refused
		fi
		want=refused
		[ -z "$c" ] && want=verifies
		if [ "$v" = "$want" ]; then
			echo "ok   host: lazyresume verify --cert of $image$c $v"
		else
			echo "FAIL host: lazyresume verify --cert of $image$c $v"
			cat "$e2e/verify$c.out"
			ok=1
		fi
	done
	image_server_up
	t1=$SECONDS
	guest sigcheck "lrmode=sigcheck lrimage=$image lrserver=10.0.2.2:$HPA_PORT lrmingen=$gen" \
		--mac 52:54:00:00:00:e1
	wait_guest "$guest_pid" 900 || ok=1
	cat "$(guest_dir sigcheck)/result.log"
	# The dry run of the image itself also says its generation.
	for c in unsigned tampered tampered-allow-unsigned foreign untrusted renamed rollback \
		verified generation allow-unsigned; do
		expect sigcheck "^sigcheck: PASS $c: " || ok=1
	done
	expect sigcheck "LAZYRESUME-VERDICT: PASS sigcheck" || ok=1
	# A pageset2 page altered on the server after signing: the image
	# resumes (its manifest and pageset1 are intact), and the chunk file
	# with the flipped byte (the one in the middle: the workload's pages)
	# fails its page hashes, three times, and is given up: the workload's
	# verify dies of SIGBUS there, and the altered page is never mapped
	# (a mapped one would be a mismatch, not a death).
	image_copy "$images/$image" "$images/$image-altered"
	chunks=("$images/$image-altered"/p2-*)
	altered=${chunks[${#chunks[@]} / 2]}
	cp --remove-destination "$altered" "$altered.new"
	mv "$altered.new" "$altered"
	flip_byte "$altered" mid
	sign_image "$images/$image-altered" --name "$image-altered" >/dev/null
	p=$(free_tcp_port)
	guest altered "lrmode=client lrimage=$image-altered lrserver=10.0.2.2:$HPA_PORT" \
		--mac 52:54:00:00:00:e2 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	python3 "$client" "$p" wait-ready 900 || ok=1
	python3 "$client" "$p" verify-dies 600 expect-dead 10 || ok=1
	rc=0
	wait_guest "$g" 300 || rc=$?
	[ "$rc" -ge 124 ] && ok=1
	cat "$(guest_dir altered)/result.log"
	expect altered "LAZYRESUME-VERDICT: FAIL resumed: workload exited with 135" || ok=1
	n=$((16#${altered##*/p2-}))
	if grep -aq "page file $n: pages do not match their hashes 3 times, giving up (SIGBUS)" \
		"$(guest_dir altered)/console.log"; then
		echo "ok   altered: page file $n given up after its hash checks"
	else
		echo "FAIL altered: no 'page file $n: ... giving up' in the kernel log"
		ok=1
	fi
	echo "signatures: $((SECONDS - t0)) s ($((t1 - t0)) s on the host, $((SECONDS - t1)) s for the clients)"
	exit "$ok"
	;;
two-clients)
	image_server_up
	pa=$(free_tcp_port)
	pb=$(free_tcp_port)
	guest client-a "lrmode=client lrimage=$image lrserver=10.0.2.2:$HPA_PORT" \
		--mac 52:54:00:00:00:a1 --hostfwd "tcp:127.0.0.1:$pa-:7000"
	ga=$guest_pid
	guest client-b "lrmode=client lrimage=$image lrserver=10.0.3.2:$HPA_PORT" \
		--mac 52:54:00:00:00:b2 --net 10.0.3.0/24 --hostfwd "tcp:127.0.0.1:$pb-:7000"
	gb=$guest_pid
	ok=0
	python3 "$client" "$pa" wait-ready 900 whoami expect-mac 52:54:00:00:00:a1 \
		expect-addr 10.0.2.15 read 50 "$mib" verify 1200 quit >"$e2e/client-a.talk" 2>&1 &
	ta=$!
	python3 "$client" "$pb" wait-ready 900 whoami expect-mac 52:54:00:00:00:b2 \
		expect-addr 10.0.3.15 read 50 "$mib" verify 1200 quit >"$e2e/client-b.talk" 2>&1 &
	tb=$!
	wait "$ta" || ok=1
	wait "$tb" || ok=1
	wait "$ga" || ok=1
	wait "$gb" || ok=1
	for c in a b; do
		echo "== client-$c"
		cat "$e2e/client-$c.talk"
		cat "$(guest_dir client-$c)/result.log"
	done
	expect client-a "^resume: image $image resumed as 10.0.2.15 (52:54:00:00:00:a1)" || ok=1
	expect client-b "^resume: image $image resumed as 10.0.3.15 (52:54:00:00:00:b2)" || ok=1
	expect client-a "LAZYRESUME-VERDICT: PASS resumed" || ok=1
	expect client-b "LAZYRESUME-VERDICT: PASS resumed" || ok=1
	exit "$ok"
	;;
fallback)
	# Copies signed under their own names before they are damaged (a copy
	# keeps the name it was signed with, and a client would refuse it for
	# that before it looked at pageset1, as the signatures scenario checks;
	# lazyresume sign refuses to sign a damaged image).  Real copies: the
	# damage is written into their pageset1.
	for c in corrupt bad-block bad-sums; do
		rm -rf "${images:?}/$c"
		cp -r "$images/$image" "$images/$c"
	done
	sign_image "$images/corrupt" --name corrupt
	sign_image "$images/bad-sums" --name bad-sums
	# One changed byte in the segment sums: refused before pageset1.
	flip_byte "$images/bad-sums/pageset1.sums" 40
	# Flip the bits of one byte in the middle of pageset1: its segment's
	# SHA-256 (pageset1.sums) refuses it before the decoder sees it.
	p1_len=$(stat -c %s "$images/corrupt/pageset1")
	bad_segment=$((p1_len / 2 / (128 << 10)))
	flip_byte "$images/corrupt/pageset1" mid 0xff
	# A first LZ4 frame that announces a stored block of one byte, in an
	# image whose hashes (pageset1's, its segments', the manifest's) are
	# made again and which is signed as it is: its segment matches, and
	# the module's decoder must refuse it.
	printf '\001\000\000\200' | dd of="$images/bad-block/pageset1" conv=notrunc status=none
	python3 - "$images/bad-block" <<'PY'
import hashlib, os, sys
d = sys.argv[1]
p1 = open(os.path.join(d, "pageset1"), "rb").read()
seg = 128 << 10
sums = b"".join(hashlib.sha256(p1[i:i + seg]).digest() for i in range(0, len(p1), seg))
open(os.path.join(d, "pageset1.sums"), "wb").write(sums)
m = bytearray(open(os.path.join(d, "manifest"), "rb").read())
assert len(m) == 384, len(m)
m[48:80] = hashlib.sha256(p1).digest()
m[320:352] = hashlib.sha256(sums).digest()
m[352:384] = hashlib.sha256(bytes(m[:352])).digest()
open(os.path.join(d, "manifest"), "wb").write(m)
PY
	sign_image "$images/bad-block" --name bad-block
	image_server_up
	ok=0
	for case in corrupt bad-block bad-sums missing dry-run; do
		p=$(free_tcp_port)
		img=$case
		[ "$case" = dry-run ] && img="$image lrdryrun=1"
		guest "fallback-$case" "lrmode=client lrimage=$img lrserver=10.0.2.2:$HPA_PORT" \
			--mac 52:54:00:00:00:c1 --hostfwd "tcp:127.0.0.1:$p-:7000"
		g=$guest_pid
		python3 "$client" "$p" wait-ready 900 verify 600 quit || ok=1
		wait "$g" || ok=1
		cat "$(guest_dir "fallback-$case")/result.log"
		expect "fallback-$case" LAZYRESUME-FALLBACK || ok=1
		expect "fallback-$case" "LAZYRESUME-VERDICT: PASS cold" || ok=1
	done
	expect fallback-corrupt "not resuming image corrupt: pageset1 corrupted: segment $bad_segment SHA-256 mismatch" || ok=1
	expect fallback-bad-block "not resuming image bad-block: pageset1 corrupted: block 0 has a malformed frame header" || ok=1
	expect fallback-bad-sums "not resuming image bad-sums: bad-sums/pageset1.sums: pageset1.sums SHA-256 mismatch" || ok=1
	expect fallback-missing "not resuming image missing: cannot fetch missing/manifest" || ok=1
	expect fallback-dry-run "^resume: dry run: manifest .* loaded in" || ok=1
	exit "$ok"
	;;
server-down)
	# Per-client settings, applied by the post-resume hook.
	mkdir -p "$images/$image/clients"
	echo "lazyresume policy sigbus:1000" >"$images/$image/clients/525400000051"
	echo "lazyresume policy block" >"$images/$image/clients/525400000052"
	image_server_up
	port=$HPA_PORT
	ok=0
	# sigbus: the workload dies of its first fault after the server left.
	p=$(free_tcp_port)
	guest down-sigbus "lrmode=client lrimage=$image lrserver=10.0.2.2:$port lrbackground=off" \
		--mac 52:54:00:00:00:51 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	python3 "$client" "$p" wait-ready 900 || ok=1
	hook_done down-sigbus 180 || ok=1
	image_server_down
	python3 "$client" "$p" verify-dies 120 expect-dead 10 || ok=1
	image_server_up "$port"
	# The guest powers off once its workload died: not much later.
	rc=0
	wait_guest "$g" 300 || rc=$?
	# 1 is the verdict expected below; 124 and 125: it had to be stopped.
	[ "$rc" -ge 124 ] && ok=1
	cat "$(guest_dir down-sigbus)/result.log"
	expect down-sigbus "post-resume: applying golden/clients/525400000051" || ok=1
	expect down-sigbus "LAZYRESUME-VERDICT: FAIL resumed: workload exited with 135" || ok=1
	# block: the workload waits for the server and goes on.
	p=$(free_tcp_port)
	guest down-block "lrmode=client lrimage=$image lrserver=10.0.2.2:$port lrbackground=off" \
		--mac 52:54:00:00:00:52 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	python3 "$client" "$p" wait-ready 900 || ok=1
	hook_done down-block 180 || ok=1
	image_server_down
	python3 "$client" "$p" verify 1200 quit >"$e2e/down-block.talk" 2>&1 &
	t=$!
	sleep 5
	if ! kill -0 "$t" 2>/dev/null; then
		echo "FAIL down-block: verify ended while the server was down"
		ok=1
	fi
	image_server_up "$port"
	wait "$t" || ok=1
	cat "$e2e/down-block.talk"
	wait_guest "$g" 600 || ok=1
	cat "$(guest_dir down-block)/result.log"
	expect down-block "LAZYRESUME-VERDICT: PASS resumed" || ok=1
	exit "$ok"
	;;
complete)
	# Two copies of the image with a stream (lazyresume make-stream, on
	# the host as an admin would run it before signing): one as made, and
	# one whose stream has a flipped byte in its index list.  The client of
	# the first gets its pages through the stream and the page files taken
	# from the end until they meet; the second refuses its stream (the
	# index list fails its SHA-256), and the page files bring every page.  Each client waits for
	# complete in its post-resume settings.
	streamed=$image-stream
	damaged=$image-stream-damaged
	image_copy "$images/$image" "$images/$streamed"
	"$tool" make-stream "$images/$streamed"
	image_copy "$images/$streamed" "$images/$damaged"
	flip_byte "$images/$damaged/stream" 140
	sign_image "$images/$streamed" --name "$streamed"
	sign_image "$images/$damaged" --name "$damaged"
	# The second also gets a loading set of another image: the first's
	# stream, bound to the first's manifest.
	cp "$images/$streamed/stream" "$images/$damaged/loadset"
	# complete_client NAME IMAGE MAC: a client of IMAGE reaches complete,
	# then the server stops and verify of every byte passes; it says what
	# became of the stream.
	complete_client() {
		local name=$1 img=$2 mac=$3 rc=0
		mkdir -p "$images/$img/clients"
		# In the background, so that the hook ends (hook_done) first.
		echo "(lazyresume wait-complete --timeout 900 && lazyresume workingset show && { dmesg | grep -a ' stream \\|loading set ' || true; } && lazyresume status --timeline /tmp/timeline.csv && sed 's/^/timeline-csv: /' /tmp/timeline.csv) &" \
			>"$images/$img/clients/$(echo "$mac" | tr -d :)"
		image_server_up
		client_up "$name" "lrmode=client lrimage=$img lrserver=10.0.2.2:$HPA_PORT" "$mac" || rc=1
		wait_log "$name" "^complete [0-9.]* s after the resume" 900 || rc=1
		# Nothing needs the server any more.
		image_server_down
		client_verify "$name" || rc=1
		expect "$name" "^complete: *yes" || rc=1
		expect "$name" "LAZYRESUME-VERDICT: PASS resumed" || rc=1
		return "$rc"
	}
	ok=0
	complete_client complete "$streamed" 52:54:00:00:00:61 || ok=1
	expect complete "^stream: *done" || ok=1
	expect complete "stream $streamed/stream: [0-9]* pages .* [1-9][0-9]* kept" || ok=1
	complete_client complete-damaged "$damaged" 52:54:00:00:00:62 || ok=1
	expect complete-damaged "stream $damaged/stream refused: index SHA-256 mismatch" || ok=1
	expect complete-damaged "^stream: *refused" || ok=1
	expect complete-damaged "loading set $damaged/loadset refused: of another image" || ok=1
	expect complete-damaged "^loading set: *refused" || ok=1
	# The timeline: in order, and with the events of both kernels.
	tl="$e2e/complete-timeline.csv"
	sed -n 's/\r$//; s/^timeline-csv: //p' "$(guest_dir complete)/result.log" >"$tl"
	"$tool" timeline-check "$tl" || ok=1
	for ev in module_loaded resume_requested manifest_fetched manifest_verified \
		pageset1_fetched pageset1_decoded jump devices_resumed adopted thawed \
		hook_done first_fault first_answer complete; do
		grep -q "^event,$ev," "$tl" || {
			echo "FAIL complete: no event $ev in the timeline"
			ok=1
		}
	done
	grep -q "^sample," "$tl" || {
		echo "FAIL complete: no sample in the timeline"
		ok=1
	}
	if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
		"$here/scripts/plot-timeline.py" "$e2e/complete-timeline.svg" "$tl=complete" || ok=1
	fi
	exit "$ok"
	;;
workingset)
	hot=hot
	rm -rf "${images:?}/$hot" "$images/$hot-damaged"
	mkdir -p "$images/$hot/clients"
	chmod 0777 "$images/$hot"
	# The readiness answer reads the hot set: it may take longer than the
	# harness's default wait for an answer, hence "wait-ready 900 30".
	# Each client's settings: wait until its faults are quiet for 10 s
	# (the first answer is in), say how many page files faults had to
	# fetch (demand fetches: urgent lane), then save the recording (client
	# 71) or show the loading set (72, 73).
	quiet='st=/sys/kernel/debug/lazyresume/stats; n=-1 q=0; while [ "$q" -lt 2 ]; do m=$(awk "/^fault_served /{print \$2}" $st); if [ "$m" = "$n" ] && [ "$m" -gt 0 ]; then q=$((q + 1)); else q=0; fi; n=$m; sleep 5; done; echo "demand faults: $(awk "/^fetch_urgent_files /{print \$2}" $st) (faults served: $m)"'
	echo "$quiet; lazyresume workingset stop --save" >"$images/$hot/clients/525400000071"
	echo "$quiet; lazyresume workingset show; dmesg | grep -a 'loading set'" \
		>"$images/$hot/clients/525400000072"
	echo "sleep 20; lazyresume workingset show; dmesg | grep -a 'loading set'" \
		>"$images/$hot/clients/525400000073"
	image_server_up
	ok=0
	guest golden-hot "lrmode=golden lrimage=$hot lrhot=8 lrserver=10.0.2.2:$HPA_PORT" \
		--mac 52:54:00:00:00:70
	rc=0
	wait "$guest_pid" || rc=$?
	[ "$rc" = 2 ] || { cat "$(guest_dir golden-hot)/result.log"; echo "FAIL golden-hot: qemu-run status $rc"; exit 1; }
	sign_image "$images/$hot"
	# Record.
	p=$(free_tcp_port)
	guest ws-record "lrmode=client lrimage=$hot lrserver=10.0.2.2:$HPA_PORT lrbackground=off lrrecord=1" \
		--mac 52:54:00:00:00:71 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	python3 "$client" "$p" wait-ready 900 30 | tee "$e2e/ws-record.talk" || ok=1
	wait_log ws-record "^workingset: loading set tftp://" 900 || ok=1
	python3 "$client" "$p" quit >/dev/null || ok=1
	wait_guest "$g" 300 || ok=1
	cat "$(guest_dir ws-record)/result.log"
	expect ws-record "^workingset: recorded [1-9][0-9]* pages" || ok=1
	"$tool" verify "$images/$hot" --cert "$("$here/scripts/keys.sh" --cert)" || ok=1
	"$tool" inspect "$images/$hot" | tee "$e2e/ws-inspect.out"
	grep -q "^loading set: .* of this image" "$e2e/ws-inspect.out" || {
		echo "FAIL inspect: no loading set of this image"
		ok=1
	}
	# A damaged copy: one byte of its index list flipped.  Signed under its
	# own name, which rewrites the manifest: sign binds the loading set's
	# header to the new manifest, and the damage is past the header.
	image_copy "$images/$hot" "$images/$hot-damaged"
	printf '\377' | dd of="$images/$hot-damaged/loadset" bs=1 seek=140 conv=notrunc status=none
	sign_image "$images/$hot-damaged" --name "$hot-damaged"
	# Replay, and the damaged one beside it.
	p=$(free_tcp_port)
	guest ws-replay "lrmode=client lrimage=$hot lrserver=10.0.2.2:$HPA_PORT lrbackground=off" \
		--mac 52:54:00:00:00:72 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	pd=$(free_tcp_port)
	guest ws-damaged "lrmode=client lrimage=$hot-damaged lrserver=10.0.2.2:$HPA_PORT" \
		--mac 52:54:00:00:00:73 --hostfwd "tcp:127.0.0.1:$pd-:7000"
	gd=$guest_pid
	python3 "$client" "$pd" wait-ready 900 30 verify 1200 >"$e2e/ws-damaged.talk" 2>&1 &
	td=$!
	python3 "$client" "$p" wait-ready 900 30 | tee "$e2e/ws-replay.talk" || ok=1
	wait_log ws-replay "^demand faults: " 900 || ok=1
	python3 "$client" "$p" verify 1200 quit || ok=1
	wait_guest "$g" 300 || ok=1
	cat "$(guest_dir ws-replay)/result.log"
	wait "$td" || ok=1
	cat "$e2e/ws-damaged.talk"
	python3 "$client" "$pd" quit >/dev/null || ok=1
	wait_guest "$gd" 300 || ok=1
	cat "$(guest_dir ws-damaged)/result.log"
	expect ws-replay "^loading set: *done" || ok=1
	expect ws-replay "LAZYRESUME-VERDICT: PASS resumed" || ok=1
	expect ws-damaged "loading set $hot-damaged/loadset refused: index SHA-256 mismatch" || ok=1
	expect ws-damaged "^loading set: *refused" || ok=1
	expect ws-damaged "LAZYRESUME-VERDICT: PASS resumed" || ok=1
	rec=$(sed -n 's/^demand faults: \([0-9]*\).*/\1/p' "$(guest_dir ws-record)/result.log" | tail -1)
	rep=$(sed -n 's/^demand faults: \([0-9]*\).*/\1/p' "$(guest_dir ws-replay)/result.log" | tail -1)
	echo "demand faults before the first answer: recording client ${rec:-?}, replaying client ${rep:-?}"
	if [ -z "$rec" ] || [ -z "$rep" ] || [ $((rep * 2)) -gt "$rec" ]; then
		echo "FAIL workingset: the loading set did not halve the demand faults"
		ok=1
	fi
	exit "$ok"
	;;
mirrors)
	# The image on two servers that serve the same directory.  The
	# mirror is tftpd-hpa; the primary is either the test server, which
	# falls silent for good after half of pageset1's blocks, or a second
	# tftpd-hpa that the host stops.
	mkdir -p "$images/$image/clients"
	image_server_up
	mirror=$HPA_PORT
	p1_blocks=$(($(stat -c %s "$images/$image/pageset1") / 65464))
	ok=0
	dying=
	# dying_up NAME [PATTERN:N]: the test server as the primary, dying
	# in pageset1 (or after N blocks of the files PATTERN matches).
	dying_up() {
		dying_port=$(free_udp_port)
		dying_log="$e2e/dying-server.$1.log"
		python3 "$here/scripts/tftp-test-server.py" --port "$dying_port" --lifetime 1800 \
			--die-after "${2:-$image/pageset1:$((p1_blocks / 2))}" "$images" >"$dying_log" 2>&1 &
		dying=$!
		local i
		for ((i = 0; i < 50; i++)); do
			ss -Hlun "sport = :$dying_port" | grep -q . && return
			sleep 0.1
		done
		echo "FAIL mirrors: the test server does not listen"
		return 1
	}
	dying_down() {
		[ -n "$dying" ] && kill "$dying" 2>/dev/null
		wait "$dying" 2>/dev/null || true
		dying=
	}
	# primary_up: a second tftpd-hpa as the primary.
	primary=
	primary_up() {
		primary=$(mktemp -d "$here/build/runs/primary-server.XXXX")
		"$here/scripts/tftp-servers.sh" start-hpa "$images" "$primary"
		primary_port=$(sed -n 's/^HPA_PORT=//p' "$primary/servers.env")
	}
	primary_down() {
		[ -n "$primary" ] && "$here/scripts/tftp-servers.sh" stop "$primary"
		primary=
	}
	trap 'dying_down; primary_down; [ -n "$srv" ] && image_server_down' EXIT

	# (a) The primary dies in the middle of pageset1: the boot kernel
	# goes on from the mirror (pageset1 from its start, the segments
	# loaded already skipped); after the resume every fetcher starts on
	# the mirror (none on a server the boot kernel left), so no page
	# comes from the primary and no fetcher has to leave it.  The boot
	# kernel's transfers and failover count in the restored kernel's
	# counters (the resume_* lines are its share): the primary left
	# once, pageset1 from the mirror.  (A fetcher may try the primary
	# again 10 s after the resume, in vain and without a log line: the
	# primary's failovers are not judged beyond the boot kernel's.)
	dying_up a || exit 1
	echo "lazyresume wait-complete --timeout 900 && lazyresume status &&
grep '^\(fetch\|resume\)_server[01]_' /sys/kernel/debug/lazyresume/stats" \
		>"$images/$image/clients/525400000081"
	client_up mirror-boot "lrmode=client lrimage=$image lrserver=10.0.2.2:$dying_port lrmirror=10.0.2.2:$mirror" \
		52:54:00:00:00:81 || ok=1
	wait_log mirror-boot "^complete: *yes" 900 || ok=1
	client_verify mirror-boot || ok=1
	dying_down
	if grep -q "the server dies now" "$dying_log"; then
		echo "ok   mirror-boot: the primary died after $((p1_blocks / 2)) blocks of pageset1"
	else
		echo "FAIL mirror-boot: the primary did not die in pageset1"
		cat "$dying_log"
		ok=1
	fi
	expect mirror-boot "^resume: mirrors 10.0.2.2:$mirror" || ok=1
	# The hook asks the mirror once the primary gave no answer.
	expect mirror-boot "^post-resume: applying $image/clients/525400000081" || ok=1
	expect_console mirror-boot "$image/pageset1: no answer from 10.0.2.2:$dying_port; going on from 10.0.2.2:$mirror" || ok=1
	if grep -aq "page server 10.0.2.2:$dying_port does not answer" "$(guest_dir mirror-boot)/console.log"; then
		echo "FAIL mirror-boot: a fetcher of the restored kernel started on the primary the boot kernel left"
		ok=1
	else
		echo "ok   mirror-boot: no fetcher of the restored kernel started on the primary"
	fi
	# The server that answered the boot kernel comes first after it; the
	# primary answered the manifest, its signature and the sums.
	expect mirror-boot "^servers: *10.0.2.2:$mirror ([1-9][0-9]* transfers, 0 failovers, 0 returns), 10.0.2.2:$dying_port (3 transfers, [1-9][0-9]* failovers, 0 returns)" || ok=1
	expect mirror-boot "^resume_server0_transfers 1[^0-9]*$" || ok=1
	expect mirror-boot "^resume_server0_failovers 0[^0-9]*$" || ok=1
	expect mirror-boot "^resume_server1_transfers 3[^0-9]*$" || ok=1
	expect mirror-boot "^resume_server1_failovers 1[^0-9]*$" || ok=1
	expect mirror-boot "LAZYRESUME-VERDICT: PASS resumed" || ok=1

	# (b) The primary stops after the resume: the client's settings
	# start the background lane once the primary no longer answers, and
	# every page comes from the mirror.
	primary_up
	cat >"$images/$image/clients/525400000082" <<'SETTINGS'
for i in $(seq 120); do
	tftp -g -r "$LAZYRESUME_IMAGE/manifest" -l /tmp/probe "$LAZYRESUME_SERVER" "$LAZYRESUME_PORT" 2>/dev/null || break
	sleep 1
done
echo "settings: the primary no longer answers"
lazyresume background full && lazyresume wait-complete --timeout 900 && lazyresume status
SETTINGS
	client_up mirror-after "lrmode=client lrimage=$image lrserver=10.0.2.2:$primary_port lrmirror=10.0.2.2:$mirror lrbackground=off" \
		52:54:00:00:00:82 || ok=1
	hook_done mirror-after 180 || ok=1
	primary_down
	wait_log mirror-after "^complete: *yes" 900 || ok=1
	client_verify mirror-after || ok=1
	expect mirror-after "^settings: the primary no longer answers" || ok=1
	# Every page after the primary left came from the mirror. Whether a
	# fetcher already noted the primary's silence by then depends on the
	# timing (one may still wait out the silence on the image's stream
	# there while the other completes): its failovers are not judged.
	expect mirror-after "^servers: *10.0.2.2:$primary_port ([0-9]* transfers, [0-9]* failovers, [0-9]* returns), 10.0.2.2:$mirror ([1-9][0-9]* transfers" || ok=1
	expect mirror-after "LAZYRESUME-VERDICT: PASS resumed" || ok=1

	# (e) The primary dies in the middle of the background lane: a
	# client of a copy with a stream, whose primary stops after 40
	# blocks of page files or stream (whichever its fetchers asked it
	# for) once the client resumed.
	streamed=$image-mirror-stream
	image_copy "$images/$image" "$images/$streamed"
	"$tool" make-stream "$images/$streamed"
	sign_image "$images/$streamed" --name "$streamed"
	mkdir -p "$images/$streamed/clients"
	echo "lazyresume wait-complete --timeout 900 && lazyresume workingset show && lazyresume status" \
		>"$images/$streamed/clients/525400000085"
	dying_up e "$streamed/[ps][2t][-r]*:40" || exit 1
	client_up mirror-background "lrmode=client lrimage=$streamed lrserver=10.0.2.2:$dying_port lrmirror=10.0.2.2:$mirror" \
		52:54:00:00:00:85 || ok=1
	wait_log mirror-background "^complete: *yes" 900 || ok=1
	client_verify mirror-background || ok=1
	dying_down
	if grep -q "the server dies now" "$dying_log"; then
		echo "ok   mirror-background: the primary died after 40 blocks of pageset2"
	else
		echo "FAIL mirror-background: the primary did not die"
		cat "$dying_log"
		ok=1
	fi
	expect_console mirror-background "page server 10.0.2.2:$dying_port does not answer: a fetcher goes on with 10.0.2.2:$mirror" || ok=1
	expect mirror-background "^servers: *10.0.2.2:$dying_port ([0-9]* transfers, [1-9][0-9]* failovers, [0-9]* returns), 10.0.2.2:$mirror ([1-9][0-9]* transfers" || ok=1
	expect mirror-background "LAZYRESUME-VERDICT: PASS resumed" || ok=1

	# (f) The primary stops after the resume and comes back: the
	# client's settings start the background lane (1 MiB/s, so that it
	# still runs when the primary is back) once the primary no longer
	# answers; the host starts the primary again, on its port, once a
	# fetcher left it.  A fetcher tries it again after 10 s and the
	# fetchers whose server it is go back to it: pages come from the
	# primary again.
	primary_up
	port=$primary_port
	cat >"$images/$image/clients/525400000086" <<'SETTINGS'
stat() { v=$(sed -n "s/^$1 //p" /sys/kernel/debug/lazyresume/stats); echo "${v:-0}"; }
for i in $(seq 120); do
	tftp -g -r "$LAZYRESUME_IMAGE/manifest" -l /tmp/probe "$LAZYRESUME_SERVER" "$LAZYRESUME_PORT" 2>/dev/null || break
	sleep 1
done
echo "settings: the primary no longer answers"
lazyresume background full --rate 1
for i in $(seq 240); do
	[ "$(stat fetch_server0_failovers)" -gt 0 ] && break
	sleep 0.5
done
echo "settings: left the primary after $(stat fetch_server0_transfers) transfers"
for i in $(seq 240); do
	[ "$(stat fetch_server0_returns)" -gt 0 ] && break
	sleep 0.5
done
echo "settings: $(stat fetch_server0_returns) returns to the primary"
lazyresume background full && lazyresume wait-complete --timeout 900 && lazyresume status
grep '^fetch_server[01]_' /sys/kernel/debug/lazyresume/stats
SETTINGS
	client_up mirror-return "lrmode=client lrimage=$image lrserver=10.0.2.2:$port lrmirror=10.0.2.2:$mirror lrbackground=off" \
		52:54:00:00:00:86 || ok=1
	hook_done mirror-return 180 || ok=1
	primary_down
	wait_log mirror-return "^settings: left the primary" 300 || ok=1
	primary=$(mktemp -d "$here/build/runs/primary-server.XXXX")
	"$here/scripts/tftp-servers.sh" start-hpa "$images" "$primary" "$port"
	wait_log mirror-return "^complete: *yes" 900 || ok=1
	client_verify mirror-return || ok=1
	primary_down
	expect mirror-return "^settings: [1-9][0-9]* returns to the primary" || ok=1
	expect_console mirror-return "page server 10.0.2.2:$port does not answer: a fetcher goes on with 10.0.2.2:$mirror" || ok=1
	expect_console mirror-return "page server 10.0.2.2:$port answers again" || ok=1
	expect mirror-return "^servers: *10.0.2.2:$port ([1-9][0-9]* transfers, [1-9][0-9]* failovers, [1-9][0-9]* returns), 10.0.2.2:$mirror ([1-9][0-9]* transfers" || ok=1
	# Transfers from the primary after the fetchers left it.
	log="$(guest_dir mirror-return)/result.log"
	left=$(sed -n 's/^settings: left the primary after \([0-9]*\) transfers.*/\1/p' "$log" | head -1)
	last=$(sed -n 's/^fetch_server0_transfers \([0-9]*\).*/\1/p' "$log" | tail -1)
	if [ -n "$left" ] && [ -n "$last" ] && [ "$last" -gt "$left" ]; then
		echo "ok   mirror-return: $((last - left)) transfers from the primary after it came back"
	else
		echo "FAIL mirror-return: no transfer from the primary after it came back (${left:-?} then ${last:-?})"
		ok=1
	fi
	expect mirror-return "LAZYRESUME-VERDICT: PASS resumed" || ok=1

	# (c) Both dead before the jump: the primary dies in the middle of
	# pageset1, the mirror's port has no server: a normal boot.
	dying_up c || exit 1
	nowhere=$(free_udp_port)
	p=$(free_tcp_port)
	guest mirror-none "lrmode=client lrimage=$image lrserver=10.0.2.2:$dying_port lrmirror=10.0.2.2:$nowhere" \
		--mac 52:54:00:00:00:83 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	python3 "$client" "$p" wait-ready 900 verify 600 quit || ok=1
	wait_guest "$g" 600 || ok=1
	dying_down
	cat "$(guest_dir mirror-none)/result.log"
	expect mirror-none "not resuming image $image: cannot fetch $image/pageset1 from 10.0.2.2:$nowhere" || ok=1
	expect mirror-none LAZYRESUME-FALLBACK || ok=1
	expect mirror-none "LAZYRESUME-VERDICT: PASS cold" || ok=1

	# (d) Both stopped after a resume, background off, policy sigbus:
	# the workload dies of its first fault, as with one server.
	primary_up
	echo "lazyresume policy sigbus:1000" >"$images/$image/clients/525400000084"
	p=$(free_tcp_port)
	guest mirror-down "lrmode=client lrimage=$image lrserver=10.0.2.2:$primary_port lrmirror=10.0.2.2:$mirror lrbackground=off" \
		--mac 52:54:00:00:00:84 --hostfwd "tcp:127.0.0.1:$p-:7000"
	g=$guest_pid
	python3 "$client" "$p" wait-ready 900 || ok=1
	hook_done mirror-down 180 || ok=1
	primary_down
	image_server_down
	srv=
	python3 "$client" "$p" verify-dies 120 expect-dead 10 || ok=1
	rc=0
	wait_guest "$g" 300 || rc=$?
	[ "$rc" -ge 124 ] && ok=1
	cat "$(guest_dir mirror-down)/result.log"
	expect mirror-down "LAZYRESUME-VERDICT: FAIL resumed: workload exited with 135" || ok=1
	exit "$ok"
	;;
*)
	echo "e2e-resume: unknown scenario $scenario" >&2
	exit 2
	;;
esac
