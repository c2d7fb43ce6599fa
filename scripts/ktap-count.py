#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the results of a kselftest run (KTAP, as run_kselftest.sh prints).

Prints "TOP_OK TOP_NOT_OK TOP_PLAN SUB_OK SUB_NOT_OK": the test programs'
results against the runner's plan, and the results the programs report
themselves (their KTAP output, which the runner prefixes with "# ").
A skip counts as ok.  Deeper levels are not counted."""

import re
import sys

TOP_PLAN = re.compile(r"^1\.\.(\d+)\s*$")
TOP_RESULT = re.compile(r"^(not ok|ok) \d+ ")
SUB_RESULT = re.compile(r"^# (not ok|ok) \d+ ")


def count(lines):
    top_ok = top_bad = sub_ok = sub_bad = 0
    plan = 0
    for line in lines:
        m = TOP_PLAN.match(line)
        if m and plan == 0:
            plan = int(m.group(1))
        m = TOP_RESULT.match(line)
        if m:
            if m.group(1) == "ok":
                top_ok += 1
            else:
                top_bad += 1
        m = SUB_RESULT.match(line)
        if m:
            if m.group(1) == "ok":
                sub_ok += 1
            else:
                sub_bad += 1
    return top_ok, top_bad, plan, sub_ok, sub_bad


if __name__ == "__main__":
    with open(sys.argv[1], errors="replace") as f:
        print(*count(f.read().splitlines()))
