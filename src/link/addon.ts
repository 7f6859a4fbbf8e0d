/**
 * The one place that loads the native addon (native/*.c, binding.gyp).
 *
 * `node-gyp-build` picks `build/Release` (a source build: `npm ci` in a
 * clone, or an install where no prebuilt binary fits) and otherwise the
 * N-API prebuilt binary shipped in the package's `prebuilds/linux-x64/`
 * (made by `prebuildify --napi` at `npm pack`; one build for every Node
 * >= 20). The addon also reports the header layout of its TAP rings
 * ({@link RingLayout}), which tap-ring.ts uses instead of a hand-kept copy;
 * an addon without it, or with another layout version, is refused with a
 * message saying to rebuild.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TapThreadAddon } from './tap-ring.js';
import type { BpfAddon } from './syn-responder-bpf.js';

/**
 * Version of the ring header layout this code understands; must equal
 * RING_LAYOUT_VERSION in native/tap_thread.c (checked at load).
 */
export const RING_LAYOUT_VERSION = 3;

/**
 * Word indices (int32) of the TAP ring header, as native/tap_thread.c
 * defines them (its H_* enum), reported by the addon at load.
 */
export interface RingLayout {
  readonly version: number;
  /** Header length in int32 words. */
  readonly words: number;
  readonly rxHead: number;
  readonly rxTail: number;
  readonly txHead: number;
  readonly txTail: number;
  readonly txSleep: number;
  readonly rxWait: number;
  readonly txDrops: number;
  readonly txErrors: number;
  readonly rxErrors: number;
  readonly rxWakes: number;
  readonly txSleeps: number;
  readonly rxStalls: number;
  readonly txDirect: number;
  readonly slots: number;
  readonly slotSize: number;
  readonly rxLens: number;
  readonly txLens: number;
  readonly rxData: number;
  readonly txData: number;
  readonly txArm: number;
  /** RX hand-off to the JS thread: times handed off, JS allows it, who reads (1: JS). */
  readonly rxHandoffs: number;
  readonly rxHandoffOk: number;
  readonly rxOwner: number;
  /**
   * Offload: virtio_net_hdr bytes in front of each TX slot's frame (0 or 10);
   * when 10, each RX length word carries the frame's checksum flags in its
   * top byte (native/vnet.h).
   */
  readonly vnetHdr: number;
  /** Busy-poll before the event loop blocks (native/tap_thread.c): hits, misses, the window's ceiling in µs, armed. */
  readonly spinHits: number;
  readonly spinMisses: number;
  readonly spinMaxUs: number;
  readonly spinArm: number;
  /**
   * 1: the I/O threads batch reads and writes through io_uring (native/tap_uring.c) where the kernel has it;
   * 0: one syscall per frame. Starts as the environment's WIRESTACK_TAP_URING says (default 1); may be stored any time.
   */
  readonly uring: number;
  /** Frames the RX thread read, and the TX thread wrote, through io_uring batches. */
  readonly rxUring: number;
  readonly txUring: number;
}

/** The TAP device functions (native/tap.c). */
export interface TapDeviceAddon {
  /**
   * Open `name` as a TAP device, or as a TUN device (IFF_TUN | IFF_NO_PI) when
   * `tun`. `offload` (TAP): IFF_VNET_HDR and TUNSETOFFLOAD; `vnetHdr` is then
   * the header's length (10) and `offload` the TUN_F_* flags the kernel took.
   */
  open(name: string, tun?: boolean, offload?: boolean): { fd: number; name: string; vnetHdr?: number; offload?: number };
  /** `vnetHdr` 10: read each frame's virtio_net_hdr aside, its checksum flags into the length's top byte (native/vnet.h). */
  readBatch(fd: number, buffer: Uint8Array, slotSize: number, maxFrames: number, lengths: Int32Array, vnetHdr?: number): number;
  /** `vnetHdr` 10: write a virtio_net_hdr built from `gso` and `csum` (native/vnet.h) in front of the frame. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, vnetHdr?: number, gso?: number, csum?: number): number;
  close(fd: number): number;
  /**
   * Call `callback` (with itself as `this`) from the event loop whenever `fd` is readable; the handle stops it.
   * With `buffer`, `slotSize`, `lengths` and `control` (an Int32Array of 1): before each call, unless
   * `control[0]` is 1, read one frame ahead into slot 0 (its length, as readBatch gives it, in `lengths[0]`)
   * and set `control[0]` to 1, or to 2 when the read found the device empty (EAGAIN). The caller takes the
   * frame and stores 0. The arrays are kept alive while polling and must not be detached.
   */
  pollStart(fd: number, callback: () => void, buffer?: Uint8Array, slotSize?: number, lengths?: Int32Array,
    control?: Int32Array, vnetHdr?: number): object;
  pollStop(handle: object): void;
}

/** The host UDP functions (native/udp.c). */
export interface UdpAddon {
  udpOpen(address: string, port: number): number;
  udpPort(fd: number): number;
  /** With `addr6` (16 bytes per datagram): an IPv6 source has meta address 0 and its bytes there. */
  udpRecvBatch(fd: number, buf: Uint8Array, slotSize: number, max: number, meta: Int32Array, addr6?: Uint8Array): number;
  udpSend(fd: number, buf: Uint8Array, off: number, len: number, address: number, port: number): number;
  /** Send to an IPv6 address (a socket opened on an IPv6 address, e.g. '::'). */
  udpSend6(fd: number, buf: Uint8Array, off: number, len: number, addr6: Uint8Array, a6off: number, port: number): number;
  /** SO_MARK on the socket (0 or -errno). */
  udpSetMark(fd: number, mark: number): number;
  /** Copy a datagram into a batch slot (for udpSendBatch). */
  udpStage(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void;
  /** sendmmsg(2) of `n` staged slots; returns datagrams sent or -errno. */
  udpSendBatch(fd: number, buf: Uint8Array, slotSize: number, n: number, meta: Int32Array): number;
  close(fd: number): number;
  /** The same function as {@link TapDeviceAddon.pollStart}. */
  pollStart(fd: number, callback: () => void, buffer?: Uint8Array, slotSize?: number, lengths?: Int32Array,
    control?: Int32Array, vnetHdr?: number): object;
  pollStop(handle: object): void;
}

/** An AES-GCM context made by {@link AeadAddon.aeadNew} (an N-API external). */
export type AeadHandle = object;

/**
 * AES-GCM on a reused OpenSSL EVP_CIPHER_CTX per key (native/aead.c), in place
 * on the caller's bytes. Optional: an addon built before it lacks these, and
 * src/crypto/aes-gcm.ts then falls back to node:crypto.
 */
export interface AeadAddon {
  /**
   * Expand a 16-, 24- or 32-byte key for IVs of `ivLen` bytes. With a 4-byte
   * `salt` (ESP, RFC 4106 4; `ivLen` 12) the handle also serves
   * {@link EspAeadAddon}'s calls.
   */
  aeadNew(key: Uint8Array, ivLen: number, salt?: Uint8Array): AeadHandle;
  /** Wipe and free the context now (otherwise at garbage collection); later use throws. */
  aeadFree(handle: AeadHandle): void;
  /** Encrypt b[data..+dataLen) to out[outO..], tag (tagLen bytes) to out[tag..]; AAD aad[0..aadLen) ‖ b[aad2..+aad2Len). 0, or -1 if OpenSSL fails. */
  aeadSeal(handle: AeadHandle, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, out: Uint8Array, outO: number, tag: number, tagLen: number): number;
  /** Check the tag at b[tag..+tagLen) and decrypt b[data..+dataLen) to out[outO..]. 0, or -1 on a bad tag (output range zeroed). */
  aeadOpen(handle: AeadHandle, nonce: Uint8Array, aad: Uint8Array, aadLen: number, b: Uint8Array, aad2: number, aad2Len: number,
    data: number, dataLen: number, tag: number, tagLen: number, out: Uint8Array, outO: number): number;
}

/**
 * ESP AES-GCM/GMAC (RFC 4106, RFC 4543) on an {@link AeadAddon.aeadNew} handle
 * made with a salt, one call per packet: the addon takes nonce (salt ‖ IV)
 * and AAD (SPI, [seqHi,] seqLo) from the ESP packet at `b[e..]` itself
 * (SPI, sequence, 8-byte IV, `ptLen` bytes of payload and trailer, ICV).
 * `flags`: bit 0 ESN (`seqHi` is authenticated), bit 1 GMAC (nothing
 * encrypted). Optional: an addon built before them lacks these.
 */
export interface EspAeadAddon {
  /** Encrypt the payload in place and write the `icvLen`-byte ICV after it. 0, or -1 if OpenSSL fails. */
  aeadEspSeal(handle: AeadHandle, b: Uint8Array, e: number, ptLen: number, icvLen: number, flags: number, seqHi: number): number;
  /**
   * Verify the ICV and write the plaintext to out[outO..]. 0, or -1 on a bad
   * ICV (no plaintext left in out). With flags bit 2 and `ipo`, the offset of
   * the IPv4 header in `b`: 1 when the plaintext is a TCP segment whose
   * checksum (pseudo-header from that header) verified.
   */
  aeadEspOpen(handle: AeadHandle, b: Uint8Array, e: number, ptLen: number, icvLen: number, flags: number, seqHi: number,
    out: Uint8Array, outO: number, ipo?: number): number;
}

/** An AES-CBC context ({@link CbcHmacAddon.cbcNew}) or HMAC context ({@link CbcHmacAddon.hmacNew}): a type-tagged N-API external. */
export type CryptoHandle = object;

/**
 * AES-CBC and HMAC on reused OpenSSL contexts, keys set once (native/esp_cbc.c),
 * in place on the caller's bytes, and OpenSSL's RAND_bytes. Optional like
 * {@link AeadAddon}: src/ipsec/crypto-node.ts falls back to node:crypto.
 */
export interface CbcHmacAddon {
  /** AES-CBC context for one direction with a 16-, 24- or 32-byte key; no padding. */
  cbcNew(key: Uint8Array, encrypt: boolean): CryptoHandle;
  /** Encrypt or decrypt (the handle's direction) b[data..+len) into out[outO..], IV at b[iv..+16); len a multiple of 16. 0, or -1 if OpenSSL fails. */
  cbcRun(handle: CryptoHandle, b: Uint8Array, iv: number, data: number, len: number, out: Uint8Array, outO: number): number;
  /** Wipe and free now; later use throws. */
  cbcFree(handle: CryptoHandle): void;
  /** HMAC context for 'sha1' | 'sha256' | 'sha384' | 'sha512' with `key`. */
  hmacNew(digest: string, key: Uint8Array): CryptoHandle;
  /** HMAC of b[o..+n) ‖ tail[0..tailLen), first outLen bytes to out[outO..]. 0, or -1 if OpenSSL fails. */
  hmacRun(handle: CryptoHandle, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    out: Uint8Array, outO: number, outLen: number): number;
  /** 1 when the icvLen-byte truncated HMAC at b[icv..] matches (constant time), else 0. */
  hmacVerify(handle: CryptoHandle, b: Uint8Array, o: number, n: number, tail: Uint8Array, tailLen: number,
    icv: number, icvLen: number): number;
  /** Wipe and free now; later use throws. */
  hmacFree(handle: CryptoHandle): void;
  /** OpenSSL's CSPRNG into b[o..+n). 0, or -1 if it fails. */
  randFill(b: Uint8Array, o: number, n: number): number;
}

/**
 * UDP segmentation and receive offload (native/udp.c): GSO on send, GRO on
 * receive. Optional: an addon built before them lacks these, and the
 * transport then sends with sendmmsg and receives with recvmmsg as before.
 */
export interface UdpOffloadAddon {
  /** Probe UDP_SEGMENT and set UDP_GRO (`gro` nonzero: on); bit 0: GSO usable, bit 1: GRO on. */
  udpOffload(fd: number, gro: number): number;
  /** Like udpSendBatch, runs to one destination with one length leave as GSO messages; bit 16 set: GSO refused, sent without. */
  udpSendGso(fd: number, buf: Uint8Array, slotSize: number, n: number, meta: Int32Array): number;
  /** recvmmsg with GRO: meta per message [length, address, port, segment size (0: one datagram)]. */
  udpRecvGro(fd: number, buf: Uint8Array, slotSize: number, max: number, meta: Int32Array, addr6?: Uint8Array): number;
}

/** A pool of ChaCha20-Poly1305 crypt threads made by {@link WgCryptAddon.wgCryptNew} (an N-API external). */
export type WgCryptHandle = object;

/**
 * WireGuard's data-path crypto on native threads (native/wgcrypt.c):
 * ChaCha20-Poly1305 (OpenSSL's, resolved from the node binary) over a
 * batch of packets in place, split among the pool's threads and the
 * caller. Optional, as {@link AeadAddon}.
 */
export interface WgCryptAddon {
  /** A pool of `threads` crypt threads in all, the calling thread included (1: no native thread). */
  wgCryptNew(threads: number): WgCryptHandle;
  /** Stop the threads and wipe their contexts now (otherwise at garbage collection). */
  wgCryptFree(handle: WgCryptHandle): void;
  /** Seal/open the `n` packets described by `jobs` (8 int32 words each, see native/wgcrypt.c); returns how many failed. */
  wgCryptRun(handle: WgCryptHandle, keys: Uint8Array, buf: Uint8Array, jobs: Int32Array, n: number): number;
  /** Packets each thread did so far into `out` (0: the caller); returns the thread count. */
  wgCryptStats(handle: WgCryptHandle, out: Float64Array): number;
}

/** native/clock.c: a monotonic clock in whole ms that makes no heap number (see Stack). */
export interface ClockAddon {
  /** floor(CLOCK_MONOTONIC in ms - origin). */
  clockMs(origin: number): number;
  /** CLOCK_MONOTONIC in ms, fractional. */
  clockMsPrecise(): number;
}

/** The whole addon surface; the AEAD, CBC/HMAC, WireGuard crypt, UDP offload and clock functions are optional. */
export interface NativeAddon extends TapDeviceAddon, TapThreadAddon, UdpAddon, Partial<AeadAddon>, Partial<EspAeadAddon>, Partial<CbcHmacAddon>,
  Partial<WgCryptAddon>, Partial<UdpOffloadAddon>, Partial<ClockAddon>, Partial<BpfAddon> {
  readonly ringLayout: RingLayout;
}

const LAYOUT_KEYS: readonly (keyof RingLayout)[] = [
  'version', 'words', 'rxHead', 'rxTail', 'txHead', 'txTail', 'txSleep', 'rxWait', 'txDrops', 'txErrors',
  'rxErrors', 'rxWakes', 'txSleeps', 'rxStalls', 'txDirect', 'slots', 'slotSize', 'rxLens', 'txLens',
  'rxData', 'txData', 'txArm', 'rxHandoffs', 'rxHandoffOk', 'rxOwner', 'vnetHdr', 'spinHits', 'spinMisses',
  'spinMaxUs', 'spinArm', 'uring', 'rxUring', 'txUring',
];
const FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'open', 'readBatch', 'write', 'close', 'pollStart', 'pollStop', 'threadStart', 'threadKick', 'threadRef',
  'threadStop', 'udpOpen', 'udpPort', 'udpRecvBatch', 'udpSend', 'udpSetMark', 'udpStage', 'udpSendBatch',
  'udpSend6',
];

/** The package root: this file is dist/src/link/addon.js. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REBUILD_HINT = 'rebuild it: npm rebuild wirestack (in a clone: npm run build:native)';

let loaded: NativeAddon | null = null;
let failure: Error | null = null;

/**
 * Check what a loaded binary exports against what this code expects;
 * returns the reason it does not fit, or null. Exported for tests.
 */
export function addonMismatch(a: Record<string, unknown>): string | null {
  for (const f of FUNCTIONS) {
    if (typeof a[f] !== 'function') return `it has no ${f}() (an older addon?)`;
  }
  const layout = a.ringLayout as Record<string, unknown> | undefined;
  if (typeof layout !== 'object' || layout === null) return 'it does not report its ring layout (an older addon?)';
  if (layout.version !== RING_LAYOUT_VERSION) {
    return `its ring layout is version ${String(layout.version)}, this code needs ${RING_LAYOUT_VERSION}`;
  }
  const words = layout.words;
  if (typeof words !== 'number' || !Number.isInteger(words) || words <= 0) return 'its ring layout has no header size';
  for (const k of LAYOUT_KEYS) {
    const v = layout[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (k !== 'words' && k !== 'version' && v >= words)) {
      return `its ring layout has no valid '${k}'`;
    }
  }
  return null;
}

/**
 * A copy of the addon's ring layout in V8's fast-properties mode. The addon
 * builds its object one property at a time from C, and past a dozen such
 * properties V8 keeps it as a dictionary: every `L.rxHead`-style read on the
 * packet path (tap-ring.ts reads several per poll) was then a hash lookup
 * through the generic LoadIC (seen in a profile of ping over TAP). An object
 * literal with every key written out gets one fixed shape with in-object
 * fields (frozen, as the addon's own). Exported for tests.
 */
export function fastLayout(l: RingLayout): RingLayout {
  return Object.freeze({
    version: l.version, words: l.words, rxHead: l.rxHead, rxTail: l.rxTail, txHead: l.txHead, txTail: l.txTail,
    txSleep: l.txSleep, rxWait: l.rxWait, txDrops: l.txDrops, txErrors: l.txErrors, rxErrors: l.rxErrors,
    rxWakes: l.rxWakes, txSleeps: l.txSleeps, rxStalls: l.rxStalls, txDirect: l.txDirect, slots: l.slots,
    slotSize: l.slotSize, rxLens: l.rxLens, txLens: l.txLens, rxData: l.rxData, txData: l.txData, txArm: l.txArm,
    rxHandoffs: l.rxHandoffs, rxHandoffOk: l.rxHandoffOk, rxOwner: l.rxOwner, vnetHdr: l.vnetHdr,
    spinHits: l.spinHits, spinMisses: l.spinMisses, spinMaxUs: l.spinMaxUs, spinArm: l.spinArm, uring: l.uring,
    rxUring: l.rxUring, txUring: l.txUring,
  });
}

/**
 * The native addon, loaded once. Throws an Error saying what to do when no
 * binary fits this platform or the binary found is incompatible (the same
 * error on every later call).
 */
export function loadNativeAddon(): NativeAddon {
  if (loaded !== null) return loaded;
  if (failure !== null) throw failure;
  let a: Record<string, unknown>;
  try {
    const load = createRequire(import.meta.url)('node-gyp-build') as (dir: string) => unknown;
    a = load(PACKAGE_ROOT) as Record<string, unknown>;
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    failure = new Error(`native addon unavailable: ${cause.split('\n')[0]}; ${REBUILD_HINT}`, { cause: err });
    throw failure;
  }
  const why = addonMismatch(a);
  if (why !== null) {
    failure = new Error(`native addon in ${PACKAGE_ROOT} does not fit this wirestack: ${why}; ${REBUILD_HINT}`);
    throw failure;
  }
  a.ringLayout = fastLayout(a.ringLayout as RingLayout);
  loaded = a as unknown as NativeAddon;
  return loaded;
}

/** The addon, or the Error that {@link loadNativeAddon} throws. */
export function tryNativeAddon(): NativeAddon | Error {
  try {
    return loadNativeAddon();
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
