# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tftp-servers-up.sh: sourced by the scripts that boot a guest against the
# TFTP servers (run-kselftests.sh, bench-tftp.sh, bench-fault.sh), with
# $here set to the project root.  Makes the test files in
# build/tftp-root ($root) and the signature test images
# (signature-test-images.sh), starts the servers of tftp-servers.sh for the
# rest of the caller (stopped on its exit) and sets HPA_PORT, ATFTPD_PORT
# and TEST_PORT.

: "${here:?}"
root="$here/build/tftp-root"
"$here/scripts/tftp-test-files.sh" "$root"
"$here/scripts/signature-test-images.sh" "$root"
mkdir -p "$here/build/runs"
srv=$(mktemp -d "$here/build/runs/servers.XXXX")
trap '"$here/scripts/tftp-servers.sh" stop "$srv"' EXIT
"$here/scripts/tftp-servers.sh" start "$root" "$srv"
. "$srv/servers.env"
