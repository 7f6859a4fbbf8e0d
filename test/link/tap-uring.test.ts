/**
 * The TAP I/O threads' batched reads and writes through io_uring
 * (native/tap_uring.c, switched by WIRESTACK_TAP_URING): frames in equal
 * frames out, byte for byte and in order, both ways, with io_uring on and
 * off, with and without the virtio_net_hdr (offload); frames the kernel
 * could not queue while the RX ring was full are the kernel's counted drops,
 * so received + dropped = sent. The Linux side is a Python AF_PACKET sender
 * and capture (test/helpers/tap-frames.py) in a namespace this test creates
 * and removes; the frames use a local experimental EtherType and stay on the
 * device.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TapLink } from '../../src/index.js';
import { Netns, haveCommand, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import { Errno } from '../../src/engine/errno.js';

const SCRIPT = fileURLToPath(new URL('../../../test/helpers/tap-frames.py', import.meta.url));
const ETHERTYPE = 0x88b5;

const missing = missingCapability() ?? (haveCommand('python3') ? null : 'no python3');
if (missing !== null) console.error(`tap-uring.test: SKIPPING: ${missing}`);

/** Frame i, as tap-frames.py's frame(i). */
function frameFor(i: number): Uint8Array {
  const n = 60 + ((i * 37) % 1455);
  const f = new Uint8Array(n);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 0x01], 6);
  f[12] = ETHERTYPE >> 8;
  f[13] = ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, i);
  for (let k = 18; k < n; k++) f[k] = (i + k) & 0xff;
  return f;
}

function equal(a: Uint8Array, off: number, len: number, b: Uint8Array): boolean {
  if (len !== b.length) return false;
  for (let k = 0; k < len; k++) if (a[off + k] !== b[k]) return false;
  return true;
}

/** Frames the kernel dropped on their way to the TAP's reader (tx_dropped seen from the namespace). */
function kernelDrops(ns: Netns, dev: string): number {
  const j = JSON.parse(ns.execSync('ip', ['-s', '-j', 'link', 'show', 'dev', dev])) as Array<{ stats64?: { tx?: { dropped?: number } } }>;
  return j[0]?.stats64?.tx?.dropped ?? 0;
}

/** Open a threaded TapLink with io_uring on or off (the addon reads WIRESTACK_TAP_URING when its threads start). */
function openLink(uring: boolean, options: { offload: boolean; ringSlots?: number; kernelQueue?: number }): TapLink {
  const before = process.env.WIRESTACK_TAP_URING;
  process.env.WIRESTACK_TAP_URING = uring ? '1' : '0';
  try {
    return TapLink.open('', { threads: true, rxHandoff: false, ...options });
  } finally {
    if (before === undefined) delete process.env.WIRESTACK_TAP_URING;
    else process.env.WIRESTACK_TAP_URING = before;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('TAP I/O threads: batched reads and writes (io_uring)', { skip: missing ?? false }, () => {
  for (const uring of [true, false]) {
    for (const offload of [true, false]) {
      it(`Linux -> stack: every frame byte-exact and in order, or a counted kernel drop (io_uring ${uring ? 'on' : 'off'}, offload ${offload ? 'on' : 'off'})`,
        { timeout: 60_000 }, async () => {
          const N = 4000;
          const ns = Netns.create();
          // No IPv6 on the device: the kernel's own frames (router solicitations) would share its drop counter.
          ns.execSync('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
          // A 64-slot ring that JS leaves unread while the burst comes: the RX thread fills it and waits, the kernel's
          // queue (the kernel's 1000, not TapLink's longer default) fills behind it and drops the rest; then JS reads
          // everything and the thread reads the kernel's queue.
          const link = openLink(uring, { offload, ringSlots: 64, kernelQueue: 0 });
          try {
            link.moveToNetns(ns.name);
            const got: number[] = [];
            let bad = 0;
            let foreign = 0;
            const rx = {
              receiveFrame(frame: Uint8Array, offset: number, length: number): void {
                if (length < 18 || frame[offset + 12] !== ETHERTYPE >> 8 || frame[offset + 13] !== (ETHERTYPE & 0xff)) {
                  foreign++; // the kernel's own (IPv6 router solicitations, ...)
                  return;
                }
                const seq = new DataView(frame.buffer, frame.byteOffset + offset + 14, 4).getUint32(0);
                if (!equal(frame, offset, length, frameFor(seq))) bad++;
                got.push(seq);
              },
            };
            const drops0 = kernelDrops(ns, link.name);
            const r = await ns.run('python3', [SCRIPT, 'send', link.name, String(N)], { timeoutMs: 30_000 });
            const sent = (JSON.parse(r.stdout.trim()) as { sent: number }).sent;
            assert.equal(sent, N);
            let now = 0;
            for (let i = 0; i < 2000; i++) {
              link.poll(now++, rx);
              if (got.length + kernelDrops(ns, link.name) - drops0 >= N) {
                await sleep(20);
                link.poll(now++, rx);
                break;
              }
              await sleep(2);
            }
            const dropped = kernelDrops(ns, link.name) - drops0;
            assert.equal(bad, 0, `${bad} frames differ from what was sent`);
            assert.equal(got.length + dropped, N, `received ${got.length} + dropped ${dropped} (foreign ${foreign})`);
            assert.ok(dropped > 0, 'the kernel queue never overflowed: the test did not fill the ring');
            for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `frame ${got[i]} after ${got[i - 1]}`);
            const c = link.threadCounters();
            if (uring) assert.ok((c?.rxUring ?? 0) > 0, `no frame read through io_uring: ${JSON.stringify(c)}`);
            else assert.equal(c?.rxUring, 0);
          } finally {
            teardown(() => link.close(), () => ns.remove());
          }
        });
    }
  }

  for (const uring of [true, false]) {
    it(`stack -> Linux: every frame byte-exact and in order (io_uring ${uring ? 'on' : 'off'})`, { timeout: 60_000 }, async () => {
      const N = 3000;
      const ns = Netns.create();
      const link = openLink(uring, { offload: true });
      try {
        link.moveToNetns(ns.name);
        const cap = ns.spawn('python3', [SCRIPT, 'recv', link.name, String(N), '20']);
        let out = '';
        let err = '';
        cap.stdout?.setEncoding('utf8').on('data', (s: string) => { out += s; });
        cap.stderr?.setEncoding('utf8').on('data', (s: string) => { err += s; });
        const done = new Promise<void>((resolve) => cap.once('close', () => resolve()));
        for (let i = 0; i < 400 && !err.includes('ready'); i++) await sleep(25);
        assert.ok(err.includes('ready'), `the capture did not start: ${err}`);
        // Bursts of 100 with a pause: the TX ring (4096 slots) never fills, the TX thread sees queues to batch.
        for (let i = 0; i < N; i++) {
          const f = frameFor(i);
          let r = link.transmit(f, 0, f.length, 0);
          // A full TX ring (offload's large slots make it short): wait for the thread rather than lose the frame.
          for (let k = 0; k < 1000 && r === -Errno.ENOBUFS; k++) {
            await sleep(1);
            r = link.transmit(f, 0, f.length, 0);
          }
          assert.equal(r, 0);
          if (i % 100 === 99) await sleep(1);
        }
        await done;
        const frames = (JSON.parse(out.trim()) as { frames: Array<[number, boolean]> }).frames;
        const c = link.threadCounters();
        assert.equal(c?.txDrops, 0);
        assert.equal(c?.txErrors, 0);
        assert.equal(frames.length, N, `captured ${frames.length} of ${N}`);
        frames.forEach(([seq, ok], i) => {
          assert.equal(seq, i, 'order');
          assert.ok(ok, `frame ${seq} differs from what was sent`);
        });
        if (uring) assert.ok((c?.txUring ?? 0) > 0, `no frame written through io_uring: ${JSON.stringify(c)}`);
        else assert.equal(c?.txUring, 0);
      } finally {
        teardown(() => link.close(), () => ns.remove());
      }
    });
  }
});
