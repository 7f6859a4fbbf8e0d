/**
 * Error numbers of the descriptor API, with Linux's values. Calls return
 * `-errno` so the packet path never builds an exception object.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EAGAIN: 11,
  /** Used for ICMP time exceeded (TTL or reassembly) reported to a ping: Linux's "Timer expired". */
  ETIME: 62,
  ENOMEM: 12,
  EACCES: 13,
  EINVAL: 22,
  EMFILE: 24,
  EPIPE: 32,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  EMSGSIZE: 90,
  EDESTADDRREQ: 89,
  ENOTSOCK: 88,
} as const;

export type ErrnoName = keyof typeof Errno;

const names: Record<number, ErrnoName> = {};
for (const [name, value] of Object.entries(Errno)) names[value] = name as ErrnoName;

/** 'EAGAIN' for 11 or -11; 'E<n>' when unknown. */
export function errnoName(code: number): string {
  const n = code < 0 ? -code : code;
  return names[n] ?? `E${n}`;
}

/** An Error carrying Node-style `code` and `errno` (negative, as libuv reports it) and `syscall`. */
export class StackError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(code: number, readonly syscall: string, detail?: string) {
    const name = errnoName(code);
    super(`${syscall} ${name}${detail ? ` ${detail}` : ''}`);
    this.code = name;
    this.errno = -(code < 0 ? -code : code);
  }
}
