/**
 * The TAP link's defaults and tuning constants (tap.ts), each with the
 * measurement or reason behind it, and the packing of a frame's
 * virtio_net_hdr for the addon. Apart from tap.ts so that the link's code
 * reads on its own.
 */
import type { TxOffload } from './link.js';

/** Whether {@link TapLink.open} asks for offload unless told otherwise. */
export const TAP_OFFLOAD_DEFAULT = true;

/**
 * The device's kernel queue toward the stack (txqueuelen, frames) unless
 * told otherwise ({@link TapLinkOptions.kernelQueue}): ~40 ms of a SYN flood
 * at the rate one core sends here, so the RX thread's scheduling gaps on a
 * loaded machine delay frames instead of dropping them (see tap-options.ts).
 */
export const TAP_KERNEL_QUEUE_DEFAULT = 10_000;

/**
 * Ring slots per ring with offload: each slot holds a 64 KiB super-segment,
 * but a burst of small frames needs slots too (a server closing 1,000 idle
 * connections at once sends 1,000 FINs in one poll: 128 slots dropped most
 * of them). A slot's pages become resident only as far as frames fill them,
 * so small frames cost a page per slot; bulk traffic of 64 KiB frames makes
 * a ring resident up to slots × 64 KiB (32 MiB here).
 */
export const OFFLOAD_RING_SLOTS = 512;
/** Largest IP packet of a super-segment either way (the kernel's legacy GSO limit). */
export const OFFLOAD_MAX_PACKET = 65535;
/** TUNSETOFFLOAD flags (linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;

/**
 * The virtio_net_hdr content of a frame as two small integers (Smis: no
 * boxed number per frame; native/vnet.h unpacks them): gso_size | gso_type
 * << 16, and csum_offset | csum_start << 6 | hdr_len << 14.
 */
export function txGso(tx: TxOffload): number {
  return (tx.gsoSize & 0xffff) | ((tx.gsoType & 7) << 16);
}

export function txCsum(tx: TxOffload): number {
  return (tx.csumOffset & 63) | ((tx.csumStart & 255) << 6) | ((tx.hdrLen & 255) << 14);
}

/**
 * Whether {@link TapLink.open} uses native I/O threads unless told otherwise.
 * Measured with bench/tap.ts on a 2-core machine (medians, MiB/run 512):
 * MTU 1500 in 3.2–3.3 / out 2.7–2.8 Gbit/s threaded against 2.5–2.7 / 2.1
 * synchronous, the JS thread's CPU per GB halved (in 1.7 s vs 3.0–3.2 s,
 * out 1.4 s vs 3.8 s) at about the same total; MTU 9000 in 6.6–6.8 / out
 * 9.2–9.5 against 5.0–5.6 / 6.1–7.5. The price is latency: ping RTT about
 * 0.1 ms higher (two thread handoffs).
 */
export const TAP_THREADS_DEFAULT = true;

/** Frames per batch read on the JS thread. */
export const BATCH_FRAMES = 64;
/**
 * Frames the JS thread may read from a device it holds (rxHandoff) within one
 * millisecond before it gives the device back to the RX thread: 64 frames/ms
 * is bulk traffic (~770 Mbit/s of full frames), far above what a
 * request/response exchange sends.
 */
export const HANDBACK_FRAMES_PER_MS = 64;
/**
 * The same in bytes, 64 full 1500-byte frames: with offload a few coalesced
 * 64 KiB segments are bulk traffic too.
 */
export const HANDBACK_BYTES_PER_MS = HANDBACK_FRAMES_PER_MS * 1514;
/**
 * Bytes received in one poll from which the frames that poll sends (the
 * ACKs of a bulk transfer) are left to the TX thread instead of the direct
 * write (see poll): a few full frames, or any coalesced segment.
 */
export const BULK_RX_BYTES = 8192;
/**
 * Frames the JS thread reads per poll from a device it holds (rxHandoff):
 * a read that fills it means a burst, and the device goes back to the RX
 * thread at once, so the copies of bulk traffic stay off the JS thread
 * (with offload, 16 frames can be 1 MiB).
 */
export const HELD_BUDGET = 16;
/** The read-ahead's control word (native/tap.c pollStart): none, a frame in slot 0 (2: the device was empty). */
export const AHEAD_NONE = 0, AHEAD_FRAME = 1;
/** Slack beyond mtu + 14 so an oversized frame is seen (and dropped) rather than silently truncated. */
export const SLOT_SLACK = 4;
