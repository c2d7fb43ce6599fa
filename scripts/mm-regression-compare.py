#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare kselftest runs of the mm subset on the baseline (unpatched)
kernel and on the patched kernel:

    mm-regression-compare.py --baseline FIRST [RERUN...] --patched FIRST [RERUN...]

Every program must have run to the end on both; every result (program and
subtest, ok / not ok / skip) must be the same in the first runs; every
patched run's kernel log check must pass.  A program that differs in the
first runs but has identical results in some baseline run and some patched
run (the reruns) is reported as flaky, not as a difference: some mm
selftests race under TCG (uffd-unit-tests' events test on the debug
kernel fails now and then on either kernel).  Prints per-program counts,
each difference and a RERUN line per program to try again; exit status 1
on any difference."""

import re
import sys

PROGRAM = re.compile(r"^# selftests: (\S+): (\S+)")
TOP = re.compile(r"^(not ok|ok) \d+ selftests: (\S+): (\S+)(.*)$")
SUB = re.compile(r"^# (not ok|ok) \d+ (.*?)\s*(# (SKIP|XFAIL).*)?$")


def status(ok, directive):
    if directive and directive.split()[1] == "SKIP":
        return "skip"
    return "pass" if ok == "ok" else "fail"


def parse(path):
    """{(program, subtest or ''): status} and the programs that ended."""
    results, ended, prog, seen = {}, set(), None, {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = PROGRAM.match(line)
            if m:
                prog = m.group(2)
                continue
            m = TOP.match(line)
            if m:
                skip = "# SKIP" in m.group(4)
                results[(m.group(3), "")] = "skip" if skip else status(m.group(1), None)
                ended.add(m.group(3))
                prog = None
                continue
            m = SUB.match(line)
            if m and prog:
                name = m.group(2)
                # Same description twice in one program: number them.
                n = seen.get((prog, name), 0)
                seen[(prog, name)] = n + 1
                key = (prog, name if n == 0 else f"{name} #{n + 1}")
                results[key] = status(m.group(1), m.group(3))
    return results, ended


def program_results(results, prog):
    return {k: v for k, v in results.items() if k[0] == prog}


def main():
    args = sys.argv[1:]
    if "--baseline" not in args or "--patched" not in args:
        sys.exit(__doc__)
    split = args.index("--patched")
    base_runs = [parse(p) for p in args[args.index("--baseline") + 1:split]]
    new_runs = [parse(p) for p in args[split + 1:]]
    (base, base_ended), (new, new_ended) = base_runs[0], new_runs[0]
    flaky = set()
    for prog in {p for p, _ in new} | {p for p, _ in base}:
        if program_results(new, prog) == program_results(base, prog):
            continue
        for i, (b_res, b_end) in enumerate(base_runs):
            for j, (n_res, n_end) in enumerate(new_runs):
                same = program_results(b_res, prog) == program_results(n_res, prog)
                if prog in b_end and prog in n_end and same and prog not in flaky:
                    flaky.add(prog)
                    print(f"FLAKY: {prog}: the first runs differ; baseline run {i + 1} "
                          f"and patched run {j + 1} agree")
    bad = []
    programs = sorted({p for p, _ in base} | {p for p, _ in new})
    for p in programs:
        if p not in base_ended and p not in flaky:
            bad.append(f"{p}: did not finish on the baseline kernel")
        if p not in new_ended and p not in flaky:
            bad.append(f"{p}: did not finish on the patched kernel")
    for key in sorted(set(base) | set(new)):
        b, n = base.get(key, "absent"), new.get(key, "absent")
        if b != n and key[0] != "kernel_log_clean.sh" and key[0] not in flaky:
            bad.append(f"{key[0]}: {key[1] or '(program)'}: baseline {b}, patched {n}")
    for res, _ in new_runs:
        if res.get(("kernel_log_clean.sh", "")) != "pass":
            bad.append("kernel_log_clean.sh: the patched kernel's log is not clean")
    for p in programs:
        counts = {}
        for (q, sub), st in new.items():
            if q == p and sub:
                counts[st] = counts.get(st, 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no subtests"
        print(f"{p}: {new.get((p, ''), 'absent')} ({summary})")
    same = sum(1 for k in new if base.get(k) == new[k])
    print(f"{same} results identical on the baseline and the patched kernel")
    for b in bad:
        print("DIFFERENT: " + b)
    if not bad:
        return 0
    # The programs a rerun should try again.
    for p in sorted({b.split(":")[0] for b in bad} - {"kernel_log_clean.sh"}):
        print("RERUN: " + p)
    return 1


if __name__ == "__main__":
    sys.exit(main())
