/**
 * `wirestack run CONFIG [--] node APP [ARGS...]`: run an unmodified Node
 * program with its network going through a WireGuard tunnel — the same as
 * `WIRESTACK_CONFIG=CONFIG node --import wirestack/register APP ARGS`.
 * The config is checked first (a bad file is a usage-style error, exit 2,
 * before anything starts); the program's exit code (or 128 + its signal)
 * is the command's, and SIGINT/SIGTERM/SIGHUP are passed on to it.
 */
import { spawn } from 'node:child_process';
import { basename, resolve } from 'node:path';
import { loadWgQuick, WgConfigError } from '../wireguard/config.js';
import { UsageError } from './args.js';

/** The register module of this copy of wirestack, as a URL `--import` takes. */
export const REGISTER_MODULE = new URL('../register/index.js', import.meta.url).href;

/** What `run` was asked to do. */
export interface RunOptions {
  config: string;
  /** The Node executable to start (the command's first word). */
  node: string;
  /** Its arguments (the program and the program's arguments). */
  args: string[];
}

/** True when `cmd` names a Node executable ('node', 'nodejs', a path to one, or this process's own). */
function isNode(cmd: string): boolean {
  return cmd === process.execPath || /^node(js)?(\d+)?(\.exe)?$/.test(basename(cmd));
}

export function runOptions(argv: string[]): RunOptions {
  const [config, ...rest] = argv;
  if (config === undefined || config === '--') throw new UsageError('run needs a CONFIG file and a command (run CONFIG -- node app.js)');
  if (config.startsWith('-')) throw new UsageError(`unknown option ${config}`);
  const command = rest[0] === '--' ? rest.slice(1) : rest;
  if (command.length === 0) throw new UsageError('run needs a command after CONFIG (run CONFIG -- node app.js)');
  if (!isNode(command[0])) {
    // Another launcher (npm, a shell) would start Node processes of its own, each wanting the tunnel.
    throw new UsageError(`run starts a Node program directly ('node app.js'), not '${command[0]}'`);
  }
  return { config, node: command[0] === 'node' ? process.execPath : command[0], args: command.slice(1) };
}

/** Run the program; resolves to the exit code. */
export async function runRun(o: RunOptions, err: (line: string) => void = console.error): Promise<number> {
  const config = resolve(o.config);
  try {
    loadWgQuick(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof WgConfigError || code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      err(`wirestack run: ${e instanceof WgConfigError ? e.message : `${config}: ${(e as Error).message}`}`);
      return 2;
    }
    throw e;
  }
  const child = spawn(o.node, ['--import', REGISTER_MODULE, ...o.args], {
    stdio: 'inherit', env: { ...process.env, WIRESTACK_CONFIG: config },
  });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const forward = (sig: NodeJS.Signals): void => {
    if (child.pid !== undefined) child.kill(sig);
  };
  for (const s of signals) process.on(s, forward);
  try {
    return await new Promise<number>((resolveCode, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code !== null) resolveCode(code);
        else resolveCode(128 + ((signal !== null ? { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] : undefined) ?? 0));
      });
    });
  } catch (e) {
    err(`wirestack run: cannot start ${o.node}: ${(e as Error).message}`);
    return 1;
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}
