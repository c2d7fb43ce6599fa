#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Talk to the test workload in a guest through a QEMU host forward.

workload-client.py PORT ACTION... (or HOST:PORT, a workload reached
directly, as in the diskless lab of scripts/lab/) runs each ACTION in order and prints one
`key=value` line per result; exit status 1 if any check failed:

  wait-ready SECS  poll until `ready` answers `ok` (at most SECS: the
                   first page and the workload's hot set, --hot-mib);
                   prints ready_s, the time from the start of this script
                   (the harness starts it with QEMU) to the first correct
                   answer, and ready_at, that answer's wall-clock time
                   (seconds since the epoch: for a harness that timed
                   QEMU's start itself, as scripts/lab/lab-bench.sh).  Each attempt waits READY_POLL_S for its answer:
                   QEMU's host forward accepts at once and a SYN it sends
                   while the guest's network is not up yet is lost, so a
                   long wait would only measure slirp's retransmission.
                   A new attempt starts every READY_STEP_S, overlapping
                   the ones still waiting, so that the time is known to
                   READY_STEP_S rather than to a whole attempt.
  wait-ready SECS POLL_S  the same, each attempt waiting POLL_S for its
                   answer: for a workload whose readiness answer takes
                   longer than READY_POLL_S (a hot set, --hot-mib); the
                   attempts still waiting when one is answered close, and
                   the workload skips them
  whoami           prints mac= and addr= as the workload sees them
  expect-mac MAC   the last whoami's MAC must be MAC
  expect-addr A    the last whoami's address must be A
  read N MIB       N reads of 4 KiB at pseudo-random offsets of the MIB
                   MiB the workload holds, all `ok`
  verify SECS      every byte checked (at most SECS)
  verify-dies SECS a verify must end without an answer within SECS (the
                   workload was killed while it ran)
  quit             the workload exits
  expect-dead SECS the workload must stop answering within SECS (it was
                   killed)
"""

import random
import socket
import sys
import threading
import time

START = time.monotonic()
# How long one wait-ready attempt waits for its answer (see above).  A
# ready workload answers in milliseconds; a slower first answer (faults
# on a debug kernel) is retried, and each attempt's faults stay served.
READY_POLL_S = 0.5
# How often a wait-ready attempt starts (see above).
READY_STEP_S = 0.1


def request(addr, line, timeout):
    """Sends one request line to (host, port), returns the answer line (or None)."""
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(line.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    return None
                buf += chunk
            return buf.decode().strip()
    except OSError:
        return None


def ask_until(addr, line, timeout, done):
    """request(), but gives up (closing the connection) as soon as `done`
    is set."""
    end = time.monotonic() + timeout
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.sendall(line.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                left = end - time.monotonic()
                if left <= 0 or done.is_set():
                    return None
                s.settimeout(min(left, READY_STEP_S))
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    return None
                buf += chunk
            return buf.decode().strip()
    except OSError:
        return None


def wait_ready(port, limit, poll_s=READY_POLL_S):
    """Starts an attempt every READY_STEP_S until one is answered `ok` or
    `limit` seconds from START have passed; returns (ready_s or None, the
    last answer)."""
    lock = threading.Lock()
    done = threading.Event()
    state = {"ready": None, "last": None, "at": None}

    def attempt():
        answer = ask_until(port, "ready", poll_s, done)
        with lock:
            state["last"] = answer
            if answer == "ok" and state["ready"] is None:
                state["ready"] = time.monotonic() - START
                state["at"] = time.time()
                done.set()

    while time.monotonic() - START < limit and not done.is_set():
        threading.Thread(target=attempt, daemon=True).start()
        done.wait(READY_STEP_S)
    # Attempts still in flight end within READY_POLL_S (at once if one
    # was answered).
    done.wait(min(poll_s, READY_POLL_S))
    with lock:
        return state["ready"], state["last"], state["at"]


def main():
    host, _, num = sys.argv[1].rpartition(":")
    port = (host or "127.0.0.1", int(num))
    args = sys.argv[2:]
    ok = True
    who = {}
    while args:
        action, args = args[0], args[1:]
        if action == "wait-ready":
            limit, args = float(args[0]), args[1:]
            poll_s = READY_POLL_S
            if args and args[0].replace(".", "", 1).isdigit():
                poll_s, args = float(args[0]), args[1:]
            ready, last, at = wait_ready(port, limit, poll_s)
            if ready is not None:
                print(f"ready_s={ready:.2f}")
                print(f"ready_at={at:.3f}")
            else:
                print(f"ready=timeout last={last}")
                return 1
        elif action == "whoami":
            answer = request(port, "whoami", 60) or ""
            who = dict(kv.split("=", 1) for kv in answer.split() if "=" in kv)
            print(f"whoami={answer}")
        elif action == "expect-mac":
            want, args = args[0], args[1:]
            if who.get("mac") != want:
                print(f"FAIL mac={who.get('mac')} expected={want}")
                ok = False
        elif action == "expect-addr":
            want, args = args[0], args[1:]
            if who.get("addr") != want:
                print(f"FAIL addr={who.get('addr')} expected={want}")
                ok = False
        elif action == "read":
            n, mib, args = int(args[0]), int(args[1]), args[2:]
            rng = random.Random(n)
            bad = 0
            for _ in range(n):
                off = rng.randrange(0, mib << 20, 4096)
                answer = request(port, f"read {off} 4096", 60)
                if answer != "ok":
                    bad += 1
                    print(f"FAIL read {off}: {answer}")
            print(f"reads={n} bad={bad}")
            ok = ok and bad == 0
        elif action == "verify":
            limit, args = float(args[0]), args[1:]
            t = time.monotonic()
            answer = request(port, "verify", limit)
            print(f"verify={answer} verify_s={time.monotonic() - t:.2f}")
            ok = ok and answer is not None and answer.startswith("ok ")
        elif action == "verify-dies":
            limit, args = float(args[0]), args[1:]
            t = time.monotonic()
            answer = request(port, "verify", limit)
            died = answer is None and time.monotonic() - t < limit
            print(f"verify={answer} verify_s={time.monotonic() - t:.2f} died={died}")
            ok = ok and died
        elif action == "quit":
            answer = request(port, "quit", 30)
            print(f"quit={answer}")
            ok = ok and answer == "bye"
        elif action == "expect-dead":
            limit, args = float(args[0]), args[1:]
            answer = request(port, "ping", limit)
            print(f"after-kill ping={answer}")
            ok = ok and answer is None
        else:
            print(f"unknown action {action}")
            return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
