#!/usr/bin/python3
"""
Numbered test frames on a TAP device's Linux side, for test/link/tap-uring.test.ts.

  tap-frames.py send IFACE N     write frames 0..N-1 to IFACE (AF_PACKET) as fast as it goes; prints {"sent": N}
  tap-frames.py recv IFACE N S   capture frames of the test EtherType on IFACE until N came or S seconds
                                 passed (prints "ready" on stderr once listening); prints
                                 {"frames": [[seq, ok], ...]}: each one's number and whether it equals frame(seq)

Frame i (the same function as frameFor in the test): broadcast destination, source 02:00:00:00:00:01,
EtherType 0x88b5 (local experimental), the number i (32 bits, big-endian), then bytes (i + k) & 0xff up to
60 + (i * 37) % 1455 bytes in all.
"""
import json
import select
import socket
import struct
import sys
import time

ETHERTYPE = 0x88b5


def frame(i):
    n = 60 + (i * 37) % 1455
    head = b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01' + struct.pack('!HI', ETHERTYPE, i)
    return head + bytes((i + k) & 0xff for k in range(len(head), n))


mode, iface, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == 'send':
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    frames = [frame(i) for i in range(n)]
    sent = 0
    for f in frames:
        while True:
            try:
                s.send(f)
                sent += 1
                break
            except BlockingIOError:
                time.sleep(0.0001)
            except OSError:
                break  # ENOBUFS: counted by the caller as not sent
    print(json.dumps({'sent': sent}), flush=True)
else:
    seconds = float(sys.argv[4])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: the burst must not overflow the capture
    s.bind((iface, 0))
    print('ready', flush=True, file=sys.stderr)
    out = []
    end = time.monotonic() + seconds
    while len(out) < n:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        f = s.recv(65536)
        if len(f) < 18:
            continue
        seq = struct.unpack('!I', f[14:18])[0]
        out.append([seq, f == frame(seq)])
    print(json.dumps({'frames': out}), flush=True)
