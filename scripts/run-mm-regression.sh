#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-mm-regression.sh: the mm selftests subset (scripts/build-mm-selftests.sh)
# on the patched debug kernel and on the same kernel without the patches
# (flavour "baseline"); every result must be the same on both, and the
# kernel logs clean.  A program whose results differ is run again on both
# kernels, up to twice: if some run on each kernel then agree, it is
# reported as flaky instead (some mm selftests race under TCG).  The first
# baseline run is an entry of the machine-wide build cache
# (scripts/cache.sh), keyed by the baseline kernel, the test programs,
# QEMU and the way it is started, and only repeated when one of them
# changes.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/cache.sh"
mkdir -p "$here/build/runs"

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

# baseline_run DIR: the unpatched kernel's results into DIR/result.log;
# a run that did not report every program is not kept.  Programs that
# failed run once more, into DIR/rerun.log: some fail now and then on
# either kernel, and the comparison accepts any baseline run that agrees.
baseline_run() {
	local log ok bad plan again t tests=""
	log=$(run baseline)
	read -r ok bad plan _ < <(python3 "$here/scripts/ktap-count.py" "$log" ||
		echo 0 0 0)
	if [ "$plan" = 0 ] || [ $((ok + bad)) != "$plan" ]; then
		echo "run-mm-regression: the baseline run did not complete ($log)" >&2
		return 1
	fi
	cp "$log" "$1/result.log"
	echo result.log
	again=$(sed -n 's/^not ok [0-9]* selftests: mm: \([^ ]*\).*/\1/p' "$log" |
		grep -vx kernel_log_clean.sh || true)
	[ -n "$again" ] || return 0
	for t in $again; do tests="$tests lrtest=mm:$t"; done
	log=$(run baseline "$tests lrtest=mm:kernel_log_clean.sh")
	cp "$log" "$1/rerun.log"
	echo rerun.log
}
key=$( {
	"$here/scripts/build-kernel.sh" --print-key baseline
	cat "$here"/build/tests/baseline-mm/mm/* | sha256sum
	qemu-system-x86_64 --version | head -1
	sha256sum <"$here/scripts/qemu-run.sh"
	declare -f run baseline_run
} | sha256sum | cut -c1-16)
base=$(cache_build mm-baseline "$key" baseline_run)
cache_prune mm-baseline 4
base_logs=("$base/result.log")
[ -e "$base/rerun.log" ] && base_logs+=("$base/rerun.log")
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
