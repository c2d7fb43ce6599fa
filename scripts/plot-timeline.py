#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""plot-timeline.py OUT.svg|OUT.png CSV[=LABEL] ...: plot resume timelines.

Each CSV is what `lazyresume status --timeline FILE.csv` wrote: the
resume's events on one clock (milliseconds of the boot kernel's
CLOCK_MONOTONIC) and the pages of each lane sampled over time.  One panel
per CSV, on a shared time axis in seconds: the events as labelled
vertical lines, the pages fetched per lane (urgent, working set,
background) and installed, in MiB.  Uses Debian's python3-matplotlib
(scripts/setup.sh installs it), hence /usr/bin/python3.

--check only reads the files and checks them (as `lazyresume
timeline-check` does, without matplotlib): every line parses, the events
are listed in time order, samples never go back.
"""
import argparse
import csv
import sys

PAGE_MIB = 4096 / (1 << 20)
LANES = [
    ("urgent_pages", "urgent (faults)", "tab:red"),
    ("workingset_pages", "working set", "tab:green"),
    ("background_pages", "background", "tab:blue"),
    ("installed_pages", "installed", "tab:gray"),
]
# Boot-kernel events, the rest are the restored kernel's.
BOOT = {"module_loaded", "resume_requested", "manifest_fetched",
        "manifest_verified", "pageset1_fetched", "pageset1_decoded", "jump"}


def read(path):
    """(comments, events [(name, s)], samples [dict]) of a timeline CSV."""
    comments, events, samples = [], [], []
    with open(path, newline="") as f:
        rows = [r for r in f if r.strip()]
    comments = [r[1:].strip() for r in rows if r.startswith("#")]
    body = [r for r in rows if not r.startswith("#")]
    for i, row in enumerate(csv.DictReader(body), start=2):
        t = float(row["t_ms"]) / 1000
        if row["kind"] == "event":
            events.append((row["name"], t))
        elif row["kind"] == "sample":
            samples.append({k: int(row[k]) for k, _, _ in LANES} | {"t": t})
        else:
            raise ValueError(f"{path}: row {i}: unknown kind {row['kind']!r}")
    return comments, events, samples


def check(path, events, samples):
    bad = []
    for (a, ta), (b, tb) in zip(events, events[1:]):
        if tb < ta:
            bad.append(f"{path}: {b} ({tb:.3f} s) listed after {a} ({ta:.3f} s)")
    for p, s in zip(samples, samples[1:]):
        if s["t"] < p["t"] or any(s[k] < p[k] for k, _, _ in LANES):
            bad.append(f"{path}: sample at {s['t']:.3f} s goes back")
    return bad


def plot(out, runs):
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: small SVGs
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.6 * len(runs)),
                             sharex=True, squeeze=False)
    for ax, (label, comments, events, samples) in zip(axes[:, 0], runs):
        if samples:
            t = [s["t"] for s in samples]
            for key, name, colour in LANES:
                ax.plot(t, [s[key] * PAGE_MIB for s in samples], label=name,
                        color=colour, linestyle="--" if key == "installed_pages" else "-")
        ax.set_ylabel("MiB")
        lo, hi = ax.get_ylim()
        if hi <= lo:
            lo, hi = 0, 1
        # One row per event, top down in time order: labels never overlap.
        step = 0.9 / max(len(events), 1)
        for i, (name, at) in enumerate(events):
            colour = "black" if name in BOOT else "tab:purple"
            ax.axvline(at, color=colour, linewidth=0.7, alpha=0.6)
            ax.text(at, lo + (hi - lo) * (0.98 - step * i), f" {name} {at:.2f}",
                    fontsize=7, color=colour, va="top",
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.7, pad=0.5))
        ax.set_title(label, fontsize=10, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(loc="center right", fontsize=8)
    axes[-1, 0].set_xlabel("s since the boot kernel started (its CLOCK_MONOTONIC); "
                           "restored kernel placed after the jump")
    fig.tight_layout()
    fig.savefig(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="only check the files, plot nothing")
    ap.add_argument("out", nargs="?", help="the SVG or PNG to write")
    ap.add_argument("csvs", nargs="*", metavar="CSV[=LABEL]")
    a = ap.parse_args()
    files = ([a.out] if a.check and a.out else []) + a.csvs
    if not files or (not a.check and not a.out):
        ap.error("give OUT and at least one CSV")
    runs, bad = [], []
    for spec in files:
        path, _, label = spec.partition("=")
        comments, events, samples = read(path)
        bad += check(path, events, samples)
        runs.append((label or path, comments, events, samples))
    for b in bad:
        print(f"plot-timeline: {b}", file=sys.stderr)
    if a.check:
        print(f"plot-timeline: {len(files)} file(s) checked, {len(bad)} problem(s)")
        return 1 if bad else 0
    plot(a.out, runs)
    print(f"plot-timeline: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
