/**
 * ConnectionLines (src/cli/tap-lines.ts): `wirestack tap`'s connection,
 * request and close lines, built by concatenation and by listeners shared by
 * every socket, are the same text JSON.stringify of the whole event gave
 * (and the same text lines), for any service, address, method and URL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { OutBatch } from '../../src/cli/out-batch.js';
import { ConnectionLines } from '../../src/cli/tap-lines.js';

class FakeSocket extends EventEmitter {
  bytesRead = 0;
  bytesWritten = 0;
  destroyed = 0;
  constructor(public remoteAddress: string | undefined, public remotePort: number | undefined) {
    super();
  }

  destroy(): void {
    this.destroyed++;
  }
}

function setup(json: boolean): { lines: ConnectionLines; out: string[]; failed: Array<[string, Record<string, string>]> } {
  const out: string[] = [];
  const batch = new OutBatch((s) => out.push(...s.split('\n')));
  const failed: Array<[string, Record<string, string>]> = [];
  const lines = new ConnectionLines(batch, json, (m, f) => {
    batch.flush();
    failed.push([m, f]);
  });
  // Lines are batched: flush() after each step makes them visible.
  return { lines, out: new Proxy(out, { get: (t, k) => { batch.flush(); return Reflect.get(t, k) as unknown; } }), failed };
}

test('JSON lines equal JSON.stringify of the event, for awkward services, peers, methods and URLs', () => {
  const { lines, out } = setup(true);
  const cases: Array<[string, string | undefined, number | undefined, string | undefined, string | undefined, boolean, number]> = [
    ['http', '::ffff:10.75.0.1', 40000, 'GET', '/', true, 200],
    ['https', 'fe80::1%tap0', 443, 'POST', '/a"b\\c\u0001é\u2028', true, 404],
    ['sv"c', undefined, undefined, undefined, undefined, false, 0],
    ['echo', '10.0.0.1', 7, 'HEAD', '/x?y=%22', true, 304],
  ];
  for (const [service, ra, rp, method, url, sent, status] of cases) {
    const sock = new FakeSocket(ra, rp);
    lines.track(service, sock);
    const remote = `${(ra ?? '?').includes(':') ? `[${ra ?? '?'}]` : ra ?? '?'}:${rp ?? 0}`;
    assert.equal(out.at(-1), JSON.stringify({ event: 'connection', service, remote }));
    assert.ok(lines.sockets.has(sock));
    const res = { req: { method, url }, headersSent: sent, statusCode: status } as unknown as http.ServerResponse;
    lines.requestLine(service).call(res);
    assert.equal(out.at(-1), JSON.stringify({ event: 'request', service, method: method ?? '', url: url ?? '', status: sent ? status : null }));
    sock.bytesRead = 123;
    sock.bytesWritten = 4567;
    sock.emit('close');
    assert.equal(out.at(-1), JSON.stringify({ event: 'close', service, remote, bytesIn: 123, bytesOut: 4567 }));
    assert.ok(!lines.sockets.has(sock), 'forgotten once closed');
  }
  for (const l of out) assert.doesNotThrow(() => JSON.parse(l));
});

test('text lines, and errors: reported with service and peer, except timeouts', () => {
  const { lines, out, failed } = setup(false);
  const sock = new FakeSocket('::ffff:10.75.0.1', 40000);
  lines.track('http', sock);
  assert.equal(out.at(-1), 'connection: http from [::ffff:10.75.0.1]:40000');
  const res = { req: { method: 'GET', url: '/x' }, headersSent: false, statusCode: 200 } as unknown as http.ServerResponse;
  lines.requestLine('http').call(res);
  assert.equal(out.at(-1), 'request: http GET /x -> closed before a response');
  const timeout = Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
  sock.emit('error', timeout);
  assert.equal(failed.length, 0, 'a request timeout is counted per cause, not reported per socket');
  sock.emit('error', Object.assign(new Error('boom'), { code: 'ECONNRESET' }));
  assert.deepEqual(failed, [['boom', { service: 'http', remote: '[::ffff:10.75.0.1]:40000' }]]);
  sock.bytesRead = 5;
  sock.emit('close');
  assert.equal(out.at(-1), 'closed: http from [::ffff:10.75.0.1]:40000 (5 bytes in, 0 out)');
  // Two sockets share the listeners, each with its own record.
  const a = new FakeSocket('10.0.0.1', 1);
  const b = new FakeSocket('10.0.0.2', 2);
  lines.track('echo', a);
  lines.track('discard', b);
  assert.equal(a.listeners('close')[0], b.listeners('close')[0], 'one close listener for every socket');
  b.emit('close');
  a.emit('close');
  assert.deepEqual(out.slice(-2), ['closed: discard from 10.0.0.2:2 (0 bytes in, 0 out)', 'closed: echo from 10.0.0.1:1 (0 bytes in, 0 out)']);
});
