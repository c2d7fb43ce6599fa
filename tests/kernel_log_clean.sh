#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kernel log holds no splat: no WARNING, BUG, Oops, KASAN, UBSAN,
# lockdep, RCU stall, hung task, list corruption or bad page report, no
# ACPI error (an aborted _PRT leaves devices without an interrupt) and no
# stalled network transmit queue.
# Runs last.  Usage: kernel_log_clean.sh [LOGFILE] (default: dmesg).

DIR="$(dirname "$0")"
. "$DIR/ktap_helpers.sh"

PATTERN='WARNING:|BUG:|Oops|Kernel panic|KASAN|UBSAN|kernel BUG|'\
'possible recursive locking|possible circular locking|'\
'inconsistent lock state|lock held when returning|'\
'suspicious RCU usage|rcu_sched self-detected stall|INFO: rcu|'\
'hung_task|blocked for more than|list_add corruption|list_del corruption|'\
'Bad page|Bad rss-counter|bad pmd|general protection fault|'\
'Unable to handle|refcount_t:|DEBUG_LOCKS_WARN_ON|'\
'sleeping function called from invalid context|scheduling while atomic|'\
'ACPI Error|NETDEV WATCHDOG'

ktap_print_header
ktap_set_plan 1

if [ -n "$1" ]; then
	log=$(cat "$1")
else
	log=$(dmesg)
fi
splat=$(printf '%s\n' "$log" | grep -E "$PATTERN")
if [ -z "$splat" ]; then
	ktap_test_pass "kernel log has no splat"
else
	printf '%s\n' "$splat" | head -20 | sed 's/^/# /'
	ktap_test_fail "kernel log has no splat"
fi
ktap_finished
