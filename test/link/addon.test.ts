import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { RING_LAYOUT_VERSION, addonMismatch, loadNativeAddon } from '../../src/link/addon.js';

test('the addon loads through node-gyp-build and reports its ring layout', () => {
  const a = loadNativeAddon();
  assert.equal(a.ringLayout.version, RING_LAYOUT_VERSION);
  assert.ok(Object.isFrozen(a.ringLayout));
  // The hot indices each have a cache line of their own (native/tap_thread.c).
  const hot = [a.ringLayout.rxHead, a.ringLayout.rxTail, a.ringLayout.txHead, a.ringLayout.txTail];
  for (const w of hot) assert.equal(w % 16, 0);
  assert.equal(new Set(hot).size, hot.length);
  assert.equal(addonMismatch(a as unknown as Record<string, unknown>), null);
  assert.equal(loadNativeAddon(), a, 'loaded once');
});

test('an addon that does not report a fitting ring layout is refused with the reason', () => {
  const real = loadNativeAddon() as unknown as Record<string, unknown>;
  const without = { ...real, ringLayout: undefined };
  assert.match(addonMismatch(without) ?? '', /does not report its ring layout/);
  const newer = { ...real, ringLayout: { ...(real.ringLayout as object), version: RING_LAYOUT_VERSION + 1 } };
  assert.match(addonMismatch(newer) ?? '', new RegExp(`version ${RING_LAYOUT_VERSION + 1}, this code needs ${RING_LAYOUT_VERSION}`));
  const outside = { ...real, ringLayout: { ...(real.ringLayout as object), rxTail: 4096 } };
  assert.match(addonMismatch(outside) ?? '', /no valid 'rxTail'/);
  const noUdp = { ...real, udpOpen: undefined };
  assert.match(addonMismatch(noUdp) ?? '', /no udpOpen\(\)/);
});

test('the ring layout JS reads on the packet path has fast properties (the addon builds a dictionary-mode object)', () => {
  // %HasFastProperties needs --allow-natives-syntax, a V8 flag for this child only (the library sets none).
  const addonUrl = new URL('../../src/link/addon.js', import.meta.url).href;
  const script = `const m = await import(${JSON.stringify(addonUrl)});
    const a = m.loadNativeAddon();
    const raw = a.ringLayout === undefined ? null : a.ringLayout;
    console.log(JSON.stringify({ fast: %HasFastProperties(a.ringLayout), frozen: Object.isFrozen(a.ringLayout),
      copy: %HasFastProperties(m.fastLayout(raw)) }));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.deepEqual(JSON.parse(out), { fast: true, frozen: true, copy: true });
});
