/**
 * One DNS question to one server over the stack (RFC 1035 4.2): a UDP
 * exchange from a fresh socket on a random source port (RFC 5452) with a
 * random ID, accepted only from the server asked, with the same ID and
 * question; and the TCP exchange a truncated answer is retried with (the
 * 2-byte length prefix of RFC 1035 4.2.2). IPv6 servers are asked from a
 * 'udp6' socket or an IPv6 connection. Used by the resolver in dns.ts.
 */
import { Buffer } from 'node:buffer';
import { getRandomValues, randomInt } from 'node:crypto';
import type { DgramFacade, UdpSocket } from '../socket/dgram.js';
import type { NetFacade, Socket as NetSocket } from '../socket/net.js';
import { DNS_CLASS_IN, canonicalName, encodeQuery, parseMessage, type DnsMessage } from '../wire/dns.js';

/** A server: its address in canonical text (dotted quad, or RFC 5952 for IPv6) and port. */
export interface DnsServer {
  address: string;
  port: number;
  /** 6 for an IPv6 server (asked from 'udp6' sockets). */
  family: 4 | 6;
}

/** What an exchange needs of a stack. */
export interface DnsTransport {
  readonly dgram: DgramFacade;
  readonly net: NetFacade;
}

/** A failure the resolver knows the code of (no hostname/syscall yet). */
export class Failure extends Error {
  constructor(readonly code: string, readonly ttl = 0, cause?: unknown) {
    super(code, cause === undefined ? undefined : { cause });
  }
}

function randomId(): number {
  return getRandomValues(new Uint16Array(1))[0];
}

/** Whether `msg` answers our question `id`/`name`/`type`. */
function matches(msg: DnsMessage, id: number, name: string, type: number): boolean {
  if (msg.id !== id || !msg.qr || msg.opcode !== 0 || msg.questions.length !== 1) return false;
  const q = msg.questions[0];
  return q.type === type && q.class === DNS_CLASS_IN && canonicalName(q.name) === canonicalName(name);
}

function openUdp(host: DnsTransport, family: 4 | 6): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    let attempt = 0;
    const tryBind = (): void => {
      let sock: UdpSocket;
      try {
        sock = host.dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      } catch (err) {
        reject(new Failure('ECONNREFUSED', 0, err));
        return;
      }
      const onError = (err: Error): void => {
        sock.removeListener('listening', onListening);
        try { sock.close(); } catch { /* already closed */ }
        if (++attempt < 8) tryBind();
        else reject(new Failure('ECONNREFUSED', 0, err));
      };
      const onListening = (): void => {
        sock.removeListener('error', onError);
        resolve(sock);
      };
      sock.once('error', onError);
      sock.once('listening', onListening);
      // A random source port per query (RFC 5452); after several collisions, let the stack pick one.
      sock.bind(attempt < 7 ? randomInt(49152, 65536) : 0);
    };
    tryBind();
  });
}

/** Ask `server` over UDP; `sent` is called when the query goes out. */
export async function udpExchange(host: DnsTransport, server: DnsServer, name: string, type: number, timeout: number,
  sent: () => void): Promise<DnsMessage> {
  const id = randomId();
  const query = encodeQuery(id, name, type);
  const sock = await openUdp(host, server.family);
  return new Promise<DnsMessage>((resolve, reject) => {
    let done = false;
    const finish = (err: Failure | null, msg?: DnsMessage): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      if (err !== null) reject(err);
      else if (msg !== undefined) resolve(msg);
    };
    const timer = setTimeout(() => finish(new Failure('ETIMEOUT')), timeout);
    sock.on('error', (err) => {
      // ICMP port unreachable and the like: this server will not answer.
      finish(new Failure('ECONNREFUSED', 0, err));
    });
    sock.on('message', (buf, rinfo) => {
      if (rinfo.address !== server.address || rinfo.port !== server.port) return;
      // Only a datagram with our ID can be a (possibly broken) answer; anything else is noise or spoofing.
      if (buf.length < 2 || ((buf[0] << 8) | buf[1]) !== id) return;
      let msg: DnsMessage;
      try {
        msg = parseMessage(buf, 0, buf.length);
      } catch (err) {
        finish(new Failure('EBADRESP', 0, err));
        return;
      }
      if (!matches(msg, id, name, type)) return;
      finish(null, msg);
    });
    sent();
    sock.send(query, server.port, server.address, (err) => {
      if (err !== null) finish(new Failure('ECONNREFUSED', 0, err));
    });
  });
}

/** Ask `server` over TCP (after a truncated UDP answer). */
export function tcpExchange(host: DnsTransport, server: DnsServer, name: string, type: number, timeout: number,
  sent: () => void): Promise<DnsMessage> {
  const id = randomId();
  const query = encodeQuery(id, name, type);
  return new Promise<DnsMessage>((resolve, reject) => {
    let done = false;
    let sock: NetSocket | null = null;
    const finish = (err: Failure | null, msg?: DnsMessage): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.destroy();
      if (err !== null) reject(err);
      else if (msg !== undefined) resolve(msg);
    };
    const timer = setTimeout(() => finish(new Failure('ETIMEOUT')), timeout);
    let buf: Buffer = Buffer.alloc(0);
    try {
      sock = host.net.connect({ host: server.address, port: server.port });
    } catch (err) {
      finish(new Failure('ECONNREFUSED', 0, err));
      return;
    }
    sock.on('error', (err) => finish(new Failure('ECONNREFUSED', 0, err)));
    sock.on('close', () => finish(new Failure('EBADRESP', 0, new Error('TCP connection closed before a full answer'))));
    sock.on('connect', () => {
      const framed = Buffer.alloc(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      framed.set(query, 2);
      sent();
      sock?.write(framed);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) return;
      let msg: DnsMessage;
      try {
        msg = parseMessage(buf, 2, len);
      } catch (err) {
        finish(new Failure('EBADRESP', 0, err));
        return;
      }
      if (!matches(msg, id, name, type)) finish(new Failure('EBADRESP', 0, new Error('TCP answer does not match the query')));
      else finish(null, msg);
    });
  });
}
