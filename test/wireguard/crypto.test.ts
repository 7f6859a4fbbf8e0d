/**
 * Known-answer tests for both WireGuard suites. Every expected value below is
 * copied from a published source named next to it (RFCs, NIST/CAVP, the GCM
 * spec, Wycheproof, the BLAKE2 reference KAT, wireguard-go, boringtun) or is
 * computed in the test by an independent implementation (@noble/hashes
 * SHA-256 against OpenSSL's); round trips cover what has no published vector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  decodeKey, encodeKey, fipsSuite, getSuite, kdf, standardSuite, suiteForPublicKeyLength, type WgSuite,
} from '../../src/wireguard/crypto/index.js';
import { sodium } from '../../src/wireguard/crypto/sodium.js';

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const seq = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const suites: WgSuite[] = [standardSuite, fipsSuite];

const SUNSCREEN = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

// ---------------------------------------------------------------- primitives

test('ChaCha20-Poly1305: RFC 8439 §2.8.2 AEAD test vector', () => {
  const key = seq(32, 0x80);
  const nonce = h('07000000 4041424344454647');
  const aad = h('50515253c0c1c2c3c4c5c6c7');
  const expected = h(`
    d31a8d34648e60db7b86afbc53ef7ec2 a4aded51296e08fea9e2b5a736ee62d6 3dbea45e8ca9671282fafb69da92728b
    1a71de0a9e060b2905d6a5b67ecd3b36 92ddbd7f2d778b8c9803aee328091b58 fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b 6116 1ae10b594f09e26a7e902ecbd0600691`);
  const c = new Uint8Array(SUNSCREEN.length + 16);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, SUNSCREEN, aad, null, nonce, key);
  assert.equal(hex(c), hex(expected));
  const m = new Uint8Array(SUNSCREEN.length);
  sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, expected, aad, nonce, key);
  assert.equal(hex(m), hex(SUNSCREEN));
});

test('ChaCha20-Poly1305: RFC 8439 A.5 decryption (nonce 4 zero bytes ‖ 8 bytes, the WireGuard shape)', () => {
  const key = h('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
  const nonce = h('000000000102030405060708');
  const aad = h('f33388860000000000004e91');
  const sealed = h(`
    64a0861575861af460f062c79be643bd 5e805cfd345cf389f108670ac76c8cb2 4c6cfc18755d43eea09ee94e382d26b0
    bdb7b73c321b0100d4f03b7f355894cf 332f830e710b97ce98c8a84abd0b9481 14ad176e008d33bd60f982b1ff37c855
    9797a06ef4f0ef61c186324e2b350638 3606907b6a7c02b0f9f6157b53c867e4 b9166c767b804d46a59b5216cde7a4e9
    9040c5a40433225ee282a1b0a06c523e af4534d7f83fa1155b0047718cbc546a 0d072b04b3564eea1b422273f548271a
    0bb2316053fa76991955ebd63159434e cebb4e466dae5a1073a6727627097a10 49e617d91d361094fa68f0ff77987130
    305beaba2eda04df997b714d6c6f2c29 a6ad5cb4022b02709b eead9d67890cbb22392336fea1851f38`);
  const m = new Uint8Array(sealed.length - 16);
  sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, sealed, aad, nonce, key);
  assert.equal(new TextDecoder().decode(m),
    'Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, '
    + 'or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference '
    + 'material or to cite them other than as /\u201cwork in progress./\u201d');
});

test('XChaCha20-Poly1305: draft-irtf-cfrg-xchacha A.3.1, through standardSuite.sealCookie/openCookie', () => {
  const key = seq(32, 0x80);
  const nonce = seq(24, 0x40);
  const aad = h('50515253c0c1c2c3c4c5c6c7');
  const expected = h(`
    bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
    731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
    2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
    21f9664c97637da9768812f615c68b13b52e c0875924c1c7987947deafd8780acf49`);
  assert.equal(hex(standardSuite.sealCookie(key, nonce, SUNSCREEN, aad)), hex(expected));
  assert.equal(hex(standardSuite.openCookie(key, nonce, expected, aad) ?? new Uint8Array(0)), hex(SUNSCREEN));
  const bad = expected.slice();
  bad[bad.length - 1] ^= 1;
  assert.equal(standardSuite.openCookie(key, nonce, bad, aad), null);
  assert.equal(standardSuite.openCookie(key, nonce, expected, aad.subarray(1)), null);
  assert.equal(standardSuite.openCookie(key, nonce.subarray(0, 16), expected, aad), null);
});

test('X25519: RFC 7748 §6.1 Alice and Bob', () => {
  const a = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const b = h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const A = standardSuite.publicKey(a);
  const B = standardSuite.publicKey(b);
  assert.equal(hex(A), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.equal(hex(B), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const K = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.equal(hex(standardSuite.dh(a, B) ?? new Uint8Array(0)), K);
  assert.equal(hex(standardSuite.dh(b, A) ?? new Uint8Array(0)), K);
});

test('BLAKE2s-256("abc"): RFC 7693 Appendix B; parts hash as their concatenation', () => {
  const want = '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982';
  assert.equal(hex(standardSuite.hash(utf8('abc'))), want);
  assert.equal(hex(standardSuite.hash(utf8('a'), new Uint8Array(0), utf8('bc'))), want);
});

test('keyed BLAKE2s: BLAKE2 reference blake2s-kat (key 00..1f), and the 16-byte mac', () => {
  const key = seq(32);
  // blake2s-kat.txt, keyed, in = empty and in = 00.
  assert.equal(hex(blake2s(new Uint8Array(0), { key })), '48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49');
  assert.equal(hex(blake2s(Uint8Array.of(0), { key })), '40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1');
  // Output length is a BLAKE2 parameter (not a truncation): values from CPython's
  // hashlib.blake2s(digest_size=16, key=00..1f), the reference BLAKE2 code.
  assert.equal(hex(standardSuite.mac(key, new Uint8Array(0))), '9536f9b267655743dee97b8a670f9f53');
  assert.equal(hex(standardSuite.mac(key, utf8('abc'))), '61ba5f165c194692e09d12520cc4c74a');
  assert.equal(standardSuite.mac(key, utf8('abc')).length, standardSuite.macLen);
  assert.throws(() => standardSuite.mac(seq(15), utf8('abc')), RangeError);
  // mac2 is keyed with the 16-byte cookie (value from CPython's hashlib.blake2s(key=bytes(range(16)), digest_size=16)).
  assert.equal(hex(standardSuite.mac(seq(16), utf8('abc'))), '75296c2d2c0f51210b383f386bc8b1ff');
});

test('SHA-256("abc"): FIPS 180-2 B.1; HMAC-SHA256: RFC 4231 test case 2', () => {
  assert.equal(hex(fipsSuite.hash(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(hex(fipsSuite.hash(utf8('ab'), utf8('c'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const want = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
  assert.equal(hex(fipsSuite.hmac(utf8('Jefe'), utf8('what do ya want for nothing?'))), want);
  assert.equal(hex(fipsSuite.hmac(utf8('Jefe'), utf8('what do ya '), utf8('want for nothing?'))), want);
  assert.equal(hex(fipsSuite.mac(utf8('Jefe'), utf8('what do ya want for nothing?'))), want);
  assert.equal(fipsSuite.macLen, 32);
});

test('P-256 ECDH: NIST CAVS 14.1 KAS ECC CDH primitive, P-256 COUNT = 0', () => {
  const dIUT = h('7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534');
  const QIUT = h(`04 ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230
                     28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141`);
  const QCAVS = h(`04 700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287
                      db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac`);
  assert.equal(hex(fipsSuite.publicKey(dIUT)), hex(QIUT));
  assert.equal(hex(fipsSuite.dh(dIUT, QCAVS) ?? new Uint8Array(0)),
    '46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b');
});

test('AES-256-GCM with a 128-bit IV: Wycheproof aes_gcm_test tcId 257 and 258, via fipsSuite cookie AEAD', () => {
  const vectors = [
    { key: 'e7f7a48df99edd92b81f508618aa96526b279debd9ddb292d385ddbae80b2259', iv: '7ee376910f08f497aa6c3aa7113697fd',
      msg: '5e51dbbb861b5ec60751c0996e00527f', ct: '469478d448f7e97d755541aa09ad95b0', tag: '254ada5cf662d90c5e11b2bd9c4db4c4' },
    { key: '4f84782bfbb64a973c3de3dcfa3430367fd68bc0b4c3b31e5d7c8141ba3e6a67', iv: '5d1bde6fa0994b33efd8f23f531248a7',
      msg: '78cb6650a1908a842101ea85804fed00cc56fbdafafba0ef4d1ca607dcae57b6',
      ct: 'cb960201fa5ad41d41d1c2c8037c71d52b72e76b16b589d71b976627c9734c9d', tag: '8dfce16467c3a6ebb3e7242c9a551962' },
  ];
  const none = new Uint8Array(0);
  for (const v of vectors) {
    const sealed = fipsSuite.sealCookie(h(v.key), h(v.iv), h(v.msg), none);
    assert.equal(hex(sealed), v.ct + v.tag);
    assert.equal(hex(fipsSuite.openCookie(h(v.key), h(v.iv), sealed, none) ?? none), v.msg);
    sealed[0] ^= 0x80;
    assert.equal(fipsSuite.openCookie(h(v.key), h(v.iv), sealed, none), null);
  }
});

test('AES-256-GCM with a 60-byte IV: GCM spec (McGrew & Viega) test case 18 through node:crypto', () => {
  const key = h('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
  const iv = h(`9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728
                c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b`);
  const aad = h('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const pt = h(`d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`);
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  assert.equal(ct.toString('hex'),
    '5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf40fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f');
  assert.equal(c.getAuthTag().toString('hex'), 'a44a8266ee1c8eb0c8b5d4cf5ae9f19a');
});

// ---------------------------------------------------------------- nonce layout

test('standard nonce layout: 4 zero bytes ‖ counter u64 LE', () => {
  const key = seq(32, 7);
  const aad = utf8('aad');
  const cases: [number, string][] = [
    [0, '000000000000000000000000'],
    [0x0504030201, '000000000102030405000000'],
    [2 ** 53 - 1, '00000000ffffffffffff1f00'],
  ];
  for (const [counter, nonceHex] of cases) {
    const want = new Uint8Array(SUNSCREEN.length + 16);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(want, SUNSCREEN, aad, null, h(nonceHex), key);
    assert.equal(hex(standardSuite.seal(key, counter, SUNSCREEN, aad)), hex(want), `counter ${counter}`);
    const buf = new Uint8Array(SUNSCREEN.length + 16);
    buf.set(SUNSCREEN);
    standardSuite.sealInto(key, counter, buf, 0, SUNSCREEN.length, buf, 0);
    // Transport data has no AAD.
    const noAad = new Uint8Array(SUNSCREEN.length + 16);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(noAad, SUNSCREEN, null, null, h(nonceHex), key);
    assert.equal(hex(buf), hex(noAad));
  }
});

test('fips nonce layout: 16-byte IV = 4 zero bytes ‖ counter u64 LE ‖ 4 zero bytes', () => {
  const key = seq(32, 9);
  const aad = utf8('aad');
  const cases: [number, string][] = [
    [0, '00000000000000000000000000000000'],
    [0x0504030201, '00000000010203040500000000000000'],
    [2 ** 53 - 1, '00000000ffffffffffff1f0000000000'],
  ];
  const gcm = (iv: string, withAad: boolean): string => {
    const c = createCipheriv('aes-256-gcm', key, h(iv), { authTagLength: 16 });
    if (withAad) c.setAAD(aad);
    const body = Buffer.concat([c.update(SUNSCREEN), c.final()]);
    return body.toString('hex') + c.getAuthTag().toString('hex');
  };
  for (const [counter, ivHex] of cases) {
    assert.equal(hex(fipsSuite.seal(key, counter, SUNSCREEN, aad)), gcm(ivHex, true), `counter ${counter}`);
    const buf = new Uint8Array(SUNSCREEN.length + 16);
    buf.set(SUNSCREEN);
    fipsSuite.sealInto(key, counter, buf, 0, SUNSCREEN.length, buf, 0);
    assert.equal(hex(buf), gcm(ivHex, false));
  }
});

// ---------------------------------------------------------------- Noise chain and KDF

test('standard chain start: C = HASH(construction), H = HASH(C ‖ identifier) (boringtun INITIAL_CHAIN_KEY/HASH)', () => {
  const C = standardSuite.hash(utf8(standardSuite.construction));
  assert.equal(hex(C), '60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36');
  const H = standardSuite.hash(C, utf8(standardSuite.identifier));
  assert.equal(hex(H), '2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3');
  assert.equal(standardSuite.construction, 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
  assert.equal(standardSuite.identifier, 'WireGuard v1 zx2c4 Jason@zx2c4.com');
});

test('KDF1/2/3 with HMAC-BLAKE2s: wireguard-go device/kdf_test.go vectors', () => {
  const vectors = [
    { key: '746573742d6b6579', input: '746573742d696e707574',
      t: ['6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633',
        'df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a',
        'fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24'] },
    { key: '776972656775617264', input: '776972656775617264',
      t: ['491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8',
        '1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f',
        '31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160'] },
    { key: '', input: '',
      t: ['8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0',
        '58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e',
        '0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e'] },
  ];
  for (const v of vectors) {
    for (const n of [1, 2, 3] as const) {
      assert.deepEqual(kdf(standardSuite, h(v.key), h(v.input), n).map(hex), v.t.slice(0, n));
    }
  }
});

test('fips chain start and KDF agree with an independent SHA-256/HMAC (@noble/hashes vs OpenSSL)', () => {
  const C = fipsSuite.hash(utf8(fipsSuite.construction));
  assert.equal(hex(C), hex(nobleSha256(utf8('Noise_IKpsk2_SECP256R1_AesGcm_SHA256'))));
  const H = fipsSuite.hash(C, utf8(fipsSuite.identifier));
  const cat = new Uint8Array(C.length + 29);
  cat.set(C);
  cat.set(utf8('WolfGuard v1 info@wolfssl.com'), C.length);
  assert.equal(hex(H), hex(nobleSha256(cat)));
  // KDF3 spelled out with noble's HMAC-SHA256.
  const input = seq(65, 4);
  const prk = nobleHmac(nobleSha256, C, input);
  const t1 = nobleHmac(nobleSha256, prk, Uint8Array.of(1));
  const t2 = nobleHmac(nobleSha256, prk, Uint8Array.of(...t1, 2));
  const t3 = nobleHmac(nobleSha256, prk, Uint8Array.of(...t2, 3));
  assert.deepEqual(kdf(fipsSuite, C, input, 3).map(hex), [t1, t2, t3].map(hex));
});

// ---------------------------------------------------------------- round trips and failures

for (const s of suites) {
  test(`${s.name}: seal/open round trip, tamper, wrong counter, wrong AAD, short input`, () => {
    const key = s.randomBytes(32);
    const aad = s.randomBytes(32);
    for (const len of [0, 1, 12, 65, 1420]) {
      const pt = s.randomBytes(len);
      const sealed = s.seal(key, 0, pt, aad);
      assert.equal(sealed.length, len + 16);
      assert.equal(hex(s.open(key, 0, sealed, aad) ?? Uint8Array.of(1)), hex(pt));
      assert.equal(s.open(key, 1, sealed, aad), null);
      const other = aad.slice();
      other[31] ^= 1;
      assert.equal(s.open(key, 0, sealed, other), null);
      for (const i of [0, sealed.length - 1, Math.floor(sealed.length / 2)]) {
        const bad = sealed.slice();
        bad[i] ^= 0x10;
        assert.equal(s.open(key, 0, bad, aad), null, `flip at ${i}`);
      }
    }
    assert.equal(s.open(key, 0, new Uint8Array(15), aad), null);
    assert.throws(() => s.seal(key, -1, new Uint8Array(1), aad), RangeError);
    assert.throws(() => s.seal(key, 2 ** 53, new Uint8Array(1), aad), RangeError);
    assert.throws(() => s.seal(key.subarray(1), 0, new Uint8Array(1), aad), RangeError);
  });

  test(`${s.name}: sealInto/openInto in place, with offsets, across buffers; tamper → false`, () => {
    const key = s.randomBytes(32);
    const counter = 2 ** 40 + 12345;
    const pt = s.randomBytes(1420);
    // In place at an offset, guard bytes around untouched.
    const buf = new Uint8Array(16 + 1420 + 16 + 8).fill(0xee);
    buf.set(pt, 16);
    s.sealInto(key, counter, buf, 16, 1420, buf, 16);
    assert.notEqual(hex(buf.subarray(16, 16 + 1420)), hex(pt));
    assert.equal(hex(buf.subarray(0, 16)), 'ee'.repeat(16));
    assert.equal(hex(buf.subarray(16 + 1436)), 'ee'.repeat(8));
    // The same bytes as seal() with no AAD.
    assert.equal(hex(buf.subarray(16, 16 + 1436)), hex(s.seal(key, counter, pt, new Uint8Array(0))));
    const sealedCopy = buf.slice(16, 16 + 1436);
    assert.equal(s.openInto(key, counter, buf, 16, 1436, buf, 16), true);
    assert.equal(hex(buf.subarray(16, 16 + 1420)), hex(pt));
    assert.equal(hex(buf.subarray(0, 16)), 'ee'.repeat(16));
    // Different buffers and offsets.
    const src = new Uint8Array(3 + 1436);
    src.set(sealedCopy, 3);
    const dst = new Uint8Array(100 + 1420);
    assert.equal(s.openInto(key, counter, src, 3, 1436, dst, 100), true);
    assert.equal(hex(dst.subarray(100)), hex(pt));
    const out = new Uint8Array(7 + 1436);
    s.sealInto(key, counter, dst, 100, 1420, out, 7);
    assert.equal(hex(out.subarray(7)), hex(sealedCopy));
    // Failures.
    assert.equal(s.openInto(key, counter + 1, src, 3, 1436, dst, 100), false);
    const bad = src.slice();
    bad[3 + 1436 - 1] ^= 1;
    assert.equal(s.openInto(key, counter, bad, 3, 1436, dst, 100), false);
    bad.set(src);
    bad[3] ^= 1;
    assert.equal(s.openInto(key, counter, bad, 3, 1436, dst, 100), false);
    assert.equal(s.openInto(key, counter, src, 3, 15, dst, 0), false);
    assert.equal(s.openInto(key, 2 ** 53, src, 3, 1436, dst, 100), false);
    // Empty payload: a keepalive is just a tag.
    const ka = new Uint8Array(16);
    s.sealInto(key, 0, ka, 0, 0, ka, 0);
    assert.equal(s.openInto(key, 0, ka, 0, 16, ka, 0), true);
    // Bounds are programming errors.
    assert.throws(() => s.sealInto(key, 0, pt, 0, 1420, new Uint8Array(1435), 0), RangeError);
    assert.throws(() => s.sealInto(key, -1, pt, 0, 10, new Uint8Array(100), 0), RangeError);
    assert.throws(() => s.openInto(key, 0, src, 3, 1437, dst, 0), RangeError);
  });

  test(`${s.name}: sealInto/openInto on different buffers at the same offset and length`, () => {
    // Guards the data path's view reuse: same (offset, length), different arrays.
    const key = s.randomBytes(32);
    const pa = s.randomBytes(100);
    const pb = s.randomBytes(100);
    const a = new Uint8Array(140);
    const b = new Uint8Array(140);
    a.set(pa, 8);
    b.set(pb, 8);
    s.sealInto(key, 1, a, 8, 100, a, 8);
    s.sealInto(key, 1, b, 8, 100, b, 8);
    assert.equal(hex(a.subarray(8, 124)), hex(s.seal(key, 1, pa, new Uint8Array(0))));
    assert.equal(hex(b.subarray(8, 124)), hex(s.seal(key, 1, pb, new Uint8Array(0))));
    assert.equal(s.openInto(key, 1, a, 8, 116, a, 8), true);
    assert.equal(s.openInto(key, 1, b, 8, 116, b, 8), true);
    assert.equal(hex(a.subarray(8, 108)), hex(pa));
    assert.equal(hex(b.subarray(8, 108)), hex(pb));
  });

  test(`${s.name}: DH symmetry for random keys; keys have the suite's sizes`, () => {
    for (let i = 0; i < 8; i++) {
      const a = s.generatePrivateKey();
      const b = s.generatePrivateKey();
      assert.equal(a.length, 32);
      const A = s.publicKey(a);
      const B = s.publicKey(b);
      assert.equal(A.length, s.publicKeyLen);
      const z1 = s.dh(a, B);
      const z2 = s.dh(b, A);
      assert.ok(z1 !== null && z2 !== null);
      assert.equal(z1.length, 32);
      assert.equal(hex(z1), hex(z2));
    }
    assert.equal(suiteForPublicKeyLength(s.publicKeyLen), s.name);
    assert.equal(getSuite(s.name), s);
  });

  test(`${s.name}: cookie AEAD round trip with the suite's nonce length`, () => {
    const key = s.randomBytes(32);
    const nonce = s.randomBytes(s.cookieNonceLen);
    const cookie = s.randomBytes(s.cookieLen);
    const mac1 = s.randomBytes(s.macLen);
    const sealed = s.sealCookie(key, nonce, cookie, mac1);
    assert.equal(sealed.length, s.cookieLen + 16);
    assert.equal(hex(s.openCookie(key, nonce, sealed, mac1) ?? new Uint8Array(0)), hex(cookie));
    const n2 = nonce.slice();
    n2[0] ^= 1;
    assert.equal(s.openCookie(key, n2, sealed, mac1), null);
    assert.equal(s.openCookie(key, nonce, sealed.subarray(0, 15), mac1), null);
    assert.throws(() => s.sealCookie(key, nonce.subarray(1), cookie, mac1), RangeError);
  });
}

test('X25519: invalid public keys give null', () => {
  const a = standardSuite.generatePrivateKey();
  // Low-order points (the blocklist libsodium and NaCl ports publish): 0, 1, the two
  // order-8 points, and p−1, p, p+1 (non-canonical encodings of the same); each
  // makes the shared secret all zeros.
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];
  for (const p of lowOrder) assert.equal(standardSuite.dh(a, h(p)), null, p);
  assert.equal(standardSuite.dh(a, new Uint8Array(31)), null);
  assert.equal(standardSuite.dh(a, new Uint8Array(65)), null);
  assert.equal(standardSuite.dh(a.subarray(1), standardSuite.publicKey(a)), null);
  assert.throws(() => standardSuite.publicKey(new Uint8Array(31)), RangeError);
});

test('P-256: invalid public and private keys', () => {
  const d = h('7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534');
  const Q = h(`04 700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287
                  db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac`);
  const offCurve = Q.slice();
  offCurve[64] ^= 1;
  assert.equal(fipsSuite.dh(d, offCurve), null);
  const hybrid = Q.slice();
  hybrid[0] = 0x06 | (Q[64] & 1); // X9.62 hybrid encoding of the same, valid point
  assert.equal(fipsSuite.dh(d, hybrid), null);
  assert.equal(fipsSuite.dh(d, Uint8Array.of(0x02 | (Q[64] & 1), ...Q.subarray(1, 33))), null); // compressed
  assert.equal(fipsSuite.dh(d, new Uint8Array(65)), null);
  assert.equal(fipsSuite.dh(d, Uint8Array.of(4, ...new Uint8Array(64))), null);
  assert.equal(fipsSuite.dh(d, Q.subarray(0, 64)), null);
  // Private scalars must be in [1, n-1].
  const n = h('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  for (const bad of [new Uint8Array(32), n, new Uint8Array(32).fill(0xff), new Uint8Array(31)]) {
    assert.throws(() => fipsSuite.publicKey(bad), RangeError);
    assert.equal(fipsSuite.dh(bad, Q), null);
  }
  // n − 1 is valid and gives −G, whose x equals G's: the key of priv = 1 and priv = n−1 share X.
  const nm1 = n.slice();
  nm1[31] -= 1;
  const one = new Uint8Array(32);
  one[31] = 1;
  assert.equal(hex(fipsSuite.publicKey(nm1).subarray(1, 33)), hex(fipsSuite.publicKey(one).subarray(1, 33)));
});

test('key text: encodeKey/decodeKey round trip and strict errors naming the key', () => {
  const alice = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const text = encodeKey(alice);
  assert.equal(text.length, 44);
  assert.equal(hex(decodeKey(text, 'private key')), hex(alice));
  const p256 = fipsSuite.publicKey(fipsSuite.generatePrivateKey());
  assert.equal(hex(decodeKey(encodeKey(p256), 'peer public key')), hex(p256));
  const bad: [string, RegExp][] = [
    ['', /peer key: not a base64 key/],
    [` ${text}`, /peer key: not a base64 key/],
    [`${text}\n`, /peer key: not a base64 key/],
    [text.slice(0, 43), /peer key: not a base64 key/],
    [text.replace(/.$/, '').replace(/^./, '-') + '=', /peer key: not a base64 key/],
    [text.slice(0, 42) + 'B=', /peer key: not canonical base64/],
    [encodeKey(new Uint8Array(16)), /peer key: decodes to 16 bytes, expected 32 or 65/],
    [encodeKey(new Uint8Array(33)), /peer key: decodes to 33 bytes/],
  ];
  for (const [t, re] of bad) assert.throws(() => decodeKey(t, 'peer key'), (e: unknown) => e instanceof RangeError && re.test(e.message), t);
  assert.throws(() => decodeKey(encodeKey(p256), 'preshared key', [32]), /preshared key: decodes to 65 bytes, expected 32/);
  assert.equal(suiteForPublicKeyLength(33), null);
});
