#!/usr/bin/env python3
"""Live check of the eBPF SYN responder on a real TAP device (run by scripts/live-bpf-synr.mjs).

Runs inside a network namespace and a mount namespace of its own (the caller's
`ip netns exec`): creates TAP device synr0 (this process holds it, as the
stack would), loads the program and its maps into a private bpffs, attaches it
at synr0's tcx egress (BPF_LINK_CREATE, BPF_TCX_EGRESS), and then:

1. writes a SYN to 10.0.0.2:80 through an AF_PACKET socket on synr0 (as the
   bench's flood sender does): the program must answer it in the sender's
   context; the SYN-ACK is seen coming IN on synr0 (a packet socket), the SYN
   never reaches the TAP's reader, and the namespace's TCP answers the
   unexpected SYN-ACK with a RST, which the reader does get;
2. connects a kernel TCP socket to 10.0.0.2:80: its SYN carries a partial
   checksum (CHECKSUM_PARTIAL) at egress, so the program passes it on (counted)
   and the reader gets it.

SYNR_ATTACH=clsact in the environment attaches it as a legacy clsact egress
filter (direct action) instead, as on kernels before 6.6.

argv: path of the .o, frame template (hex; bytes 6..11, the source MAC, are
replaced with synr0's). Prints one JSON object for the caller to compare with
the native responder's answer.
"""
import ctypes
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

OBJ, TEMPLATE = sys.argv[1], bytes.fromhex(sys.argv[2])
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
NR_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
BPF_OBJ_GET, BPF_LINK_CREATE, BPF_TCX_EGRESS = 7, 28, 47
libc = ctypes.CDLL(None, use_errno=True)


def run(*args):
    subprocess.run(args, check=True, capture_output=True)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(NR_BPF, cmd, buf, 128)
    if r < 0:
        raise OSError(ctypes.get_errno(), f"bpf({cmd}) failed")
    return r


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)  # bpf_ktime_get_ns's clock


def cfg_bytes(until_ns):
    key = (0x01234567, 0x89ABCDEF, 0xFEDCBA98, 0x76543210)
    secret = (0x0BADF00D, 0x31415926, 0x27182818, 0xDEADBEEF)
    head = struct.pack("<4I4I4III QQ", 1, 1, 64, 7, *key, *secret, 1, 0, 0, 0)
    entry = struct.pack("<6IQ", 0x0A000002, 80, 1460, 64240, 7, 0, until_ns)
    return head + entry + bytes(32 * 7)


def stats(maps):
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", f"{maps}/synr_stats", "key", "0", "0", "0", "0"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["formatted"]["value"]


def read_all(fd, seconds):
    frames, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            continue
        try:
            frames.append(os.read(fd, 2048))
        except BlockingIOError:
            pass
    return frames


def tcp_of(f):
    """(src, dst, sport, dport, flags, seq, ack) of an IPv4/TCP frame, else None."""
    if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != 6:
        return None
    ihl = (f[14] & 15) * 4
    t = 14 + ihl
    sport, dport, seq, ack = struct.unpack("!HHII", f[t:t + 12])
    return socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34]), sport, dport, f[t + 13], seq, ack


tmp = tempfile.mkdtemp(prefix="synr-live-")
fs = f"{tmp}/fs"
os.mkdir(fs)
run("mount", "-t", "bpf", "bpf", fs)
tap = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
result = {}
try:
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", b"synr0", IFF_TAP | IFF_NO_PI))
    run("ip", "link", "set", "lo", "up")
    run("ip", "link", "set", "synr0", "up")
    run("ip", "addr", "add", "10.0.0.1/24", "dev", "synr0")
    run("ip", "neigh", "replace", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "synr0", "nud", "permanent")
    ifindex = socket.if_nametoindex("synr0")
    mac = bytes.fromhex(open("/sys/class/net/synr0/address").read().strip().replace(":", ""))

    run("bpftool", "prog", "load", OBJ, f"{fs}/prog", "type", "classifier", "pinmaps", f"{fs}/maps")
    until = now_ns() + 60 * 10**9
    run("bpftool", "map", "update", "pinned", f"{fs}/maps/synr_cfg", "key", "0", "0", "0", "0", "value", "hex",
        *[f"{b:02x}" for b in cfg_bytes(until)])
    path = ctypes.create_string_buffer(f"{fs}/prog".encode())
    prog_fd = bpf(BPF_OBJ_GET, struct.pack("<QII", ctypes.addressof(path), 0, 0))
    link_fd = -1
    if os.environ.get("SYNR_ATTACH") == "clsact":
        # Kernels before 6.6: a legacy clsact egress filter in direct-action mode (-1 is TC_ACT_UNSPEC there).
        run("tc", "qdisc", "add", "dev", "synr0", "clsact")
        run("tc", "filter", "add", "dev", "synr0", "egress", "bpf", "object-pinned", f"{fs}/prog", "da")
        result["attached"] = "clsact"
    else:
        link_fd = bpf(BPF_LINK_CREATE, struct.pack("<IIII", prog_fd, ifindex, BPF_TCX_EGRESS, 0))
        result["attached"] = "tcx"
    time.sleep(0.2)
    read_all(tap, 0.3)  # router solicitations and the like, from bringing the link up

    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    cap.bind(("synr0", 0))
    cap.setblocking(False)
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind(("synr0", 0))
    frame = TEMPLATE[:6] + mac + TEMPLATE[12:]
    s0 = stats(f"{fs}/maps")
    t0 = now_ns()
    tx.send(frame)
    t1 = now_ns()
    result.update(frame=frame.hex(), t0=str(t0), t1=str(t1))
    seen = read_all(tap, 0.5)
    incoming = []
    while True:
        try:
            data, addr = cap.recvfrom(2048)
        except BlockingIOError:
            break
        incoming.append((data, addr[2]))
    s1 = stats(f"{fs}/maps")
    result["answered"] = s1["answered"] - s0["answered"]
    result["synack_in"] = [d.hex() for d, pkttype in incoming if pkttype != socket.PACKET_OUTGOING
                           and tcp_of(d) is not None and tcp_of(d)[4] & 0x12 == 0x12]
    result["syn_at_tap"] = sum(1 for f in seen if tcp_of(f) is not None and tcp_of(f)[4] & 0x17 == 0x02)
    result["rst_at_tap"] = [list(tcp_of(f)) for f in seen if tcp_of(f) is not None and tcp_of(f)[4] & 0x04]

    # A kernel socket's SYN: partial checksum at egress, passed on (counted), read by the TAP's reader.
    s1 = stats(f"{fs}/maps")
    k = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    k.setblocking(False)
    try:
        k.connect(("10.0.0.2", 80))
    except BlockingIOError:
        pass
    seen = read_all(tap, 0.5)
    k.close()
    s2 = stats(f"{fs}/maps")
    result["kernel_syn_at_tap"] = sum(1 for f in seen if tcp_of(f) is not None and tcp_of(f)[4] & 0x17 == 0x02
                                      and tcp_of(f)[3] == 80)
    result["kernel_passed"] = s2["passed"] - s1["passed"]
    result["kernel_answered"] = s2["answered"] - s1["answered"]
    if link_fd >= 0:
        os.close(link_fd)
    os.close(prog_fd)
finally:
    os.close(tap)
    subprocess.run(["umount", fs])
    os.rmdir(fs)
    os.rmdir(tmp)
print(json.dumps(result))
