#!/usr/bin/env node
/**
 * Builds the eBPF SYN-cookie responder (native/bpf/syn_responder.bpf.c) to
 * dist/src/bpf/syn_responder.bpf.o, where the loader looks for it and where
 * `npm pack` takes it (package.json "files": dist/src). Run by `npm run build`
 * after tsc.
 *
 * Optional by design: without clang on PATH it says so in one line and exits
 * 0, so a fresh machine's quick start works; the stack then answers SYN floods
 * on the TAP RX thread only (native/syn_responder.c). The same without the
 * kernel's UAPI headers. A compile error with clang present fails the build.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'bpf', 'syn_responder.bpf.c');
const out = join(root, 'dist', 'src', 'bpf', 'syn_responder.bpf.o');

const probe = spawnSync('clang', ['--version'], { stdio: 'ignore' });
if (probe.error !== undefined || probe.status !== 0) {
  console.log('build-bpf: clang not found, the eBPF SYN responder (dist/src/bpf/syn_responder.bpf.o) is not built');
  process.exit(0);
}

if (!existsSync('/usr/include/linux/bpf.h')) {
  console.log('build-bpf: <linux/bpf.h> not found (linux-libc-dev), the eBPF SYN responder is not built');
  process.exit(0);
}

// <linux/bpf.h> includes <linux/types.h>, which includes <asm/types.h> from the multiarch directory: with
// -target bpf clang does not search it by itself.
const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu' }[arch()];
const includes = multiarch !== undefined && existsSync(join('/usr/include', multiarch)) ? ['-I', join('/usr/include', multiarch)] : [];

mkdirSync(dirname(out), { recursive: true });
// -g: BTF, which the BTF-defined maps need. -mcpu=v3: 32-bit jumps and ALU (kernel >= 5.1), fewer instructions.
// No -Werror: a newer clang's new warning must not break a user's build.
const args = ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-Wall', ...includes, '-c', src, '-o', out];
const r = spawnSync('clang', args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build-bpf: clang ${args.join(' ')} failed`);
  process.exit(r.status ?? 1);
}
