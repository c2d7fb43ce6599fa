#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare two kselftest runs of the mm subset: BASELINE (unpatched kernel)
and PATCHED.  Every program must have run to the end on both; every result
(program and subtest, ok / not ok / skip) must be the same; the patched
run's kernel log check must pass.  Prints the per-program counts and each
difference; exit status 1 on any.

RERUN logs (optional) are later runs of some programs on the patched
kernel: a program that differs in PATCHED but gives exactly the baseline's
results in a rerun is reported as flaky, not as a difference (some mm
selftests race under TCG: uffd-unit-tests' events test on the debug
kernel fails now and then on both kernels)."""

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
    base, base_ended = parse(sys.argv[1])
    new, new_ended = parse(sys.argv[2])
    reruns = [parse(path) for path in sys.argv[3:]]
    flaky = set()
    for prog in {p for p, _ in new}:
        want = program_results(base, prog)
        if program_results(new, prog) == want:
            continue
        for i, (res, ended) in enumerate(reruns, 1):
            if prog in ended and program_results(res, prog) == want:
                flaky.add(prog)
                print(f"FLAKY: {prog}: differs in the first run, same as the baseline in rerun {i}")
                break
    bad = []
    programs = sorted({p for p, _ in base} | {p for p, _ in new})
    for p in programs:
        if p not in base_ended:
            bad.append(f"{p}: did not finish on the baseline kernel")
        if p not in new_ended and p not in flaky:
            bad.append(f"{p}: did not finish on the patched kernel")
    for key in sorted(set(base) | set(new)):
        b, n = base.get(key, "absent"), new.get(key, "absent")
        if b != n and key[0] != "kernel_log_clean.sh" and key[0] not in flaky:
            bad.append(f"{key[0]}: {key[1] or '(program)'}: baseline {b}, patched {n}")
    for res, _ in [(new, None)] + reruns:
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
