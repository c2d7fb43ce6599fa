#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the "bench ..." lines of the in-guest TFTP benchmark into tables."""

import statistics
import sys

MIB = 64  # the benchmark file is 64 MiB


def parse(path):
    rows = []
    for line in open(path):
        words = line.split()
        kind = words[1]
        kv = dict(w.split("=", 1) for w in words[2:])
        rows.append((kind, kv))
    return rows


def main(path):
    rows = parse(path)
    print("Throughput, 64 MiB file (MiB/s; seconds in parentheses)")
    print()
    print(f"{'server':8} {'client':8} {'blksize':>7} {'window':>6} {'MiB/s':>7} {'s':>7}  notes")
    best = {}
    for kind, kv in rows:
        if kind != "throughput":
            continue
        us = kv["elapsed_us"]
        if us == "fail":
            rate, secs = "fail", "-"
        else:
            s = int(us) / 1e6
            rate, secs = f"{MIB / s:.1f}", f"{s:.2f}"
            key = (kv["server"], kv["client"])
            best[key] = max(best.get(key, 0), MIB / s)
        notes = []
        if "used_blksize" in kv and kv["used_blksize"] != kv["blksize"]:
            notes.append(f"server gave blksize {kv['used_blksize']}")
        if "used_windowsize" in kv and kv["used_windowsize"] != kv["windowsize"]:
            notes.append(f"server gave windowsize {kv['used_windowsize']}")
        if kv.get("retransmits", "0") not in ("0", "?"):
            notes.append(f"{kv['retransmits']} retransmits")
        print(f"{kv['server']:8} {kv['client']:8} {kv['blksize']:>7} "
              f"{kv['windowsize']:>6} {rate:>7} {secs:>7}  {', '.join(notes)}")
    print()
    print("Best setting per server: in-kernel vs busybox")
    for server in ("hpa", "atftpd", "qemu"):
        k, b = best.get((server, "kernel")), best.get((server, "busybox"))
        if k and b:
            print(f"  {server:8} kernel {k:6.1f} MiB/s  busybox {b:6.1f} MiB/s  ratio {k / b:.2f}x")
    lat = {}
    for kind, kv in rows:
        if kind == "latency" and kv["elapsed_us"].isdigit():
            lat.setdefault(kv["file"], []).append(int(kv["elapsed_us"]))
    if lat:
        print()
        print("One-block fetch latency from tftpd-hpa (in-kernel client, microseconds)")
        for f, v in lat.items():
            print(f"  {f:6} n={len(v):3} median {statistics.median(v):8.0f}  "
                  f"p10 {sorted(v)[len(v) // 10]:8d}  p90 {sorted(v)[len(v) * 9 // 10]:8d}")
        if "one" in lat and "b4096" in lat:
            r = statistics.median(lat["b4096"]) / statistics.median(lat["one"])
            print(f"  page / one-byte median ratio: {r:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
