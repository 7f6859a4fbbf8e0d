/**
 * ESP interop with independent implementations:
 * - scapy's ESP (Debian's python3-scapy, /usr/bin/python3) in a network
 *   namespace this test creates and removes, talking transport-mode ESP to a
 *   wirestack stack on a TAP device: ICMP echo, UDP and a TCP exchange, each
 *   started from either side (scapy crafts the TCP segments itself: the
 *   kernel has no part in ESP here). Linux side 10.83.0.1, stack 10.83.0.2.
 * - tshark decrypts pcaps of wirestack ESP sessions (two stacks on a
 *   MemoryLink, 10.83.1.x) given the keys, checks every ICV and dissects the
 *   inner ICMP/UDP/TCP with no malformed packets or expert errors; the TCP
 *   stream it reassembles is byte-exact.
 * Everything runs in the namespace or in this process; no other address is used.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, TapLink, MemoryLink, Simulation, PcapWriter } from '../../src/index.js';
import type { AlgorithmSpec } from '../../src/ipsec/algorithms.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { pattern } from '../ipsec/helpers.js';

const PY = '/usr/bin/python3';
const REPO = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/interop -> repo root
const LINUX_IP = '10.83.0.1';
const STACK_IP = '10.83.0.2';

/** Fails (does not skip) when scapy is missing: this suite is the independent check of ESP. */
function requireScapy(): void {
  try {
    execFileSync(PY, ['-c', 'from scapy.layers.ipsec import SecurityAssociation, ESP'], { stdio: 'pipe', timeout: 60_000 });
  } catch (err) {
    throw new Error(`python3-scapy is required for the ESP interop test (apt-get install python3-scapy): ${String((err as Error).message).slice(0, 300)}`);
  }
}

// The scapy peer. argv: mode ('client' | 'server'), JSON config.
const PEER = String.raw`
import sys, json, time, queue
from scapy.all import conf, send, AsyncSniffer
from scapy.layers.inet import IP, ICMP, UDP, TCP
from scapy.packet import Raw
from scapy.layers.ipsec import SecurityAssociation, ESP
conf.verb = 0
mode, cfg = sys.argv[1], json.loads(sys.argv[2])
ME, PEER, IFACE = cfg['me'], cfg['peer'], cfg['iface']

def make_sa(s):
    kw = dict(spi=s['spi'])
    if s['suite'] == 'gcm':
        kw.update(crypt_algo='AES-GCM', crypt_key=bytes.fromhex(s['key']))
    elif s['suite'] == 'cbc':
        kw.update(crypt_algo='AES-CBC', crypt_key=bytes.fromhex(s['key']), auth_algo='SHA2-256-128', auth_key=bytes.fromhex(s['authKey']))
    else:
        kw.update(crypt_algo='NULL', auth_algo='HMAC-SHA1-96', auth_key=bytes.fromhex(s['authKey']))
    if s.get('encap'):
        kw['nat_t_header'] = UDP(sport=4500, dport=4500)
    if s.get('esn'):
        kw.update(esn_en=True, esn=0)
    return SecurityAssociation(ESP, **kw)

out_sa, in_sa = make_sa(cfg['out']), make_sa(cfg['in'])
q = queue.Queue()
stats = {'esp': 0, 'decryptErrors': 0}

def on_pkt(p):
    if IP not in p or p[IP].src != PEER or p[IP].dst != ME:
        return
    ip = p[IP]
    if ip.proto == 50 or (cfg['in'].get('encap') and UDP in ip and ip[UDP].dport == 4500):
        stats['esp'] += 1
        try:
            q.put(in_sa.decrypt(ip))
        except Exception as e:
            stats['decryptErrors'] += 1
            print('decrypt error: ' + repr(e), file=sys.stderr, flush=True)

seq = [0]
def tx(inner):
    seq[0] += 1
    e = out_sa.encrypt(IP(src=ME, dst=PEER) / inner, seq_num=seq[0])
    if cfg['out'].get('encap'):
        # scapy 2.5 leaves the NAT-T UDP length at 8 (computed before the ESP payload was attached): rebuild it.
        e[UDP].len = None
        e[IP].len = None
        e[IP].chksum = None
        e = IP(bytes(e))
    send(e)

def expect(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            p = q.get(timeout=max(0.01, end - time.time()))
        except queue.Empty:
            return None
        if pred(p):
            return p
    return None

sniffer = AsyncSniffer(iface=IFACE, prn=on_pkt, store=False)
sniffer.start()
time.sleep(0.7)
res = {}
if mode == 'client':
    data = b'scapy-esp-ping-' + bytes(range(41))
    tx(ICMP(type=8, id=0x77, seq=1) / Raw(data))
    r = expect(lambda p: ICMP in p and p[ICMP].type == 0 and p[ICMP].id == 0x77)
    res['icmp'] = r is not None and bytes(r[ICMP].payload) == data
    data = bytes((i * 7) & 255 for i in range(1000))
    tx(UDP(sport=40000, dport=7) / Raw(data))
    r = expect(lambda p: UDP in p and p[UDP].dport == 40000)
    res['udp'] = r is not None and bytes(r[UDP].payload) == data
    if cfg.get('tcp'):
        sport, snd = 40001, 1000
        tx(TCP(sport=sport, dport=7, flags='S', seq=snd, window=65535, options=[('MSS', 1300)]))
        sa = expect(lambda p: TCP in p and p[TCP].dport == sport and (int(p[TCP].flags) & 0x12) == 0x12)
        res['tcpHandshake'] = sa is not None
        if sa is not None:
            snd += 1
            rcv = sa[TCP].seq + 1
            tx(TCP(sport=sport, dport=7, flags='A', seq=snd, ack=rcv, window=65535))
            msg = b'hello wirestack, this is scapy over ESP. ' * 30
            for i in range(0, len(msg), 600):
                part = msg[i:i + 600]
                tx(TCP(sport=sport, dport=7, flags='PA', seq=snd, ack=rcv, window=65535) / Raw(part))
                snd += len(part)
            got = b''
            end = time.time() + 10
            while len(got) < len(msg) and time.time() < end:
                p = expect(lambda p: TCP in p and p[TCP].dport == sport, timeout=end - time.time())
                if p is None:
                    break
                pl = bytes(p[TCP].payload)
                if pl and p[TCP].seq == rcv:
                    got += pl
                    rcv += len(pl)
                    tx(TCP(sport=sport, dport=7, flags='A', seq=snd, ack=rcv, window=65535))
            res['tcpEcho'] = got == msg
            tx(TCP(sport=sport, dport=7, flags='FA', seq=snd, ack=rcv, window=65535))
            snd += 1
            fin = expect(lambda p: TCP in p and p[TCP].dport == sport and (int(p[TCP].flags) & 0x01) != 0)
            res['tcpClose'] = fin is not None
            if fin is not None:
                tx(TCP(sport=sport, dport=7, flags='A', seq=snd, ack=fin[TCP].seq + len(bytes(fin[TCP].payload)) + 1, window=65535))
else:
    print('ready', flush=True)
    done, tcp = set(), {}
    end = time.time() + cfg['duration']
    while time.time() < end and len(done) < cfg['expect']:
        try:
            p = q.get(timeout=0.2)
        except queue.Empty:
            continue
        if ICMP in p and p[ICMP].type == 8:
            tx(ICMP(type=0, id=p[ICMP].id, seq=p[ICMP].seq) / Raw(bytes(p[ICMP].payload)))
            done.add('icmp')
        elif UDP in p and p[UDP].dport == 9999:
            tx(UDP(sport=9999, dport=p[UDP].sport) / Raw(b'ACK:' + bytes(p[UDP].payload)))
            done.add('udp')
        elif TCP in p and p[TCP].dport == 8000:
            t = p[TCP]
            f = int(t.flags)
            if f & 0x02:
                tcp[t.sport] = {'snd': 5001, 'rcv': t.seq + 1}
                tx(TCP(sport=8000, dport=t.sport, flags='SA', seq=5000, ack=t.seq + 1, window=65535, options=[('MSS', 1300)]))
                continue
            st = tcp.get(t.sport)
            if st is None:
                continue
            pl = bytes(t.payload)
            if pl and t.seq == st['rcv']:
                st['rcv'] += len(pl)
                reply = pl.upper()
                tx(TCP(sport=8000, dport=t.sport, flags='PA', seq=st['snd'], ack=st['rcv'], window=65535) / Raw(reply))
                st['snd'] += len(reply)
            if f & 0x01:
                st['rcv'] = t.seq + len(pl) + 1
                tx(TCP(sport=8000, dport=t.sport, flags='FA', seq=st['snd'], ack=st['rcv'], window=65535))
                st['snd'] += 1
                done.add('tcp')
    res['served'] = sorted(done)
sniffer.stop()
res.update(stats)
print(json.dumps(res), flush=True)
`;

interface PeerSa { spi: number; suite: 'gcm' | 'cbc' | 'null'; key?: string; authKey?: string; encap?: boolean; esn?: boolean }
interface Variant { name: string; suite: PeerSa['suite']; tcp: boolean; encap?: boolean; esn?: boolean }

const VARIANTS: Variant[] = [
  { name: 'rfc4106(gcm(aes))', suite: 'gcm', tcp: true },
  { name: 'cbc(aes)+hmac(sha256)', suite: 'cbc', tcp: true },
  { name: 'null+hmac(sha1)', suite: 'null', tcp: false },
  { name: 'rfc4106(gcm(aes)) with ESN', suite: 'gcm', tcp: false, esn: true },
  { name: 'rfc4106(gcm(aes)) in UDP 4500', suite: 'gcm', tcp: false, encap: true },
];

const hexKey = (n: number, seed: number): string => Buffer.from(Array.from({ length: n }, (_, i) => (i * 53 + seed * 29 + 1) & 0xff)).toString('hex');

function keysFor(v: Variant, seed: number): { alg: AlgorithmSpec; peer: PeerSa } {
  const spi = seed === 1 ? 0x1001 : 0x2002;
  if (v.suite === 'gcm') {
    const key = hexKey(20, seed);
    return { alg: { aead: { name: 'rfc4106(gcm(aes))', key } }, peer: { spi, suite: 'gcm', key } };
  }
  if (v.suite === 'cbc') {
    const key = hexKey(16, seed);
    const authKey = hexKey(32, seed + 10);
    return { alg: { enc: { name: 'cbc(aes)', key }, auth: { name: 'hmac(sha256)', key: authKey } }, peer: { spi, suite: 'cbc', key, authKey } };
  }
  const authKey = hexKey(20, seed + 10);
  return { alg: { enc: { name: 'ecb(cipher_null)' }, auth: { name: 'hmac(sha1)', key: authKey } }, peer: { spi, suite: 'null', authKey } };
}

const missing = missingCapability();

describe('ESP against scapy in a network namespace (TAP)', () => {
  let ns: Netns | null = null;
  let link: TapLink | null = null;
  let stack: Stack | null = null;
  let dir = '';
  let script = '';
  const devName = `wse${process.pid % 100000}t`;

  before(() => {
    if (missing !== null) throw new Error(`the ESP interop test needs root and /dev/net/tun: ${missing}`);
    requireScapy();
    dir = mkdtempSync(join(tmpdir(), 'wst-esp-'));
    script = join(dir, 'esp_peer.py');
    writeFileSync(script, PEER);
    ns = Netns.create();
    link = TapLink.open(devName, { mtu: 1500 });
    link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
    stack = new Stack({ seed: 83 });
    stack.addInterface(link, { address: `${STACK_IP}/24` });
    stack.start();
    const echo = stack.net.createServer((s) => s.pipe(s));
    echo.listen(7);
    const udp = stack.dgram.createSocket('udp4');
    udp.on('message', (m, r) => udp.send(m, r.port, r.address));
    udp.bind(7);
  });

  after(() => {
    teardown(() => stack?.stop(), () => link?.close(), () => ns?.remove(),
      () => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });
  });

  function configure(v: Variant): { out: PeerSa; in: PeerSa } {
    const s = stack as Stack;
    s.ipsec.flush();
    const ab = keysFor(v, 1); // stack -> linux
    const ba = keysFor(v, 2); // linux -> stack
    const extra = { esn: v.esn === true, encap: v.encap === true };
    s.ipsec.addSa({ dir: 'out', spi: 0x1001, src: STACK_IP, dst: LINUX_IP, ...ab.alg, ...extra });
    s.ipsec.addSa({ dir: 'in', spi: 0x2002, src: LINUX_IP, dst: STACK_IP, ...ba.alg, ...extra });
    s.ipsec.addPolicy({ dir: 'both', src: STACK_IP, dst: LINUX_IP, action: 'protect' });
    return { out: { ...ba.peer, ...extra }, in: { ...ab.peer, ...extra } };
  }

  async function runPeer(mode: 'client' | 'server', cfg: object, during?: () => Promise<void>): Promise<Record<string, unknown>> {
    const child: ChildProcess = (ns as Netns).spawn(PY, [script, mode, JSON.stringify(cfg)]);
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      if (during !== undefined) {
        for (let i = 0; i < 300 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(out.includes('ready'), `scapy peer did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 300));
        await during();
      }
      const code = await exited;
      assert.equal(code, 0, `scapy peer failed (${code}): ${err}`);
    } finally {
      clearTimeout(killer);
    }
    const last = out.trim().split('\n').pop() ?? '';
    return JSON.parse(last) as Record<string, unknown>;
  }

  for (const v of VARIANTS) {
    it(`${v.name}: scapy pings, sends UDP${v.tcp ? ' and runs a TCP exchange' : ''} to wirestack`, { timeout: 90_000 }, async () => {
      const sas = configure(v);
      const before = { ...(stack as Stack).stats.ipsec };
      const res = await runPeer('client', { me: LINUX_IP, peer: STACK_IP, iface: devName, tcp: v.tcp, ...sas });
      const why = `${JSON.stringify(res)} stack: ${JSON.stringify((stack as Stack).stats.ipsec)} ${JSON.stringify((stack as Stack).stats.udp)}`;
      assert.equal(res.icmp, true, why);
      assert.equal(res.udp, true, why);
      if (v.tcp) {
        assert.equal(res.tcpHandshake, true, JSON.stringify(res));
        assert.equal(res.tcpEcho, true, JSON.stringify(res));
        assert.equal(res.tcpClose, true, JSON.stringify(res));
      }
      assert.equal(res.decryptErrors, 0);
      const st = (stack as Stack).stats.ipsec;
      assert.ok(st.delivered - before.delivered >= (v.tcp ? 6 : 2), JSON.stringify(st));
      assert.equal(st.authFailed + st.badPadding + st.badNextHeader + st.malformed + st.noSa, 0, JSON.stringify(st));
    });

    it(`${v.name}: wirestack pings, sends UDP${v.tcp ? ' and runs a TCP exchange' : ''} to scapy`, { timeout: 90_000 }, async () => {
      const sas = configure(v);
      const s = stack as Stack;
      const res = await runPeer('server', { me: LINUX_IP, peer: STACK_IP, iface: devName, duration: 30, expect: v.tcp ? 3 : 2, ...sas }, async () => {
        const rtt = await s.ping(LINUX_IP, { timeoutMs: 5000 });
        assert.ok(rtt >= 0);
        const sock = s.dgram.createSocket('udp4');
        const reply = new Promise<string>((resolve) => sock.on('message', (m) => resolve(m.toString())));
        sock.send('hello from wirestack', 9999, LINUX_IP);
        assert.equal(await Promise.race([reply, new Promise<string>((r) => setTimeout(() => r('timeout'), 5000))]), 'ACK:hello from wirestack');
        sock.close();
        if (v.tcp) {
          const c = s.net.connect(8000, LINUX_IP);
          let got = '';
          c.setEncoding('utf8');
          const closed = new Promise<void>((resolve, reject) => {
            c.on('data', (d: string) => { got += d; if (got.length >= 24) c.end(); });
            c.on('error', reject);
            c.on('close', () => resolve());
          });
          c.on('connect', () => c.write('wirestack tcp over esp!!'));
          await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error(`TCP to scapy timed out, got '${got}'`)), 15_000))]);
          assert.equal(got, 'WIRESTACK TCP OVER ESP!!');
        }
      });
      assert.deepEqual(res.served, v.tcp ? ['icmp', 'tcp', 'udp'] : ['icmp', 'udp']);
      assert.equal(res.decryptErrors, 0);
      assert.ok((res.esp as number) >= (v.tcp ? 5 : 2));
    });
  }

  it('wirestack tap --esp FILE: the CLI loads SAs and policies; scapy pings it and runs UDP and TCP echo through it', { timeout: 90_000 }, async () => {
    const cliDev = `wsc${process.pid % 100000}t`;
    const v = VARIANTS[1];
    const ab = keysFor(v, 1);
    const ba = keysFor(v, 2);
    const file = join(dir, 'esp.json');
    writeFileSync(file, JSON.stringify({
      sa: [
        { dir: 'out', spi: '0x1001', src: '10.83.2.2', dst: '10.83.2.1', ...ab.alg },
        { dir: 'in', spi: '0x2002', src: '10.83.2.1', dst: '10.83.2.2', ...ba.alg },
      ],
      policy: [{ dir: 'both', src: '10.83.2.2', dst: '10.83.2.1', action: 'protect' }],
    }, null, 2));
    const cli = spawn(process.execPath, [join(REPO, 'bin/wirestack.js'), 'tap', '--dev', cliDev, '--address', '10.83.2.2/24',
      '--netns', (ns as Netns).name, '--host-address', '10.83.2.1/24', '--echo', '7', '--esp', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Array<Record<string, unknown>> = [];
    let stderr = '';
    let rest = '';
    cli.stdout.setEncoding('utf8').on('data', (s: string) => {
      const lines = (rest + s).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as Record<string, unknown>);
    });
    cli.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !events.some((e) => e.event === 'ready'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(events.some((e) => e.event === 'ready'), `CLI not ready: ${stderr} ${JSON.stringify(events)}`);
      assert.deepEqual(events.find((e) => e.event === 'esp'), { event: 'esp', file, sa: 2, policy: 2 });
      const res = await runPeer('client', { me: '10.83.2.1', peer: '10.83.2.2', iface: cliDev, tcp: true,
        out: { ...ba.peer }, in: { ...ab.peer } });
      assert.deepEqual([res.icmp, res.udp, res.tcpHandshake, res.tcpEcho, res.tcpClose], [true, true, true, true, true], JSON.stringify(res));
      assert.equal(res.decryptErrors, 0);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]);
      if (code === 'timeout') cli.kill('SIGKILL');
      assert.equal(code, 0, stderr);
    }
  });
});

/** tshark's ESP SA table entry for one direction. */
function uat(src: string, dst: string, spi: number, alg: AlgorithmSpec): string {
  const q = (s: string): string => `"${s}"`;
  let enc = 'NULL';
  let encKey = '';
  let auth = 'NULL';
  let authKey = '';
  if (alg.aead !== undefined) {
    enc = 'AES-GCM with 16 octet ICV [RFC4106]';
    encKey = `0x${alg.aead.key}`;
  } else {
    if (alg.enc?.name === 'cbc(aes)') {
      enc = 'AES-CBC [RFC3602]';
      encKey = `0x${alg.enc.key}`;
    }
    auth = alg.auth?.name === 'hmac(sha1)' ? 'HMAC-SHA-1-96 [RFC2404]' : 'HMAC-SHA-256-128 [RFC4868]';
    authKey = `0x${alg.auth?.key ?? ''}`;
  }
  return `uat:esp_sa:${[q('IPv4'), q(src), q(dst), q(`0x${spi.toString(16).padStart(8, '0')}`), q(enc), q(encKey), q(auth), q(authKey)].join(',')}`;
}

describe('tshark decrypts and dissects wirestack ESP sessions', () => {
  const TSHARK_VARIANTS: Array<[string, (seed: number) => AlgorithmSpec]> = [
    ['rfc4106(gcm(aes)) 128', (k) => ({ aead: { name: 'rfc4106(gcm(aes))', key: hexKey(20, k) } })],
    ['rfc4106(gcm(aes)) 256', (k) => ({ aead: { name: 'rfc4106(gcm(aes))', key: hexKey(36, k) } })],
    ['cbc(aes)+hmac(sha256)', (k) => ({ enc: { name: 'cbc(aes)', key: hexKey(16, k) }, auth: { name: 'hmac(sha256)', key: hexKey(32, k + 5) } })],
    ['null+hmac(sha1)', (k) => ({ enc: { name: 'ecb(cipher_null)' }, auth: { name: 'hmac(sha1)', key: hexKey(20, k) } })],
    ['null+hmac(sha256)', (k) => ({ enc: { name: 'ecb(cipher_null)' }, auth: { name: 'hmac(sha256)', key: hexKey(32, k) } })],
  ];
  let dir = '';
  before(() => {
    if (!haveCommand('tshark')) throw new Error('tshark is required (apt-get install tshark)');
    dir = mkdtempSync(join(tmpdir(), 'wst-esp-pcap-'));
  });
  after(() => { if (dir !== '' && process.env.WST_KEEP_PCAP === undefined) rmSync(dir, { recursive: true, force: true }); });

  for (const [name, suite] of TSHARK_VARIANTS) {
    it(`${name}: every ICV good, ICMP/UDP/TCP dissected inside, no malformed or error, TCP stream byte-exact`, { timeout: 60_000 }, async () => {
      const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '_')}.pcap`);
      const [la, lb] = MemoryLink.pair({ seed: 5 });
      const pw = new PcapWriter(la, file);
      const a = new Stack({ seed: 31 });
      const b = new Stack({ seed: 32 });
      a.addInterface(pw, { address: '10.83.1.1/24' });
      b.addInterface(lb, { address: '10.83.1.2/24' });
      const ab = suite(1);
      const ba = suite(2);
      a.ipsec.addSa({ dir: 'out', spi: 0x1001, src: '10.83.1.1', dst: '10.83.1.2', ...ab });
      b.ipsec.addSa({ dir: 'in', spi: 0x1001, src: '10.83.1.1', dst: '10.83.1.2', ...ab });
      b.ipsec.addSa({ dir: 'out', spi: 0x2002, src: '10.83.1.2', dst: '10.83.1.1', ...ba });
      a.ipsec.addSa({ dir: 'in', spi: 0x2002, src: '10.83.1.2', dst: '10.83.1.1', ...ba });
      a.ipsec.addPolicy({ dir: 'both', dst: '10.83.1.2', action: 'protect' });
      b.ipsec.addPolicy({ dir: 'both', dst: '10.83.1.1', action: 'protect' });
      const sim = new Simulation([a, b]);
      await sim.until(a.ping('10.83.1.2', { size: 300 }));
      const us = a.sockets.socket('udp');
      const ur = b.sockets.socket('udp');
      b.sockets.bind(ur, 0, 40123); // a port no dissector claims: the payload is not any protocol
      a.sockets.sendto(us, new Uint8Array(200).fill(7), 0, 200, '10.83.1.2', 40123);
      sim.advance(10);
      // 64 KiB a -> b over TCP.
      const l = b.sockets.socket('tcp');
      b.sockets.bind(l, 0, 5001);
      b.sockets.listen(l, 1);
      const c = a.sockets.socket('tcp');
      a.sockets.connect(c, '10.83.1.2', 5001);
      sim.advance(100);
      const srv = b.sockets.accept(l);
      assert.ok(srv >= 0);
      const total = 65536;
      const data = Uint8Array.from({ length: total }, (_, i) => pattern(i, 3));
      let sent = 0;
      let got = 0;
      const rb = new Uint8Array(65536);
      for (let i = 0; i < 2000 && got < total; i++) {
        if (sent < total) sent += Math.max(0, a.sockets.send(c, data, sent, total - sent));
        for (let n; (n = b.sockets.recv(srv, rb, 0, rb.length)) > 0;) got += n;
        sim.advance(5);
      }
      assert.equal(got, total);
      a.sockets.close(c);
      b.sockets.close(srv);
      sim.advance(1000);
      pw.close();
      const base = ['-r', file, '-o', 'esp.enable_encryption_decode:TRUE', '-o', 'esp.enable_authentication_check:TRUE',
        '-o', uat('10.83.1.1', '10.83.1.2', 0x1001, ab), '-o', uat('10.83.1.2', '10.83.1.1', 0x2002, ba)];
      const tshark = (args: string[]): string => execFileSync('tshark', [...base, ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const rows = tshark(['-Y', 'esp', '-T', 'fields', '-e', 'esp.icv_good', '-e', 'esp.protocol', '-e', 'ip.proto']).trim().split('\n');
      assert.ok(rows.length > 60, `ESP packets: ${rows.length}`);
      const inner = new Map<string, number>();
      for (const r of rows) {
        const [good, nh] = r.split('\t');
        assert.equal(good, '1', `ICV not verified good by tshark: ${r}`);
        inner.set(nh, (inner.get(nh) ?? 0) + 1);
      }
      assert.ok((inner.get('0x01') ?? 0) >= 2 && (inner.get('0x11') ?? 0) >= 1 && (inner.get('0x06') ?? 0) >= 40, JSON.stringify([...inner]));
      assert.equal(tshark(['-Y', 'esp && !(icmp || udp || tcp)']).trim(), '', 'every ESP packet dissected to ICMP/UDP/TCP');
      assert.equal(tshark(['-Y', '_ws.malformed || _ws.expert.severity >= "warning" || esp.icv_bad == 1']).trim(), '');
      assert.equal(tshark(['-Y', 'icmp.type == 0 && esp']).trim().split('\n').length, 1, 'the echo reply decrypted');
      // tshark's own TCP reassembly of the decrypted stream is the data sent.
      const follow = tshark(['-q', '-z', 'follow,tcp,raw,0']);
      const hex = follow.split('\n').filter((x) => /^[0-9a-f]+$/.test(x.trim())).join('');
      assert.equal(hex.length / 2, total);
      assert.ok(Buffer.from(hex, 'hex').equals(Buffer.from(data)), 'TCP stream as dissected by tshark is byte-exact');
    });
  }
});
