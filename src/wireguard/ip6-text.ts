/**
 * IPv6 text ↔ 16 bytes for WireGuard's control plane (config files, UAPI,
 * endpoints). Written before V6NET's wire/ipv6addr.ts existed; same forms
 * (RFC 4291 §2.2, incl. embedded IPv4; output per RFC 5952), and meant to be
 * replaced by re-exports of that module once it is merged.
 */

/** Words of one side of '::' (or of the whole address); null when malformed. IPv4 dotted form only last. */
function groups(s: string, mayEndInV4: boolean): number[] | null {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.includes('.')) {
      if (!mayEndInV4 || i !== parts.length - 1) return null;
      const v4 = p.split('.');
      if (v4.length !== 4) return null;
      const b: number[] = [];
      for (const o of v4) {
        if (!/^\d{1,3}$/.test(o) || Number(o) > 255 || (o.length > 1 && o[0] === '0')) return null;
        b.push(Number(o));
      }
      out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) {
      out.push(parseInt(p, 16));
    } else {
      return null;
    }
  }
  return out;
}

/** Parse `text` into `out[off..off+16)`; false (out untouched) when it is not an IPv6 address. */
export function parseIp6(text: string, out: Uint8Array, off: number): boolean {
  if (text.length < 2 || text.length > 45) return false;
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return false;
  let words: number[];
  if (gap < 0) {
    const all = groups(text, true);
    if (all === null || all.length !== 8) return false;
    words = all;
  } else {
    const head = groups(text.slice(0, gap), false);
    const tail = groups(text.slice(gap + 2), true);
    if (head === null || tail === null || head.length + tail.length > 7) return false;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  for (let w = 0; w < 8; w++) {
    out[off + 2 * w] = words[w] >>> 8;
    out[off + 2 * w + 1] = words[w] & 0xff;
  }
  return true;
}

/** RFC 5952 text of `b[off..off+16)`: lowercase, no leading zeros, the longest run (≥ 2) of zero words as '::'. */
export function formatIp6(b: Uint8Array, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  // ::ffff:a.b.c.d for IPv4-mapped addresses (RFC 5952 §5).
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  const hex = (from: number, to: number): string => w.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** `b[off..off+16)` with the bits past `prefixLength` cleared. */
export function maskIp6(b: Uint8Array, off: number, prefixLength: number): void {
  for (let i = 0; i < 16; i++) {
    const bits = prefixLength - 8 * i;
    if (bits >= 8) continue;
    b[off + i] = bits <= 0 ? 0 : b[off + i] & (0xff << (8 - bits));
  }
}

/** Canonical text of an IPv6 address, or null when `text` is not one. */
export function canonicalIp6(text: string): string | null {
  const b = new Uint8Array(16);
  return parseIp6(text, b, 0) ? formatIp6(b, 0) : null;
}

/** `a.b.c.d:port`, or `[ipv6]:port` as wg(8) and URLs write an IPv6 endpoint. */
export function hostPortText(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
