import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Socks5FormatError, encodeReply, formatIpv6, parseCredentials, parseGreeting, parseIpv6, parseRequest, parseUdpHeader,
  writeUdpHeaderIpv4, writeUdpHeaderIpv6,
} from '../../src/wire/socks5.js';
import { Prng } from '../../src/index.js';

const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b);

test('greeting, credentials and request: null on every proper prefix, the message when complete', () => {
  const greeting = u8(5, 2, 0, 2, 0xaa);
  const creds = u8(1, 3, 0x61, 0x62, 0x63, 2, 0x78, 0x79, 0xaa);
  const req = u8(5, 1, 0, 3, 4, 0x61, 0x2e, 0x62, 0x63, 0x1f, 0x90, 0xaa);
  for (let n = 0; n < 4; n++) assert.equal(parseGreeting(greeting.subarray(0, n)), null);
  assert.deepEqual(parseGreeting(greeting), { methods: [0, 2], used: 4 });
  for (let n = 0; n < 8; n++) assert.equal(parseCredentials(creds.subarray(0, n)), null);
  const c = parseCredentials(creds);
  assert.ok(c !== null);
  assert.deepEqual([...c.username], [0x61, 0x62, 0x63]);
  assert.deepEqual([...c.password], [0x78, 0x79]);
  assert.equal(c.used, 8);
  for (let n = 0; n < 11; n++) assert.equal(parseRequest(req.subarray(0, n)), null);
  assert.deepEqual(parseRequest(req), { command: 1, atyp: 3, host: 'a.bc', port: 8080, used: 11 });
  assert.deepEqual(parseRequest(u8(5, 3, 0, 1, 10, 0, 0, 2, 0, 53)), { command: 3, atyp: 1, host: '10.0.0.2', port: 53, used: 10 });
  const v6 = parseRequest(u8(5, 1, 0, 4, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80));
  assert.deepEqual(v6, { command: 1, atyp: 4, host: '2001:db8::1', port: 80, used: 22 });
});

test('malformed messages throw Socks5FormatError with the reply to send', () => {
  const reply = (f: () => unknown): number | null => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof Socks5FormatError);
      return e.reply;
    }
    assert.fail('no error');
  };
  assert.equal(reply(() => parseGreeting(u8(4, 1, 0))), null);
  assert.equal(reply(() => parseGreeting(u8(5, 0))), null);
  assert.equal(reply(() => parseCredentials(u8(5, 1, 0x61))), null);
  assert.equal(reply(() => parseRequest(u8(4, 1, 0, 1))), 0x01);
  assert.equal(reply(() => parseRequest(u8(5, 1, 0, 7, 1, 2))), 0x08);
  assert.equal(reply(() => parseRequest(u8(5, 1, 0, 3, 0, 0, 80))), 0x01);
  assert.equal(reply(() => parseUdpHeader(u8(0, 0, 0, 1, 10, 0))), null);
});

test('random input: parsers return null, a message, or a Socks5FormatError, nothing else', () => {
  const rng = new Prng(7);
  for (let i = 0; i < 5000; i++) {
    const b = new Uint8Array(rng.int(25));
    for (let k = 0; k < b.length; k++) b[k] = rng.int(8) === 0 ? rng.int(256) : rng.int(6);
    for (const f of [parseGreeting, parseCredentials, parseRequest, parseUdpHeader]) {
      try {
        const r = f(b);
        if (r !== null) assert.ok(('used' in r ? r.used : r.dataOffset) <= b.length);
      } catch (e) {
        assert.ok(e instanceof Socks5FormatError, String(e));
      }
    }
  }
});

test('replies, UDP headers and IPv6 text', () => {
  assert.deepEqual([...encodeReply(0, '10.0.0.1', 0x1234)], [5, 0, 0, 1, 10, 0, 0, 1, 0x12, 0x34]);
  assert.deepEqual([...encodeReply(5)], [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
  const r6 = encodeReply(0, '::1', 1080);
  assert.equal(r6.length, 22);
  assert.equal(r6[3], 4);
  assert.equal(r6[19], 1);
  const h = new Uint8Array(10);
  assert.equal(writeUdpHeaderIpv4(h, 0x0a000002, 7), 10);
  assert.deepEqual([...h], [0, 0, 0, 1, 10, 0, 0, 2, 0, 7]);
  assert.deepEqual(parseUdpHeader(Uint8Array.of(...h, 0x68, 0x69)), { frag: 0, atyp: 1, host: '10.0.0.2', port: 7, dataOffset: 10 });
  const h6 = new Uint8Array(22);
  assert.equal(writeUdpHeaderIpv6(h6, parseIpv6('fd00::2') ?? new Uint8Array(16), 0x1235), 22);
  assert.deepEqual([...h6], [0, 0, 0, 4, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x12, 0x35]);
  assert.deepEqual(parseUdpHeader(Uint8Array.of(...h6, 0x68)), { frag: 0, atyp: 4, host: 'fd00::2', port: 0x1235, dataOffset: 22 });
  for (const t of ['::', '::1', '2001:db8::1', 'fe80::1:0:0:2', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1']) {
    const b = parseIpv6(t);
    assert.ok(b !== null, t);
    assert.deepEqual(parseIpv6(formatIpv6(b)), b, t);
  }
  assert.equal(formatIpv6(parseIpv6('2001:0db8:0:0:1:0:0:1') ?? new Uint8Array(16)), '2001:db8::1:0:0:1');
  for (const bad of ['', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1.2.3.4']) assert.equal(parseIpv6(bad), null, bad);
});
