/**
 * `wirestack genkey | pubkey | genpsk`: WireGuard keys in the text form of
 * `wg genkey/pubkey/genpsk` (base64 and a newline), for both suites. A fips
 * private key is 32 bytes like a standard one, so `pubkey` cannot tell them
 * apart: `--suite fips` says which public key to derive (65 bytes, 0x04‖X‖Y).
 */
import { decodeKey, encodeKey, getSuite, type SuiteName } from '../wireguard/crypto/index.js';
import { parseFlags, UsageError } from './args.js';

/** Where the commands read and write; the process's streams by default. */
export interface KeyIo {
  readStdin(): Promise<string>;
  out(text: string): void;
  err(text: string): void;
}

/** Largest stdin `pubkey` reads: a key is 44 characters, allow generous whitespace. */
const MAX_STDIN = 4096;

function readProcessStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    process.stdin.on('data', (d: Buffer) => {
      n += d.length;
      if (n > MAX_STDIN) {
        process.stdin.destroy();
        reject(new KeyInputError('input too long for a key'));
        return;
      }
      chunks.push(d);
    });
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

export const processKeyIo: KeyIo = {
  readStdin: readProcessStdin,
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
};

class KeyInputError extends Error {}

function suiteFlag(argv: string[]): SuiteName {
  const p = parseFlags(argv, { values: ['suite'], booleans: [] });
  if (p.positional.length > 0) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
  const s = p.values.suite ?? 'standard';
  if (s !== 'standard' && s !== 'fips') throw new UsageError(`--suite must be standard or fips, got '${s}'`);
  return s;
}

/** Run genkey, pubkey or genpsk; resolves to the exit code (1 for a bad key on stdin, as wg). */
export async function runKeyCommand(command: 'genkey' | 'pubkey' | 'genpsk', argv: string[], io: KeyIo = processKeyIo): Promise<number> {
  if (command === 'genpsk') {
    if (argv.length > 0) throw new UsageError(`genpsk takes no arguments, got '${argv[0]}'`);
    // A preshared key is 32 random bytes in both suites.
    io.out(`${encodeKey(getSuite('standard').randomBytes(32))}\n`);
    return 0;
  }
  const suite = getSuite(suiteFlag(argv));
  if (command === 'genkey') {
    io.out(`${encodeKey(suite.generatePrivateKey())}\n`);
    return 0;
  }
  let text: string;
  try {
    text = (await io.readStdin()).trim();
  } catch (e) {
    io.err(`wirestack pubkey: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const priv = decodeKey(text, 'private key', [32]);
    io.out(`${encodeKey(suite.publicKey(priv))}\n`);
    priv.fill(0);
    return 0;
  } catch (e) {
    io.err(`wirestack pubkey: invalid private key on stdin (${(e as Error).message})\n`);
    return 1;
  }
}
