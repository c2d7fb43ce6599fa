#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch-series.sh: run the kernel's scripts/checkpatch.pl --strict on
# every patch of patches/series; any error, warning or check fails.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ksrc=$(readlink -f "$here/build/kernel/release/source")
mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/patches/series")
status=0
for p in "${series[@]}"; do
	# CAMELCASE: with --no-tree checkpatch cannot seed the mixed-case
	# names the tree already defines, and flags the kernel's own EM()/EMe()
	# trace macros (patch 1 extends TRACE_MM_PAGES); from a tree it does not.
	if "$ksrc/scripts/checkpatch.pl" --no-tree --quiet --strict \
		--ignore FILE_PATH_CHANGES,CAMELCASE "$here/patches/$p"; then
		echo "checkpatch: clean: $p"
	else
		echo "checkpatch: NOT clean: $p"
		status=1
	fi
done
# The cover letter must be there; any other patch in the directory but not
# in the series is a mistake.
[ -f "$here/patches/0000-cover-letter.patch" ] || {
	echo "checkpatch: patches/0000-cover-letter.patch is missing"
	status=1
}
for f in "$here"/patches/*.patch; do
	[ -e "$f" ] || continue
	[ "$(basename "$f")" = 0000-cover-letter.patch ] && continue
	grep -qxF "$(basename "$f")" "$here/patches/series" || {
		echo "checkpatch: $(basename "$f") is not in patches/series"
		status=1
	}
done
exit "$status"
