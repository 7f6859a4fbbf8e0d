/**
 * patchFetch's handling of undici's global dispatcher slots, for each
 * layout a Node line has, whatever the line running this test (the
 * register tests cover the real one): `.1` alone (undici 6: Node 20, 22),
 * `.1` and `.2` the same Agent (undici 7: Node 24), `.2` the Agent and `.1`
 * a wrapper of it for the older handler API (undici 8: Node 26). Fake
 * classes stand in for undici's; the slots are put back after each test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { patchFetch } from '../../src/register/patch-fetch.js';

const SLOT_1 = Symbol.for('undici.globalDispatcher.1');
const SLOT_2 = Symbol.for('undici.globalDispatcher.2');
const slots = globalThis as unknown as Record<symbol, unknown>;

type ConnectOpts = { hostname: string; protocol: string; port: string | number; servername?: string | null };
type Connect = (opts: ConnectOpts, cb: (err: Error | null, socket: Duplex | null) => void) => void;

class FakeAgent {
  closed = false;
  constructor(readonly options: { connect?: Connect } = {}) {}
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class FakeWrapper {
  constructor(readonly inner: FakeAgent) {
    if (typeof (inner as { close?: unknown }).close !== 'function') throw new Error('Argument dispatcher must implement dispatch');
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Set the two slots for one test; returns a function that deletes them again. */
function layout(one: unknown, two: unknown): () => void {
  const before1 = Object.getOwnPropertyDescriptor(globalThis, SLOT_1);
  const before2 = Object.getOwnPropertyDescriptor(globalThis, SLOT_2);
  assert.ok(before1 === undefined && before2 === undefined, 'this test process loaded undici already');
  slots[SLOT_1] = one;
  slots[SLOT_2] = two;
  return () => {
    delete slots[SLOT_1];
    delete slots[SLOT_2];
  };
}

const fakeSocket = (): { socket: Duplex; opened: object[] } => ({ socket: new EventEmitter() as unknown as Duplex, opened: [] });

test('undici 6 (.1 only): our Agent goes in .1, .2 stays empty; restore puts the old one back and closes ours', () => {
  const old = new FakeAgent();
  const clear = layout(old, undefined);
  try {
    const restore = patchFetch(() => fakeSocket().socket, () => fakeSocket().socket);
    assert.ok(restore !== null);
    const ours = slots[SLOT_1] as FakeAgent;
    assert.ok(ours instanceof FakeAgent && ours !== old && typeof ours.options.connect === 'function');
    assert.equal(slots[SLOT_2], undefined);
    restore();
    assert.equal(slots[SLOT_1], old);
    assert.ok(ours.closed && !old.closed);
  } finally {
    clear();
  }
});

test('undici 7 (.1 and .2 the same Agent): the same new Agent in both', () => {
  const old = new FakeAgent();
  const clear = layout(old, old);
  try {
    const restore = patchFetch(() => fakeSocket().socket, () => fakeSocket().socket);
    assert.ok(restore !== null);
    const ours = slots[SLOT_2];
    assert.ok(ours instanceof FakeAgent && ours !== old);
    assert.equal(slots[SLOT_1], ours);
    restore();
    assert.equal(slots[SLOT_1], old);
    assert.equal(slots[SLOT_2], old);
  } finally {
    clear();
  }
});

test('undici 8 (.2 the Agent, .1 a wrapper): a new Agent in .2 and a new wrapper of it in .1; both restored', () => {
  const old = new FakeAgent();
  const oldWrapper = new FakeWrapper(old);
  const clear = layout(oldWrapper, old);
  try {
    const restore = patchFetch(() => fakeSocket().socket, () => fakeSocket().socket);
    assert.ok(restore !== null);
    const ours = slots[SLOT_2] as FakeAgent;
    assert.ok(ours instanceof FakeAgent && ours !== old && typeof ours.options.connect === 'function');
    const wrapper = slots[SLOT_1] as FakeWrapper;
    assert.ok(wrapper instanceof FakeWrapper && wrapper !== oldWrapper);
    assert.equal(wrapper.inner, ours);
    restore();
    assert.equal(slots[SLOT_1], oldWrapper);
    assert.equal(slots[SLOT_2], old);
    assert.ok(ours.closed && !old.closed);
  } finally {
    clear();
  }
});

test("the Agent's connect opens TCP or TLS with the patched functions and hands the socket over once it is up", async () => {
  const clear = layout(new FakeAgent(), new FakeAgent());
  try {
    const tcp = fakeSocket();
    const tls = fakeSocket();
    const restore = patchFetch((o) => { tcp.opened.push(o); return tcp.socket; }, (o) => { tls.opened.push(o); return tls.socket; });
    assert.ok(restore !== null);
    const connect = (slots[SLOT_2] as FakeAgent).options.connect as Connect;
    const plain = new Promise<Duplex | null>((resolve, reject) => connect({ hostname: '[fd00::2]', protocol: 'http:', port: '' },
      (err, s) => (err !== null ? reject(err) : resolve(s))));
    assert.deepEqual(tcp.opened, [{ host: 'fd00::2', port: 80, noDelay: true }]);
    (tcp.socket as unknown as EventEmitter).emit('connect');
    assert.equal(await plain, tcp.socket);
    const secure = new Promise<Error | null>((resolve) => connect({ hostname: 'example.test', protocol: 'https:', port: 8443, servername: 'example.test' },
      (err) => resolve(err)));
    assert.deepEqual(tls.opened, [{ host: 'example.test', port: 8443, servername: 'example.test', ALPNProtocols: ['http/1.1'] }]);
    const boom = new Error('refused');
    (tls.socket as unknown as EventEmitter).emit('error', boom);
    assert.equal(await secure, boom);
    restore();
  } finally {
    clear();
  }
});
