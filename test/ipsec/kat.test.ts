/**
 * Known-answer tests of the ESP transform against published vectors:
 * draft-mcgrew-gcm-test-01 (AES-GCM ESP packets, RFC 4106, including ESN
 * cases, and its AES-GMAC packet, RFC 4543), RFC 3602 section 4 (AES-CBC
 * ESP packets, cases 5-8), RFC 4868 2.7.2.1 (HMAC-SHA-256-128) and
 * RFC 2202 / RFC 2404 (HMAC-SHA-1-96).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { NodeEspCrypto } from '../../src/ipsec/crypto-node.js';
import { EspTransform, TRAILER_BAD_PADDING, TRAILER_BAD_PAD_LENGTH } from '../../src/ipsec/transform.js';
import { AUTH_NONE, ENC_CBC, resolveAlgorithms, type EspSuite } from '../../src/ipsec/algorithms.js';

const crypto = new NodeEspCrypto();
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** draft-mcgrew-gcm-test-01 section 4: key, nonce (salt || IV), AAD (SPI || [ESN high ||] seq), plaintext, ciphertext, tag. */
const GCM_CASES: Array<[string, string, string, string, string, string]> = [
  ['4c80cdefbb5d10da906ac73c3613a634', '2e443b684956ed7e3b244cfe', '000043218765432100000000',
    '45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f756470037369700963796265726369747902646b000021000101020201',
    'fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732',
    '459018148f6cbe722fd04796562dfdb4'],
  ['feffe9928665731c6d6a8f9467308308', 'cafebabefacedbaddecaf888', '0000a5f80000000a',
    '4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369700963796265726369747902646b00000100010001',
    'deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1',
    '83b70d3aa8bc6ee4c309e9d85a41ad4a'],
  ['abbccddef00112233445566778899aababbccddef00112233445566778899aab', '112233440102030405060708', '4a2cbfe300000002',
    '4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201',
    'ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8e',
    'b335f4eecfdbf831824b4c4915956c96'],
  ['00000000000000000000000000000000', '000000000000000000000000', '0000000000000001',
    '4500003c99c500008001cb7a40679318010101010800075c020044006162636465666768696a6b6c6d6e6f707172737475767761626364656667686901020201',
    '4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3',
    'f821d496eeb096e98ad2b69e4799c71d'],
  ['3de09874b388e6491988d0c3607eae1f', '57690e434e280000a2fca1a3', '42f67e3f1010101010101010',
    '4500003c99c300008001cb7c40679318010101010800085c020043006162636465666768696a6b6c6d6e6f707172737475767761626364656667686901020201',
    'fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c35791765acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a',
    'e0d731cc978ecafaeae88f00e80d6e48'],
  ['3de09874b388e6491988d0c3607eae1f', '57690e434e280000a2fca1a3', '42f67e3f1010101010101010',
    '4500001c42a200008001441f406793b6e00000020a00f5ff01020201',
    'fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed',
    '369f071f35e034be95f112e4e7d05d35'],
  ['feffe9928665731c6d6a8f9467308308feffe9928665731c', 'cafebabefacedbaddecaf888', '0000a5f80000000a',
    '45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e501016d075680001',
    'a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0315b27452144cc77',
    '95457b9652037f5318027b5b4cd7a636'],
  ['abbccddef00112233445566778899aab', 'decaf888cafedebaceface74', '000001000000000000000001',
    '4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d500004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec959b6266c04722b14923010101',
    '18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c226f2127b27db35724e7845d68',
    '651f57e65f354f75ff17015769623436'],
  ['abbccddef00112233445566778899aababbccddef00112233445566778899aab', '73616c74616e640169766563', '17405e67156f3126dd0db99b',
    '45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d540001',
    'f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57ff4d3a31ce673119e',
    '451626c2415771e3b7eebca614c89b35'],
  ['3de09874b388e6491988d0c3607eae1f', '57690e434e280000a2fca1a3', '42f67e3f1010101010101010',
    '45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b325ae270c03899493915010101',
    'fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d54182800cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39ab533163aad4550ee5160975',
    'cdb608c5769189609763b8e18caa81e2'],
  ['abbccddef00112233445566778899aababbccddef00112233445566778899aab', '73616c74616e640169766563', '17405e67156f3126dd0db99b',
    '636973636f0172756c657301746865016e6574776501646566696e6501746865746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f72726f7701020201',
    'd4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b012a49363412364f8',
    'c0cac587f249e56b11e24f30e44ccc76'],
  ['7d773d00c144c525ac619d18c84a3f47', 'd966426743457e9182443bc6', '335467aeffffffff',
    '01020201', '437f866b', 'cb3f699fe9b0822bac961c4504bef270'],
  ['abbccddef00112233445566778899aab', 'decaf888cafedebaceface74', '000001000000000000000001',
    '746f016265016f72016e6f7401746f0162650001', '29c9fc69a197d038ccdd14e2ddfcaa0543332164',
    '412503524303ed3c6c5f283843af8c3e'],
  ['6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961', '7475726e333021696765746d', '796b6963ffffffffffffffff',
    '45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201',
    'f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe821dcc63b9',
    'd0937ba2945f669368661a329fb4c053'],
];

function gcmTransform(key: string, nonce: string, esn: boolean, name = 'rfc4106(gcm(aes))', c = crypto): EspTransform {
  const r = resolveAlgorithms({ aead: { name, key: key + nonce.slice(0, 8) } });
  return new EspTransform(r.suite, c, r.encKey, r.authKey, r.salt, esn);
}

// AES-GCM runs on the addon's reused OpenSSL context by default, on node:crypto without it: both meet the vectors.
for (const impl of ['native', 'node'] as const) {
  const gcmCrypto = new NodeEspCrypto(impl);

  test(`AES-GCM ESP packets of draft-mcgrew-gcm-test-01 open and seal byte-exact (incl. ESN), ${impl}`, () => {
    let sealedExact = 0;
    let esnCases = 0;
    for (const [i, [key, nonce, aadHex, ptHex, ctHex, tagHex]] of GCM_CASES.entries()) {
      const aad = hex(aadHex);
      const esn = aad.length === 12;
      if (esn) esnCases++;
      const spi = hex(aadHex.slice(0, 8));
      const seqLo = hex(aadHex.slice(-8));
      const seqHi = esn ? Buffer.from(aad.subarray(4, 8)).readInt32BE(0) : 0;
      const packet = hex(toHex(spi) + toHex(seqLo) + nonce.slice(8) + ctHex + tagHex);
      const t = gcmTransform(key, nonce, esn, undefined, gcmCrypto);
      const pt = hex(ptHex);
      const out = new Uint8Array(packet.length);
      const n = t.open(packet, 0, packet.length, seqHi, out, 0);
      assert.equal(n, pt.length, `case ${i}: plaintext length`);
      assert.equal(toHex(out.subarray(0, n)), ptHex, `case ${i}: plaintext`);
      const payloadLen = t.trailer(out, 0, n);
      assert.equal(payloadLen, pt.length - 2 - pt[pt.length - 2], `case ${i}: trailer accepted`);
      // A flipped bit anywhere (header, IV, ciphertext, tag) fails the ICV; so does a wrong ESN high half.
      for (const at of [0, 5, 9, 20, packet.length - 1]) {
        const bad = packet.slice();
        bad[at] ^= 0x10;
        assert.equal(t.open(bad, 0, bad.length, seqHi, out, 0), -2, `case ${i}: tamper at ${at}`);
      }
      if (esn) assert.equal(t.open(packet, 0, packet.length, seqHi ^ 1, out, 0), -2, `case ${i}: wrong ESN high bits`);
      // Sealing the payload with the vector's IV gives the vector's packet (its padding is minimal).
      if (t.padFor(payloadLen) === pt[pt.length - 2]) {
        const buf = new Uint8Array(packet.length + 16);
        buf.set(hex(nonce.slice(8)), 8);
        buf.set(pt.subarray(0, payloadLen), 16);
        const len = t.seal(buf, 0, payloadLen, pt[pt.length - 1], new DataView(spi.buffer).getInt32(0),
          seqHi, new DataView(seqLo.buffer).getInt32(0));
        assert.equal(toHex(buf.subarray(0, len)), toHex(packet), `case ${i}: sealed packet`);
        sealedExact++;
      }
    }
    assert.equal(GCM_CASES.length, 14);
    assert.equal(esnCases, 9, 'the draft has ESN cases (12-byte AAD)');
    assert.equal(sealedExact, 14, 'every case uses minimal padding, so sealing reproduces every packet');
  });

  test(`AES-GMAC ESP packet of draft-mcgrew-gcm-test-01 (RFC 4543) verifies and seals byte-exact, ${impl}`, () => {
    const payload = '45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f7071727374';
    const packet = hex('00004321' + '00000007' + '0000000000000000' + payload + '01020201' + 'f2a9a836e155106aa8dcd618e4099aaa');
    const t = gcmTransform('4c80cdefbb5d10da906ac73c3613a634', '22433c64' + '0000000000000000', false, 'rfc4543(gcm(aes))', gcmCrypto);
    const out = new Uint8Array(packet.length);
    const n = t.open(packet, 0, packet.length, 0, out, 0);
    assert.equal(n, payload.length / 2 + 4);
    assert.equal(t.trailer(out, 0, n), payload.length / 2);
    assert.equal(toHex(out.subarray(0, payload.length / 2)), payload, 'GMAC leaves the payload in clear');
    const bad = packet.slice();
    bad[40] ^= 1; // the payload is authenticated even though it is not encrypted
    assert.equal(t.open(bad, 0, bad.length, 0, out, 0), -2);
    const buf = new Uint8Array(packet.length);
    buf.set(hex(payload), 16);
    assert.equal(t.seal(buf, 0, payload.length / 2, 1, 0x4321, 0, 7), packet.length);
    assert.equal(toHex(buf), toHex(packet));
  });
}

/** RFC 3602 section 4, cases 5-8: key, IV, SPI, seq, next header, payload, full ESP packet. */
const CBC_CASES: Array<[string, string, number, number, number, string, string]> = [
  ['90d382b410eeba7ad938c46cec1a82bf', 'e96e8c08ab465763fd098d45dd3ff893', 0x4321, 1, 1,
    '08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
    '0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849a4870b66cc6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6'],
  ['90d382b410eeba7ad938c46cec1a82bf', '69d08df7d203329db093fc4924e5bd80', 0x4321, 8, 1,
    '0800b5e8a80a0500a69c083d0b660e00777777777777777777777777',
    '000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109689bb379d2d750c0d915dca346a89f75'],
  ['0123456789abcdef0123456789abcdef', 'f4e765244f6407adf13dc1380f673f37', 0x8765, 2, 4,
    '45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d02a2040008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
    '0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed611b0c237ca96cf74a93013c1b0ea1a0cf70f8e4ecaec78ac53aad7a0f022b859243c647752e94a859352b8a4d4d2decd136e5c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d'],
  ['0123456789abcdef0123456789abcdef', '85d47224b5f3dd5d2101d4ea8dffab22', 0x8765, 5, 4,
    '45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083da3de0300ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    '000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7048fe45318e11f8a0f62ede3c3fc61203bb50f980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de435e7207ed971ef3d2726d9b5ef6affc6d17a0decbb13892'],
];

// AES-CBC, HMAC and CBC IVs on the addon's reused OpenSSL contexts (native/esp_cbc.c) and on node:crypto.
for (const impl of ['native', 'node'] as const) {
  const cbcCrypto = new NodeEspCrypto(undefined, impl);

  test(`AES-CBC ESP packets of RFC 3602 section 4 (cases 5-8) seal and open byte-exact, ${impl}`, () => {
    for (const [key, iv, spi, seq, nh, payloadHex, packetHex] of CBC_CASES) {
      // The RFC's cases are encryption-only; the engine never builds such an SA (integrity is mandatory).
      const suite: EspSuite = {
        enc: ENC_CBC, auth: AUTH_NONE, cipher: 'aes-128-cbc', hash: '', encKeyLen: 16, authKeyLen: 0, saltLen: 0,
        ivLen: 16, block: 16, icvLen: 0, encName: 'cbc(aes)', authName: '',
      };
      const t = new EspTransform(suite, cbcCrypto, hex(key), new Uint8Array(0), new Uint8Array(0), false);
      const payload = hex(payloadHex);
      const packet = hex(packetHex);
      const buf = new Uint8Array(packet.length);
      buf.set(hex(iv), 8);
      buf.set(payload, 24);
      assert.equal(t.seal(buf, 0, payload.length, nh, spi, 0, seq), packet.length);
      assert.equal(toHex(buf), packetHex);
      const out = new Uint8Array(packet.length);
      const n = t.open(packet, 0, packet.length, 0, out, 0);
      assert.equal(t.trailer(out, 0, n), payload.length);
      assert.equal(out[n - 1], nh);
      assert.equal(toHex(out.subarray(0, payload.length)), payloadHex);
    }
  });

  test(`HMAC-SHA-256-128 (RFC 4868 2.7.2.1) and HMAC-SHA-1-96 (RFC 2202 / RFC 2404) truncations, ${impl}`, () => {
    const cases: Array<[string, string, string, string]> = [
      ['sha256', '0b'.repeat(32), Buffer.from('Hi There').toString('hex'), '198a607eb44bfbc69903a0f1cf2bbdc5'],
      ['sha256', Buffer.from('Jefe'.repeat(8)).toString('hex'), Buffer.from('what do ya want for nothing?').toString('hex'),
        '167f928588c5cc2eef8e3093caa0e87c'],
      ['sha256', 'aa'.repeat(32), 'dd'.repeat(50), 'cdcb1220d1ecccea91e53aba3092f962'],
      ['sha1', '0b'.repeat(20), Buffer.from('Hi There').toString('hex'), 'b617318655057264e28bc0b6'],
    ];
    for (const [hash, key, data, want] of cases) {
      const k = cbcCrypto.importKey(hex(key));
      const b = hex(data);
      const out = new Uint8Array(want.length / 2);
      cbcCrypto.hmac(hash, k, b, 0, b.length, new Uint8Array(0), 0, out, 0, out.length);
      assert.equal(toHex(out), want);
      const withIcv = new Uint8Array(b.length + out.length);
      withIcv.set(b);
      withIcv.set(out, b.length);
      assert.ok(cbcCrypto.hmacVerify(hash, k, withIcv, 0, b.length, new Uint8Array(0), 0, b.length, out.length));
      withIcv[withIcv.length - 1] ^= 1;
      assert.ok(!cbcCrypto.hmacVerify(hash, k, withIcv, 0, b.length, new Uint8Array(0), 0, b.length, out.length));
    }
  });

  test(`null encryption + HMAC ESP (RFC 2410) matches an independent HMAC over header, payload and trailer (+ESN high bits), ${impl}`, () => {
    for (const [name, keyLen, icv] of [['hmac(sha1)', 20, 12], ['hmac(sha256)', 32, 16]] as const) {
      for (const esn of [false, true]) {
        const key = '5a'.repeat(keyLen);
        const r = resolveAlgorithms({ enc: { name: 'ecb(cipher_null)' }, auth: { name, key } });
        assert.equal(r.suite.icvLen, icv);
        const t = new EspTransform(r.suite, cbcCrypto, r.encKey, r.authKey, r.salt, esn);
        const payload = hex('0800f7ff00000000' + '61'.repeat(21));
        const buf = new Uint8Array(128);
        buf.set(payload, 8);
        const len = t.seal(buf, 0, payload.length, 1, 0x1000, 5, 77);
        const pad = t.padFor(payload.length);
        assert.equal(len, 8 + payload.length + pad + 2 + icv);
        const expect = Buffer.concat([Buffer.from('000010000000004d', 'hex'), Buffer.from(payload),
          Buffer.from(Array.from({ length: pad }, (_, i) => i + 1)), Buffer.from([pad, 1])]);
        assert.equal(toHex(buf.subarray(0, len - icv)), expect.toString('hex'), 'cleartext ESP body');
        const h = createHmac(name === 'hmac(sha1)' ? 'sha1' : 'sha256', Buffer.from(key, 'hex')).update(expect);
        if (esn) h.update(Buffer.from('00000005', 'hex'));
        assert.equal(toHex(buf.subarray(len - icv, len)), h.digest().subarray(0, icv).toString('hex'));
        const out = new Uint8Array(128);
        assert.equal(t.open(buf, 0, len, 5, out, 0), payload.length + pad + 2);
        if (esn) assert.equal(t.open(buf, 0, len, 6, out, 0), -2);
      }
    }
  });
}

test('trailer checks: padding must be 1,2,3..., pad length must fit, lengths must align', () => {
  const r = resolveAlgorithms({ enc: { name: 'cbc(aes)', key: '11'.repeat(16) }, auth: { name: 'hmac(sha256)', key: '22'.repeat(32) } });
  const t = new EspTransform(r.suite, crypto, r.encKey, r.authKey, r.salt, false);
  const pt = hex('aabbcc' + '0102030405060708090a0b' + '0b' + '06');
  assert.equal(t.trailer(pt, 0, 16), 3);
  const badPad = pt.slice();
  badPad[5] = 9;
  assert.equal(t.trailer(badPad, 0, 16), TRAILER_BAD_PADDING);
  const badLen = pt.slice();
  badLen[14] = 15;
  assert.equal(t.trailer(badLen, 0, 16), TRAILER_BAD_PAD_LENGTH);
  // A ciphertext that is not a whole number of blocks is refused before any crypto.
  assert.equal(t.open(new Uint8Array(8 + 16 + 20 + 16), 0, 8 + 16 + 20 + 16, 0, new Uint8Array(64), 0), -1);
});

test('algorithm specs: XFRM names, key sizes and refusals', () => {
  for (const bits of [128, 192, 256]) {
    const r = resolveAlgorithms({ aead: { name: 'rfc4106(gcm(aes))', key: '0x' + '01'.repeat(bits / 8) + 'a1b2c3d4' } });
    assert.equal(r.suite.cipher, `aes-${bits}-gcm`);
    assert.equal(toHex(r.salt), 'a1b2c3d4');
  }
  assert.equal(resolveAlgorithms({ aead: { name: 'rfc4106(gcm(aes))', key: '01'.repeat(20), icvBits: 96 } }).suite.icvLen, 12);
  assert.throws(() => resolveAlgorithms({ aead: { name: 'rfc4106(gcm(aes))', key: '01'.repeat(16) } }), /salt/);
  assert.throws(() => resolveAlgorithms({ aead: { name: 'rfc4543(gcm(aes))', key: '01'.repeat(20), icvBits: 64 } }), /ICV/);
  assert.throws(() => resolveAlgorithms({ enc: { name: 'cbc(aes)', key: '01'.repeat(16) } }), /integrity/);
  assert.throws(() => resolveAlgorithms({ enc: { name: 'cbc(des3_ede)', key: '01'.repeat(24) }, auth: { name: 'hmac(sha1)', key: '01'.repeat(20) } }), /unsupported enc/);
  assert.throws(() => resolveAlgorithms({ auth: { name: 'hmac(md5)', key: '01'.repeat(16) } }), /unsupported auth/);
  assert.throws(() => resolveAlgorithms({ auth: { name: 'hmac(sha256)', key: '01'.repeat(16) } }), /32/);
  assert.throws(() => resolveAlgorithms({ auth: { name: 'hmac(sha256)', key: 'zz' } }), /hex/);
  assert.equal(resolveAlgorithms({ auth: { name: 'hmac(sha1)', key: '01'.repeat(20) } }).suite.icvLen, 12);
});
