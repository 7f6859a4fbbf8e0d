/** The option and counter shapes of {@link TapLink} (tap.ts). */
import type { TapLink } from './tap.js';

/** Options of {@link TapLink.open}. */
export interface TapLinkOptions {
  /** Give the Linux side of the device this address, e.g. '10.77.0.1/24' (`ip addr add`). */
  hostAddress?: string;
  /** IP MTU of the device (both sides). Default 1500. */
  mtu?: number;
  /** Frames read per poll before yielding to the event loop. Default 256. */
  pollBudget?: number;
  /** Bring the device up with `ip link set ... up`. Default true. */
  up?: boolean;
  /**
   * Do the device's read() and write() syscalls on two native threads instead
   * of the JS thread. Default {@link TAP_THREADS_DEFAULT}.
   */
  threads?: boolean;
  /**
   * Threaded mode: let the first frame sent after a poll be written on the JS
   * thread when the TX ring is empty, sparing the TX thread's wake-up (see
   * {@link TapThreadCounters.txDirect}). Default true.
   */
  directWrite?: boolean;
  /**
   * Threaded mode: while the device is quiet (no frame for 1 ms), the JS
   * thread reads it itself from the event loop, and gives it back to the RX
   * thread when a full batch of frames is waiting (bulk traffic). Cuts a
   * thread wake-up from every request/response exchange (see
   * {@link TapThreadCounters.rxHandoffs}). Default true.
   */
  rxHandoff?: boolean;
  /**
   * Threaded mode with `rxHandoff`: after a lone frame went out, the event
   * loop watches the device for up to this many µs before it blocks, so an
   * answer that comes that soon is read without the JS thread sleeping and
   * waking (see {@link TapThreadCounters.spinHits}). The window adapts:
   * halved on each miss down to off, re-probed now and then; never while
   * idle. Default 0 (off): on this 2-core machine under load, spinning took
   * the CPU the answering process needed and exchanges got slower (see
   * native/tap_thread.c, SPIN_DEFAULT_US); with the peer on another idle
   * core, 50–100 may pay.
   */
  busyPollUs?: number;
  /**
   * Frames the kernel may queue on the device for this link's reader (the
   * device's txqueuelen, seen from Linux: it transmits to us), beyond which it
   * drops them. Default {@link TAP_KERNEL_QUEUE_DEFAULT} (10000); 0 leaves
   * the kernel's default (1000). Under a SYN flood at the sender's maximum
   * on this 2-core machine the RX thread keeps up on average (the SYN
   * responder answers it), but while it is descheduled the kernel's 1000
   * frames (4-5 ms of the flood) overflowed: 8k-20k frames/s dropped, and
   * a legitimate client whose SYN was among them waited 1 s for its
   * retransmission, 0.5-1.5 % of its connections, which was most of its
   * time (bench/syn-flood.ts: clientSynRetrans, duringConnectHist). With
   * 10000 those retransmissions nearly ended and frames wait instead (a few
   * connects took 10-100 ms). Without the responder, when the stack cannot
   * keep up at all, a long queue only turns drops into delay (the client
   * then waited 0.3 s per request, earlier measurement).
   */
  kernelQueue?: number;
  /**
   * Threaded mode: the RX thread answers SYN floods itself with the stack's
   * SYN cookies, for listeners whose request queue overflowed, and drops
   * pure SYNs while its ring is three quarters full so connections' segments
   * keep the rest (native/syn_responder.c, {@link TapLink.synResponder}).
   * Default true since the I/O threads batch their reads and writes
   * (native/tap_uring.c): in interleaved runs of bench/syn-flood.ts on a
   * loaded 2-core machine (3 rounds) it kept the accept rate at the flood
   * sender's maximum (175k-256k SYN/s) at a median 11.9 % of the no-flood
   * rate, the engine answering it 2.3 % (0.4 % before the batching), and at
   * 30k SYN/s 94.5 % against 60.4 % (53.3 %); the kernel's TAP queue
   * dropped a fifth of the frames it did on the engine path. Since the RX
   * thread writes the SYN-ACKs itself and the kernel queue is 10000 frames
   * (see {@link kernelQueue}), 7 interleaved rounds against that build
   * (load 0.6-8): a median 38.1 % against 9.1 % at the sender's maximum, no
   * SYN retransmission by the legitimate client (0 of 6,792 connections
   * against 55 of 2,339).
   * Without a flood it does nothing: it answers only for listeners whose
   * request queue overflowed. `false` leaves every SYN to the engine.
   */
  synResponder?: boolean;
  /**
   * With `synResponder`: answer a flooded listener's SYNs at the device's
   * egress with an eBPF program, in the flood sender's context as Linux's
   * own TCP does, and leave the RX thread only what it passes on
   * (src/link/syn-responder-bpf.ts). Attached at a listener's first
   * overflow; needs root, Linux >= 6.6, libbpf.so.1 and the object built
   * with clang (otherwise the RX thread's responder answers alone, and
   * {@link TapLink.synResponder}'s `egressError` says why). Default true.
   */
  egressSynResponder?: boolean;
  /**
   * Frame slots per ring in threaded mode (a power of two, 2..65536). Default:
   * up to 8 MiB per ring, 64..4096 slots; with offload (64 KiB slots) 512.
   */
  ringSlots?: number;
  /**
   * TSO/GRO and checksum offload through IFF_VNET_HDR (see the class
   * comment). Default {@link TAP_OFFLOAD_DEFAULT}; when the kernel refuses
   * TUNSETOFFLOAD the link runs without (`offload` is then null).
   */
  offload?: boolean;
}

/** Offload counters of a {@link TapLink}. */
export interface TapOffloadStats {
  /** Super-segments handed to the kernel to cut (GSO TCPv4). */
  txGso: number;
  /** Frames sent with a partial checksum for the kernel to complete (super-segments included). */
  txCsumPartial: number;
}

/** Options of {@link TapLink.moveToNetns}. */
export interface TapNetnsOptions {
  /** Address of the Linux side inside the namespace, e.g. '10.77.0.1/24'. */
  hostAddress?: string;
}
