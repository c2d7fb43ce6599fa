#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-mm-regression.sh: the mm selftests subset (scripts/build-mm-selftests.sh)
# on the patched debug kernel and on the same kernel without the patches
# (flavour "baseline"); every result must be the same on both, and the
# kernel logs clean.  A program whose results differ is run again on both
# kernels, up to twice: if some run on each kernel then agree, it is
# reported as flaky instead (some mm selftests race under TCG).  The first
# baseline run is kept in build/mm-baseline/ and only repeated when its
# kernel or tests change.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$here/build/runs" "$here/build/mm-baseline"

# run FLAVOUR [TESTS]: boot it with the mm collection (or the lrtest=
# arguments TESTS), print the result log path.
run() {
	local k="$here/build/kernel/$1" dir
	dir=$("$here/scripts/qemu-run.sh" --name "mm-$1" --timeout 2400 \
		--mem 4096 --kernel "$k/arch/x86/boot/bzImage" \
		--initrd "$here/build/initramfs/$1.cpio.gz" \
		--append "lrmode=tests ${2:-lrtest=mm}" | tail -1) || true
	echo "$dir/result.log"
}

key=$( {
	readlink "$here/build/kernel/baseline"
	cat "$here"/build/tests/baseline-mm/mm/* | sha256sum
} | sha256sum | cut -c1-16)
base="$here/build/mm-baseline/$key.log"
if [ ! -s "$base" ]; then
	log=$(run baseline)
	cp "$log" "$base.tmp" && mv "$base.tmp" "$base"
fi
base_logs=("$base")
patched_logs=("$(run debug)")
compare() {
	python3 "$here/scripts/mm-regression-compare.py" \
		--baseline "${base_logs[@]}" --patched "${patched_logs[@]}"
}
for attempt in 1 2; do
	out=$(compare) && {
		echo "$out"
		exit 0
	}
	again=$(sed -n 's/^RERUN: //p' <<<"$out")
	[ -n "$again" ] || break
	echo "$out" | grep '^DIFFERENT' | sed "s/^/attempt $attempt: /"
	tests=""
	for p in $again; do tests="$tests lrtest=mm:$p"; done
	tests="$tests lrtest=mm:kernel_log_clean.sh"
	base_logs+=("$(run baseline "$tests")")
	patched_logs+=("$(run debug "$tests")")
done
echo "$out"
exit 1
