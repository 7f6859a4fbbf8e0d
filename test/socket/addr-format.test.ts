/**
 * formatSockAddr (src/socket/addr.ts) keeps the last two texts it made: a
 * cached text must never be given for another address, family or zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSockAddr, newSockAddr } from '../../src/socket/addr.js';
import { AF_INET, AF_INET6 } from '../../src/engine/socket-table.js';
import { parseIpv6 } from '../../src/wire/ipv6addr.js';

test('formatSockAddr gives each address its own text, in any order of repeats', () => {
  const a = newSockAddr();
  const set = (text: string, zone = ''): void => {
    if (text.includes(':')) {
      a.family = AF_INET6;
      assert.ok(parseIpv6(text, a.address6 as Uint8Array, 0));
      a.address = 0;
      a.zone = zone;
    } else {
      a.family = AF_INET;
      const p = text.split('.').map(Number);
      a.address = ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
      a.zone = '';
    }
  };
  const cases: Array<[string, string, string]> = [
    ['::ffff:10.75.0.2', '', '::ffff:10.75.0.2'],
    ['::ffff:10.75.0.1', '', '::ffff:10.75.0.1'],
    ['10.75.0.2', '', '10.75.0.2'],
    ['fe80::1', 'tap0', 'fe80::1%tap0'],
    ['fe80::1', 'tap1', 'fe80::1%tap1'],
    ['fe80::1', '', 'fe80::1'],
    ['0.0.0.0', '', '0.0.0.0'],
    ['::', '', '::'],
    ['255.255.255.255', '', '255.255.255.255'],
    ['2001:db8::1', '', '2001:db8::1'],
  ];
  // Every pair, each twice in a row and then alternating, so both cache entries are hit and replaced.
  for (const [t1, z1, want1] of cases) {
    for (const [t2, z2, want2] of cases) {
      for (const [t, z, want] of [[t1, z1, want1], [t1, z1, want1], [t2, z2, want2], [t1, z1, want1], [t2, z2, want2], [t2, z2, want2]]) {
        set(t, z);
        assert.equal(formatSockAddr(a), want, `${t}%${z} after ${t1}, ${t2}`);
      }
    }
  }
});
