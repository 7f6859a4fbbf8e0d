/**
 * The Node floor of bench/tap-ping.ts: the same ARP/ICMP echo responder as
 * bench/ping-responder.c, on the addon's TAP device functions (a libuv poll
 * handle, readBatch, write) with a few lines of JS and no stack. Ping's RTT
 * against it is what the event loop's wake-up and a call into JS cost on
 * this machine, before any of the stack's work.
 *
 *   node dist/bench/ping-responder-node.js IFNAME A.B.C.D
 *
 * Creates the TAP device, prints "ready", answers until killed (the bench
 * moves the device into its namespace; the fd keeps working).
 */
import { pathToFileURL } from 'node:url';
import { loadNativeAddon, type NativeAddon } from '../src/link/addon.js';
import { checksum } from '../src/wire/checksum.js';

const MAC = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];
const SLOT = 2048;

/**
 * Answer ARP and ICMP echo for `addr` on the TAP device `fd` from a libuv
 * poll handle, in this process: returns the handle (keep it referenced: its
 * finalizer stops the poll; `native.pollStop(handle)` stops it).
 * bench/ping-alloc.ts runs it in-process to measure Node's own allocation.
 */
export function startFloorResponder(native: NativeAddon, fd: number, addr: string): object {
  const me = addr.split('.').map(Number);
  const buf = new Uint8Array(SLOT);
  const lens = new Int32Array(1);
  const isMe = (f: Uint8Array, o: number): boolean => f[o] === me[0] && f[o + 1] === me[1] && f[o + 2] === me[2] && f[o + 3] === me[3];

  function answer(): void {
    for (;;) {
      const n = native.readBatch(fd, buf, SLOT, 1, lens);
      if (n <= 0) return;
      const f = buf;
      let len = lens[0];
      if (len < 42) continue;
      const type = (f[12] << 8) | f[13];
      if (type === 0x0806 && f[21] === 1 && isMe(f, 38)) {
        // ARP request for us (RFC 826): reply in place.
        f.copyWithin(0, 6, 12);
        f.set(MAC, 6);
        f[21] = 2;
        f.copyWithin(32, 22, 32);
        f.set(MAC, 22);
        f.set(me, 28);
      } else if (type === 0x0800 && f[14] === 0x45 && f[23] === 1 && f[34] === 8 && isMe(f, 30)) {
        // Echo request (RFC 792): swap the addresses, type 0, new checksum.
        const tot = (f[16] << 8) | f[17];
        if (14 + tot > len || tot < 28) continue;
        f.copyWithin(0, 6, 12);
        f.set(MAC, 6);
        f.copyWithin(30, 26, 30);
        f.set(me, 26);
        f[34] = 0;
        f[36] = 0;
        f[37] = 0;
        const c = checksum(f, 34, tot - 20);
        f[36] = c >>> 8;
        f[37] = c & 0xff;
        len = 14 + tot;
      } else {
        continue;
      }
      native.write(fd, f, 0, len);
    }
  }
  return native.pollStart(fd, answer);
}

/** Kept in a module-level binding when run as a script: the handle's finalizer would stop the poll. */
export let handle: object | null = null;
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [name, addr] = process.argv.slice(2);
  const native = loadNativeAddon();
  const dev = native.open(name);
  handle = startFloorResponder(native, dev.fd, addr);
  console.log('ready');
}
