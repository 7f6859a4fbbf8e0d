/**
 * The whole-packet ESP AES-GCM/GMAC path (native/aead.c aeadEspSeal /
 * aeadEspOpen: one call per packet, nonce and AAD read from the packet)
 * against the two paths it replaces: the addon's generic AES-GCM call with
 * nonce and AAD built in JS, and node:crypto. Random keys, sizes, sequence
 * numbers, ESN on and off, every ICV length: byte-identical packets, and
 * every forgery refused with no plaintext left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NodeEspCrypto } from '../../src/ipsec/crypto-node.js';
import { nativeAesGcm } from '../../src/crypto/aes-gcm.js';
import { EspTransform } from '../../src/ipsec/transform.js';
import { resolveAlgorithms } from '../../src/ipsec/algorithms.js';
import type { EspAead } from '../../src/ipsec/crypto.js';
import { tryNativeAddon } from '../../src/link/addon.js';
import { RX_CSUM_VALID } from '../../src/engine/offload.js';
import { SUITES, espPair } from './helpers.js';
import { ethFrame, ipv4Packet, pseudoHeader, refChecksum, refSum, udpDatagram } from '../helpers/frames.js';

/** The generic path: the addon's AES-GCM with nonce and AAD built by the transform. */
class GenericNativeCrypto extends NodeEspCrypto {
  override espAead(): EspAead | null {
    return null;
  }
}

const packetPath = new NodeEspCrypto();
const generic = new GenericNativeCrypto('native');
const nodePath = new NodeEspCrypto('node');

const addon = tryNativeAddon();
const hasEsp = !(addon instanceof Error) && typeof addon.aeadEspSeal === 'function';

function transform(name: string, keyHex: string, icvBits: number, esn: boolean, c: NodeEspCrypto): EspTransform {
  const r = resolveAlgorithms({ aead: { name, key: keyHex, icvBits } });
  return new EspTransform(r.suite, c, r.encKey, r.authKey, r.salt, esn);
}

test('the addon has the whole-packet ESP calls and the default ESP crypto uses them', () => {
  assert.ok(hasEsp, 'aeadEspSeal/aeadEspOpen missing: rebuild the addon');
  const r = resolveAlgorithms({ aead: { name: 'rfc4106(gcm(aes))', key: '11'.repeat(20) } });
  assert.notEqual(packetPath.espAead(r.encKey, r.salt), null);
  assert.equal(nodePath.espAead(r.encKey, r.salt), null, 'node:crypto forced: the generic path');
});

for (const name of ['rfc4106(gcm(aes))', 'rfc4543(gcm(aes))']) {
  test(`${name}: whole-packet, generic native and node:crypto seal identical packets and open each other's`, () => {
    let cases = 0;
    for (const keyBytes of [16, 24, 32]) {
      for (const icvBits of name === 'rfc4106(gcm(aes))' ? [64, 96, 128] : [128]) {
        for (const esn of [false, true]) {
          const keyHex = randomBytes(keyBytes + 4).toString('hex');
          const paths = [packetPath, generic, nodePath].map((c) => transform(name, keyHex, icvBits, esn, c));
          for (const payloadLen of [0, 1, 2, 3, 15, 16, 17, 64, 1400, 1438]) {
            const payload = randomBytes(payloadLen);
            const iv = randomBytes(8);
            const spi = randomBytes(4).readInt32BE(0);
            const seqHi = esn ? randomBytes(4).readInt32BE(0) : 0;
            const seqLo = randomBytes(4).readInt32BE(0) | 1;
            const e = 20 + (payloadLen % 7); // the packet at an odd offset inside a larger buffer
            const sealed = paths.map((t) => {
              const b = new Uint8Array(e + t.sealedLen(payloadLen) + 5);
              b.set(iv, e + 8);
              b.set(payload, e + t.headLen);
              const n = t.seal(b, e, payloadLen, 6, spi, seqHi, seqLo);
              assert.equal(n, t.sealedLen(payloadLen));
              return b;
            });
            assert.deepEqual(sealed[0], sealed[1], `${name} ${keyBytes * 8} icv ${icvBits} esn ${esn} len ${payloadLen}: whole-packet = generic`);
            assert.deepEqual(sealed[0], sealed[2], `${name} ${keyBytes * 8} icv ${icvBits} esn ${esn} len ${payloadLen}: whole-packet = node:crypto`);
            const len = paths[0].sealedLen(payloadLen);
            for (const t of paths) {
              const out = new Uint8Array(len + 3);
              const ptLen = t.open(sealed[0], e, len, seqHi, out, 3);
              assert.equal(ptLen, len - 16 - icvBits / 8);
              assert.equal(t.trailer(out, 3, ptLen), payloadLen);
              assert.deepEqual(out.subarray(3, 3 + payloadLen), Uint8Array.from(payload));
              assert.equal(out[3 + ptLen - 1], 6, 'next header');
            }
            // A flipped bit in SPI, sequence, IV, payload or ICV, or a wrong ESN high half, fails the ICV.
            const t = paths[0];
            for (const at of [0, 4, 9, len - 1, 16 + (payloadLen >> 1)]) {
              const bad = sealed[0].slice();
              bad[e + at] ^= 0x04;
              const out = new Uint8Array(len).fill(0xee);
              assert.equal(t.open(bad, e, len, seqHi, out, 0), -2, `tamper at ${at}`);
              if (name === 'rfc4106(gcm(aes))') {
                assert.ok(out.subarray(0, len - 16 - icvBits / 8).every((x) => x === 0), 'no unauthenticated plaintext left');
              } else {
                assert.ok(out.every((x) => x === 0xee), 'GMAC copies nothing before the ICV verified');
              }
            }
            if (esn) assert.equal(t.open(sealed[0], e, len, seqHi ^ 0x100, new Uint8Array(len), 0), -2, 'wrong ESN high bits');
            cases++;
          }
        }
      }
    }
    assert.equal(cases, name === 'rfc4106(gcm(aes))' ? 3 * 3 * 2 * 10 : 3 * 2 * 10);
  });
}

test('aeadEspSeal/aeadEspOpen check their handle, salt and ranges', { skip: !hasEsp ? 'the addon lacks aeadEspSeal' : false }, () => {
  const a = nativeAesGcm();
  if (a === null || addon instanceof Error || addon.aeadEspSeal === undefined || addon.aeadEspOpen === undefined) {
    assert.fail('addon without AES-GCM');
  }
  const key = randomBytes(16);
  assert.throws(() => a.aeadNew(key, 12, new Uint8Array(3)), /salt is 4 bytes/);
  assert.throws(() => a.aeadNew(key, 16, new Uint8Array(4)), /12-byte nonces/);
  const noSalt = a.aeadNew(key, 12);
  const b = new Uint8Array(64);
  assert.throws(() => addon.aeadEspSeal?.(noSalt, b, 0, 16, 16, 0, 0), /without an ESP salt/);
  const h = a.aeadNew(key, 12, new Uint8Array(4));
  assert.equal(addon.aeadEspSeal(h, b, 0, 32, 16, 0, 0), 0, '16 + 32 + 16 = 64 bytes fit');
  assert.throws(() => addon.aeadEspSeal?.(h, b, 1, 32, 16, 0, 0), /outside the buffer/);
  assert.throws(() => addon.aeadEspSeal?.(h, b, 0, 32, 17, 0, 0), /tag length/);
  assert.throws(() => addon.aeadEspOpen?.(h, b, 0, 32, 16, 0, 0, new Uint8Array(31), 0), /output outside/);
  assert.equal(addon.aeadEspOpen(h, b, 0, 32, 16, 0, 0, new Uint8Array(32), 0), 0, 'what it sealed opens');
  a.aeadFree(h);
  assert.throws(() => addon.aeadEspSeal?.(h, b, 0, 32, 16, 0, 0), /freed/);
});

/** A TCP segment (20-byte header + data) from 10.0.0.1:4000 to 10.0.0.2:`dport` with its checksum right, or off by one. */
function tcpSegment(dport: number, data: Uint8Array, flags: number, goodChecksum: boolean): Uint8Array {
  const t = new Uint8Array(20 + data.length);
  const v = new DataView(t.buffer);
  v.setUint16(0, 4000);
  v.setUint16(2, dport);
  v.setUint32(4, 0x01020304);
  v.setUint8(12, 5 << 4);
  v.setUint8(13, flags);
  v.setUint16(14, 65535);
  t.set(data, 20);
  const sum = refChecksum(t, 0, t.length, refSum(pseudoHeader('10.0.0.1', '10.0.0.2', 6, t.length)));
  v.setUint16(16, goodChecksum ? sum : (sum + 1) & 0xffff);
  return t;
}

/** The whole ESP packet (SPI 0x1001, sequence `seq`) sealed around `payload` with next header `nh`, inside an IPv4 packet. */
function espIpPacket(t: EspTransform, seq: number, payload: Uint8Array, nh: number): Uint8Array {
  const esp = new Uint8Array(t.sealedLen(payload.length));
  esp.set(randomBytes(8), 8);
  esp.set(payload, t.headLen);
  t.seal(esp, 0, payload.length, nh, 0x1001, 0, seq);
  return ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 50, payload: esp });
}

test('aeadEspOpen verifies a TCP payload\'s checksum on the way (odd and even lengths); anything else is left to TCP', () => {
  const r = resolveAlgorithms(SUITES['rfc4106(gcm(aes)) 128'](1));
  const t = new EspTransform(r.suite, packetPath, r.encKey, r.authKey, r.salt, false);
  let seq = 1;
  const out = new Uint8Array(2048);
  for (const len of [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 1000, 1001, 1420, 1421]) {
    const data = randomBytes(len);
    const good = espIpPacket(t, seq++, tcpSegment(80, data, 0x18, true), 6);
    assert.ok(t.open(good, 20, good.length - 20, 0, out, 20, 0) > 0);
    assert.equal(t.tcpChecksumOk, true, `TCP, ${len} data bytes, checksum right: verified`);
    const bad = espIpPacket(t, seq++, tcpSegment(80, data, 0x18, false), 6);
    assert.ok(t.open(bad, 20, bad.length - 20, 0, out, 20, 0) > 0, 'still opens: the ICV is right');
    assert.equal(t.tcpChecksumOk, false, `TCP, ${len} data bytes, checksum off by one: not verified`);
    // The checksum covers the addresses: another source address fails it.
    const moved = good.slice();
    moved[15] ^= 1;
    assert.ok(t.open(moved, 20, moved.length - 20, 0, out, 20, 0) > 0);
    assert.equal(t.tcpChecksumOk, false, 'pseudo-header with another source address');
    // Without the IPv4 header offset nothing is verified.
    assert.ok(t.open(good, 20, good.length - 20, 0, out, 20) > 0);
    assert.equal(t.tcpChecksumOk, false, 'no header offset given');
  }
  // UDP, and a "TCP" payload shorter than a TCP header, are not verified here.
  const udp = espIpPacket(t, seq++, udpDatagram('10.0.0.1', '10.0.0.2', 4000, 9, randomBytes(30)), 17);
  assert.ok(t.open(udp, 20, udp.length - 20, 0, out, 20, 0) > 0);
  assert.equal(t.tcpChecksumOk, false, 'UDP');
  const short = espIpPacket(t, seq++, new Uint8Array(12), 6);
  assert.ok(t.open(short, 20, short.length - 20, 0, out, 20, 0) > 0);
  assert.equal(t.tcpChecksumOk, false, '12 bytes are no TCP header');
  // A bad ICV says nothing about the checksum.
  const forged = espIpPacket(t, seq++, tcpSegment(80, randomBytes(10), 0x18, true), 6);
  forged[forged.length - 1] ^= 1;
  assert.equal(t.open(forged, 20, forged.length - 20, 0, out, 20, 0), -2);
  assert.equal(t.tcpChecksumOk, false);
});

test('TCP over ESP: a segment whose checksum was verified while decrypting is taken as valid; a bad one is still dropped and counted by TCP', () => {
  const p = espPair(SUITES['rfc4106(gcm(aes)) 128']);
  const r = resolveAlgorithms(SUITES['rfc4106(gcm(aes)) 128'](1)); // the a -> b SA (SPI 0x1001)
  const t = new EspTransform(r.suite, packetPath, r.encKey, r.authKey, r.salt, false);
  const [bMac, aMac] = [p.b.interfaceList()[0].mac, p.a.interfaceList()[0].mac];
  const inject = (ipPacket: Uint8Array): void => {
    const frame = ethFrame(bMac, aMac, 0x0800, ipPacket);
    p.la.transmit(frame, 0, frame.length, p.sim.now);
    p.sim.advance(1);
  };
  const engine = p.b.ipsecEngine;
  assert.ok(engine !== null);
  const tcp = p.b.stats.tcp;
  // A SYN to a closed port: TCP answers with a RST once the segment is accepted.
  inject(espIpPacket(t, 1, tcpSegment(81, new Uint8Array(0), 0x02, true), 6));
  assert.equal(engine.rxFlags, RX_CSUM_VALID, 'verified while decrypting');
  assert.equal(tcp.badChecksum, 0);
  assert.equal(tcp.rstOut, 1, 'the SYN was taken: RST for the closed port');
  inject(espIpPacket(t, 2, tcpSegment(81, new Uint8Array(0), 0x02, false), 6));
  assert.equal(engine.rxFlags, 0, 'not verified: TCP checks it');
  assert.equal(tcp.badChecksum, 1, 'TCP found and counted the bad checksum');
  assert.equal(tcp.rstOut, 1, 'and answered nothing');
  assert.equal(p.b.stats.ipsec.delivered, 2, 'both were authentic ESP');
});
