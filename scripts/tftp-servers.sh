#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tftp-servers.sh start ROOT RUNDIR | stop RUNDIR
# tftp-servers.sh start-hpa ROOT RUNDIR [PORT]
#
# Starts, on 127.0.0.1 only, the TFTP servers the tests use, each on a free
# port, all serving ROOT: tftpd-hpa and atftpd (unpacked under
# build/servers by `make setup`) and scripts/tftp-test-server.py (a server
# that misbehaves on request).  Writes RUNDIR/servers.env with
# HPA_PORT, ATFTPD_PORT and TEST_PORT, and the servers' logs into RUNDIR.
# QEMU's own TFTP server needs no start: qemu-run.sh --tftp ROOT.
# start-hpa starts tftpd-hpa alone (on PORT if given), the image server of
# the end-to-end tests, and writes HPA_PORT into RUNDIR/servers.env.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
srv="$here/build/servers"

free_udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_udp PORT: until something listens on 127.0.0.1:PORT (at most 5 s).
wait_udp() {
	local _
	for _ in $(seq 50); do
		if ss -Hlun "sport = :$1" | grep -q .; then return 0; fi
		sleep 0.1
	done
	echo "tftp-servers: nothing listens on udp port $1" >&2
	return 1
}

# start_hpa ROOT RUNDIR PORT: tftpd-hpa with uploads (-c), chrooted to ROOT.
start_hpa() {
	"$srv/tftpd-hpa/usr/sbin/in.tftpd" --listen --address "127.0.0.1:$3" \
		--user nobody --secure --create --blocksize 65464 \
		--pidfile "$2/hpa.pid" \
		"$1" >"$2/hpa.log" 2>&1
	wait_udp "$3"
}

case "${1:-}" in
start-hpa)
	root=$(readlink -f "$2")
	run=$3
	mkdir -p "$run"
	hpa=${4:-$(free_udp_port)}
	start_hpa "$root" "$run" "$hpa"
	printf 'HPA_PORT=%s\n' "$hpa" >"$run/servers.env"
	;;
start)
	root=$(readlink -f "$2")
	run=$3
	mkdir -p "$run"
	hpa=$(free_udp_port)
	start_hpa "$root" "$run" "$hpa"
	atftpd=$(free_udp_port)
	# As root: atftpd has no chroot, and as nobody it cannot reach ROOT
	# when a parent directory is private (a clone under mktemp -d).  It
	# listens on 127.0.0.1 only and serves the test files read-only.
	"$srv/atftpd/usr/sbin/atftpd" --daemon --no-fork --bind-address 127.0.0.1 \
		--port "$atftpd" --user root.root --logfile "$run/atftpd.log" \
		--no-multicast --maxthread 64 "$root" >>"$run/atftpd.log" 2>&1 &
	echo $! >"$run/atftpd.pid"
	wait_udp "$atftpd"
	test_port=$(free_udp_port)
	python3 "$here/scripts/tftp-test-server.py" --port "$test_port" "$root" \
		>"$run/test-server.log" 2>&1 &
	echo $! >"$run/test-server.pid"
	wait_udp "$test_port"
	printf 'HPA_PORT=%s\nATFTPD_PORT=%s\nTEST_PORT=%s\n' "$hpa" "$atftpd" "$test_port" \
		>"$run/servers.env"
	;;
stop)
	run=$2
	for p in "$run"/*.pid; do
		[ -e "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
		rm -f "$p"
	done
	;;
*)
	echo "usage: tftp-servers.sh start ROOT RUNDIR | stop RUNDIR" >&2
	exit 2
	;;
esac
