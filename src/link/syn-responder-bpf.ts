/**
 * The eBPF SYN-cookie responder at the TAP device's egress
 * (native/bpf/syn_responder.bpf.c, maps in native/bpf/synr_map.h, loaded by
 * native/bpf_loader.c), driven as the RX thread's responder is
 * (engine/tcp/syn-responder.ts): the stack hands it a listener whose request
 * queue overflows, and until the hold ends the kernel answers pure SYNs to
 * that address and port (IPv4, or IPv6 through
 * {@link BpfSynResponder.activate6}) itself, at the device's tcx egress, in
 * the context of whoever sent them (the SYN-ACK is built in place and redirected to the
 * device's ingress). A local flood sender then pays for every SYN it sends,
 * as it does against Linux's own TCP, instead of running unthrottled while
 * our RX thread answers on another CPU; the stack's threads never see the
 * flood. The ACK completing a handshake reaches the stack as usual and is
 * checked against the same cookie keys.
 *
 * Needs root (CAP_BPF and CAP_NET_ADMIN), Linux >= 6.6 (tcx links),
 * libbpf.so.1 at run time and the object built by scripts/build-bpf.mjs
 * (clang). Without any of them {@link BpfSynResponder.attach} returns the
 * reason and the RX thread's responder answers alone.
 *
 * The configuration is one map value written whole (one bpf(2) call per
 * activation, at most a few a second), from an image kept here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SYN_RESPONDER_HOLD_MS, type SynResponder } from '../engine/tcp/syn-responder.js';

/** Addon entry points (native/bpf_loader.c). */
export interface BpfAddon {
  /** Load on libuv's pool (the verifier: ~25 ms here, more under load); fds: [cfg map, stats map, program]. */
  bpfSynrLoadAsync(obj: Uint8Array, done: (r: BpfOpenResult) => void): void;
  /** The same at once (tests). */
  bpfSynrLoadForTest(obj: Uint8Array): BpfOpenResult;
  /** A tcx egress link for the program on the TAP device (made in its namespace); its fd or -errno. */
  bpfSynrAttach(progFd: number, tapFd: number, devName: string): number;
  /** Key 0 of an array map; 0 or -errno. */
  bpfMapWrite(fd: number, bytes: Uint8Array): number;
  bpfMapRead(fd: number, bytes: Uint8Array): number;
  /** BPF_PROG_TEST_RUN: [return value, output length] or -errno. */
  bpfTestRun(progFd: number, input: Uint8Array, output: Uint8Array): [number, number] | number;
  bpfClose(fd: number): number;
}

/** fds: [cfg map, stats map, program]. */
export type BpfOpenResult = { fds: [number, number, number] } | { error: string; errno: number };

// struct synr_cfg (synr_map.h), byte offsets.
/** SYNR_BPF_VERSION: the layout the program reads (2: entries with a family, an IPv6 address and a hop limit). */
export const SYNR_BPF_VERSION = 2;
const VERSION = SYNR_BPF_VERSION;
const O_VERSION = 0;
const O_ON = 4;
const O_TTL = 8;
const O_OPTS = 12;
const O_KEY = 16;
const O_SECRET = 32;
const O_N_ENTRIES = 48;
const O_CLOCK_OFF = 56;
const O_FIXED = 64;
const O_ENTRY0 = 72;
// struct synr_entry: addr 0, port 4, mss 8, window 12, wscale 16, family 20, until_ns 24, addr6 32, hop_limit 48.
const E_ADDR = 0;
const E_PORT = 4;
const E_MSS = 8;
const E_WINDOW = 12;
const E_WSCALE = 16;
const E_FAMILY = 20;
const E_UNTIL = 24;
const E_ADDR6 = 32;
const E_HOP = 48;
const ENTRY_SIZE = 56;
const ENTRIES = 8;
/** synr_entry.family (SYNR_BPF_INET, SYNR_BPF_INET6). */
const INET = 4;
const INET6 = 6;
/** sizeof(struct synr_cfg). */
export const SYNR_CFG_SIZE = O_ENTRY0 + ENTRIES * ENTRY_SIZE;
/** sizeof(struct synr_stats). */
export const SYNR_STATS_SIZE = 24;

/** What the egress responder counted (struct synr_stats). */
export interface BpfSynCounters {
  /** SYNs answered with a cookie SYN-ACK in the kernel. */
  answered: number;
  /** SYNs whose SYN-ACK could not be built in the packet (passed on to the stack instead). */
  redirectFailed: number;
  /** Pure SYNs to a handed listener passed on to the stack (bad checksum, options in the IP header, payload, ...). */
  passed: number;
  /** Writes of the configuration map that failed: that activation did not take, and the engine (or RX thread) answered. */
  mapWriteErrors: number;
}

/** Where scripts/build-bpf.mjs writes the object: dist/src/bpf/, beside this file's dist/src/link/. */
export function bpfObjectPath(): string {
  return fileURLToPath(new URL('../bpf/syn_responder.bpf.o', import.meta.url));
}

/** The object's bytes, or the reason there are none. */
export function readBpfObject(): Uint8Array | string {
  try {
    return readFileSync(bpfObjectPath());
  } catch (err) {
    return `no eBPF object (${(err as NodeJS.ErrnoException).code ?? 'error'} ${bpfObjectPath()}; built by `
      + 'scripts/build-bpf.mjs when clang is installed)';
  }
}

/** Milliseconds of CLOCK_MONOTONIC as a bigint of ns (uv_hrtime is CLOCK_MONOTONIC on Linux; bpf_ktime_get_ns too). */
function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

function ns(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

export class BpfSynResponder implements SynResponder {
  private readonly image = new Uint8Array(SYNR_CFG_SIZE);
  private readonly view = new DataView(this.image.buffer);
  private readonly statsBytes = new Uint8Array(SYNR_STATS_SIZE);
  private readonly statsView = new DataView(this.statsBytes.buffer);
  private alignedAt = -Infinity;
  private closedFds = false;
  private cfgFd = -1;
  private statsFd = -1;
  /** The tcx link's fd (attached), or the program's (loaded for tests: {@link testRun}); -1 while loading. */
  private third = -1;
  /** Map writes that failed (the entry then lapses or stays as it was; the RX thread's responder still answers). */
  writeErrors = 0;

  private constructor(private readonly addon: BpfAddon) {
    this.view.setUint32(O_VERSION, VERSION, true);
  }

  /**
   * Load the program on libuv's pool and attach it at the egress of TAP
   * device `devName` (open as `tapFd`, if `isOpen()` still then); `done`
   * gets null once it answers, or the reason it will not. Until then the
   * responder keeps what it is told and applies it at attachment. Returns
   * the reason at once when there is nothing to load.
   */
  static start(addon: Partial<BpfAddon>, tapFd: number, devName: string, isOpen: () => boolean,
    done: (error: string | null) => void): BpfSynResponder | string {
    if (typeof addon.bpfSynrLoadAsync !== 'function' || typeof addon.bpfSynrAttach !== 'function') {
      return 'the addon has no eBPF loader (rebuild it)';
    }
    const obj = readBpfObject();
    if (typeof obj === 'string') return obj;
    const r = new BpfSynResponder(addon as BpfAddon);
    addon.bpfSynrLoadAsync(obj, (res) => {
      if ('error' in res) {
        r.closedFds = true;
        done(res.error);
        return;
      }
      const [cfg, stats, prog] = res.fds;
      // -EBADF (9) when the link closed meanwhile.
      const link = r.closedFds || !isOpen() ? -9 : r.addon.bpfSynrAttach(prog, tapFd, devName);
      r.addon.bpfClose(prog); // the link holds the program
      if (link < 0) {
        r.addon.bpfClose(cfg);
        r.addon.bpfClose(stats);
        r.closedFds = true;
        done(`BPF_LINK_CREATE (tcx egress of ${devName}): errno ${-link}`);
        return;
      }
      [r.cfgFd, r.statsFd, r.third] = [cfg, stats, link];
      r.push();
      done(null);
    });
    return r;
  }

  /** Load without attaching, to run the program on frames ({@link testRun}); the reason when it cannot. */
  static loadForTest(addon: Partial<BpfAddon>): BpfSynResponder | string {
    if (typeof addon.bpfSynrLoadForTest !== 'function') return 'the addon has no eBPF loader (rebuild it)';
    const obj = readBpfObject();
    if (typeof obj === 'string') return obj;
    const res = addon.bpfSynrLoadForTest(obj);
    if ('error' in res) return res.error;
    const r = new BpfSynResponder(addon as BpfAddon);
    [r.cfgFd, r.statsFd, r.third] = res.fds;
    return r;
  }

  /** True once the program answers (attached, or loaded for tests). */
  get ready(): boolean {
    return this.third >= 0 && !this.closedFds;
  }

  configure(cookieKey: Int32Array, tsSecret: Int32Array, ttl: number, opts: number, now: number): void {
    const v = this.view;
    for (let i = 0; i < 4; i++) {
      v.setInt32(O_KEY + 4 * i, cookieKey[i], true);
      v.setInt32(O_SECRET + 4 * i, tsSecret[i], true);
    }
    v.setUint32(O_TTL, ttl, true);
    v.setUint32(O_OPTS, opts, true);
    v.setUint32(O_ON, 1, true);
    if (now - this.alignedAt >= 1000 || now < this.alignedAt) {
      this.alignedAt = now;
      v.setBigUint64(O_CLOCK_OFF, BigInt.asUintN(64, ns(now) - monotonicNs()), true);
    }
  }

  activate(addr: number, port: number, mss: number, window: number, wscale: number, until: number): boolean {
    const slot = this.slot(INET, addr, 0, 0, 0, 0, port, until);
    if (slot < 0) return false;
    const v = this.view;
    const e = O_ENTRY0 + slot * ENTRY_SIZE;
    v.setUint32(e + E_ADDR, addr >>> 0, true);
    for (let i = 0; i < 4; i++) v.setUint32(e + E_ADDR6 + 4 * i, 0, true);
    v.setUint32(e + E_HOP, 0, true);
    return this.fill(e, INET, port, mss, window, wscale, until);
  }

  /**
   * {@link activate} for an IPv6 listener: its address as four big-endian words at `addr[at..at+4)`, `hopLimit`
   * the hop limit of its SYN-ACKs (RFC 8200 3). Allocation-free, as activate (the engine calls both while a
   * flood goes on).
   */
  activate6(addr: Int32Array, at: number, port: number, mss: number, window: number, wscale: number, hopLimit: number,
    until: number): boolean {
    const a0 = addr[at];
    const a1 = addr[at + 1];
    const a2 = addr[at + 2];
    const a3 = addr[at + 3];
    const slot = this.slot(INET6, 0, a0, a1, a2, a3, port, until);
    if (slot < 0) return false;
    const v = this.view;
    const e = O_ENTRY0 + slot * ENTRY_SIZE;
    v.setUint32(e + E_ADDR, 0, true);
    v.setUint32(e + E_ADDR6, a0 >>> 0, true);
    v.setUint32(e + E_ADDR6 + 4, a1 >>> 0, true);
    v.setUint32(e + E_ADDR6 + 8, a2 >>> 0, true);
    v.setUint32(e + E_ADDR6 + 12, a3 >>> 0, true);
    v.setUint32(e + E_HOP, hopLimit, true);
    return this.fill(e, INET6, port, mss, window, wscale, until);
  }

  /**
   * The entry for (family, address, port): its own, else a lapsed one to reuse, else a new one; -1 when all
   * ENTRIES are taken. An IPv4 address is `addr`; an IPv6 one its words a0..a3.
   */
  private slot(family: number, addr: number, a0: number, a1: number, a2: number, a3: number, port: number,
    until: number): number {
    const v = this.view;
    const n = v.getUint32(O_N_ENTRIES, true);
    const expired = ns(until - SYN_RESPONDER_HOLD_MS);
    let slot = -1;
    for (let i = 0; i < n; i++) {
      const e = O_ENTRY0 + i * ENTRY_SIZE;
      if (v.getUint32(e + E_PORT, true) === port && v.getUint32(e + E_FAMILY, true) === family
        && (family === INET ? v.getUint32(e + E_ADDR, true) === addr >>> 0
          : v.getInt32(e + E_ADDR6, true) === (a0 | 0) && v.getInt32(e + E_ADDR6 + 4, true) === (a1 | 0)
            && v.getInt32(e + E_ADDR6 + 8, true) === (a2 | 0) && v.getInt32(e + E_ADDR6 + 12, true) === (a3 | 0))) {
        return i;
      }
      if (slot < 0 && v.getBigUint64(e + E_UNTIL, true) <= expired) slot = i; // lapsed: reuse
    }
    if (slot >= 0) return slot;
    if (n >= ENTRIES) return -1;
    v.setUint32(O_N_ENTRIES, n + 1, true);
    return n;
  }

  /** The fields both families share, then the map write. */
  private fill(e: number, family: number, port: number, mss: number, window: number, wscale: number,
    until: number): boolean {
    const v = this.view;
    v.setUint32(e + E_PORT, port, true);
    v.setUint32(e + E_MSS, mss, true);
    v.setUint32(e + E_WINDOW, window, true);
    v.setUint32(e + E_WSCALE, wscale, true);
    v.setUint32(e + E_FAMILY, family, true);
    v.setBigUint64(e + E_UNTIL, ns(until), true);
    return this.push();
  }

  deactivate(port: number): void {
    const v = this.view;
    const n = v.getUint32(O_N_ENTRIES, true);
    let changed = false;
    for (let i = 0; i < n; i++) {
      const e = O_ENTRY0 + i * ENTRY_SIZE;
      if (v.getUint32(e + E_PORT, true) === port) {
        v.setBigUint64(e + E_UNTIL, 0n, true);
        changed = true;
      }
    }
    if (changed) this.push();
  }

  /** Tests: the engine clock the program reads instead of its own (ms), or null for its own clock. */
  setFixedClock(ms: number | null): boolean {
    this.view.setBigUint64(O_FIXED, ms === null ? 0n : ns(ms), true);
    return this.push();
  }

  counters(): BpfSynCounters {
    if (!this.ready || this.addon.bpfMapRead(this.statsFd, this.statsBytes) < 0) {
      return { answered: 0, redirectFailed: 0, passed: 0, mapWriteErrors: this.writeErrors };
    }
    const v = this.statsView;
    return {
      answered: Number(v.getBigUint64(0, true)),
      redirectFailed: Number(v.getBigUint64(8, true)),
      passed: Number(v.getBigUint64(16, true)),
      mapWriteErrors: this.writeErrors,
    };
  }

  /**
   * Tests: run the loaded (not attached) program on `frame`; its return value
   * and the frame it left (the SYN-ACK when it answered).
   */
  testRun(frame: Uint8Array): { ret: number; out: Uint8Array } {
    const out = new Uint8Array(256);
    const r = this.addon.bpfTestRun(this.third, frame, out);
    if (typeof r === 'number') throw new Error(`BPF_PROG_TEST_RUN failed: errno ${-r}`);
    return { ret: r[0], out: out.subarray(0, r[1]) };
  }

  /** Detach (the link's fd closes) and free the maps. */
  close(): void {
    if (this.closedFds) return;
    this.closedFds = true; // a load still running: its result is closed when it comes
    if (this.third < 0) return;
    this.addon.bpfClose(this.third);
    this.addon.bpfClose(this.cfgFd);
    this.addon.bpfClose(this.statsFd);
  }

  private push(): boolean {
    if (this.closedFds) return false;
    if (this.third < 0) return true; // loading: applied at attachment
    if (this.addon.bpfMapWrite(this.cfgFd, this.image) < 0) {
      this.writeErrors++;
      return false;
    }
    return true;
  }
}
