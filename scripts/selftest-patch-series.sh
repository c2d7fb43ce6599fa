#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh must refuse a patch series with a patch that does not
# apply (git am fails on its content), name that patch, and build nothing.
# Uses a scratch build dir and a scratch build cache.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "$here/build/selftest-patch.XXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/patches" "$tmp/build"
cp "$here"/patches/*.patch "$tmp/patches/" 2>/dev/null || true
cp "$here/patches/series" "$tmp/patches/series"
cat >"$tmp/patches/9999-does-not-apply.patch" <<'P'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: test <test@example.org>
Subject: [PATCH] test: a patch whose context is not in the tree

--- a/Makefile
+++ b/Makefile
@@ -1,3 +1,3 @@
 this line is not in the kernel Makefile
-neither is this one
+nor this one
 nor the last
P
echo 9999-does-not-apply.patch >>"$tmp/patches/series"

if LAZYRESUME_PATCHES="$tmp/patches" LAZYRESUME_BUILD="$tmp/build" \
	LAZYRESUME_CACHE="$tmp/cache" \
	"$here/scripts/build-kernel.sh" release >"$tmp/out" 2>&1; then
	echo "FAIL: build-kernel.sh accepted a patch that does not apply"
	exit 1
fi
cat "$tmp/out"
grep -q 'patch does not apply: .*9999-does-not-apply.patch' "$tmp/out" || {
	echo "FAIL: the refusal does not name the patch"
	exit 1
}
# Refused by git am for its content, not for its form.
grep -q 'patch failed: Makefile' "$tmp/out" || {
	echo "FAIL: git am did not say which file of the patch failed"
	exit 1
}
if [ -e "$tmp/build/kernel" ] || [ -e "$tmp/cache/kernel" ] ||
	[ -n "$(find "$tmp/cache/linux-src" -mindepth 1 -maxdepth 1 ! -name '*.lock')" ]; then
	echo "FAIL: something was left built after the refusal"
	exit 1
fi
echo "ok: refused, named the patch, built nothing"
