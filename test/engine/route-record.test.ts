/**
 * Route records (issue #11 item 1): Ipv4.route() fills a record its caller
 * owns, and output() sends along the record it is given. A route() made in
 * between by another sender (a nested send) fills that sender's record and
 * cannot redirect the first packet, which it did when route() left its
 * answer in fields of the IPv4 layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipOutputFixture, ip4 } from '../helpers/ip-output.js';
import { NetInterface } from '../../src/engine/netif.js';
import { RouteRecord } from '../../src/engine/routes.js';
import { Ipv4 } from '../../src/engine/ipv4.js';
import type { Link, LinkStats } from '../../src/link/link.js';
import { ipSrc, ipDst } from '../../src/wire/ipv4.js';

/** A point-to-point ('ip') link that keeps the source and destination of every packet handed to it. */
class RecordingLink implements Link {
  readonly layer = 'ip' as const;
  readonly mtu = 1500;
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0 };
  readonly sent: Array<{ src: number; dst: number }> = [];
  constructor(readonly name: string) {}
  transmit(frame: Uint8Array, offset: number, length: number): number {
    this.sent.push({ src: ipSrc(frame, offset), dst: ipDst(frame, offset) });
    this.stats.txFrames++;
    this.stats.txBytes += length;
    return 0;
  }
  poll(): number {
    return Infinity;
  }
  setWakeup(): void {}
  close(): void {}
}

/** The IPv4 output path alone, over two point-to-point interfaces: 10.1.0.1/24 and 10.2.0.1/24. */
function fixture(): { ip: Ipv4; links: RecordingLink[]; ifs: NetInterface[] } {
  const links = [new RecordingLink('a'), new RecordingLink('b')];
  const { ip, ifs } = ipOutputFixture([links[0], links[1]]);
  return { ip, links, ifs };
}

test('a route() nested between another route() and its output() does not change where the first packet goes', () => {
  const { ip, links, ifs } = fixture();
  const first = new RouteRecord();
  const nested = new RouteRecord();
  assert.equal(ip.route(first, ip4('10.1.0.9'), 0), 0);
  // Someone else routes meanwhile, to a destination behind the other interface.
  assert.equal(ip.route(nested, ip4('10.2.0.9'), 0), 0);
  assert.equal(nested.iface, ifs[1]);
  assert.equal(first.iface, ifs[0], 'the nested route() left the first record alone');
  assert.equal(ip.output(first, 17, 8, ip4('10.1.0.9'), 64, 0), 0);
  assert.deepEqual(links[0].sent, [{ src: ip4('10.1.0.1'), dst: ip4('10.1.0.9') }], 'sent on the first route, with its source');
  assert.deepEqual(links[1].sent, [], 'nothing went out on the nested route');
  // And the nested sender's own packet still takes its own route.
  assert.equal(ip.output(nested, 17, 8, ip4('10.2.0.9'), 64, 0), 0);
  assert.deepEqual(links[1].sent, [{ src: ip4('10.2.0.1'), dst: ip4('10.2.0.9') }]);
});

test('a record keeps its own source address: a bound source is not replaced by a later unbound route', () => {
  const { ip, links } = fixture();
  const bound = new RouteRecord();
  const other = new RouteRecord();
  // A socket bound to 10.2.0.1 sends to 10.1.0.9: interface a, source 10.2.0.1 kept.
  assert.equal(ip.route(bound, ip4('10.1.0.9'), ip4('10.2.0.1')), 0);
  assert.equal(ip.route(other, ip4('10.1.0.8'), 0), 0);
  assert.equal(ip.output(bound, 17, 8, ip4('10.1.0.9'), 64, 0), 0);
  assert.deepEqual(links[0].sent, [{ src: ip4('10.2.0.1'), dst: ip4('10.1.0.9') }]);
});

test('an unroutable destination fails route() and leaves a record that output() refuses', () => {
  const { ip, links } = fixture();
  const r = new RouteRecord();
  assert.ok(ip.route(r, ip4('192.0.2.1'), 0) < 0);
  assert.ok(ip.output(r, 17, 8, ip4('192.0.2.1'), 64, 0) < 0);
  assert.deepEqual(links[0].sent, []);
  assert.deepEqual(links[1].sent, []);
});
