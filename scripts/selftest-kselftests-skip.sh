#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-kselftests-skip.sh: lazyresume's in-guest kselftests skip, not
# fail, on a kernel that has no lazyresume module (the unpatched baseline
# kernel, whose initramfs carries the tests but no module): every program
# reports SKIP, none fails, and only the kernel log check passes.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
run=$("$here/scripts/run-kselftests.sh" baseline | tail -1)
log="$run/result.log"
cat "$log"
# Per program: its own result, and how many of its results skipped.
verdicts=$(awk '
	{ sub(/\r$/, "") }
	/^# selftests: lazyresume: / { prog = $4; subs[prog] = 0; skips[prog] = 0; next }
	/^# (not )?ok [0-9]+ / && prog != "" {
		subs[prog]++
		if ($0 ~ /# SKIP/) skips[prog]++
		next
	}
	/^(not )?ok [0-9]+ selftests: lazyresume: / {
		name = ($1 == "not") ? $6 : $5
		if ($1 == "not")
			print "FAIL " name " failed"
		else if (name == "kernel_log_clean.sh")
			print "OK " name " passed"
		else if ($0 ~ /# SKIP/ || (subs[name] > 0 && skips[name] == subs[name]))
			print "OK " name " skipped"
		else
			print "FAIL " name " ran " subs[name] - skips[name] " of " subs[name] " tests"
		prog = ""
	}' "$log")
echo "$verdicts"
status=0
grep -q '^FAIL' <<<"$verdicts" && status=1
[ "$(grep -c ' skipped$' <<<"$verdicts")" -ge 6 ] || {
	echo "FAIL: fewer programs skipped than lazyresume has"
	status=1
}
exit "$status"
