/**
 * DNS for IPv6: the AAAA codec (RFC 3596 2.2), ip6.arpa names (RFC 3596
 * 2.5), and stack.dns's resolve6, lookup with family/all/order and
 * servers given as IPv6 literals, in real time against a fake server on a
 * second stack (over IPv4 here; over IPv6 in test/socket/v6-facades.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryLink, Stack } from '../../src/index.js';
import type { UdpSocket } from '../../src/socket/dgram.js';
import {
  DNS_FLAG_AA, DNS_FLAG_QR, DNS_FLAG_RA, DNS_FLAG_RD, DNS_RCODE_NXDOMAIN, DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_PTR,
  DNS_TYPE_SOA, DnsFormatError, canonicalName, encodeMessage, parseMessage, reverseName, type DnsMessage,
  type DnsRecordInit,
} from '../../src/wire/dns.js';

const T = { timeout: 15000 };
const RESPONSE = DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_AA;

const ZONE: DnsRecordInit[] = [
  { name: 'dual.example', type: DNS_TYPE_A, ttl: 300, address: '192.0.2.10' },
  { name: 'dual.example', type: DNS_TYPE_AAAA, ttl: 200, address: '2001:db8::10' },
  { name: 'dual.example', type: DNS_TYPE_AAAA, ttl: 100, address: '2001:db8::11' },
  { name: 'v6only.example', type: DNS_TYPE_AAAA, ttl: 300, address: 'fd00::53' },
  { name: 'v4only.example', type: DNS_TYPE_A, ttl: 300, address: '192.0.2.4' },
  { name: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', type: DNS_TYPE_PTR, ttl: 60, target: 'router.example' },
];

function answer(q: DnsMessage): Uint8Array {
  const question = q.questions[0];
  const name = canonicalName(question.name);
  const known = ZONE.filter((r) => canonicalName(r.name) === name);
  const answers = known.filter((r) => r.type === question.type);
  const authorities: DnsRecordInit[] = answers.length === 0 ? [{ name: 'example', type: DNS_TYPE_SOA, ttl: 30, soaMinimum: 30 }] : [];
  return encodeMessage({ id: q.id, flags: RESPONSE | (known.length === 0 ? DNS_RCODE_NXDOMAIN : 0), questions: q.questions, answers, authorities });
}

async function withServer(fn: (a: Stack, queries: DnsMessage[]) => Promise<void>): Promise<void> {
  const [la, lb] = MemoryLink.pair();
  const a = new Stack({ seed: 61 });
  const b = new Stack({ seed: 62 });
  a.addInterface(la, { address: '10.0.0.1/24' });
  b.addInterface(lb, { address: '10.0.0.2/24' });
  a.start();
  b.start();
  const queries: DnsMessage[] = [];
  const udp: UdpSocket = b.dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const q = parseMessage(msg);
    queries.push(q);
    udp.send(answer(q), rinfo.port, rinfo.address);
  });
  udp.bind(53);
  await once(udp, 'listening');
  a.dns.setServers(['10.0.0.2']);
  a.dns.configure({ timeout: 300, tries: 2 });
  try {
    await fn(a, queries);
  } finally {
    udp.close();
    a.stop();
    b.stop();
  }
}

test('AAAA records are encoded and parsed as 16 bytes, printed in RFC 5952 form; other lengths are format errors', () => {
  const msg = encodeMessage({ id: 7, flags: RESPONSE, questions: [{ name: 'x.example', type: DNS_TYPE_AAAA, class: 1 }],
    answers: [{ name: 'x.example', type: DNS_TYPE_AAAA, ttl: 5, address: '2001:0db8:0000:0000:0000:0000:0000:0001' }] });
  const m = parseMessage(msg);
  assert.equal(m.answers[0].rdata.length, 16);
  assert.equal(m.answers[0].address, '2001:db8::1');
  // The same message with RDLENGTH 4 (an A-sized AAAA) must be rejected, not misread.
  const bad = encodeMessage({ id: 7, flags: RESPONSE, answers: [{ name: 'x', type: DNS_TYPE_AAAA, ttl: 5, rdata: new Uint8Array(4) }] });
  assert.throws(() => parseMessage(bad), DnsFormatError);
  assert.throws(() => encodeMessage({ id: 1, flags: 0, answers: [{ name: 'x', type: DNS_TYPE_AAAA, ttl: 1, address: '1.2.3.4' }] }),
    DnsFormatError);
  assert.throws(() => encodeMessage({ id: 1, flags: 0, answers: [{ name: 'x', type: DNS_TYPE_A, ttl: 1, address: '::1' }] }),
    DnsFormatError);
});

test('reverseName: ip6.arpa nibbles (RFC 3596 2.5), in-addr.arpa unchanged, garbage null', () => {
  assert.equal(reverseName('2001:db8::567:89ab'),
    'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  assert.equal(reverseName('::1'), `1.${'0.'.repeat(31)}ip6.arpa`);
  assert.equal(reverseName('10.0.0.2'), '2.0.0.10.in-addr.arpa');
  assert.equal(reverseName('2001:db8::1::2'), null);
  assert.equal(reverseName('fe80::1%eth0'), null);
});

test('resolve6 and lookup: family 6, family 0 with order and all, literals, ENOTFOUND without AAAA', T, async () => {
  await withServer(async (a, queries) => {
    assert.deepEqual(await a.dns.resolve6('dual.example'), ['2001:db8::10', '2001:db8::11']);
    const withTtl = await a.dns.resolve6('dual.example', { ttl: true });
    assert.deepEqual(withTtl.map((r) => r.address), ['2001:db8::10', '2001:db8::11']);
    // The smallest TTL (100), counted down by the cache by at most a second.
    for (const r of withTtl) assert.ok(r.ttl === 100 || r.ttl === 99, `ttl ${r.ttl}`);
    assert.equal(queries.filter((q) => q.questions[0].type === DNS_TYPE_AAAA).length, 1, 'the second answer came from the cache');
    assert.deepEqual(await a.dns.lookup('v6only.example', { family: 6 }), { address: 'fd00::53', family: 6 });
    // Family 0 asks A and AAAA at once; verbatim keeps A first, ipv6first puts AAAA first.
    assert.deepEqual(await a.dns.lookup('dual.example', { all: true }), [
      { address: '192.0.2.10', family: 4 }, { address: '2001:db8::10', family: 6 }, { address: '2001:db8::11', family: 6 }]);
    assert.deepEqual(await a.dns.lookup('dual.example', { order: 'ipv6first' }), { address: '2001:db8::10', family: 6 });
    assert.deepEqual(await a.dns.lookup('dual.example', { verbatim: false }), { address: '192.0.2.10', family: 4 });
    assert.deepEqual(await a.dns.lookup('v6only.example'), { address: 'fd00::53', family: 6 }, 'A is empty, AAAA answers');
    assert.deepEqual(await a.dns.lookup('fd00::1', { family: 4 }), { address: 'fd00::1', family: 6 }, 'literals ignore family, as Node');
    await assert.rejects(a.dns.lookup('v4only.example', { family: 6 }), (e: Error & { code: string; syscall: string; cause?: { syscall: string } }) => {
      assert.equal(e.code, 'ENOTFOUND');
      assert.equal(e.syscall, 'getaddrinfo');
      assert.equal(e.cause?.syscall, 'queryAaaa');
      return true;
    });
    await assert.rejects(a.dns.resolve6('v4only.example'), { code: 'ENODATA', syscall: 'queryAaaa' });
    await assert.rejects(a.dns.resolve6('nowhere.example'), { code: 'ENOTFOUND', syscall: 'queryAaaa' });
    await assert.rejects(a.dns.lookup('dual.example', { order: 'random' as 'verbatim' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.deepEqual(await a.dns.reverse('fd00::1'), ['router.example']);
    await assert.rejects(a.dns.reverse('fd00::zz'), { code: 'EINVAL' });
  });
});

test('setServers takes IPv6 literals and [v6]:port, canonicalized; getServers prints them as Node does', () => {
  const a = new Stack({ seed: 1 });
  a.dns.setServers(['10.0.0.53', '2001:DB8:0:0::53', '[fd00::1]:5353', '[fd00::2]', '10.0.0.54:54']);
  assert.deepEqual(a.dns.getServers(), ['10.0.0.53', '2001:db8::53', '[fd00::1]:5353', 'fd00::2', '10.0.0.54:54']);
  for (const bad of ['[fd00::1', '[10.0.0.1]:53', 'fd00::g', '[fd00::1]:0']) {
    assert.throws(() => a.dns.setServers([bad]), { code: 'ERR_INVALID_IP_ADDRESS' }, bad);
  }
});
