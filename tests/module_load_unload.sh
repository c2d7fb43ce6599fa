#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lazyresume.ko loads, creates /dev/lazyresume and its debugfs directory,
# cannot be unloaded while the device is open, and unloads cleanly,
# several times in a row.

DIR="$(dirname "$0")"
. "$DIR/ktap_helpers.sh"

DEV=/dev/lazyresume
DBG=/sys/kernel/debug/lazyresume
CYCLES=3

is_loaded() { grep -q '^lazyresume ' /proc/modules; }

ktap_print_header
if ! grep -q '/lazyresume.ko:' "/lib/modules/$(uname -r)/modules.dep" 2>/dev/null; then
	ktap_skip_all "no lazyresume module for this kernel"
	exit "$KSFT_SKIP"
fi
ktap_set_plan $((CYCLES * 4 + 1))

is_loaded && modprobe -r lazyresume

i=1
while [ "$i" -le "$CYCLES" ]; do
	if modprobe lazyresume && is_loaded && [ -c "$DEV" ]; then
		ktap_test_pass "load $i: module loaded, $DEV is a character device"
	else
		ktap_test_fail "load $i: module loaded, $DEV is a character device"
	fi
	if [ -r "$DBG/stats" ] && grep -q '^ioctls [0-9]' "$DBG/stats"; then
		ktap_test_pass "load $i: $DBG/stats readable"
	else
		ktap_test_fail "load $i: $DBG/stats readable"
	fi
	# An open file holds a reference on the module.
	exec 3<"$DEV"
	if rmmod lazyresume 2>/dev/null; then
		ktap_test_fail "load $i: unload refused while $DEV is open"
		exec 3<&-
		modprobe lazyresume
	else
		ktap_test_pass "load $i: unload refused while $DEV is open"
		exec 3<&-
	fi
	if modprobe -r lazyresume && ! is_loaded && [ ! -e "$DEV" ] && [ ! -e "$DBG" ]; then
		ktap_test_pass "unload $i: module, device and debugfs gone"
	else
		ktap_test_fail "unload $i: module, device and debugfs gone"
	fi
	i=$((i + 1))
done

# Leave the module loaded for the tests that follow, as found.
if modprobe lazyresume; then
	ktap_test_pass "reload for the following tests"
else
	ktap_test_fail "reload for the following tests"
fi
ktap_finished
