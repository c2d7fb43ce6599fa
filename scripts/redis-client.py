#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Talk to redis in a guest through a QEMU host forward, with the host's
redis-cli (scripts/bench-app.sh).

redis-client.py PORT ACTION... runs each ACTION in order and prints one
`key=value` line per result; exit status 1 if any check failed.  The data
set is the one bench/redis_fill.c writes: keys lr:00000000 upwards with
values of pseudo-random characters, computed here too.

  wait-ready KEY BYTES SECS  poll until `GET lr:KEY` answers the expected
                   value of BYTES bytes (at most SECS); prints ready_s, the
                   time from the start of this script (the harness starts
                   it with QEMU) to the first correct answer.  As in
                   workload-client.py, an attempt starts every READY_STEP_S
                   and waits READY_POLL_S for its answer.
  digest EXPECTED SECS  `DEBUG DIGEST` (redis hashes every key and every
                   value: it reads every byte of the data set, in the
                   guest); prints digest_s; the digest must be EXPECTED
  scan KEYS BYTES SECS  a client's full scan: `redis-cli --scan` lists the
                   keys, then every value is read with GET through one
                   redis-cli; prints scan_s (listing and reading); then,
                   outside the time, there must be KEYS keys and every
                   value must be the expected one of BYTES bytes
  quit             SHUTDOWN NOSAVE: redis exits, the guest judges its log
"""

import subprocess
import sys
import threading
import time

START = time.monotonic()
READY_POLL_S = 0.5
READY_STEP_S = 0.1
SEED = 0x6C617A79726573
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MASK = (1 << 64) - 1
# Byte b stands for the character ALPHABET[b & 63].
TABLE = bytes(ALPHABET[b & 63] for b in range(256))


def value(key, nbytes):
    """The value of key number `key` (bench/redis_fill.c)."""
    s = (SEED + (key << 32)) & MASK
    out = bytearray()
    for _ in range(0, nbytes, 8):
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out += z.to_bytes(8, "little")
    return bytes(out[:nbytes]).translate(TABLE)


def cli(port, args, timeout, stdin=None):
    """Runs the host's redis-cli; returns its stdout (bytes) or None."""
    try:
        p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + args,
                           input=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    return p.stdout if p.returncode == 0 else None


def wait_ready(port, key, want, limit):
    lock = threading.Lock()
    done = threading.Event()
    state = {"ready": None, "last": None}

    def attempt():
        answer = cli(port, ["GET", f"lr:{key:08d}"], READY_POLL_S)
        with lock:
            state["last"] = answer
            if answer is not None and answer.rstrip(b"\n") == want and state["ready"] is None:
                state["ready"] = time.monotonic() - START
                done.set()

    while time.monotonic() - START < limit and not done.is_set():
        threading.Thread(target=attempt, daemon=True).start()
        done.wait(READY_STEP_S)
    done.wait(READY_POLL_S)
    with lock:
        return state["ready"], state["last"]


def main():
    port = int(sys.argv[1])
    args = sys.argv[2:]
    ok = True
    while args:
        action, args = args[0], args[1:]
        if action == "wait-ready":
            key, nbytes, limit, args = int(args[0]), int(args[1]), float(args[2]), args[3:]
            ready, last = wait_ready(port, key, value(key, nbytes), limit)
            if ready is None:
                print(f"ready=timeout last={(last or b'')[:60]!r}")
                return 1
            print(f"ready_s={ready:.2f}")
        elif action == "digest":
            want, limit, args = args[0], float(args[1]), args[2:]
            t = time.monotonic()
            answer = cli(port, ["DEBUG", "DIGEST"], limit)
            took = time.monotonic() - t
            got = (answer or b"").decode(errors="replace").strip()
            print(f"digest={'ok' if got == want else 'FAIL'} {got} digest_s={took:.2f}")
            ok = ok and got == want
        elif action == "scan":
            keys, nbytes, limit, args = int(args[0]), int(args[1]), float(args[2]), args[3:]
            t = time.monotonic()
            listing = cli(port, ["--scan"], limit) or b""
            names = listing.split()
            values = cli(port, [], limit, stdin=b"".join(b"GET " + n + b"\n" for n in names))
            took = time.monotonic() - t
            lines = (values or b"").split(b"\n")
            bad = 0
            for n, v in zip(names, lines):
                if not n.startswith(b"lr:") or v != value(int(n[3:]), nbytes):
                    bad += 1
            bad += abs(len(names) - keys) + max(0, len(names) - len(lines))
            print(f"scan={'ok' if bad == 0 else 'FAIL'} keys={len(names)} bad={bad} scan_s={took:.2f}")
            ok = ok and bad == 0
        elif action == "quit":
            answer = cli(port, ["SHUTDOWN", "NOSAVE"], 30)
            print(f"quit={'ok' if answer is not None else 'FAIL'}")
        else:
            print(f"unknown action {action}")
            return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
