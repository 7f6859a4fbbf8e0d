/*
 * The virtio_net_hdr a TAP fd opened with IFF_VNET_HDR puts in front of each
 * frame (include/uapi/linux/virtio_net.h, 10 bytes, native byte order on a
 * little-endian host), and how wirestack passes its content to and from JS
 * without a per-frame object:
 *
 * - receive: the checksum flags go to the top byte of the frame's length
 *   word (len | flags << 24; frames are < 2^17 bytes): WS_RX_CSUM_VALID for
 *   VIRTIO_NET_HDR_F_DATA_VALID, WS_RX_CSUM_PARTIAL for _NEEDS_CSUM (the
 *   engine's RX_CSUM_VALID / RX_CSUM_PARTIAL, src/engine/offload.ts). A
 *   GSO frame (gso_type TCPV4) is a coalesced TCP segment the engine takes
 *   whole; nothing else about it is needed.
 * - send: two small integers (JS passes both as Smis, so a frame costs no
 *   boxed number): `gso` = gso_size (bits 0-15) | gso_type << 16
 *   (VIRTIO_NET_HDR_GSO_* without the ECN bit: TCPV4 now, TCPV6 later), and
 *   `csum` = csum_offset (bits 0-5) | csum_start << 6 (8 bits) | hdr_len << 14
 *   (8 bits); see src/link/tap.ts. csum_offset non-zero sets
 *   VIRTIO_NET_HDR_F_NEEDS_CSUM: the kernel completes the checksum the stack
 *   left partial (and cuts a GSO frame into gso_size pieces).
 */
#ifndef WIRESTACK_VNET_H
#define WIRESTACK_VNET_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define WS_VNET_HDR_LEN 10
#define WS_RX_CSUM_VALID 1
#define WS_RX_CSUM_PARTIAL 2

/* Offsets in struct virtio_net_hdr. */
#define WS_VH_FLAGS 0
#define WS_VH_GSO_TYPE 1
#define WS_VH_HDR_LEN 2
#define WS_VH_GSO_SIZE 4
#define WS_VH_CSUM_START 6
#define WS_VH_CSUM_OFFSET 8

static inline void ws_put16(uint8_t *p, uint32_t v) {
  uint16_t x = (uint16_t)v; /* native order: a little-endian host's virtio header (tun_is_little_endian) */
  memcpy(p, &x, 2);
}

/* The length word of a frame read with its header: the frame's bytes, its checksum flags on top. */
static inline int32_t ws_vnet_rx_len(const uint8_t *hdr, ssize_t r) {
  if (r < WS_VNET_HDR_LEN) return 0; /* a short read: a runt the link drops */
  int32_t len = (int32_t)(r - WS_VNET_HDR_LEN);
  uint8_t f = hdr[WS_VH_FLAGS];
  int32_t flags = (f & 1) ? WS_RX_CSUM_PARTIAL : (f & 2) ? WS_RX_CSUM_VALID : 0;
  return len | (flags << 24);
}

/* Fill a header from `gso` and `csum` (both 0: a plain frame, all zero). */
static inline void ws_vnet_tx_fill(uint8_t *hdr, int64_t gso, int64_t csum) {
  memset(hdr, 0, WS_VNET_HDR_LEN);
  uint32_t csum_offset = (uint32_t)(csum & 63);
  uint32_t csum_start = (uint32_t)((csum >> 6) & 255);
  uint32_t hdr_len = (uint32_t)((csum >> 14) & 255);
  uint32_t gso_size = (uint32_t)(gso & 0xffff);
  uint32_t gso_type = (uint32_t)((gso >> 16) & 7);
  if (csum_offset != 0) {
    hdr[WS_VH_FLAGS] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
    ws_put16(hdr + WS_VH_CSUM_START, csum_start);
    ws_put16(hdr + WS_VH_CSUM_OFFSET, csum_offset);
  }
  if (gso_type != 0) {
    hdr[WS_VH_GSO_TYPE] = (uint8_t)gso_type;
    ws_put16(hdr + WS_VH_HDR_LEN, hdr_len);
    ws_put16(hdr + WS_VH_GSO_SIZE, gso_size);
  }
}

#endif
