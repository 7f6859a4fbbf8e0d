/*
 * Host UDP sockets for WireGuard's outer transport, without node:dgram's
 * per-datagram Buffers and libuv send requests: a non-blocking IPv4 socket
 * (or a dual-stack IPv6 one when bound to an IPv6 address such as "::"),
 * recvmmsg(2) into slots of a caller-owned buffer, sendto(2) straight from
 * the caller's bytes (synchronous, so the bytes may be reused at once).
 * Readability is watched with the TAP addon's pollStart (any fd).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <netinet/udp.h>
#include <node_api.h>

#define UDP_BATCH_MAX 64
/* UDP GSO/GRO socket options (Linux 4.18 / 5.0; older headers lack them). */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static void udp_source(const struct sockaddr_in6 *from, int32_t *meta, uint8_t *a6);

static bool udp_int(napi_env env, napi_value v, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an integer");
    return false;
  }
  return true;
}

static bool udp_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *count) {
  bool is = false;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &t, count, data, NULL, NULL) != napi_ok || t != want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "unexpected argument type");
    return false;
  }
  return true;
}

static napi_value udp_num(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/*
 * udpOpen(address: string, port) -> fd | -errno; the bound port via udpPort(fd).
 * An IPv6 address ("::" for any) opens a dual-stack AF_INET6 socket
 * (IPV6_V6ONLY off, as the kernel's WireGuard serves both families on one
 * port): IPv4 peers then arrive as ::ffff:a.b.c.d and are reported as IPv4.
 */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char host[64];
  size_t hl = 0;
  int64_t port;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "address must be a string");
    return NULL;
  }
  if (!udp_int(env, argv[1], &port)) return NULL;
  if (port < 0 || port > 65535) return udp_num(env, -EINVAL);
  struct sockaddr_in sa;
  struct sockaddr_in6 sa6;
  memset(&sa, 0, sizeof sa);
  memset(&sa6, 0, sizeof sa6);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa6.sin6_family = AF_INET6;
  sa6.sin6_port = htons((uint16_t)port);
  int family = AF_INET;
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    if (inet_pton(AF_INET6, host, &sa6.sin6_addr) != 1) return udp_num(env, -EINVAL);
    family = AF_INET6;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return udp_num(env, -errno);
  int size = 4 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (family == AF_INET6) {
    int off = 0;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (family == AF_INET6 ? bind(fd, (struct sockaddr *)&sa6, sizeof sa6) < 0 : bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return udp_num(env, -e);
  }
  return udp_num(env, fd);
}

/* udpPort(fd) -> bound port | -errno */
static napi_value udp_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !udp_int(env, argv[0], &fd)) return NULL;
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  if (getsockname((int)fd, (struct sockaddr *)&sa, &sl) < 0) return udp_num(env, -errno);
  if (sa.ss_family == AF_INET6) return udp_num(env, ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
  return udp_num(env, ntohs(((struct sockaddr_in *)&sa)->sin_port));
}

/*
 * udpRecvBatch and udpRecvGro in one: the same arguments (fd, buf, slotSize,
 * max, meta[, addr6]) and checks, recvmmsg(2) into the slots; `gro` adds a
 * control buffer per message for the UDP_GRO cmsg and a fourth meta entry
 * per message (the segment size), as documented at each entry point.
 */
static napi_value udp_recv(napi_env env, napi_callback_info info, bool gro) {
  const char *name = gro ? "udpRecvGro" : "udpRecvBatch";
  const int stride = gro ? 4 : 3; /* meta entries per message */
  char msg[96];
  size_t argc = 6;
  napi_value argv[6];
  int64_t fd, slot, maxd;
  void *bp, *mp, *a6p = NULL;
  size_t blen, mcount, a6len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return NULL;
  if (!udp_int(env, argv[0], &fd) || !udp_typed(env, argv[1], napi_uint8_array, &bp, &blen) ||
      !udp_int(env, argv[2], &slot) || !udp_int(env, argv[3], &maxd) ||
      !udp_typed(env, argv[4], napi_int32_array, &mp, &mcount)) return NULL;
  if (argc >= 6 && !udp_typed(env, argv[5], napi_uint8_array, &a6p, &a6len)) return NULL;
  if (maxd > UDP_BATCH_MAX) maxd = UDP_BATCH_MAX;
  if (a6p != NULL && (uint64_t)maxd * 16 > a6len) {
    snprintf(msg, sizeof msg, "%s: addr6 holds fewer than 16 bytes per %s", name, gro ? "message" : "datagram");
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  if (slot < 1 || maxd < 1 || (uint64_t)maxd * (uint64_t)slot > blen || (uint64_t)maxd * (uint64_t)stride > mcount) {
    snprintf(msg, sizeof msg, "%s: slots do not fit the buffers", name);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  struct mmsghdr msgs[UDP_BATCH_MAX];
  struct iovec iov[UDP_BATCH_MAX];
  struct sockaddr_in6 from[UDP_BATCH_MAX]; /* room for either family (a dual-stack socket) */
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl[UDP_BATCH_MAX];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)maxd);
  for (int i = 0; i < maxd; i++) {
    iov[i].iov_base = (uint8_t *)bp + (size_t)i * (size_t)slot;
    iov[i].iov_len = (size_t)slot;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    if (gro) {
      msgs[i].msg_hdr.msg_control = ctl[i].buf;
      msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
    }
  }
  int n;
  do {
    n = recvmmsg((int)fd, msgs, (unsigned)maxd, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return udp_num(env, (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno);
  int32_t *meta = (int32_t *)mp;
  for (int i = 0; i < n; i++) {
    struct msghdr *h = &msgs[i].msg_hdr;
    int32_t *m = meta + stride * i;
    m[0] = (h->msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[i].msg_len;
    udp_source(&from[i], m, a6p == NULL ? NULL : (uint8_t *)a6p + 16 * i);
    if (!gro) continue;
    int seg = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
      /* The kernel reports the size as an int (udp_cmsg_recv). */
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        memcpy(&seg, CMSG_DATA(c), sizeof seg);
      }
    }
    m[3] = seg > 0 && (uint32_t)seg < msgs[i].msg_len ? seg : 0;
  }
  return udp_num(env, n);
}

/*
 * udpRecvBatch(fd, buf: Uint8Array, slotSize, maxDatagrams, meta: Int32Array[, addr6: Uint8Array]) -> n | -errno
 * Datagram i lands at buf[i*slotSize ..); meta[3i] = length, meta[3i+1] =
 * source address (host order, as int32), meta[3i+2] = source port. 0 when
 * nothing waits. Truncated datagrams (longer than a slot) are reported with
 * length -1 so the caller can count and drop them. On a dual-stack socket an
 * IPv6 source (not ::ffff:a.b.c.d, which is reported as IPv4) has meta[3i+1]
 * = 0 and its 16 bytes at addr6[16i ..) (without addr6: length -1).
 */
static napi_value udp_recv_batch(napi_env env, napi_callback_info info) {
  return udp_recv(env, info, false);
}

/*
 * Source address and port of a received datagram into meta[1], meta[2]
 * (IPv4, also ::ffff:a.b.c.d), or meta[1] = 0 and the IPv6 address in a6
 * (meta[0] = -1, dropped, when the caller gave no room for it).
 */
static void udp_source(const struct sockaddr_in6 *from, int32_t *meta, uint8_t *a6) {
  if (from->sin6_family == AF_INET) {
    const struct sockaddr_in *f4 = (const struct sockaddr_in *)from;
    meta[1] = (int32_t)ntohl(f4->sin_addr.s_addr);
    meta[2] = ntohs(f4->sin_port);
    return;
  }
  const uint8_t *b = from->sin6_addr.s6_addr;
  meta[2] = ntohs(from->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&from->sin6_addr)) {
    meta[1] = (int32_t)(((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15]);
    return;
  }
  meta[1] = 0;
  if (a6 == NULL) meta[0] = -1;
  else memcpy(a6, b, 16);
}

/* udpSend(fd, buf: Uint8Array, offset, length, address (int32, host order), port) -> bytes | -errno */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int64_t fd, off, len, addr, port;
  void *bp;
  size_t blen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return NULL;
  if (!udp_int(env, argv[0], &fd) || !udp_typed(env, argv[1], napi_uint8_array, &bp, &blen) ||
      !udp_int(env, argv[2], &off) || !udp_int(env, argv[3], &len) || !udp_int(env, argv[4], &addr) ||
      !udp_int(env, argv[5], &port)) return NULL;
  if (off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > blen || port < 1 || port > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udpSend: bad offset, length or port");
    return NULL;
  }
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl((uint32_t)addr);
  ssize_t r;
  do {
    r = sendto((int)fd, (uint8_t *)bp + off, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa);
  } while (r < 0 && errno == EINTR);
  return udp_num(env, r < 0 ? -(int64_t)errno : (int64_t)r);
}

/*
 * udpSend6(fd, buf: Uint8Array, offset, length, addr6: Uint8Array, addr6Offset, port) -> bytes | -errno
 * To the IPv6 address addr6[addr6Offset .. +16) (needs a socket opened on an IPv6 address).
 */
static napi_value udp_send6(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  int64_t fd, off, len, aoff, port;
  void *bp, *ap;
  size_t blen, alen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) return NULL;
  if (!udp_int(env, argv[0], &fd) || !udp_typed(env, argv[1], napi_uint8_array, &bp, &blen) ||
      !udp_int(env, argv[2], &off) || !udp_int(env, argv[3], &len) ||
      !udp_typed(env, argv[4], napi_uint8_array, &ap, &alen) || !udp_int(env, argv[5], &aoff) ||
      !udp_int(env, argv[6], &port)) return NULL;
  if (off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > blen || aoff < 0 || (uint64_t)aoff + 16 > alen ||
      port < 1 || port > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udpSend6: bad offset, length, address or port");
    return NULL;
  }
  struct sockaddr_in6 sa;
  memset(&sa, 0, sizeof sa);
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons((uint16_t)port);
  memcpy(sa.sin6_addr.s6_addr, (uint8_t *)ap + aoff, 16);
  ssize_t r;
  do {
    r = sendto((int)fd, (uint8_t *)bp + off, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa);
  } while (r < 0 && errno == EINTR);
  return udp_num(env, r < 0 ? -(int64_t)errno : (int64_t)r);
}

/*
 * udpStage(dst: Uint8Array, dstOff, src: Uint8Array, srcOff, len) -> undefined
 * memcpy into a batch slot (a Node-API call costs far less than a JS copy of 1.5 kB).
 */
static napi_value udp_stage(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int64_t doff, soff, len;
  void *dp, *sp;
  size_t dlen, slen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return NULL;
  if (!udp_typed(env, argv[0], napi_uint8_array, &dp, &dlen) || !udp_int(env, argv[1], &doff) ||
      !udp_typed(env, argv[2], napi_uint8_array, &sp, &slen) || !udp_int(env, argv[3], &soff) || !udp_int(env, argv[4], &len)) return NULL;
  if (doff < 0 || soff < 0 || len < 0 || (uint64_t)doff + (uint64_t)len > dlen || (uint64_t)soff + (uint64_t)len > slen) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udpStage: outside the buffers");
    return NULL;
  }
  memcpy((uint8_t *)dp + doff, (uint8_t *)sp + soff, (size_t)len);
  return NULL;
}

/*
 * udpSendBatch's and udpSendGso's arguments (fd, buf, slotSize, n, meta) and
 * checks; iov[i] is slot i with meta[3i]'s length (0 when out of range).
 */
static bool udp_send_args(napi_env env, napi_callback_info info, const char *name, int64_t *fd, int64_t *n,
                          const int32_t **meta, struct iovec *iov) {
  size_t argc = 5;
  napi_value argv[5];
  int64_t slot;
  void *bp, *mp;
  size_t blen, mcount;
  char msg[96];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return false;
  if (!udp_int(env, argv[0], fd) || !udp_typed(env, argv[1], napi_uint8_array, &bp, &blen) ||
      !udp_int(env, argv[2], &slot) || !udp_int(env, argv[3], n) ||
      !udp_typed(env, argv[4], napi_int32_array, &mp, &mcount)) return false;
  if (slot < 1 || *n < 0 || *n > UDP_BATCH_MAX || (uint64_t)*n * (uint64_t)slot > blen || (uint64_t)*n * 3 > mcount) {
    snprintf(msg, sizeof msg, "%s: slots do not fit the buffers", name);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  *meta = (const int32_t *)mp;
  for (int i = 0; i < *n; i++) {
    int32_t len = (*meta)[3 * i];
    if (len < 0 || len > slot) len = 0;
    iov[i].iov_base = (uint8_t *)bp + (size_t)i * (size_t)slot;
    iov[i].iov_len = (size_t)len;
  }
  return true;
}

/* The IPv4 destination of a batch entry: m[1] = address (host order), m[2] = port. */
static void udp_to4(struct sockaddr_in *sa, const int32_t *m) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_addr.s_addr = htonl((uint32_t)m[1]);
  sa->sin_port = htons((uint16_t)m[2]);
}

/*
 * udpSendBatch(fd, buf: Uint8Array, slotSize, n, meta: Int32Array) -> datagrams sent | -errno
 * Datagram i is buf[i*slotSize ..) of length meta[3i] to meta[3i+1]:meta[3i+2]
 * (address host order), all with sendmmsg(2): one syscall for the batch.
 * Stops at the first error (EAGAIN: the socket buffer is full); the caller
 * counts the rest as dropped.
 */
static napi_value udp_send_batch(napi_env env, napi_callback_info info) {
  int64_t fd, n;
  const int32_t *meta;
  struct iovec iov[UDP_BATCH_MAX];
  if (!udp_send_args(env, info, "udpSendBatch", &fd, &n, &meta, iov)) return NULL;
  struct mmsghdr msgs[UDP_BATCH_MAX];
  struct sockaddr_in to[UDP_BATCH_MAX];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)n);
  for (int i = 0; i < n; i++) {
    udp_to4(&to[i], meta + 3 * i);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
  }
  int sent = 0;
  while (sent < n) {
    int r = sendmmsg((int)fd, msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (sent == 0) return udp_num(env, -errno);
      break;
    }
    if (r == 0) break;
    sent += r;
  }
  return udp_num(env, sent);
}

/*
 * udpSetMark(fd, mark) -> 0 | -errno: SO_MARK (needs CAP_NET_ADMIN), so policy
 * routing can keep the tunnel's own datagrams out of the tunnel (wg-quick's
 * fwmark rule for a default route through the tunnel).
 */
static napi_value udp_set_mark(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd, mark;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  if (!udp_int(env, argv[0], &fd) || !udp_int(env, argv[1], &mark)) return NULL;
  if (mark < 0 || mark > 0xffffffffLL) return udp_num(env, -EINVAL);
#ifdef SO_MARK
  uint32_t m = (uint32_t)mark;
  if (setsockopt((int)fd, SOL_SOCKET, SO_MARK, &m, sizeof m) < 0) return udp_num(env, -errno);
  return udp_num(env, 0);
#else
  return udp_num(env, -EOPNOTSUPP);
#endif
}

/* ---- UDP GSO on send and GRO on receive (Linux 4.18 / 5.0), as current wireguard-go does ---- */

/* The kernel's UDP_MAX_SEGMENTS (64 before 6.9) and the largest IPv4 UDP payload. */
#define UDP_GSO_MAX_SEGMENTS 64
#define UDP_GSO_MAX_BYTES 65507
/* udpSendGso's return value carries this bit when the kernel refused GSO (the batch went without). */
#define UDP_GSO_REFUSED 0x10000

/*
 * udpOffload(fd, gro) -> bit 0: UDP_SEGMENT usable on this socket, bit 1: UDP_GRO on.
 * GSO needs no option (it rides on each sendmsg's cmsg); its support is
 * probed with getsockopt(UDP_SEGMENT), as wireguard-go does. GRO is turned
 * on with setsockopt(UDP_GRO) when `gro` is nonzero (and off otherwise).
 */
static napi_value udp_offload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd, gro;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  if (!udp_int(env, argv[0], &fd) || !udp_int(env, argv[1], &gro)) return NULL;
  int flags = 0;
  int v = 0;
  socklen_t vl = sizeof v;
  if (getsockopt((int)fd, SOL_UDP, UDP_SEGMENT, &v, &vl) == 0) flags |= 1;
  int on = gro != 0;
  if (setsockopt((int)fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0 && on) flags |= 2;
  return udp_num(env, flags);
}

/*
 * udpSendGso(fd, buf: Uint8Array, slotSize, n, meta: Int32Array) -> datagrams sent (| 0x10000 when GSO was refused) | -errno
 * The same batch as udpSendBatch (slot i, meta[3i..3i+2] = length, address,
 * port), but runs of consecutive datagrams to one destination with one
 * length (the run's last may be shorter) leave as one GSO message: one
 * iovec per slot, a UDP_SEGMENT cmsg with the length, and the kernel cuts
 * the datagrams apart as late as it can (on the wire they are the same
 * datagrams). Up to 64 per message and 65507 bytes. When the kernel
 * refuses GSO (EIO: the route's device cannot checksum; EINVAL/ENOPROTOOPT:
 * too old), the rest of the batch is sent without it and bit 16 of the
 * result says so, so the caller can stop asking.
 */
static napi_value udp_send_gso(napi_env env, napi_callback_info info) {
  int64_t fd, n;
  const int32_t *meta;
  struct iovec iov[UDP_BATCH_MAX];
  if (!udp_send_args(env, info, "udpSendGso", &fd, &n, &meta, iov)) return NULL;
  struct mmsghdr msgs[UDP_BATCH_MAX];
  struct sockaddr_in to[UDP_BATCH_MAX];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[UDP_BATCH_MAX];
  int first[UDP_BATCH_MAX + 1]; /* message m carries datagrams first[m] .. first[m+1]-1 */
  int nm = 0;
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)n);
  for (int i = 0; i < n;) {
    int32_t seg = (int32_t)iov[i].iov_len;
    int j = i + 1;
    size_t total = (size_t)seg;
    /* Extend the run: same destination, same length; a shorter datagram ends it. */
    while (seg > 0 && j < n && j - i < UDP_GSO_MAX_SEGMENTS && meta[3 * j + 1] == meta[3 * i + 1] &&
           meta[3 * j + 2] == meta[3 * i + 2] && (int32_t)iov[j].iov_len <= seg && iov[j].iov_len > 0 &&
           total + iov[j].iov_len <= UDP_GSO_MAX_BYTES) {
      total += iov[j].iov_len;
      j++;
      if ((int32_t)iov[j - 1].iov_len < seg) break;
    }
    struct msghdr *h = &msgs[nm].msg_hdr;
    udp_to4(&to[nm], meta + 3 * i);
    h->msg_name = &to[nm];
    h->msg_namelen = sizeof to[nm];
    h->msg_iov = &iov[i];
    h->msg_iovlen = (size_t)(j - i);
    if (j - i > 1) {
      memset(&ctl[nm], 0, sizeof ctl[nm]);
      h->msg_control = ctl[nm].buf;
      h->msg_controllen = sizeof ctl[nm].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t s16 = (uint16_t)seg;
      memcpy(CMSG_DATA(c), &s16, sizeof s16);
    }
    first[nm++] = i;
    i = j;
  }
  first[nm] = n;
  int sent = 0; /* messages */
  int refused = 0;
  while (sent < nm) {
    int r = sendmmsg((int)fd, msgs + sent, (unsigned)(nm - sent), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if ((errno == EIO || errno == EINVAL || errno == ENOPROTOOPT) && msgs[sent].msg_hdr.msg_controllen != 0) {
        /* No GSO here: split this message into single datagrams and go on (sendto each, rare). */
        refused = UDP_GSO_REFUSED;
        break;
      }
      if (sent == 0) return udp_num(env, -errno);
      break;
    }
    if (r == 0) break;
    sent += r;
  }
  int datagrams = first[sent];
  if (refused) {
    for (int i = datagrams; i < n; i++) {
      ssize_t r;
      struct sockaddr_in sa;
      udp_to4(&sa, meta + 3 * i);
      do {
        r = sendto((int)fd, iov[i].iov_base, iov[i].iov_len, MSG_DONTWAIT, (const struct sockaddr *)&sa, sizeof sa);
      } while (r < 0 && errno == EINTR);
      if (r < 0) break;
      datagrams++;
    }
  }
  return udp_num(env, datagrams | refused);
}

/*
 * udpRecvGro(fd, buf: Uint8Array, slotSize, maxMessages, meta: Int32Array) -> messages | -errno
 * recvmmsg(2) with UDP_GRO on: message i lands at buf[i*slotSize ..) (make
 * slots 64 KiB: a coalesced message holds up to 64 datagrams of one sender);
 * meta[4i] = length (-1: truncated), meta[4i+1] = source address (host
 * order), meta[4i+2] = source port, meta[4i+3] = the datagram size the
 * kernel coalesced by (0: one datagram). The caller cuts the message into
 * datagrams of that size (the last may be shorter). 0 when nothing waits.
 */
static napi_value udp_recv_gro(napi_env env, napi_callback_info info) {
  return udp_recv(env, info, true);
}

/* Called from the addon's init (tap.c). */
napi_status wirestack_udp_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpPort", NULL, udp_port, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpRecvBatch", NULL, udp_recv_batch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpSend", NULL, udp_send, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpSend6", NULL, udp_send6, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpSetMark", NULL, udp_set_mark, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpStage", NULL, udp_stage, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpSendBatch", NULL, udp_send_batch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpOffload", NULL, udp_offload, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpSendGso", NULL, udp_send_gso, NULL, NULL, NULL, napi_enumerable, NULL },
    { "udpRecvGro", NULL, udp_recv_gro, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
