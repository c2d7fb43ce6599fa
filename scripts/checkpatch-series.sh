#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch-series.sh: run the kernel's scripts/checkpatch.pl on every
# patch of patches/series; any error or warning fails.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ksrc=$(readlink -f "$here/build/kernel/release/source")
mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/patches/series")
status=0
for p in "${series[@]}"; do
	if "$ksrc/scripts/checkpatch.pl" --no-tree --quiet --strict \
		--ignore FILE_PATH_CHANGES "$here/patches/$p"; then
		echo "checkpatch: clean: $p"
	else
		echo "checkpatch: NOT clean: $p"
		status=1
	fi
done
# A patch in the directory but not in the series is a mistake too.
for f in "$here"/patches/*.patch; do
	[ -e "$f" ] || continue
	grep -qxF "$(basename "$f")" "$here/patches/series" || {
		echo "checkpatch: $(basename "$f") is not in patches/series"
		status=1
	}
done
exit "$status"
