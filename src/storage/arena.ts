/**
 * One ArrayBuffer for everything the stack will ever use, carved into typed
 * arrays at construction. The sizes come from a plan computed from the config
 * before anything is allocated; carving checks itself against that plan so the
 * reported memory is the memory actually used.
 */

/** Bytes per part name, and their total: what `stack.memory` reports. */
export interface MemoryReport {
  totalBytes: number;
  parts: Record<string, number>;
}

/** Every carve is 8-byte aligned so Float64Array/BigInt views can share the buffer. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Something that hands out typed arrays by part: the {@link Arena} (real
 * memory) or the {@link MemoryPlan} (sizes only, zero-length arrays). A
 * component that takes a Carver in its constructor is planned by running its
 * constructor once against the plan, so its layout is written only once.
 */
export interface Carver {
  u8(part: string, n: number): Uint8Array;
  u16(part: string, n: number): Uint16Array;
  i16(part: string, n: number): Int16Array;
  u32(part: string, n: number): Uint32Array;
  i32(part: string, n: number): Int32Array;
  f64(part: string, n: number): Float64Array;
}

/** Accumulates a plan: parts and their sizes, computed with the same rounding as carving. */
export class MemoryPlan implements Carver {
  readonly parts: Record<string, number> = {};
  totalBytes = 0;

  /** Reserve `count` elements of `elementBytes` each under `part`. */
  add(part: string, count: number, elementBytes = 1): this {
    const bytes = align8(count * elementBytes);
    this.parts[part] = (this.parts[part] ?? 0) + bytes;
    this.totalBytes += bytes;
    return this;
  }

  u8(part: string, n: number): Uint8Array { this.add(part, n); return new Uint8Array(0); }
  u16(part: string, n: number): Uint16Array { this.add(part, n, 2); return new Uint16Array(0); }
  i16(part: string, n: number): Int16Array { this.add(part, n, 2); return new Int16Array(0); }
  u32(part: string, n: number): Uint32Array { this.add(part, n, 4); return new Uint32Array(0); }
  i32(part: string, n: number): Int32Array { this.add(part, n, 4); return new Int32Array(0); }
  f64(part: string, n: number): Float64Array { this.add(part, n, 8); return new Float64Array(0); }

  report(): MemoryReport {
    return { totalBytes: this.totalBytes, parts: { ...this.parts } };
  }
}

export class Arena implements Carver {
  readonly buffer: ArrayBuffer;
  private used = 0;
  private readonly carved: Record<string, number> = {};

  constructor(readonly plan: MemoryPlan) {
    this.buffer = new ArrayBuffer(plan.totalBytes);
  }

  private take(part: string, bytes: number): number {
    const size = align8(bytes);
    const at = this.used;
    if (at + size > this.buffer.byteLength) {
      throw new Error(`memory plan exceeded carving '${part}' (${size} bytes): the plan and the layout disagree`);
    }
    this.used += size;
    this.carved[part] = (this.carved[part] ?? 0) + size;
    return at;
  }

  u8(part: string, n: number): Uint8Array {
    return new Uint8Array(this.buffer, this.take(part, n), n);
  }

  u16(part: string, n: number): Uint16Array {
    return new Uint16Array(this.buffer, this.take(part, n * 2), n);
  }

  i16(part: string, n: number): Int16Array {
    return new Int16Array(this.buffer, this.take(part, n * 2), n);
  }

  u32(part: string, n: number): Uint32Array {
    return new Uint32Array(this.buffer, this.take(part, n * 4), n);
  }

  i32(part: string, n: number): Int32Array {
    return new Int32Array(this.buffer, this.take(part, n * 4), n);
  }

  f64(part: string, n: number): Float64Array {
    return new Float64Array(this.buffer, this.take(part, n * 8), n);
  }

  /** Verify that every part was carved exactly as planned. */
  finish(): void {
    for (const [part, bytes] of Object.entries(this.plan.parts)) {
      if (this.carved[part] !== bytes) {
        throw new Error(`memory part '${part}': planned ${bytes} bytes, carved ${this.carved[part] ?? 0}`);
      }
    }
    if (this.used !== this.plan.totalBytes) {
      throw new Error(`memory plan of ${this.plan.totalBytes} bytes, carved ${this.used}`);
    }
  }
}
