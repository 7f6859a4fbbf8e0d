/**
 * The TAP wake path (issue #13, ping latency): a frame arriving on an idle
 * device is answered within the event-loop callback that reports it (the
 * link calls the driver's poll-at-once), not by a timer tick or a deferred
 * poll; and a lone frame read by the JS thread is not followed by a read that
 * finds the device empty (TapLink.rxEmptyReads). Checked in the three I/O
 * modes: threaded with the RX hand-off (the JS thread reads the quiet
 * device), threaded without it (the RX thread wakes JS), synchronous. Where
 * the JS thread reads the device, the addon reads a lone frame ahead of the
 * callback (native/tap_poll.c): no readBatch call from JS for it.
 * Traffic stays inside a namespace the test creates and removes (10.84.0.1/2 only).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, TapLink } from '../../src/index.js';
import { Netns, missingCapability } from '../helpers/netns.js';
import { teardown } from '../helpers/teardown.js';
import type { NativeAddon } from '../../src/link/addon.js';

const LINUX_IP = '10.84.0.1';
const STACK_IP = '10.84.0.2';
const PINGS = 20;

const missing = missingCapability();
if (missing !== null) console.error(`tap-wake.test: SKIPPING every TAP test: ${missing}`);

/** An echo reply (IPv4, ICMP type 0) from the stack. */
function isEchoReply(f: Uint8Array, o: number, len: number): boolean {
  return len >= 42 && f[o + 12] === 0x08 && f[o + 13] === 0 && f[o + 23] === 1 && f[o + 34] === 0;
}

for (const [threads, rxHandoff] of [[true, true], [true, false], [false, false]] as const) {
  const mode = threads ? `threaded (rxHandoff ${rxHandoff})` : 'synchronous';
  describe(`TapLink wake path, ${mode}`, { skip: missing ?? false }, () => {
    let ns: Netns | null = null;
    let link: TapLink | null = null;
    let stack: Stack | null = null;
    /** Polls made from the link's poll-at-once (the fd's or the RX thread's callback). */
    let wakePolls = 0;
    /** Polls the link asked to defer (budget spent): none expected for lone pings. */
    let deferred = 0;
    let inWake = false;
    /** Echo replies transmitted inside a wake-up's poll, and outside one. */
    let repliesInWake = 0;
    let repliesElsewhere = 0;

    before(() => {
      ns = Netns.create();
      // No IPv6 on the device: Linux's own frames (router solicitations, MLD reports, DAD) would come during
      // the pings, two at a time under load (a read of 2 IPv6 frames, then drain reads: readBatch 4 times).
      ns.execSync('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      link = TapLink.open('', { threads, rxHandoff });
      link.moveToNetns(ns.name, { hostAddress: `${LINUX_IP}/24` });
      stack = new Stack();
      stack.addInterface(link, { address: `${STACK_IP}/24` });
      const l = link;
      const s = stack;
      const transmit = l.transmit.bind(l);
      l.transmit = (frame, offset, length, now, tx) => {
        if (isEchoReply(frame, offset, length)) {
          if (inWake) repliesInWake++;
          else repliesElsewhere++;
        }
        return transmit(frame, offset, length, now, tx);
      };
      // No driver: no timer and no setImmediate polls the stack, only the link's callbacks do.
      const pollNow = (): void => {
        wakePolls++;
        inWake = true;
        try {
          s.poll(Math.floor(performance.now()));
        } finally {
          inWake = false;
        }
      };
      l.setWakeup(() => {
        deferred++;
        setImmediate(() => s.poll(Math.floor(performance.now())));
      }, pollNow);
    });

    after(() => {
      teardown(() => link?.setWakeup(null), () => link?.close(), () => ns?.remove());
    });

    it(`answers ${PINGS} pings, each sent 20 ms after the last reply, within the wake-up that reported it`, { timeout: 30_000 }, async () => {
      assert.ok(ns !== null && link !== null);
      // Let the device go quiet (the RX thread hands it over).
      await new Promise((r) => setTimeout(r, 50));
      const empty0 = link.rxEmptyReads;
      // Reads JS makes itself: the link's addon object, seen through one that counts readBatch calls.
      const held = link as unknown as { native: NativeAddon };
      const native = held.native;
      let jsReads = 0;
      /** What each of those reads got (frames, and the first one's EtherType), for the failure message. */
      const readsSeen: string[] = [];
      held.native = Object.create(native, {
        readBatch: {
          value: (...args: Parameters<NativeAddon['readBatch']>): number => {
            jsReads++;
            const n = native.readBatch(...args);
            const b = args[1];
            readsSeen.push(n > 0 ? `${n}x${(b[12] << 8 | b[13]).toString(16)}` : String(n));
            return n;
          },
        },
      }) as NativeAddon;
      // One request at a time, each sent 20 ms after the previous reply came back: every request meets an
      // idle device whatever the machine's load, so each one needs a wake-up of its own (a lost one leaves
      // it unanswered: no timer polls the stack). A stream at a fixed interval (ping -i 0.02) did not
      // guarantee that: with the JS thread running late under load, a request came in while the previous
      // one was still queued, and one wake-up answered both (16 wake polls for 20 pings at load 7).
      const pinger = ns;
      let received = 0;
      try {
        for (let i = 0; i < PINGS; i++) {
          const r = await pinger.run('ping', ['-n', '-c', '1', '-W', '5', STACK_IP], { timeoutMs: 10_000 });
          assert.equal(r.code, 0, `request ${i} not answered: ${r.stdout} ${r.stderr}`);
          received++;
          await new Promise((res) => setTimeout(res, 20));
        }
      } finally {
        held.native = native;
      }
      assert.equal(received, PINGS);
      // Each request was read ahead by the addon (a few reads for frames Linux sent on its own, ARP, may remain).
      const c = link.threadCounters();
      const seen = `reads ${readsSeen.join(' ')}, wake polls ${wakePolls}, empty reads ${link.rxEmptyReads - empty0}, threads ${JSON.stringify(c)}`;
      if (!threads || rxHandoff) assert.ok(jsReads <= 3, `readBatch called ${jsReads} times for ${PINGS} lone requests; ${seen}`);
      assert.equal(repliesInWake, PINGS, `replies outside a wake-up: ${repliesElsewhere}, deferred polls ${deferred}`);
      assert.equal(repliesElsewhere, 0);
      assert.ok(wakePolls >= PINGS, seen);
      if (threads && rxHandoff) {
        // The JS thread read the requests itself, one read each: no read found the device empty
        // after a lone request (a few may, for frames Linux sent on its own in the same millisecond).
        assert.ok(c !== null && c.rxHandoffs >= 1 && c.rxDirect >= PINGS, JSON.stringify(c));
        assert.ok(link.rxEmptyReads - empty0 <= 3, `empty reads ${link.rxEmptyReads - empty0} for ${PINGS} requests; ${seen}`);
      } else if (threads) {
        // The RX thread read them and woke JS once each.
        assert.ok(c !== null && c.rxHandoffs === 0 && c.rxWakes >= PINGS, JSON.stringify(c));
      } else {
        assert.ok(link.rxEmptyReads - empty0 <= 3, `empty reads ${link.rxEmptyReads - empty0} for ${PINGS} requests; ${seen}`);
      }
    });

    it('still drains a burst: 200 flood pings all answered', { timeout: 30_000 }, async () => {
      assert.ok(ns !== null && link !== null);
      // ping -f keeps one request outstanding per reply, plus up to -l 8 preloaded ones: bursts of several frames.
      const r = await ns.run('ping', ['-f', '-l', '8', '-c', '200', '-W', '2', STACK_IP], { timeoutMs: 20_000 });
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
      assert.ok(m !== null, `no ping summary: ${r.stdout} ${r.stderr}`);
      assert.equal(Number(m[2]), 200, r.stdout);
    });

    // Only where the JS thread reads the device (the RX thread's reads are not the JS thread's syscalls).
    if (!threads || rxHandoff) it('back-to-back requests in one millisecond: at most one read per millisecond finds the device empty',
      { timeout: 30_000 }, async () => {
      assert.ok(ns !== null && link !== null);
      // After the burst test: the stack is warm then, and a flood ping right after ping -A lost a few replies
      // of its count (iputils' own: Linux's Icmp InEchoReps counted every one).
      // ping -A: each request right after the previous reply, so several exchanges fall in one millisecond
      // (their poll time). The first frame of a millisecond is read alone; a second one in the same millisecond
      // may be a burst, and one drain read checks; once one has found the device empty, the rest of that
      // millisecond's frames are read alone too (the level-triggered watch reports any frame queued behind).
      // Every such drain used to come back empty in a request/response stream: a wasted syscall per exchange.
      await new Promise((r) => setTimeout(r, 50));
      const empty0 = link.rxEmptyReads;
      const t0 = performance.now();
      const r = await ns.run('ping', ['-n', '-A', '-c', '200', '-W', '2', STACK_IP], { timeoutMs: 20_000 });
      const ms = performance.now() - t0;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
      assert.ok(m !== null && Number(m[2]) === 200, `${r.stdout} ${r.stderr}`);
      const empty = link.rxEmptyReads - empty0;
      // Milliseconds of the run bound the milliseconds with a frame (plus a few reads for Linux's own frames).
      assert.ok(empty <= Math.ceil(ms) + 3, `empty reads ${empty} for 200 exchanges in ${ms.toFixed(1)} ms`);
    });
  });
}
