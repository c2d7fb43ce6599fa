#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh [MIB]: lazyresume's main job end to end, on the release kernel
# under QEMU (TCG) with tftpd-hpa on 127.0.0.1.  A golden VM starts the
# test workload holding MIB MiB (256 by default) and captures it, the host
# signs the image (scripts/sign-image.sh, the key the kernel trusts); clients
# then resume it lazily with the rest of memory streaming in behind
# (lazy-bg), lazily with only what faults ask for (lazy), and eagerly, and
# a fourth boots cold; the table shows each one's time to interactive (QEMU
# start to the workload's first correct answer), the time until every page
# was touched (a verify of every byte), when lazy-bg was complete (needed
# the server no more), what was fetched at boot and after, and the latency
# of the faults that waited for the network.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-${LAZYRESUME_DEMO_MIB:-256}}
start=$(date +%s)
"$here/scripts/bench-resume.sh" "$mib"
echo "== demo done in $(($(date +%s) - start)) s (QEMU TCG, workload $mib MiB)"
