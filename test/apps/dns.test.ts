/**
 * stack.dns in REAL time over two started stacks on a MemoryLink cable: the
 * client on a (10.0.0.1), a fake DNS server written here on b (10.0.0.2),
 * UDP port 53 and TCP port 53 for the truncation fallback. Plus parser unit
 * tests with hand-made malicious messages and a fuzz loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Buffer } from 'node:buffer';
import { MemoryLink, Stack, connectByName, type NetSocket, type NetServer } from '../../src/index.js';
import type { RemoteInfo, UdpSocket } from '../../src/socket/dgram.js';
import {
  DNS_FLAG_AA, DNS_FLAG_QR, DNS_FLAG_RA, DNS_FLAG_RD, DNS_FLAG_TC, DNS_RCODE_NXDOMAIN, DNS_RCODE_SERVFAIL, DNS_TYPE_A,
  DNS_TYPE_CNAME, DNS_TYPE_PTR, DNS_TYPE_SOA, DnsFormatError, canonicalName, encodeMessage, encodeName, encodeQuery,
  parseMessage, reverseName, type DnsMessage, type DnsMessageInit, type DnsRecordInit,
} from '../../src/wire/dns.js';

const T = { timeout: 15000 };

async function withPair(fn: (a: Stack, b: Stack) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 31 });
  const b = new Stack({ seed: 32 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  a.dns.setServers(['10.0.0.2']);
  a.dns.configure({ timeout: 300, tries: 2 });
  try {
    await fn(a, b);
  } finally {
    a.stop();
    b.stop();
  }
}

type Zone = DnsRecordInit[];
type Reply = Uint8Array | DnsMessageInit | null;
type Handler = (q: DnsMessage, raw: Uint8Array, via: 'udp' | 'tcp', rinfo: RemoteInfo | null) => Reply;

interface Fake {
  udp: UdpSocket;
  tcp: NetServer | null;
  queries: DnsMessage[];
  close(): Promise<void>;
}

const RESPONSE = DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_AA;

/** An authoritative answer from `zone` (CNAMEs followed inside the zone, SOA on negative answers). */
function fromZone(zone: Zone, q: DnsMessage, soaMinimum = 60): DnsMessageInit {
  const question = q.questions[0];
  const answers: DnsRecordInit[] = [];
  let name = canonicalName(question.name);
  let rcode = 0;
  for (let i = 0; i < 16; i++) {
    const recs = zone.filter((r) => canonicalName(r.name) === name);
    if (recs.length === 0) {
      rcode = DNS_RCODE_NXDOMAIN;
      break;
    }
    const cname = recs.find((r) => r.type === DNS_TYPE_CNAME);
    if (cname !== undefined && question.type !== DNS_TYPE_CNAME) {
      answers.push(cname);
      name = canonicalName(cname.target ?? '');
      continue;
    }
    answers.push(...recs.filter((r) => r.type === question.type));
    break;
  }
  const authorities: DnsRecordInit[] = answers.length === 0 || rcode !== 0
    ? [{ name: 'example', type: DNS_TYPE_SOA, ttl: 300, soaMinimum }] : [];
  return { id: q.id, flags: RESPONSE | rcode, questions: q.questions, answers, authorities };
}

function toBytes(r: Uint8Array | DnsMessageInit): Uint8Array {
  return r instanceof Uint8Array ? r : encodeMessage(r);
}

/** A fake server on b: UDP `port`, and TCP `port` too when `tcp` is set. */
async function fakeServer(b: Stack, handler: Handler, opts: { port?: number; tcp?: boolean } = {}): Promise<Fake> {
  const port = opts.port ?? 53;
  const queries: DnsMessage[] = [];
  const udp = b.dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const q = parseMessage(msg);
    queries.push(q);
    const r = handler(q, msg, 'udp', rinfo);
    if (r !== null) udp.send(toBytes(r), rinfo.port, rinfo.address);
  });
  udp.bind(port);
  await once(udp, 'listening');
  let tcp: NetServer | null = null;
  if (opts.tcp === true) {
    tcp = b.net.createServer((s: NetSocket) => {
      let buf = Buffer.alloc(0);
      s.on('error', () => {});
      s.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const raw = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          const q = parseMessage(raw);
          queries.push(q);
          const r = handler(q, raw, 'tcp', null);
          if (r === null) continue;
          const body = toBytes(r);
          const framed = Buffer.alloc(2 + body.length);
          framed.writeUInt16BE(body.length, 0);
          framed.set(body, 2);
          s.write(framed);
        }
      });
    });
    const server = tcp;
    await new Promise<void>((resolve) => server.listen(port, resolve));
  }
  return {
    udp, tcp, queries,
    close: async () => {
      udp.close();
      if (tcp !== null) {
        const server = tcp;
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

const ZONE: Zone = [
  { name: 'host.example', type: DNS_TYPE_A, ttl: 300, address: '10.0.0.2' },
  { name: 'multi.example', type: DNS_TYPE_A, ttl: 120, address: '192.0.2.1' },
  { name: 'multi.example', type: DNS_TYPE_A, ttl: 60, address: '192.0.2.2' },
  { name: 'multi.example', type: DNS_TYPE_A, ttl: 90, address: '192.0.2.3' },
  { name: 'www.example', type: DNS_TYPE_CNAME, ttl: 200, target: 'web.example' },
  { name: 'web.example', type: DNS_TYPE_CNAME, ttl: 100, target: 'front.example' },
  { name: 'front.example', type: DNS_TYPE_A, ttl: 50, address: '192.0.2.80' },
  { name: 'noaddr.example', type: DNS_TYPE_PTR, ttl: 50, target: 'x.example' },
  { name: '2.0.0.10.in-addr.arpa', type: DNS_TYPE_PTR, ttl: 300, target: 'server.example' },
  { name: '2.0.0.10.in-addr.arpa', type: DNS_TYPE_PTR, ttl: 300, target: 'alias.example' },
];

const zoneHandler: Handler = (q) => fromZone(ZONE, q);

test('lookup: A record; IPv4 literals need no query; all: true', T, async () => {
  await withPair(async (a, b) => {
    const srv = await fakeServer(b, zoneHandler);
    assert.deepEqual(await a.dns.lookup('host.example', 4), { address: '10.0.0.2', family: 4 });
    assert.deepEqual(await a.dns.lookup('HOST.Example.', { family: 4, all: true }), [{ address: '10.0.0.2', family: 4 }]);
    assert.deepEqual(await a.dns.lookup('192.0.2.7'), { address: '192.0.2.7', family: 4 });
    assert.equal(srv.queries.length, 1, 'second lookup is a cache hit, the literal needs none');
    assert.equal(srv.queries[0].questions[0].type, DNS_TYPE_A);
    assert.ok(srv.queries[0].rd);
    assert.deepEqual(a.dns.getServers(), ['10.0.0.2']);
    await srv.close();
  });
});

test('resolve4: several addresses with TTLs; parallel outstanding queries with distinct IDs and ports', T, async () => {
  await withPair(async (a, b) => {
    const ports = new Set<number>();
    const srv = await fakeServer(b, (q, _raw, _via, rinfo) => {
      if (rinfo !== null) ports.add(rinfo.port);
      return fromZone(ZONE, q);
    });
    const withTtl = await a.dns.resolve4('multi.example', { ttl: true });
    assert.deepEqual(withTtl.map((r) => r.address), ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    // One answer, one TTL: the smallest of the RRset (RFC 2181 §5.2 says they should be equal).
    for (const r of withTtl) assert.equal(r.ttl, 60);
    const [x, y, z] = await Promise.all([
      a.dns.resolve4('host.example'), a.dns.resolve4('front.example'), a.dns.reverse('10.0.0.2'),
    ]);
    assert.deepEqual(x, ['10.0.0.2']);
    assert.deepEqual(y, ['192.0.2.80']);
    assert.deepEqual(z, ['server.example', 'alias.example']);
    assert.equal(srv.queries.length, 4);
    assert.equal(new Set(srv.queries.map((q) => q.id)).size, 4, 'random IDs');
    assert.equal(ports.size, 4, 'a fresh source port per query');
    for (const p of ports) assert.ok(p >= 49152 && p <= 65535);
    await srv.close();
  });
});

test('CNAME chain in one answer, and an alias-only answer re-queried; loops are bounded', T, async () => {
  await withPair(async (a, b) => {
    const srv = await fakeServer(b, (q) => {
      const name = canonicalName(q.questions[0].name);
      // A server that only returns the first CNAME link, without SOA.
      if (name === 'lazy.example') {
        return { id: q.id, flags: RESPONSE, questions: q.questions, answers: [{ name: 'lazy.example', type: DNS_TYPE_CNAME, ttl: 30, target: 'front.example' }] };
      }
      if (name.startsWith('loop')) {
        const n = Number(name.slice(4, name.indexOf('.')));
        return { id: q.id, flags: RESPONSE, questions: q.questions, answers: [{ name, type: DNS_TYPE_CNAME, ttl: 30, target: `loop${(n + 1) % 2}.example` }] };
      }
      return fromZone(ZONE, q);
    });
    assert.deepEqual(await a.dns.resolve4('www.example', { ttl: true }), [{ address: '192.0.2.80', ttl: 50 }]);
    assert.equal(srv.queries.length, 1);
    assert.deepEqual(await a.dns.lookup('lazy.example', { family: 4 }), { address: '192.0.2.80', family: 4 });
    assert.equal(srv.queries.length, 3, 'lazy.example, then front.example');
    await assert.rejects(a.dns.resolve4('loop0.example'), { code: 'EBADRESP', syscall: 'queryA', hostname: 'loop0.example' });
    assert.ok(srv.queries.length <= 3 + 9, `bounded: ${srv.queries.length}`);
    await srv.close();
  });
});

test('reverse: PTR through in-addr.arpa; bad input is EINVAL', T, async () => {
  await withPair(async (a, b) => {
    const srv = await fakeServer(b, zoneHandler);
    assert.deepEqual(await a.dns.reverse('10.0.0.2'), ['server.example', 'alias.example']);
    assert.equal(srv.queries[0].questions[0].name, '2.0.0.10.in-addr.arpa');
    assert.equal(srv.queries[0].questions[0].type, DNS_TYPE_PTR);
    await assert.rejects(a.dns.reverse('10.0.0.9'), { code: 'ENOTFOUND', syscall: 'getHostByAddr', hostname: '10.0.0.9' });
    await assert.rejects(a.dns.reverse('not-an-ip'), { code: 'EINVAL', syscall: 'getHostByAddr' });
    await srv.close();
  });
});

test('negative answers: NXDOMAIN, NODATA, SERVFAIL, timeout, with Node codes', T, async () => {
  await withPair(async (a, b) => {
    const srv = await fakeServer(b, (q) => {
      const name = canonicalName(q.questions[0].name);
      if (name === 'broken.example') return { id: q.id, flags: RESPONSE | DNS_RCODE_SERVFAIL, questions: q.questions };
      if (name === 'silent.example') return null;
      return fromZone(ZONE, q);
    });
    a.dns.configure({ timeout: 100, tries: 2 });
    await assert.rejects(a.dns.resolve4('nope.example'),
      { code: 'ENOTFOUND', syscall: 'queryA', hostname: 'nope.example', message: 'queryA ENOTFOUND nope.example' });
    await assert.rejects(a.dns.lookup('nope.example'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nope.example', errno: -3008 });
    await assert.rejects(a.dns.resolve4('noaddr.example'), { code: 'ENODATA', syscall: 'queryA', hostname: 'noaddr.example' });
    await assert.rejects(a.dns.lookup('noaddr.example'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
    await assert.rejects(a.dns.resolve4('broken.example'), { code: 'ESERVFAIL', syscall: 'queryA', hostname: 'broken.example' });
    await assert.rejects(a.dns.lookup('broken.example'), (e: Error & { code: string; cause?: { code: string } }) => {
      assert.equal(e.code, 'EAI_AGAIN');
      assert.equal(e.cause?.code, 'ESERVFAIL');
      return true;
    });
    const before = srv.queries.length;
    const t0 = Date.now();
    await assert.rejects(a.dns.resolve4('silent.example'), { code: 'ETIMEOUT', syscall: 'queryA', hostname: 'silent.example' });
    const took = Date.now() - t0;
    assert.equal(srv.queries.length - before, 2, 'two tries');
    assert.ok(took >= 280 && took < 2000, `100 ms then 200 ms: ${took} ms`);
    await srv.close();
  });
});

test('truncated UDP answer falls back to TCP and gets the full answer', T, async () => {
  await withPair(async (a, b) => {
    const many: Zone = [];
    for (let i = 1; i <= 40; i++) many.push({ name: 'big.example', type: DNS_TYPE_A, ttl: 100, address: `198.51.100.${i}` });
    const vias: string[] = [];
    const srv = await fakeServer(b, (q, _raw, via) => {
      vias.push(via);
      const full = fromZone(many, q);
      if (via === 'udp') return { ...full, flags: full.flags | DNS_FLAG_TC, answers: (full.answers ?? []).slice(0, 2) };
      return full;
    }, { tcp: true });
    const got = await a.dns.resolve4('big.example');
    assert.equal(got.length, 40);
    assert.equal(got[39], '198.51.100.40');
    assert.deepEqual(vias, ['udp', 'tcp']);
    await srv.close();
  });
});

test('first server silent: answered by the second', T, async () => {
  await withPair(async (a, b) => {
    const silent = await fakeServer(b, () => null, { port: 5353 });
    const srv = await fakeServer(b, zoneHandler);
    a.dns.setServers(['10.0.0.2:5353', '10.0.0.2']);
    assert.deepEqual(a.dns.getServers(), ['10.0.0.2:5353', '10.0.0.2']);
    a.dns.configure({ timeout: 150, tries: 2 });
    assert.deepEqual(await a.dns.resolve4('host.example'), ['10.0.0.2']);
    assert.equal(silent.queries.length, 1);
    assert.equal(srv.queries.length, 1);
    assert.throws(() => a.dns.setServers(['bogus']), { code: 'ERR_INVALID_IP_ADDRESS' });
    await silent.close();
    await srv.close();
  });
});

test('responses with a wrong ID, a wrong question or from a wrong source are ignored', T, async () => {
  await withPair(async (a, b) => {
    const spoofer = b.dgram.createSocket('udp4');
    spoofer.bind(5300);
    await once(spoofer, 'listening');
    const srv = await fakeServer(b, (q, _raw, _via, rinfo) => {
      if (rinfo === null) return null;
      const good = fromZone(ZONE, q);
      const evil: DnsMessageInit = { ...good, answers: [{ name: q.questions[0].name, type: DNS_TYPE_A, ttl: 999, address: '6.6.6.6' }] };
      // Wrong ID, right source.
      srv.udp.send(encodeMessage({ ...evil, id: (q.id + 1) & 0xffff }), rinfo.port, rinfo.address);
      // Right ID, wrong source port.
      spoofer.send(encodeMessage(evil), rinfo.port, rinfo.address);
      // Right ID and source, wrong question.
      srv.udp.send(encodeMessage({ ...evil, questions: [{ name: 'other.example', type: DNS_TYPE_A, class: 1 }] }), rinfo.port, rinfo.address);
      // Right ID and source, but a query (QR clear).
      srv.udp.send(encodeMessage({ ...evil, flags: 0 }), rinfo.port, rinfo.address);
      // Finally the genuine answer, a little later.
      setTimeout(() => srv.udp.send(encodeMessage(good), rinfo.port, rinfo.address), 20);
      return null;
    });
    assert.deepEqual(await a.dns.resolve4('host.example'), ['10.0.0.2']);
    spoofer.close();
    await srv.close();
  });
});

test('cache: hits are not sent, TTLs expire, negative answers are cached for the SOA minimum, LRU bound', T, async () => {
  await withPair(async (a, b) => {
    let now = 1_000_000;
    a.dns.configure({ now: () => now, cacheSize: 3 });
    const srv = await fakeServer(b, (q) => fromZone(ZONE, q, 30));
    await a.dns.resolve4('front.example'); // ttl 50
    await a.dns.resolve4('front.example');
    assert.equal(srv.queries.length, 1);
    now += 20_000;
    assert.deepEqual(await a.dns.resolve4('front.example', { ttl: true }), [{ address: '192.0.2.80', ttl: 30 }], 'remaining TTL');
    assert.equal(srv.queries.length, 1);
    now += 31_000;
    await a.dns.resolve4('front.example');
    assert.equal(srv.queries.length, 2, 'expired after 50 s');
    await assert.rejects(a.dns.resolve4('gone.example'), { code: 'ENOTFOUND' });
    await assert.rejects(a.dns.resolve4('gone.example'), { code: 'ENOTFOUND' });
    assert.equal(srv.queries.length, 3, 'NXDOMAIN cached');
    now += 31_000;
    await assert.rejects(a.dns.resolve4('gone.example'), { code: 'ENOTFOUND' });
    assert.equal(srv.queries.length, 4, 'negative entry expired after the SOA minimum (30 s)');
    await a.dns.resolve4('host.example');
    await a.dns.resolve4('multi.example');
    await a.dns.resolve4('front.example'); // the cache holds 3: the oldest entries were evicted
    assert.ok(a.dns.cacheEntries <= 3);
    const n = srv.queries.length;
    await a.dns.resolve4('multi.example');
    assert.equal(srv.queries.length, n, 'recently used entry kept');
    await assert.rejects(a.dns.resolve4('gone.example'), { code: 'ENOTFOUND' });
    assert.equal(srv.queries.length, n + 1, 'least recently used entry evicted');
    a.dns.clearCache();
    assert.equal(a.dns.cacheEntries, 0);
    await srv.close();
  });
});

test('connectByName resolves the host through stack.dns, then connects over stack.net', T, async () => {
  await withPair(async (a, b) => {
    const srv = await fakeServer(b, zoneHandler);
    const server = b.net.createServer((s: NetSocket) => s.end('hi'));
    await new Promise<void>((resolve) => server.listen(8080, resolve));
    const sock = await connectByName(a.dns, a.net, { host: 'host.example', port: 8080 });
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    await once(sock, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'hi');
    sock.destroy();
    await assert.rejects(connectByName(a.dns, a.net, { host: 'nope.example', port: 8080 }), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await srv.close();
  });
});

test('stack.net.connect({ host: name }) resolves through stack.dns and emits lookup, like Node', T, async () => {
  await withPair(async (a, b) => {
    const srv = await fakeServer(b, zoneHandler);
    const server = b.net.createServer((s: NetSocket) => s.end('by name'));
    await new Promise<void>((resolve) => server.listen(8081, resolve));
    const sock = a.net.connect({ host: 'host.example', port: 8081 });
    const [lookupErr, address, family, host] = await once(sock, 'lookup') as [Error | null, string, number, string];
    assert.equal(lookupErr, null);
    assert.equal(family, 4);
    assert.equal(host, 'host.example');
    assert.equal(sock.remoteAddress, address);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    await once(sock, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'by name');
    sock.destroy();
    const bad = a.net.connect({ host: 'nope.example', port: 8081 });
    const [err] = await once(bad, 'error') as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ENOTFOUND');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await srv.close();
  });
});

// --- parser ---

/** A response to `query` (header copied, QR set) with `answer` bytes appended and ANCOUNT = `an`. */
function craft(query: Uint8Array, answer: number[], an = 1): Uint8Array {
  const out = new Uint8Array(query.length + answer.length);
  out.set(query, 0);
  out.set(answer, query.length);
  out[2] = 0x81;
  out[3] = 0x80;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  return out;
}

/** The fixed part of an A record: type A, class IN, TTL 60, RDLENGTH 4, 1.2.3.4. */
const A_TAIL = [0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4];

function label(n: number, c = 0x61): number[] {
  return [n, ...new Array<number>(n).fill(c)];
}

/** Malicious answer sections, given the offset `L` where the answer starts. */
const MALICIOUS: Array<[string, (L: number) => number[], number?]> = [
  ['pointer to itself', (L) => [0xc0 | (L >> 8), L & 0xff, ...A_TAIL]],
  ['pointer loop via a label', (L) => [1, 0x61, 0xc0 | (L >> 8), L & 0xff, ...A_TAIL]],
  ['two pointers bouncing', (L) => [0xc0 | ((L + 2) >> 8), (L + 2) & 0xff, 0xc0 | (L >> 8), L & 0xff, ...A_TAIL]],
  // RR1 is an unknown type whose RDATA holds a label and a pointer back to that label; RR2's name jumps back into it.
  ['backward pointer into a loop', (L) => [0, 0, 99, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x61, 0xc0 | ((L + 11) >> 8), (L + 11) & 0xff,
    0xc0 | ((L + 11) >> 8), (L + 11) & 0xff, ...A_TAIL], 2],
  ['forward pointer', (L) => [0xc0 | ((L + 16) >> 8), (L + 16) & 0xff, ...A_TAIL, 1, 0x61, 0]],
  ['pointer out of bounds', () => [0xff, 0xff, ...A_TAIL]],
  ['pointer into the header', () => [0xc0, 0x02, ...A_TAIL]],
  ['truncated pointer', () => [0xc0]],
  ['label length 64 (> 63)', () => [...label(64), 0, ...A_TAIL]],
  ['reserved label type 0x80', () => [0x81, 0x61, 0, ...A_TAIL]],
  ['name longer than 255 bytes', () => [...label(63), ...label(63), ...label(63), ...label(63), 0, ...A_TAIL]],
  ['label past the end', () => [20, 0x61, 0x61]],
  ['truncated RR', () => [0, 0, 1, 0, 1, 0, 0]],
  ['RDATA past the end', () => [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 40, 1, 2, 3, 4]],
  ['A record of 3 bytes', () => [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 1, 2, 3]],
  ['CNAME not filling RDLENGTH', () => [0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x61, 0, 0]],
  ['counts beyond the message', () => [0, ...A_TAIL], 50],
  ['huge counts', () => [0, ...A_TAIL], 0xffff],
];

test('parser: malicious messages are rejected with DnsFormatError', () => {
  const q = encodeQuery(0x1234, 'host.example', DNS_TYPE_A);
  for (const [what, make, an] of MALICIOUS) {
    const m = craft(q, make(q.length), an);
    assert.throws(() => parseMessage(m), DnsFormatError, what);
  }
  // The same message framed inside a larger buffer (offset != 0) parses identically.
  const ok = craft(q, [0xc0, 12, ...A_TAIL]);
  const framed = new Uint8Array(ok.length + 7);
  framed.set(ok, 5);
  const m = parseMessage(framed, 5, ok.length);
  assert.equal(m.answers[0].name, 'host.example');
  assert.equal(m.answers[0].address, '1.2.3.4');
  assert.equal(m.answers[0].ttl, 60);
  assert.throws(() => parseMessage(framed, 5, ok.length - 1), DnsFormatError, 'cut by the length, not the buffer');
  assert.throws(() => parseMessage(q.subarray(0, 11)), DnsFormatError);
  assert.throws(() => encodeName(`${'a'.repeat(64)}.example`), DnsFormatError);
  assert.throws(() => encodeName(`${'a'.repeat(60)}.`.repeat(5)), DnsFormatError);
  assert.throws(() => encodeName('a..b'), DnsFormatError);
  assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa');
  assert.equal(reverseName('300.1.1.1'), null);
  // Label escaping keeps odd bytes visible and unambiguous.
  const odd = craft(q, [3, 0x61, 0x2e, 0x00, 0, ...A_TAIL]);
  assert.equal(parseMessage(odd).answers[0].name, 'a\\.\\000');
});

test('client: malicious responses make the query fail cleanly (EBADRESP), never throw', T, async () => {
  await withPair(async (a, b) => {
    a.dns.configure({ tries: 1, timeout: 500 });
    let i = 0;
    const srv = await fakeServer(b, (_q, raw) => {
      const [, make, an] = MALICIOUS[i];
      return craft(raw, make(raw.length), an);
    });
    for (i = 0; i < MALICIOUS.length; i++) {
      const name = `m${i}.example`;
      await assert.rejects(a.dns.resolve4(name), { code: 'EBADRESP', syscall: 'queryA', hostname: name }, MALICIOUS[i][0]);
    }
    await srv.close();
  });
});

test('parser fuzz: 10,000 random and mutated messages only ever throw DnsFormatError', () => {
  let seed = 0x2545f491;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const q = encodeQuery(7, 'www.example', DNS_TYPE_A);
  const seeds: Uint8Array[] = [
    encodeMessage(fromZone(ZONE, parseMessage(q))),
    encodeMessage(fromZone(ZONE, parseMessage(encodeQuery(8, 'nope.example', DNS_TYPE_A)))),
    encodeMessage(fromZone(ZONE, parseMessage(encodeQuery(9, '2.0.0.10.in-addr.arpa', DNS_TYPE_PTR)))),
    craft(q, [0xc0, 12, ...A_TAIL, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xc0, 12], 2),
  ];
  let parsed = 0;
  for (let n = 0; n < 10_000; n++) {
    let m: Uint8Array;
    if (n % 4 === 0) {
      m = new Uint8Array(rnd(600));
      for (let i = 0; i < m.length; i++) m[i] = rnd(256);
      if (m.length >= 12 && rnd(2) === 0) { m[4] = 0; m[5] = rnd(3); m[6] = 0; m[7] = rnd(4); m[8] = 0; m[9] = 0; m[10] = 0; m[11] = 0; }
    } else {
      const base = seeds[rnd(seeds.length)];
      m = base.slice(0, rnd(4) === 0 ? rnd(base.length + 1) : base.length);
      const flips = 1 + rnd(6);
      for (let k = 0; k < flips && m.length > 0; k++) {
        const at = rnd(m.length);
        switch (rnd(4)) {
          case 0: m[at] = rnd(256); break;
          case 1: m[at] = 0xc0 | rnd(4); break; // pointer bits
          case 2: m[at] = rnd(70); break; // plausible label lengths
          default: m[at] ^= 1 << rnd(8);
        }
      }
    }
    try {
      parseMessage(m);
      parsed++;
    } catch (err) {
      if (!(err instanceof DnsFormatError)) throw err;
    }
  }
  assert.ok(parsed > 0, 'some mutations are still valid messages');
});

test('flags and header fields round-trip', () => {
  const m = parseMessage(encodeMessage({
    id: 0xbeef, flags: DNS_FLAG_QR | DNS_FLAG_TC | DNS_RCODE_NXDOMAIN,
    questions: [{ name: 'a.b', type: DNS_TYPE_A, class: 1 }],
  }));
  assert.equal(m.id, 0xbeef);
  assert.ok(m.qr && m.tc && !m.rd);
  assert.equal(m.rcode, DNS_RCODE_NXDOMAIN);
  assert.deepEqual(m.questions, [{ name: 'a.b', type: DNS_TYPE_A, class: 1 }]);
});
