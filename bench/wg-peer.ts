/**
 * A wirestack WireGuard peer in its own Node process, for bench/wireguard.ts:
 * a stack whose only interface is a WireGuard device on a host UDP socket,
 * serving on its tunnel address
 *   port 9001: sink (reads to EOF, answers with the {@link PeerReport} line),
 *   port 9002: source (sends `--source-bytes` of the test pattern, then ends).
 *
 *   node dist/bench/wg-peer.js --private B64 --peer B64 --address 10.90.2.2/24
 *     --allowed 10.90.2.1/32 [--bind 127.0.0.1] [--port 0] [--endpoint host:port] [--source-bytes N]
 *     [--crypt-threads N]   (the device's crypt threads; default: one per core)
 *
 * Prints one JSON line {"port": N, "publicKey": "..."} once it is up, and
 * exits when its stdin closes (so it never outlives the parent) or after
 * 10 minutes.
 */
import { createHash } from 'node:crypto';
import { Stack } from '../src/stack.js';
import { writePattern, type PeerReport } from '../test/helpers/tcp-peer.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`wg-peer: --${name} is required`);
}

async function main(): Promise<void> {
  const sourceBytes = Number(arg('source-bytes', String(256 << 20)));
  const endpoint = arg('endpoint', '');
  const hash = arg('hash', '0') === '1';
  const threads = arg('crypt-threads', '');
  const stack = new Stack({ seed: 902, maxTcpSockets: 8, tcpSendBufferBytes: 4 << 20, tcpRecvBufferBytes: 4 << 20 });
  const wg = await stack.addWireGuard({
    privateKey: arg('private'), address: arg('address'), listenPort: Number(arg('port', '0')), bindAddress: arg('bind', '127.0.0.1'),
    peers: [{ publicKey: arg('peer'), allowedIps: [arg('allowed')], ...(endpoint === '' ? {} : { endpoint }) }],
    ...(threads === '' ? {} : { cryptThreads: Number(threads) }),
  });
  stack.start();
  stack.net.createServer((s) => {
    const h = hash ? createHash('sha256') : null;
    let bytes = 0;
    let t0 = -1;
    s.on('data', (d: Buffer) => {
      if (t0 < 0) t0 = performance.now();
      bytes += d.length;
      h?.update(d);
    });
    s.on('end', () => {
      const r: PeerReport = { bytes, sha256: h === null ? null : h.digest('hex'), ms: t0 < 0 ? 0 : performance.now() - t0 };
      s.end(`${JSON.stringify(r)}\n`);
    });
    s.on('error', () => s.destroy());
  }).listen(9001);
  stack.net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.resume();
    writePattern(s, sourceBytes);
  }).listen(9002);
  const stop = (): void => {
    stack.stop();
    void wg.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop).on('close', stop).resume();
  process.on('SIGTERM', stop);
  setTimeout(stop, 600_000).unref();
  console.log(JSON.stringify({ port: wg.listenPort, publicKey: wg.publicKey }));
}

main().catch((err: unknown) => {
  console.error(`wg-peer: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
