/*
 * wirestack_tap: the smallest native piece a Linux TAP link needs from Node.
 *
 *   open(name, tun?, offload?)                   -> { fd, name, vnetHdr, offload }
 *   readBatch(fd, buf, slotSize, maxFrames, lens, vnetHdr?) -> frames read (0 = EAGAIN) | -errno
 *   write(fd, buf, offset, length, vnetHdr?, gso?, csum?) -> bytes written | -errno
 *   pollStart(fd, callback, buf?, slotSize?, lens?, control?, vnetHdr?) -> handle (uv_poll on UV_READABLE;
 *                                                   with buf: reads one frame ahead of the callback, see on_readable)
 *   pollStop(handle)                             -> undefined (idempotent)
 *   close(fd)                                    -> 0 | -errno
 *   threadStart/threadKick/threadRef/threadStop  -> native/tap_thread.c (reads and writes on native threads)
 *
 * Reading and writing allocate nothing: frames go straight into and out of
 * caller-owned typed arrays. The poll callback fires once per event-loop
 * wakeup, never per frame; JS then drains the fd with readBatch until it
 * reports 0 (EAGAIN).
 *
 * Node-API only (no node-addon-api). Every call's status is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <node_api.h>
#include <uv.h>

#ifdef __linux__
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#endif

#include "vnet.h"

#include "tap_napi.h"


/*
 * open(name: string, tun?: boolean, offload?: boolean) -> { fd, name, vnetHdr, offload }
 * tun: IFF_TUN (bare IP packets) instead of IFF_TAP. offload (TAP only):
 * IFF_VNET_HDR and TUNSETOFFLOAD with TUN_F_CSUM | TUN_F_TSO4, so every
 * read() and write() carries a struct virtio_net_hdr (vnetHdr bytes, 10) in
 * front of the frame and the kernel passes and takes TCP super-segments of up
 * to 64 KiB with partial checksums. `offload` in the result: the TUN_F_*
 * flags the kernel accepted (0 when it refused them all: the header is then
 * still there, always plain).
 */
static napi_value tap_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  bool tun = false;
  if (argc >= 2) {
    napi_valuetype tt;
    CHECK(env, napi_typeof(env, argv[1], &tt));
    if (tt == napi_boolean) CHECK(env, napi_get_value_bool(env, argv[1], &tun));
  }
  bool offload = false;
  if (argc >= 3) {
    napi_valuetype tt;
    CHECK(env, napi_typeof(env, argv[2], &tt));
    if (tt == napi_boolean) CHECK(env, napi_get_value_bool(env, argv[2], &offload));
  }
  if (tun) offload = false;
#ifndef __linux__
  (void)argv;
  (void)tun;
  (void)offload;
  throw_errno(env, "ENOTSUP", "TAP devices are only supported on Linux");
  return NULL;
#else
  char name[IFNAMSIZ + 1];
  size_t nlen = 0;
  napi_valuetype t;
  CHECK(env, napi_typeof(env, argv[0], &t));
  if (t != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "name must be a string");
    return NULL;
  }
  CHECK(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nlen));
  if (nlen >= IFNAMSIZ) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "interface name must be at most 15 bytes");
    return NULL;
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO) {
      throw_errno(env, "ENOENT", "/dev/net/tun missing (load the tun module or create the device node)");
    } else if (e == EPERM || e == EACCES) {
      throw_errno(env, "EPERM", "opening /dev/net/tun needs CAP_NET_ADMIN (root)");
    } else {
      char msg[128];
      snprintf(msg, sizeof msg, "open /dev/net/tun: %s", strerror(e));
      throw_errno(env, "ERR_WIRESTACK_TAP", msg);
    }
    return NULL;
  }

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, nlen); /* nlen < IFNAMSIZ, rest is zero */
  if (ioctl(fd, TUNSETIFF, (void *)&ifr) < 0) {
    int e = errno;
    (void)close(fd);
    char msg[160];
    if (e == EPERM || e == EACCES) {
      snprintf(msg, sizeof msg, "TUNSETIFF %s: needs CAP_NET_ADMIN (root)", name);
      throw_errno(env, "EPERM", msg);
    } else if (e == EBUSY) {
      snprintf(msg, sizeof msg, "TUNSETIFF %s: device busy (in use, or not a %s device)", name, tun ? "TUN" : "TAP");
      throw_errno(env, "EBUSY", msg);
    } else {
      snprintf(msg, sizeof msg, "TUNSETIFF %s: %s", name, strerror(e));
      throw_errno(env, "ERR_WIRESTACK_TAP", msg);
    }
    return NULL;
  }

  int vnet = 0;
  unsigned int feats = 0;
  if (offload) {
    int sz = WS_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      int e = errno;
      (void)close(fd);
      char msg[160];
      snprintf(msg, sizeof msg, "TUNSETVNETHDRSZ %s: %s", name, strerror(e));
      throw_errno(env, "ERR_WIRESTACK_TAP", msg);
      return NULL;
    }
    vnet = WS_VNET_HDR_LEN;
    /* Checksum offload and TSO for IPv4; without TSO the kernel still takes partial checksums. */
    feats = TUN_F_CSUM | TUN_F_TSO4;
    if (ioctl(fd, TUNSETOFFLOAD, feats) < 0) {
      feats = TUN_F_CSUM;
      if (ioctl(fd, TUNSETOFFLOAD, feats) < 0) feats = 0;
    }
  }

  napi_value out, vfd, vname, vvnet, vfeats;
  bool ok = napi_create_object(env, &out) == napi_ok &&
            napi_create_int32(env, fd, &vfd) == napi_ok &&
            napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &vname) == napi_ok &&
            napi_create_int32(env, vnet, &vvnet) == napi_ok &&
            napi_create_int32(env, (int32_t)feats, &vfeats) == napi_ok &&
            napi_set_named_property(env, out, "fd", vfd) == napi_ok &&
            napi_set_named_property(env, out, "name", vname) == napi_ok &&
            napi_set_named_property(env, out, "vnetHdr", vvnet) == napi_ok &&
            napi_set_named_property(env, out, "offload", vfeats) == napi_ok;
  if (!ok) {
    (void)close(fd);
    throw_last(env, "open: building the result");
    return NULL;
  }
  return out;
#endif
}

/*
 * readBatch(fd, buf: Uint8Array, slotSize, maxFrames, lengths: Int32Array) -> n | -errno
 *
 * Reads up to maxFrames frames, frame i into buf[i*slotSize ..), its length
 * into lengths[i]. Returns how many were read; 0 means nothing was waiting
 * (EAGAIN). An error on the first read is returned as -errno; an error after
 * some frames were read ends the batch (the next call reports it).
 * vnetHdr (default 0): the fd was opened with offload; each frame's
 * virtio_net_hdr is read aside and its checksum flags go to the top byte of
 * the frame's length (see vnet.h).
 */
static napi_value tap_read_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc6 = 6;
  if (napi_get_cb_info(env, info, &argc6, argv, NULL, NULL) != napi_ok) {
    throw_last(env, "napi_get_cb_info");
    return NULL;
  }
  if (argc6 < 5) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  int64_t vnet = 0;
  if (argc6 >= 6 && !arg_int(env, argv[5], "vnetHdr", &vnet)) return NULL;
  if (vnet != 0 && vnet != WS_VNET_HDR_LEN) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "vnetHdr must be 0 or 10");
    return NULL;
  }
  int fd;
  int64_t slot, maxf;
  uint8_t *buf;
  size_t blen;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "buffer", &buf, &blen) ||
      !arg_int(env, argv[2], "slotSize", &slot) || !arg_int(env, argv[3], "maxFrames", &maxf)) {
    return NULL;
  }
  bool is_ta = false;
  CHECK(env, napi_is_typedarray(env, argv[4], &is_ta));
  napi_typedarray_type ltype;
  size_t lcount = 0;
  void *lp = NULL;
  if (is_ta) CHECK(env, napi_get_typedarray_info(env, argv[4], &ltype, &lcount, &lp, NULL, NULL));
  if (!is_ta || ltype != napi_int32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "lengths must be an Int32Array");
    return NULL;
  }
  if (slot < 1 || maxf < 0 || (uint64_t)maxf > lcount || (uint64_t)maxf * (uint64_t)slot > blen) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "readBatch: slots do not fit the buffers");
    return NULL;
  }
  int32_t *lens = (int32_t *)lp;
  int64_t n = 0;
  while (n < maxf) {
    uint8_t hdr[WS_VNET_HDR_LEN];
    ssize_t r;
    if (vnet != 0) {
      struct iovec iov[2] = { { hdr, sizeof hdr }, { buf + n * slot, (size_t)slot } };
      r = readv(fd, iov, 2);
    } else {
      r = read(fd, buf + n * slot, (size_t)slot);
    }
    if (r < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      return make_int(env, n > 0 ? n : -(int64_t)e);
    }
    lens[n] = vnet != 0 ? ws_vnet_rx_len(hdr, r) : (int32_t)r;
    n++;
  }
  return make_int(env, n);
}

/*
 * write(fd, buf: Uint8Array, offset, length, vnetHdr?, gso?, csum?) -> bytes | -errno
 * vnetHdr 10 (an fd opened with offload): a virtio_net_hdr built from gso
 * and csum (see vnet.h; 0 or absent: a plain frame) goes in front; the
 * result counts the frame's bytes only.
 */
static napi_value tap_write(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  size_t argc = 7;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last(env, "napi_get_cb_info");
    return NULL;
  }
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  int fd;
  int64_t off, len, vnet = 0, gso = 0, csum = 0;
  uint8_t *buf;
  size_t blen;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "buffer", &buf, &blen) ||
      !arg_int(env, argv[2], "offset", &off) || !arg_int(env, argv[3], "length", &len) ||
      (argc >= 5 && !arg_int(env, argv[4], "vnetHdr", &vnet)) || (argc >= 6 && !arg_int(env, argv[5], "gso", &gso)) ||
      (argc >= 7 && !arg_int(env, argv[6], "csum", &csum))) {
    return NULL;
  }
  if (vnet != 0 && vnet != WS_VNET_HDR_LEN) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "vnetHdr must be 0 or 10");
    return NULL;
  }
  if (off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > blen) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "write: offset/length outside the buffer");
    return NULL;
  }
  ssize_t r;
  if (vnet != 0) {
    uint8_t hdr[WS_VNET_HDR_LEN];
    ws_vnet_tx_fill(hdr, gso, csum);
    struct iovec iov[2] = { { hdr, sizeof hdr }, { buf + off, (size_t)len } };
    do {
      r = writev(fd, iov, 2);
    } while (r < 0 && errno == EINTR);
    if (r >= WS_VNET_HDR_LEN) r -= WS_VNET_HDR_LEN;
  } else {
    do {
      r = write(fd, buf + off, (size_t)len);
    } while (r < 0 && errno == EINTR);
  }
  return make_int(env, r < 0 ? -(int64_t)errno : (int64_t)r);
}

/* close(fd) -> 0 | -errno */
static napi_value tap_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  int fd;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  int r = close(fd); /* never retried: on Linux the fd is released even on EINTR */
  return make_int(env, r < 0 ? -(int64_t)errno : 0);
}

napi_status wirestack_tap_poll_init(napi_env env, napi_value exports); /* native/tap_poll.c */
napi_status wirestack_udp_init(napi_env env, napi_value exports); /* native/udp.c */
napi_status wirestack_tap_thread_init(napi_env env, napi_value exports); /* native/tap_thread.c */
napi_status wirestack_aead_init(napi_env env, napi_value exports); /* native/aead.c */
napi_status wirestack_wgcrypt_init(napi_env env, napi_value exports); /* native/wgcrypt.c */
napi_status wirestack_bpf_init(napi_env env, napi_value exports); /* native/bpf_loader.c */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, tap_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "readBatch", NULL, tap_read_batch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "write", NULL, tap_write, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, tap_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(env, wirestack_tap_poll_init(env, exports));
  CHECK(env, wirestack_udp_init(env, exports));
  CHECK(env, wirestack_tap_thread_init(env, exports));
  CHECK(env, wirestack_aead_init(env, exports));
  CHECK(env, wirestack_wgcrypt_init(env, exports));
  CHECK(env, wirestack_bpf_init(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
