#!/usr/bin/python3
"""
SYN flood from spoofed sources for the TAP tests and the benchmark.

The frames are built once with scapy (distinct random sources in --src,
random ports and sequence numbers, the SYN options a Linux client sends) and
then written in a loop to an AF_PACKET socket bound to IFACE: scapy's own
sendp() is far too slow for a flood. With --rate 0 it sends as fast as this
loop goes. Stops after --seconds or on SIGTERM/SIGINT and prints one JSON
line: {"sent": N, "seconds": S, "rate": N/S, "frames": distinct frames}.

IPv4 or IPv6 by DST_IP's form. The default sources are prefixes set aside
for documentation and benchmarks, which the namespace's Linux does not
forward (so the SYN-ACKs to them end there): 198.18.0.0/15 (RFC 2544) for
IPv4, 2001:db8::/32 (RFC 3849) for IPv6. An IPv6 SYN is what a Linux client
sends (RFC 8200 header, hop limit 64, a flow label per flow as Linux's
auto_flowlabels, RFC 6437) with MSS 1440 (1500 less 40 + 20, RFC 8200
section 5: no IPv6 fragments, so no 1460) and a window of 45 such segments,
64800 (Linux rounds 65535 down to the MSS: 64240 = 44 x 1460 over IPv4).

usage: syn-flood.py IFACE DST_MAC DST_IP DPORT [--src CIDR] [--rate PPS] [--seconds S] [--frames N]
"""
import argparse
import ipaddress
import json
import random
import signal
import socket
import sys
import time

from scapy.all import Ether, IP, IPv6, TCP, get_if_hwaddr, raw  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('iface')
p.add_argument('dst_mac')
p.add_argument('dst_ip')
p.add_argument('dport', type=int)
p.add_argument('--src', default=None)
p.add_argument('--rate', type=float, default=0.0)
p.add_argument('--seconds', type=float, default=10.0)
p.add_argument('--frames', type=int, default=4096)
a = p.parse_args()

v6 = ipaddress.ip_address(a.dst_ip).version == 6
net = ipaddress.ip_network(a.src if a.src is not None else '2001:db8::/32' if v6 else '198.18.0.0/15')
if (net.version == 6) != v6:
    sys.exit(f'--src {net} is not of the family of {a.dst_ip}')
mss, window = (1440, 64800) if v6 else (1460, 64240)
rnd = random.Random(1)
src_mac = get_if_hwaddr(a.iface)
frames = []
for i in range(a.frames):
    src = str(net.network_address + rnd.randrange(1, net.num_addresses - 1))
    l3 = (IPv6(src=src, dst=a.dst_ip, hlim=64, fl=rnd.randrange(1, 1 << 20)) if v6
          else IP(src=src, dst=a.dst_ip, id=rnd.randrange(65536), ttl=64))
    pkt = (Ether(src=src_mac, dst=a.dst_mac)
           / l3
           / TCP(sport=rnd.randrange(1024, 65536), dport=a.dport, flags='S', seq=rnd.randrange(1 << 32), window=window,
                 options=[('MSS', mss), ('SAckOK', b''), ('Timestamp', (rnd.randrange(1 << 32), 0)), ('NOP', None), ('WScale', 7)]))
    frames.append(raw(pkt))

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((a.iface, 0))
stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
print('ready', flush=True, file=sys.stderr)
sent = 0
start = time.monotonic()
deadline = start + a.seconds
n = len(frames)
batch = 32
i = 0
while not stop:
    for _ in range(batch):
        try:
            s.send(frames[i])
            sent += 1
        except OSError:
            pass  # ENOBUFS: the device queue is full; the flood goes on
        i += 1
        if i == n:
            i = 0
    now = time.monotonic()
    if now >= deadline:
        break
    if a.rate > 0:
        ahead = sent / a.rate - (now - start)
        if ahead > 0:
            time.sleep(ahead)
elapsed = time.monotonic() - start
print(json.dumps({'sent': sent, 'seconds': round(elapsed, 3), 'rate': round(sent / elapsed) if elapsed > 0 else 0, 'frames': n}), flush=True)
