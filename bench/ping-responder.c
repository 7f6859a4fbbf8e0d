/*
 * The baseline of bench/tap-ping.ts: the least a user-space stack can do
 * with a TAP device, in the shape of wolfIP's stock Linux TAP driver (one
 * thread, poll() on the fd, then read/write): answer ARP requests and ICMP
 * echo requests for one IPv4 address, nothing else. Ping's RTT against it is
 * the kernel's path plus one wake-up of a blocked reader; the bench prints
 * the stack's RTT as a ratio to it.
 *
 *   ping-responder IFNAME A.B.C.D
 *
 * Creates the TAP device IFNAME (IFF_TAP | IFF_NO_PI), prints "ready" and
 * answers until killed; the bench moves the device into its namespace and
 * addresses the Linux side (the fd keeps working). Built by the bench with
 * `cc -O2` into a temporary directory; not part of the addon.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const uint8_t MAC[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

/* RFC 1071 checksum. */
static uint16_t sum16(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (; n > 1; p += 2, n -= 2) s += (uint32_t)(p[0] << 8 | p[1]);
  if (n) s += (uint32_t)p[0] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IFNAME A.B.C.D\n", argv[0]);
    return 2;
  }
  struct in_addr me;
  if (inet_pton(AF_INET, argv[2], &me) != 1) {
    fprintf(stderr, "bad address %s\n", argv[2]);
    return 2;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    perror("/dev/net/tun");
    return 1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    perror("TUNSETIFF");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  uint8_t f[2048];
  struct pollfd pf = { .fd = fd, .events = POLLIN };
  for (;;) {
    if (poll(&pf, 1, -1) < 0 && errno != EINTR) return 1;
    ssize_t n = read(fd, f, sizeof f);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return 1;
    }
    if (n < 14) continue;
    uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
    if (type == 0x0806 && n >= 42 && f[20] == 0 && f[21] == 1 && memcmp(f + 38, &me, 4) == 0) {
      /* ARP request for us (RFC 826): reply in place. */
      memcpy(f, f + 6, 6);
      memcpy(f + 6, MAC, 6);
      f[21] = 2;
      memcpy(f + 32, f + 22, 10); /* target := sender (MAC, IP) */
      memcpy(f + 22, MAC, 6);
      memcpy(f + 28, &me, 4);
    } else if (type == 0x0800 && n >= 34 && (f[14] >> 4) == 4 && f[23] == 1 && memcmp(f + 30, &me, 4) == 0) {
      size_t ihl = (size_t)(f[14] & 15) * 4;
      size_t tot = (size_t)(f[16] << 8 | f[17]);
      if (ihl < 20 || 14 + tot > (size_t)n || tot < ihl + 8) continue;
      uint8_t *icmp = f + 14 + ihl;
      if (icmp[0] != 8) continue;
      /* Echo request (RFC 792): swap the addresses, type 0, new checksum. */
      memcpy(f, f + 6, 6);
      memcpy(f + 6, MAC, 6);
      memcpy(f + 30, f + 26, 4);
      memcpy(f + 26, &me, 4);
      icmp[0] = 0;
      icmp[2] = icmp[3] = 0;
      uint16_t c = sum16(icmp, tot - ihl);
      icmp[2] = (uint8_t)(c >> 8);
      icmp[3] = (uint8_t)c;
      n = (ssize_t)(14 + tot);
    } else {
      continue;
    }
    while (write(fd, f, (size_t)n) < 0 && errno == EINTR) {}
  }
}
