#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tftp-test-files.sh ROOT: the files the TFTP tests fetch, with their
# SHA256SUMS: sizes around and at block-size multiples, 64 MiB of random
# data, and a file of more than 65535 blocks of 512 bytes (block-number
# rollover).  Reuses ROOT if it is complete.
set -euo pipefail

root=$1
# Uploads land in upload/, emptied on every run.
mkdir -p "$root/upload"
rm -f "$root"/upload/*
chmod 1777 "$root/upload"
# A page file left empty, as a repeated upload request leaves one
# (lazy_tftp_test's a_truncated_page_file_is_sigbus).
: >"$root/truncated-0000000000000000"
chmod 0644 "$root/truncated-0000000000000000"
[ -e "$root/SHA256SUMS" ] && exit 0
mk() { head -c "$2" /dev/urandom >"$root/$1"; }
mk empty 0
mk one 1
mk b511 511
mk b512 512
mk b513 513
mk b1024 1024
mk b4096 4096
mk b2856 2856
mk b65464 65464
mk b130928 130928
mk b100k 100000
mk b1m 1048576
mk r64m 67108864
mk roll $((65536 * 512 + 1000))
mk noaccess 100
(
	cd "$root"
	find . -maxdepth 1 -type f -printf '%f %s\n' | sort >SIZES
	find . -maxdepth 1 -type f ! -name 'SHA256SUMS*' -printf '%f\n' | sort | xargs sha256sum -- \
		>SHA256SUMS.tmp
	mv SHA256SUMS.tmp SHA256SUMS
)
find "$root" -maxdepth 1 -type f -exec chmod 0644 {} +
chmod 0600 "$root/noaccess"
chmod 0755 "$root"
