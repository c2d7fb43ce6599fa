#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lazyresume.ko loads, creates /dev/lazyresume and its debugfs directory,
# cannot be unloaded while the device is open, and unloads cleanly,
# several times in a row.  lazyresume_test.ko (the same with the requests
# of the tests) cannot be loaded beside it, nor it beside lazyresume_test,
# and each refusal says why in the kernel log.

DIR="$(dirname "$0")"
. "$DIR/ktap_helpers.sh"

DEV=/dev/lazyresume
DBG=/sys/kernel/debug/lazyresume
CYCLES=3

is_loaded() { grep -q "^$1 " /proc/modules; }

ktap_print_header
if ! grep -q '/lazyresume.ko:' "/lib/modules/$(uname -r)/modules.dep" 2>/dev/null; then
	ktap_skip_all "no lazyresume module for this kernel"
	exit "$KSFT_SKIP"
fi
ktap_set_plan $((CYCLES * 4 + 4))

# The tests before this one ran with lazyresume_test.
is_loaded lazyresume_test && modprobe -r lazyresume_test
is_loaded lazyresume && modprobe -r lazyresume

i=1
while [ "$i" -le "$CYCLES" ]; do
	if modprobe lazyresume && is_loaded lazyresume && [ -c "$DEV" ]; then
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
	if modprobe -r lazyresume && ! is_loaded lazyresume && [ ! -e "$DEV" ] &&
		[ ! -e "$DBG" ]; then
		ktap_test_pass "unload $i: module, device and debugfs gone"
	else
		ktap_test_fail "unload $i: module, device and debugfs gone"
	fi
	i=$((i + 1))
done

# The stats file shows the module's context, which the module releases at
# unload: an open stats file pins the module, and reads on.
name="unload refused while $DBG/stats is open, which reads on"
modprobe lazyresume
if [ -r "$DBG/stats" ]; then
	exec 4<"$DBG/stats"
	if ! rmmod lazyresume 2>/dev/null && grep -q '^ioctls [0-9]' <&4; then
		ktap_test_pass "$name"
	else
		ktap_test_fail "$name"
	fi
	exec 4<&-
else
	ktap_test_fail "$name"
fi
modprobe -r lazyresume

# refused LOADED OTHER: with LOADED loaded, OTHER does not load, says why,
# and LOADED still answers.
refused() {
	name="$2 refused while $1 is loaded"
	if modprobe "$1" && ! modprobe "$2" 2>/dev/null && ! is_loaded "$2" &&
		dmesg | tail -5 | grep -q "unload $1 before loading $2" &&
		lazyresume version >/dev/null 2>&1; then
		ktap_test_pass "$name"
	else
		dmesg | tail -5 | sed 's/^/# /'
		ktap_test_fail "$name"
	fi
	modprobe -r "$1"
}
refused lazyresume lazyresume_test
refused lazyresume_test lazyresume

# Leave the test module loaded for the tests that follow.
if modprobe lazyresume_test && is_loaded lazyresume_test; then
	ktap_test_pass "lazyresume_test loaded for the following tests"
else
	ktap_test_fail "lazyresume_test loaded for the following tests"
fi
ktap_finished
