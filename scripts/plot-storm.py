#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""plot-storm.py TSV OUT.svg|OUT.png: plot a boot-storm run.

TSV is the table scripts/bench-storm.sh writes (a header line, then one
line per run: servers, clients, tti_med, ..., done_med, ...).  The plot
has the median time to interactive and to complete against the number of
clients, one line per number of servers, both axes logarithmic; the
title gives the replayed clients' link rate (the client_mbit column).  Uses
Debian's python3-matplotlib (scripts/setup.sh installs it), as
scripts/plot-timeline.py does.
"""
import csv
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[0])
    tsv, out = sys.argv[1:]
    runs = {}
    rates = set()
    with open(tsv, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            try:
                point = (int(row["clients"]), float(row["tti_med"]),
                         float(row["done_med"]))
            except (KeyError, ValueError):
                continue  # a run that failed has empty fields
            runs.setdefault(int(row["servers"]), []).append(point)
            rates.add(row.get("client_mbit") or "unlimited")
    if not runs:
        sys.exit(f"plot-storm: no complete run in {tsv}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    for servers, points in sorted(runs.items()):
        points.sort()
        n = [p[0] for p in points]
        word = "server" if servers == 1 else "servers"
        ax.plot(n, [p[1] for p in points], marker="o",
                label=f"interactive, median, {servers} {word}")
        ax.plot(n, [p[2] for p in points], marker="s",
                label=f"complete, median, {servers} {word}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("clients")
    ax.set_ylabel("seconds (log scale)")
    links = ", ".join(sorted(rates))
    if links != "unlimited":
        links += " Mbit/s each (modelled)"
    ax.set_title(f"Boot storm replayed from the host, client links {links}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    fig.savefig(out)
    print(f"plot-storm: {out}")


if __name__ == "__main__":
    main()
