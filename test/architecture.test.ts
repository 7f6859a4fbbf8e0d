/**
 * The architecture rules, checked on the sources (README "Architecture"):
 *
 * - no dependency cycle between the top-level folders of src/ (the files
 *   directly in src/ count as one folder, "(root)"): judged on the run-time
 *   graph, i.e. the imports the compiled JavaScript keeps (type-only imports
 *   are erased and constrain neither load order nor layering at run time;
 *   cycles that exist only through types are reported as a diagnostic);
 * - wire/, storage/ and engine/ are portable: no `node:` import or bare Node
 *   builtin (type-only imports included), no `Buffer`, no `NodeJS` namespace,
 *   and they type-check without Node's types (tsconfig.core.json, `types: []`);
 * - no file in src/ is longer than 600 lines.
 *
 * A failure names the offending files and import edges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('../../', import.meta.url)); // dist/test -> repo root
const SRC = join(REPO, 'src');
const DIST_SRC = join(REPO, 'dist', 'src');
const CORE = ['wire', 'storage', 'engine'];
const MAX_LINES = 600;

interface Edge {
  /** Importing file, relative to src/ ('engine/stack.ts'). */
  from: string;
  /** Imported file, relative to src/. */
  to: string;
}

function listFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, ext));
    else if (e.name.endsWith(ext) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

const rel = (p: string): string => relative(SRC, p).split(sep).join('/');
const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '(root)');

/** Every module specifier of a file, with whether the import is erased (type only). */
function specifiers(sf: ts.SourceFile): { spec: string; typeOnly: boolean; line: number }[] {
  const out: { spec: string; typeOnly: boolean; line: number }[] = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined, typeOnly: boolean): void => {
    if (spec !== undefined && ts.isStringLiteralLike(spec)) {
      out.push({ spec: spec.text, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      let typeOnly = c !== undefined && c.isTypeOnly;
      if (c !== undefined && !typeOnly && c.name === undefined && c.namedBindings !== undefined
        && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0) {
        typeOnly = c.namedBindings.elements.every((e) => e.isTypeOnly);
      }
      add(node, node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      let typeOnly = node.isTypeOnly;
      if (!typeOnly && node.exportClause !== undefined && ts.isNamedExports(node.exportClause)
        && node.exportClause.elements.length > 0) {
        typeOnly = node.exportClause.elements.every((e) => e.isTypeOnly);
      }
      add(node, node.moduleSpecifier, typeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1
      && (node.expression.kind === ts.SyntaxKind.ImportKeyword
        || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** The src/-relative .ts file a relative specifier of `fromFile` (absolute, in `root`) names, or null. */
function resolveLocal(fromFile: string, spec: string, root: string): string | null {
  if (!spec.startsWith('.')) return null;
  const abs = resolve(dirname(fromFile), spec).replace(/\.js$/, '.ts');
  const r = relative(root, abs).split(sep).join('/');
  return r.startsWith('..') ? null : r;
}

const sources = listFiles(SRC, '.ts');
const parsed = new Map(sources.map((p) => [rel(p), parse(p)]));

/** Import edges between src files: all of them (types included) from the .ts sources. */
function staticEdges(): Edge[] {
  const out: Edge[] = [];
  for (const [file, sf] of parsed) {
    for (const s of specifiers(sf)) {
      const to = resolveLocal(join(SRC, file), s.spec, SRC);
      if (to !== null) out.push({ from: file, to });
    }
  }
  return out;
}

/** Run-time edges: the imports the compiled JavaScript in dist/src keeps. */
function runtimeEdges(): Edge[] {
  const out: Edge[] = [];
  for (const file of parsed.keys()) {
    const js = join(DIST_SRC, file.replace(/\.ts$/, '.js'));
    assert.ok(existsSync(js), `${js} is missing: build first (npm run build)`);
    for (const s of specifiers(parse(js))) {
      const to = resolveLocal(js, s.spec, DIST_SRC);
      if (to !== null) out.push({ from: file, to });
    }
  }
  return out;
}

/**
 * The folder cycles of a graph: each strongly connected set of two or more
 * folders, with the file edges between its folders that make it one.
 */
function folderCycles(edges: Edge[]): { folders: string[]; edges: string[] }[] {
  const adj = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) continue;
    if (!adj.has(a)) adj.set(a, new Set());
    if (!adj.has(b)) adj.set(b, new Set());
    adj.get(a)?.add(b);
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) sccs.push(c.sort());
    }
  };
  for (const v of [...adj.keys()].sort()) if (!idx.has(v)) strong(v);
  return sccs.map((c) => {
    const inC = new Set(c);
    const fileEdges = edges
      .filter((e) => folderOf(e.from) !== folderOf(e.to) && inC.has(folderOf(e.from)) && inC.has(folderOf(e.to)))
      .map((e) => `${e.from} -> ${e.to}`);
    return { folders: c, edges: [...new Set(fileEdges)].sort() };
  });
}

function describe(cycles: { folders: string[]; edges: string[] }[]): string {
  return cycles.map((c) => `cycle between ${c.folders.join(', ')}:\n    ${c.edges.join('\n    ')}`).join('\n  ');
}

test('no run-time dependency cycle between the folders of src/', (t) => {
  const typeCycles = folderCycles(staticEdges());
  if (typeCycles.length > 0) t.diagnostic(`cycles when type-only imports count too:\n  ${describe(typeCycles)}`);
  const cycles = folderCycles(runtimeEdges());
  assert.equal(cycles.length, 0, `folder cycles (file -> file edges between the folders of each):\n  ${describe(cycles)}`);
});

test('the graph walk sees what it must: a known run-time edge and a known type-only one', () => {
  // Guards the walker itself: an empty graph would pass the cycle test.
  const run = runtimeEdges();
  assert.ok(run.some((e) => e.from === 'index.ts' && e.to === 'stack.ts'));
  assert.ok(!run.some((e) => e.from === 'engine/netif.ts' && e.to === 'link/link.ts'), 'type-only import kept at run time');
  assert.ok(staticEdges().some((e) => e.from === 'engine/netif.ts' && e.to === 'link/link.ts'));
  assert.deepEqual(folderCycles([{ from: 'a/x.ts', to: 'b/y.ts' }, { from: 'b/y.ts', to: 'a/z.ts' }]),
    [{ folders: ['a', 'b'], edges: ['a/x.ts -> b/y.ts', 'b/y.ts -> a/z.ts'] }]);
});

test('wire/, storage/ and engine/ import no Node module and use no Buffer', () => {
  const node = new Set(builtinModules);
  const problems: string[] = [];
  for (const [file, sf] of parsed) {
    if (!CORE.includes(folderOf(file))) continue;
    for (const s of specifiers(sf)) {
      if (s.spec.startsWith('node:') || node.has(s.spec) || node.has(s.spec.split('/')[0])) {
        problems.push(`${file}:${s.line} imports '${s.spec}'`);
      }
    }
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n) && (n.text === 'Buffer' || n.text === 'NodeJS')) {
        const p = n.parent;
        const isMemberName = (ts.isPropertyAccessExpression(p) && p.name === n)
          || (ts.isPropertyAssignment(p) && p.name === n) || (ts.isPropertySignature(p) && p.name === n);
        if (!isMemberName) problems.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} uses ${n.text}`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  assert.deepEqual(problems, []);
});

test('wire/, storage/ and engine/ type-check without Node\'s types (tsconfig.core.json)', { timeout: 120_000 }, () => {
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  let out = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.core.json'), '--noEmit'], { cwd: REPO, encoding: 'utf8' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    if (out === '') out = String(e);
  }
  assert.equal(out, '', 'tsc -p tsconfig.core.json reports errors');
});

test(`no file in src/ is longer than ${MAX_LINES} lines`, () => {
  const long: string[] = [];
  for (const [file, sf] of parsed) {
    const text = sf.text;
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0); // as wc -l
    if (lines > MAX_LINES) long.push(`${file}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
});
