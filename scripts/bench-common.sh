# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-common.sh: sourced by the benchmarks that boot VMs against an
# image server (bench-resume.sh, bench-app.sh, bench-snapshot-dev.sh).
# The caller sets $here, $kernel, $initrd and $mem first, and uses $srv and
# $server after bench_server_up.
# shellcheck disable=SC2154,SC2034

# bench_server_up IMAGES: tftpd-hpa on 127.0.0.1 serving IMAGES until the
# script exits; sets $srv and $server (the address guests reach it at).
bench_server_up() {
	srv=$(mktemp -d "$here/build/runs/image-server.XXXX")
	trap '"$here/scripts/tftp-servers.sh" stop "$srv"' EXIT
	"$here/scripts/tftp-servers.sh" start-hpa "$1" "$srv"
	# shellcheck source=/dev/null
	. "$srv/servers.env"
	server=10.0.2.2:$HPA_PORT
}

# bench_qemu NAME APPEND [qemu-run options]: boot a VM with $kernel,
# $initrd and $mem MiB, APPEND on its command line; print its run
# directory.
bench_qemu() {
	local name=$1 append=$2
	shift 2
	"$here/scripts/qemu-run.sh" --name "$name" --timeout 3600 --mem "$mem" \
		--kernel "$kernel" --initrd "$initrd" \
		--append "ip=dhcp quiet $append" "$@" | tail -1
}
