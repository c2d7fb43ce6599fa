#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: every test of lazyresume (what `make check` runs).  Builds what
# is missing (kernels from the machine-wide cache), runs the host checks,
# then the guest scenarios (in-guest kselftests, end-to-end resumes, the mm
# regression check, the demo), independent ones side by side, and ends
# with a table of its phases and their durations and one line
# "N passed, M failed".
#
# Each check's output is in build/check/<name>.log.  LAZYRESUME_JOBS sets
# how many guest jobs run at once (default: what nproc and the free memory
# allow, at most 2).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
logs="$here/build/check"
rm -rf "$logs"
mkdir -p "$logs/results" "$logs/jobs"
check_start=$SECONDS

# Every check's result is a line of $results (one file per phase, so that
# phases running side by side do not share one):
#   pass|fail NAME COUNT SECONDS
# COUNT is how many tests it stands for (cargo test and the kselftests
# count each of theirs).
results=/dev/null

# record pass|fail NAME COUNT SECONDS [NOTE]
record() {
	echo "$1 $2 $3 $4" >>"$results"
	if [ "$1" = pass ]; then
		printf 'PASS  %s [%ss]%s\n' "$2" "$4" "${5:+ $5}"
	else
		printf 'FAIL  %s [%ss]  (%s)\n' "$2" "$4" "${5:-build/check/$2.log}"
	fi
}

# check NAME CMD...: run one check, its output to build/check/NAME.log.
check() {
	local name=$1 log="$logs/$1.log" t0=$SECONDS
	shift
	if (cd "$here" && "$@") >"$log" 2>&1; then
		record pass "$name" 1 $((SECONDS - t0))
	else
		record fail "$name" 1 $((SECONDS - t0))
		tail -15 "$log" | sed 's/^/      /'
	fi
}

# phase NAME: the checks that follow belong to phase NAME, the next one.
phase_no=0
phase() {
	phase_no=$((phase_no + 1))
	results="$logs/results/$(printf '%02d' "$phase_no")-$1"
	: >"$results"
	echo "== $1"
}

# cargo_test: the userspace workspace's tests, each counted.
cargo_test() {
	local log="$logs/cargo-test.log" t0=$SECONDS rc ok bad
	(cd "$here/userspace" && cargo test --locked 2>&1) >"$log"
	rc=$?
	ok=$(awk '/^test result:/ { n += $4 } END { print n + 0 }' "$log")
	bad=$(awk '/^test result:/ { n += $6 } END { print n + 0 }' "$log")
	if [ "$rc" = 0 ] && [ "$bad" = 0 ] && [ "$ok" -gt 0 ]; then
		record pass cargo-test "$ok" $((SECONDS - t0)) "($ok tests)"
	else
		record fail cargo-test $((bad > 0 ? bad : 1)) $((SECONDS - t0)) \
			"$ok passed, $bad failed; build/check/cargo-test.log"
	fi
}

# guest_kselftests: the in-guest kselftests on the debug kernel; each KTAP
# result counts.  Every program ran and passed (the plan is complete), and
# so did every subtest they reported.  A program that failed without a
# failed subtest (it crashed, timed out) counts as one failure; so does a
# missing one.
guest_kselftests() {
	local run_log="$logs/guest-kselftests.log" t0=$SECONDS run rc missing n
	local top_ok=0 top_bad=0 plan=0 sub_ok=0 sub_bad=0
	run=$("$here/scripts/run-kselftests.sh" debug 2>"$run_log" | tail -1)
	rc=$?
	if [ -n "$run" ] && [ -r "$run/result.log" ]; then
		cp "$run/result.log" "$logs/guest-ktap.log"
		cp "$run/console.log" "$logs/guest-console.log"
		read -r top_ok top_bad plan sub_ok sub_bad \
			< <(python3 "$here/scripts/ktap-count.py" "$run/result.log")
	fi
	missing=$((plan - top_ok - top_bad))
	if [ "$rc" = 0 ] && [ "$plan" -gt 0 ] && [ "$top_ok" = "$plan" ] && [ "$sub_bad" = 0 ]; then
		record pass guest-kselftests "$sub_ok" $((SECONDS - t0)) \
			"($plan programs, $sub_ok results, debug kernel)"
	else
		# The results that passed count as passed.
		[ "$sub_ok" -gt 0 ] && echo "pass guest-kselftests-ok $sub_ok 0" >>"$results"
		n=$((sub_bad + (missing > 0 ? missing : 0)))
		[ "$top_bad" -gt "$sub_bad" ] && n=$((n + top_bad - sub_bad))
		[ "$n" = 0 ] && n=1
		record fail guest-kselftests "$n" $((SECONDS - t0)) \
			"programs: $top_ok ok, $top_bad not ok of $plan; results: $sub_ok ok, $sub_bad not ok"
		sed 's/^/      /' "$run_log"
	fi
}

# Builds: everything else needs them.
phase builds
for f in release debug; do
	check "build-kernel-$f" make -s kernel-$f
	check "build-module-$f" make -s module-$f
done
check build-userspace make -s userspace
for f in release debug; do
	check "build-initramfs-$f" make -s initramfs-$f
done
# The clients' archive holds the production module and no test hook:
# no lazyresume_test.ko, kselftests or benchmarks.
for f in release debug; do
	check "initramfs-client-$f-has-no-test-hooks" bash -c "
		list=\$(gzip -dc build/initramfs/$f-client.cpio.gz | cpio -t --quiet) &&
		grep -q '/extra/lazyresume.ko\$' <<<\"\$list\" &&
		! grep -E 'lazyresume_test\.ko|^\./(ktests|bench)(/|\$)' <<<\"\$list\""
done
# The unpatched debug kernel: the reference of the mm regression check.
check build-initramfs-baseline make -s initramfs-baseline
# Every patch of the series builds on its own (git rebase --exec; cached
# under the release kernel's key; 25 to 38 min when the series changed).
check series-builds-each-patch scripts/series-build-each.sh

# Nothing changed since the builds above: setup installs nothing, and a
# second kernel build is a cache hit for both flavours.
phase build-checks
check setup-idempotent bash -c 'out=$(scripts/setup.sh) && ! grep -v " have" <<<"$out"'
check kernel-cache-hit bash -c \
	'[ "$(make -s kernel | grep -c "kernel up to date")" = 2 ]'
check build-cache scripts/selftest-build-cache.sh
check patch-series-refuses-bad-patch scripts/selftest-patch-series.sh
# The module keeps its layers: no C bindings outside rust/sys/, no
# reference to a layer above; and the check catches planted violations.
check module-layers scripts/check-module-layers.sh
check module-layers-catches-violations scripts/selftest-module-layers.sh

# Host: style and lint, unit and property tests, fuzzing.
phase host
check rustfmt-userspace bash -c 'cd userspace && cargo fmt --check'
check rustfmt-module rustfmt --check --config-path .rustfmt.toml rust/lazyresume.rs
check clippy-userspace bash -c \
	'cd userspace && cargo clippy --quiet --locked --all-targets -- -D warnings'
check checkpatch scripts/checkpatch-series.sh
check shellcheck bash -c 'shellcheck -x -S warning scripts/*.sh tests/*.sh \
	scripts/guest/init scripts/guest/*.sh scripts/guest/timeout \
	scripts/lab/*.sh scripts/lab/lab-up scripts/lab/lab-down'
cargo_test
# The boot storm's load generator: 2 clients replayed against 2 tftpd-hpa
# on 127.0.0.1, every file's SHA-256 checked against the image (a few
# seconds; no timing thresholds).
check loadgen-storm-smoke scripts/bench-storm.sh --smoke
# Bounded fuzz runs of the shared parsers (cargo-fuzz needs nightly
# features: RUSTC_BOOTSTRAP on the stable toolchain).
check fuzz-tftp-parse-packet bash -c 'cd userspace/crates/tftp/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run parse_packet -- -max_total_time=30 -seed=1'
check fuzz-image-parse-manifest bash -c 'cd userspace/crates/image/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run parse_manifest -- -max_total_time=20 -seed=1'
check fuzz-image-decode-pageset1 bash -c 'cd userspace/crates/image/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run decode_pageset1 -- -max_total_time=20 -seed=1'
check fuzz-image-decode-chunk bash -c 'cd userspace/crates/image/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run decode_chunk -- -max_total_time=20 -seed=1'
check fuzz-image-parse-loadset bash -c 'cd userspace/crates/image/fuzz &&
	RUSTC_BOOTSTRAP=1 cargo fuzz run parse_loadset -- -max_total_time=20 -seed=1'
# The kernel-log checker must catch a splat and pass a clean log.
check klog-checker-catches-splat scripts/selftest-klog-checker.sh

# Guest jobs: independent of each other, each a phase of its own.  Within
# one, the order matters (a capture before the resumes of its image).
job_kselftests() {
	guest_kselftests
	# Without a module (the unpatched kernel) they skip, not fail.
	check kselftests-skip-without-module scripts/selftest-kselftests-skip.sh
}
job_e2e_debug() {
	# A golden VM captures, its copies a client must refuse (signatures,
	# under KASAN and lockdep here), two clients resume it at once,
	# fallbacks to a normal boot, the page server going away after a
	# resume (background off), a client that completes and then needs no
	# server.
	local s
	for s in capture signatures two-clients fallback server-down complete; do
		check "e2e-$s" scripts/e2e-resume.sh "$s" debug
	done
}
job_e2e_release() {
	local s
	# signatures: copies of the captured image that a client must refuse
	# (unsigned, bad signature, untrusted key, renamed, rollback), each
	# with its reason, and the image itself verified (about 1 min).
	for s in capture signatures server-down; do
		check "e2e-$s-release" scripts/e2e-resume.sh "$s" release
	done
	# The working set: record, replay (fewer demand faults before the
	# first answer), a damaged loading set refused (about 2 min).
	check e2e-workingset-release scripts/e2e-resume.sh workingset release
	# Two servers: the primary dies in the middle of pageset1 or of the
	# background lane, or stops after the resume; the client goes on from
	# the mirror and verifies
	# every byte; with both dead, the fallback and the sigbus policy as
	# with one (five clients, about 2 min).
	check e2e-mirrors-release scripts/e2e-resume.sh mirrors release
	# The diskless lab: a PXE client (dnsmasq, iPXE) at 100 Mbit with 5 %
	# loss resumes lazily and verifies every byte (about 100 s).
	check lab-pxe-loss-release scripts/lab/lab-test.sh release
	# Two image servers in the lab: the primary goes silent after a
	# client's resume, or before another boots; both finish from the
	# mirror and verify every byte (two PXE clients, about 90 s).
	check lab-mirror-release scripts/lab/lab-mirror-test.sh release
}
# The kernel's own mm selftests (a subset) give the same results on the
# patched kernel as on the unpatched one, and leave a clean kernel log.
# They only need CPU time: niced, they take what the jobs beside them
# leave, and those keep their pace.  tftp.sh's windows of 720 IP fragments
# (16 blocks of 64 KiB) overflow a guest slowed by a guest beside it, and
# each loss costs a retransmission timeout: the kselftests took 809 s
# beside the mm job, 385 s beside it niced, about 230 s alone.
job_mm_regression() {
	check mm-selftests-regression nice -n 10 scripts/run-mm-regression.sh
}
# The release kernel boots and the demo path works.
job_demo() { check guest-release-demo env LAZYRESUME_DEMO_MIB=32 scripts/demo.sh; }
# Longest first (measured), so that the last to start are short.
guest_jobs=(mm_regression e2e_debug kselftests e2e_release demo)

# How many guest jobs at once: a TCG guest keeps about one core busy and
# the largest needs 4 GiB.
jobs=${LAZYRESUME_JOBS:-}
if [ -z "$jobs" ]; then
	mem_gib=$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)
	jobs=$(nproc)
	[ $((mem_gib / 6)) -lt "$jobs" ] && jobs=$((mem_gib / 6))
	[ "$jobs" -gt 2 ] && jobs=2
	[ "$jobs" -lt 1 ] && jobs=1
fi
echo "== guest jobs: ${guest_jobs[*]} ($jobs at once; LAZYRESUME_JOBS)"
guest_start=$SECONDS
declare -A job_pid=() job_results=()
# finish_one: wait for any running job, print its output.  A job that
# recorded no result at all (it died) is a failure.
finish_one() {
	local j
	wait -n "${job_pid[@]}" 2>/dev/null || true
	for j in "${!job_pid[@]}"; do
		kill -0 "${job_pid[$j]}" 2>/dev/null && continue
		wait "${job_pid[$j]}" 2>/dev/null || true
		cat "$logs/jobs/$j.out"
		if [ ! -s "${job_results[$j]}" ]; then
			echo "fail guest-${j//_/-}-ended-early 1 0" >>"${job_results[$j]}"
			echo "FAIL  guest-${j//_/-}: the job ended without a result"
		fi
		unset "job_pid[$j]"
	done
}
for j in "${guest_jobs[@]}"; do
	while [ "${#job_pid[@]}" -ge "$jobs" ]; do finish_one; done
	(
		phase "guest-${j//_/-}"
		t0=$SECONDS
		"job_$j"
		echo "   (guest-${j//_/-}: $((SECONDS - t0)) s)"
	) >"$logs/jobs/$j.out" 2>&1 &
	job_pid[$j]=$!
	phase_no=$((phase_no + 1))
	job_results[$j]="$logs/results/$(printf '%02d' "$phase_no")-guest-${j//_/-}"
done
while [ "${#job_pid[@]}" -gt 0 ]; do finish_one; done
guest_wall=$((SECONDS - guest_start))

# The summary: phases, then the totals.
echo
printf '%-24s %7s %7s %9s\n' phase passed failed seconds
passed=0
failed=0
failures=()
for r in "$logs"/results/*; do
	read -r p f s < <(awk '
		$1 == "pass" { p += $3 } $1 == "fail" { f += $3 } { s += $4 }
		END { print p + 0, f + 0, s + 0 }' "$r")
	printf '%-24s %7s %7s %9s\n' "${r##*/[0-9][0-9]-}" "$p" "$f" "$s"
	passed=$((passed + p))
	failed=$((failed + f))
	mapfile -t -O "${#failures[@]}" failures < <(awk '$1 == "fail" { print $2 }' "$r")
done
printf '%-24s %7s %7s %9s\n' "guest jobs, wall clock" "" "" "$guest_wall"
printf '%-24s %7s %7s %9s\n' "make check, wall clock" "" "" $((SECONDS - check_start))
echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
