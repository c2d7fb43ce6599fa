#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: every test of lazyresume (what `make check` runs).  Builds what
# is missing (cached), runs the host checks, then the in-guest kselftests on
# the debug kernel, and ends with one line "N passed, M failed".
# Each check's output is in build/check/<name>.log.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
logs="$here/build/check"
rm -rf "$logs"
mkdir -p "$logs"
passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); printf 'FAIL  %s  (%s)\n' "$1" "$2"; }

# check NAME CMD...: run one check, its output to build/check/NAME.log.
check() {
	local name=$1
	shift
	local log="$logs/$name.log"
	local t0=$SECONDS
	if (cd "$here" && "$@") >"$log" 2>&1; then
		pass "$name [$((SECONDS - t0))s]"
	else
		fail "$name" "build/check/$name.log"
		tail -15 "$log" | sed 's/^/      /'
	fi
}

# Builds: everything else needs them.
for f in release debug; do
	check "build-kernel-$f" make -s kernel-$f
	check "build-module-$f" make -s module-$f
done
check build-userspace make -s userspace
for f in release debug; do
	check "build-initramfs-$f" make -s initramfs-$f
done
# The unpatched debug kernel: the reference of the mm regression check.
check build-initramfs-baseline make -s initramfs-baseline

# Nothing changed since the builds above: setup installs nothing, and a
# second kernel build is a cache hit for both flavours.
check setup-idempotent bash -c '! scripts/setup.sh | grep -v " have"'
check kernel-cache-hit bash -c \
	'[ "$(make -s kernel | grep -c "kernel up to date")" = 2 ]'
check patch-series-refuses-bad-patch scripts/selftest-patch-series.sh

# Host: style and lint.
check rustfmt-userspace bash -c 'cd userspace && cargo fmt --check'
check rustfmt-module rustfmt --check --config-path .rustfmt.toml rust/lazyresume.rs
check clippy-userspace bash -c \
	'cd userspace && cargo clippy --quiet --locked --all-targets -- -D warnings'
check checkpatch scripts/checkpatch-series.sh

# Host: unit and property tests; count each cargo test.
log="$logs/cargo-test.log"
(cd "$here/userspace" && cargo test --locked 2>&1) >"$log"
rc=$?
ok=$(awk '/^test result:/ { n += $4 } END { print n + 0 }' "$log")
bad=$(awk '/^test result:/ { n += $6 } END { print n + 0 }' "$log")
if [ "$rc" = 0 ] && [ "$bad" = 0 ] && [ "$ok" -gt 0 ]; then
	passed=$((passed + ok))
	printf 'PASS  cargo-test (%s tests)\n' "$ok"
else
	failed=$((failed + (bad > 0 ? bad : 1)))
	failures+=(cargo-test)
	printf 'FAIL  cargo-test (%s passed, %s failed; build/check/cargo-test.log)\n' "$ok" "$bad"
fi

# A bounded fuzz run of the TFTP packet decoder (cargo-fuzz needs
# nightly features: RUSTC_BOOTSTRAP on the stable toolchain).
check fuzz-tftp-parse-packet bash -c 'cd userspace/crates/tftp/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run parse_packet -- -max_total_time=30 -seed=1'
check fuzz-image-parse-manifest bash -c 'cd userspace/crates/image/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run parse_manifest -- -max_total_time=20 -seed=1'
check fuzz-image-decode-pageset1 bash -c 'cd userspace/crates/image/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run decode_pageset1 -- -max_total_time=20 -seed=1'

# The kernel-log checker must catch a splat and pass a clean log.
check klog-checker-catches-splat scripts/selftest-klog-checker.sh

# In-guest kselftests on the debug kernel; count each KTAP result.
run_log="$logs/guest-kselftests.log"
run=$("$here/scripts/run-kselftests.sh" debug 2>"$run_log" | tail -1)
rc=$?
read -r top_ok top_bad plan sub_ok sub_bad < <(echo 0 0 0 0 0)
if [ -n "$run" ] && [ -r "$run/result.log" ]; then
	cp "$run/result.log" "$logs/guest-ktap.log"
	cp "$run/console.log" "$logs/guest-console.log"
	read -r top_ok top_bad plan sub_ok sub_bad \
		< <(python3 "$here/scripts/ktap-count.py" "$run/result.log")
fi
# Every program ran and passed (the plan is complete), and so did every
# subtest they reported.  A program that failed without a failed subtest
# (it crashed, timed out) counts as one failure; so does a missing one.
missing=$((plan - top_ok - top_bad))
if [ "$rc" = 0 ] && [ "$plan" -gt 0 ] && [ "$top_ok" = "$plan" ] && [ "$sub_bad" = 0 ]; then
	passed=$((passed + sub_ok))
	printf 'PASS  guest-kselftests (%s programs, %s results, debug kernel)\n' "$plan" "$sub_ok"
else
	passed=$((passed + sub_ok))
	n=$((sub_bad + (missing > 0 ? missing : 0)))
	[ "$top_bad" -gt "$sub_bad" ] && n=$((n + top_bad - sub_bad))
	[ "$n" = 0 ] && n=1
	failed=$((failed + n))
	failures+=(guest-kselftests)
	printf 'FAIL  guest-kselftests (programs: %s ok, %s not ok of %s; results: %s ok, %s not ok)\n' \
		"$top_ok" "$top_bad" "$plan" "$sub_ok" "$sub_bad"
	sed 's/^/      /' "$run_log"
fi

# Capture and lazy network resume end to end, on the debug kernel: a
# golden VM captures, two clients resume it at once, fallbacks to a normal
# boot.  The page server going away after a resume runs on the release
# kernel: on the debug kernel the clients' post-resume hook, which sets
# the policy, intermittently gets no TFTP answer (Documentation/resume.rst).
check e2e-capture scripts/e2e-resume.sh capture
for s in two-clients fallback; do
	check "e2e-$s" scripts/e2e-resume.sh "$s"
done
check e2e-capture-release scripts/e2e-resume.sh capture release
check e2e-server-down-release scripts/e2e-resume.sh server-down release

# The kernel's own mm selftests (a subset) give the same results on the
# patched kernel as on the unpatched one, and leave a clean kernel log.
check mm-selftests-regression scripts/run-mm-regression.sh

# The release kernel boots and the demo path works.
check guest-release-demo env LAZYRESUME_DEMO_MIB=32 scripts/demo.sh

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
