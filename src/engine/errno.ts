/**
 * Error numbers of the descriptor API, with Linux's values, and the one
 * factory for Node-style errors built from them. Calls on the packet path
 * return `-errno` so it never builds an exception object; the facades turn
 * a negative result into an error with {@link sysError} at the API edge.
 *
 * A leaf module: it imports nothing, so every folder may use it without
 * creating a dependency cycle.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EEXIST: 17,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  EPIPE: 32,
  ERANGE: 34,
  /** Used for ICMP time exceeded (TTL or reassembly) reported to a ping: Linux's "Timer expired". */
  ETIME: 62,
  EPROTO: 71,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  /** A transmit on a link that is closed (Linux's dev_queue_xmit on a device that is not up). */
  ENETDOWN: 100,
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
} as const;

export type ErrnoName = keyof typeof Errno;

const names: Record<number, ErrnoName> = {};
for (const [name, value] of Object.entries(Errno)) names[value] = name as ErrnoName;

/** 'EAGAIN' for 11 or -11; 'E<n>' when unknown. */
export function errnoName(code: number): string {
  const n = code < 0 ? -code : code;
  return names[n] ?? `E${n}`;
}

/** libuv's UV_EAI_NONAME, which Node reports (negated, as all libuv errors) with the code 'ENOTFOUND'. */
export const UV_EAI_NONAME = 3008;

/**
 * An Error as Node builds one for a failed system call (its `uvException` /
 * `exceptionWithHostPort`): `code` ('ECONNREFUSED'), `errno` negative as
 * libuv reports it (-111), `syscall` ('connect'), and a message
 * `"<syscall> <code>[ <detail>]"`, e.g. `connect ECONNREFUSED 10.0.0.2:80`.
 * Build them with {@link sysError} or {@link lookupError}.
 */
export class StackError extends Error {
  readonly code: string;
  readonly errno: number;
  /** The address involved, when one is (as Node's ExceptionWithHostPort). */
  address?: string;
  /** The port involved, when one is. */
  port?: number;
  /** The name that failed to resolve (getaddrinfo errors). */
  hostname?: string;
  /**
   * @param code errno, positive or negative (its name becomes `code` unless `name` is given)
   * @param syscall the call that failed, e.g. 'connect'
   * @param detail appended to the message after the code
   * @param name the code when it is not an errno name (e.g. 'ENOTFOUND' for getaddrinfo)
   */
  constructor(code: number, readonly syscall: string, detail?: string, name?: string) {
    const c = name ?? errnoName(code);
    super(`${syscall} ${c}${detail ? ` ${detail}` : ''}`);
    this.code = c;
    this.errno = -(code < 0 ? -code : code);
  }
}

/**
 * The one factory for Node-style system errors: `errno` (either sign) for
 * `syscall`, naming `address` and `port` in the message and as properties
 * when given (`connect ECONNREFUSED 10.0.0.2:80`). For a message detail
 * that is not an endpoint, construct a {@link StackError} directly.
 */
export function sysError(errno: number, syscall: string, address?: string, port?: number): StackError {
  // As Node's exceptionWithHostPort: the port only when positive.
  const hasPort = port !== undefined && port > 0;
  const detail = address === undefined ? undefined : hasPort ? `${address}:${port}` : address;
  const e = new StackError(errno, syscall, detail);
  if (address !== undefined) e.address = address;
  if (hasPort) e.port = port;
  return e;
}

/** Node's error for a name getaddrinfo cannot resolve: `getaddrinfo ENOTFOUND <host>`, errno -3008. */
export function lookupError(hostname: string): StackError {
  const e = new StackError(UV_EAI_NONAME, 'getaddrinfo', hostname, 'ENOTFOUND');
  e.hostname = hostname;
  return e;
}

/**
 * Node's error for a misuse of its API (lib/internal/errors.js): an Error,
 * RangeError or TypeError with an `ERR_*` `code` and no errno, e.g.
 * `ERR_SOCKET_BAD_PORT`.
 */
export function codeError(code: string, message: string, ctor: new (message: string) => Error = Error): Error & { code: string } {
  const e = new ctor(message) as Error & { code: string };
  e.code = code;
  return e;
}
