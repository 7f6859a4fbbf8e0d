/**
 * The few host globals the portable core (wire/, storage/, engine/) may use,
 * declared as every JavaScript runtime (browsers, Deno, Bun, Node) has them,
 * for tsconfig.core.json which leaves Node's types out. The core checks
 * `typeof setImmediate === 'function'` before using it.
 */
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function setImmediate(callback: () => void): unknown;
declare const performance: { now(): number };
/** WHATWG Encoding (UTF-8 only is used). */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
