/** wg-quick's host keys for `up --tun` (no root): FwMark, Table and the hooks, as wg-quick reads them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_KEY_WARNING, parseHostKeys } from '../../src/cli/host-net.js';
import { parseWgQuick } from '../../src/wireguard/config.js';
import { upOptions } from '../../src/cli/up.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const PEER = Buffer.alloc(32, 2).toString('base64');

test('parseHostKeys: FwMark (decimal, hex, off), Table, repeated hooks in order, comments stripped, [Peer] keys ignored', () => {
  const text = `[Interface]
PrivateKey = ${KEY}
FwMark = 0x1234
Table = 1000
PreUp = echo one %i   # comment
PreUp = echo two
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PreDown = echo down
PostDown = echo gone %i

[Peer]
PublicKey = ${PEER}
AllowedIPs = 0.0.0.0/0
`;
  const k = parseHostKeys(text);
  assert.equal(k.fwmark, 0x1234);
  assert.equal(k.table, '1000');
  assert.deepEqual(k.preUp, ['echo one %i', 'echo two']);
  assert.deepEqual(k.postUp, ['iptables -A FORWARD -i %i -j ACCEPT']);
  assert.deepEqual(k.preDown, ['echo down']);
  assert.deepEqual(k.postDown, ['echo gone %i']);
  // The stack mode warns about each of them; --tun applies them and drops exactly those warnings.
  const warnings = parseWgQuick(text).warnings;
  assert.equal(warnings.length, 7);
  assert.ok(warnings.every((w) => HOST_KEY_WARNING.test(w)));

  assert.deepEqual(parseHostKeys(`[Interface]\nFwMark = off\nTable = Off\n`), { fwmark: 0, table: 'off', preUp: [], postUp: [], preDown: [], postDown: [] });
  assert.equal(parseHostKeys('[Interface]\nFwMark = 51820\n').fwmark, 51820);
  assert.equal(parseHostKeys('[Interface]\n').table, 'auto');
});

test('parseHostKeys rejects a FwMark that is no 32-bit number and a Table that is no table name', () => {
  assert.throws(() => parseHostKeys('[Interface]\nFwMark = 0x100000000\n'), /FwMark must be off or a 32-bit number/);
  assert.throws(() => parseHostKeys('[Interface]\nFwMark = blue\n'), /FwMark/);
  assert.throws(() => parseHostKeys('[Interface]\nTable = main; rm\n'), /Table must be/);
});

test('upOptions: --tun selects the host mode', () => {
  assert.equal(upOptions(['a.conf', '--tun']).tun, true);
  assert.equal(upOptions(['a.conf']).tun, false);
});
