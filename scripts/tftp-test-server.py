#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A small read-only TFTP server (RFC 1350 + blksize) for failure tests.

It serves files from ROOT on 127.0.0.1:PORT like any server, and misbehaves
when the requested name starts with a directive:

  die-after-N/FILE   send N blocks of FILE, then fall silent for this
                     transfer, as a server that died mid-transfer; the next
                     request is served normally again ("it came back").
  stranger/FILE      serve FILE, but after block 2 also send a DATA packet
                     to the client from another port (a wrong transfer ID);
                     the client must answer it with ERROR 5 and carry on.
  late/FILE          serve FILE, and keep the transfer's port: if the same
                     client port asks again within 5 s, first send it a
                     last DATA block 1 from that old port (a block sent
                     again late), then serve the new request; a client
                     that keeps its socket must refuse it (ERROR 5).

With --die-after PATTERN:N the server dies for good once it sent N
blocks of the files whose path under ROOT (asked for without a
directive) matches PATTERN (fnmatch: a file name, or a glob for the
blocks of several files and transfers together): it sends nothing more,
for that transfer or any other, as a server that crashed or lost its
network in the middle of a transfer (the failover tests).

Each transfer runs in its own thread and ends after 10 s without an ACK;
the server itself exits after --lifetime seconds (default 3600).
"""

import argparse
import fnmatch
import os
import socket
import struct
import threading
import time

OP_RRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 3, 4, 5, 6


def log(*args):
    print(*args, flush=True)


def error(code, msg):
    return struct.pack("!HH", OP_ERROR, code) + msg.encode() + b"\0"


class Late:
    """A late/ transfer to a client: its socket once it ended."""

    def __init__(self):
        self.done = threading.Event()
        self.sock = None
        self.end = 0.0


# Set once the server "died" (--die-after): nothing is sent any more.
DEAD = threading.Event()
# --die-after PATTERN:N as (PATTERN, N), or None, and the blocks sent of
# the files it matches.
DIE_AFTER = None
# The address the server and its transfers' sockets are bound to.
ADDRESS = "127.0.0.1"
DIE_SENT = [0]
DIE_LOCK = threading.Lock()

# The last late/ transfer of each client address.
LATE = {}
LATE_LOCK = threading.Lock()


def send_late_block(client):
    """Sends a late DATA block 1 from @client's last late/ transfer's port.

    The client may ask again before that transfer saw the final ACK: wait
    for it to end.
    """
    with LATE_LOCK:
        late = LATE.pop(client, None)
    if late is None or not late.done.wait(5) or late.sock is None:
        return
    sock = late.sock
    if time.monotonic() - late.end < 5:
        sock.settimeout(0.2)
        sock.sendto(struct.pack("!HH", OP_DATA, 1) + b"late", client)
        try:
            reply, _ = sock.recvfrom(1024)
            op, code = struct.unpack("!HH", reply[:4])
            log(f"late block: got opcode {op} code {code}")
        except socket.timeout:
            log("late block: no answer")
    sock.close()


def transfer(root, client, name, options):
    send_late_block(client)
    late = None
    if name.startswith("late/"):
        name = name[len("late/"):]
        late = Late()
        with LATE_LOCK:
            LATE[client] = late
    try:
        serve(root, client, name, options, late)
    finally:
        if late is not None:
            late.done.set()


def serve(root, client, name, options, late):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ADDRESS, 0))
    sock.settimeout(1.0)
    die_after = None
    stranger = False
    if name.startswith("die-after-"):
        head, _, name = name.partition("/")
        die_after = int(head[len("die-after-"):])
    elif name.startswith("stranger/"):
        stranger = True
        name = name[len("stranger/"):]
    path = os.path.realpath(os.path.join(root, name))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        sock.sendto(error(1, "File not found"), client)
        return
    data = open(path, "rb").read()
    blksize = 512
    if "blksize" in options:
        blksize = max(8, min(int(options["blksize"]), 65464))
        # Negotiate: OACK, wait for ACK 0.
        oack = struct.pack("!H", OP_OACK) + b"blksize\0" + str(blksize).encode() + b"\0"
        if not send_until_ack(sock, client, oack, 0):
            return
    block = 1
    while True:
        chunk = data[(block - 1) * blksize:block * blksize]
        if die_after is not None and block > die_after:
            log(f"{name}: dying after {die_after} blocks")
            return
        if DIE_AFTER is not None and fnmatch.fnmatchcase(name, DIE_AFTER[0]):
            with DIE_LOCK:
                if DIE_SENT[0] >= DIE_AFTER[1] and not DEAD.is_set():
                    log(f"{name}: sent {DIE_AFTER[1]} blocks of {DIE_AFTER[0]}, "
                        "the server dies now")
                    DEAD.set()
                DIE_SENT[0] += 1
        if DEAD.is_set():
            return
        pkt = struct.pack("!HH", OP_DATA, block & 0xFFFF) + chunk
        if stranger and block == 3:
            intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            intruder.bind((ADDRESS, 0))
            intruder.settimeout(2.0)
            intruder.sendto(struct.pack("!HH", OP_DATA, 3) + b"intruder", client)
            try:
                reply, _ = intruder.recvfrom(1024)
                code = struct.unpack("!HH", reply[:4])
                log(f"{name}: stranger got opcode {code[0]} code {code[1]}")
            except socket.timeout:
                log(f"{name}: stranger got no answer")
            intruder.close()
        if not send_until_ack(sock, client, pkt, block & 0xFFFF):
            return
        if len(chunk) < blksize:
            log(f"{name}: sent {len(data)} bytes")
            if late is not None:
                late.sock, late.end = sock, time.monotonic()
            return
        block += 1


def send_until_ack(sock, client, pkt, block):
    for _ in range(10):
        if DEAD.is_set():
            return False
        sock.sendto(pkt, client)
        try:
            while True:
                reply, addr = sock.recvfrom(65536)
                if addr != client or len(reply) < 4:
                    continue
                op, num = struct.unpack("!HH", reply[:4])
                if op == OP_ACK and num == block:
                    return True
                if op == OP_ERROR:
                    return False
        except socket.timeout:
            continue
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", default="127.0.0.1",
                    help="the address to serve on (127.0.0.1 by default)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lifetime", type=float, default=3600)
    ap.add_argument("--die-after", metavar="PATTERN:N",
                    help="die for good after N blocks of the files PATTERN matches")
    ap.add_argument("root")
    args = ap.parse_args()
    if args.die_after:
        global DIE_AFTER
        path, _, n = args.die_after.rpartition(":")
        DIE_AFTER = (path, int(n))
    global ADDRESS
    ADDRESS = args.address
    root = os.path.realpath(args.root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.address, args.port))
    log(f"serving {root} on {args.address}:{args.port}")
    end = time.monotonic() + args.lifetime
    sock.settimeout(1.0)
    while time.monotonic() < end:
        try:
            pkt, client = sock.recvfrom(65536)
        except socket.timeout:
            continue
        if len(pkt) < 4 or struct.unpack("!H", pkt[:2])[0] != OP_RRQ:
            continue
        if DEAD.is_set():
            log("request ignored: the server is dead")
            continue
        fields = pkt[2:].split(b"\0")
        name = fields[0].decode(errors="replace")
        opts = {}
        for i in range(2, len(fields) - 1, 2):
            opts[fields[i].decode().lower()] = fields[i + 1].decode()
        log(f"RRQ {name} {opts} from {client}")
        threading.Thread(target=transfer, args=(root, client, name, opts),
                         daemon=True).start()


if __name__ == "__main__":
    main()
