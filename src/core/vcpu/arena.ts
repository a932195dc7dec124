/**
 * Typed arrays as views of one ArrayBuffer. V8 spends ~88 bytes on every ArrayBuffer object beside
 * the ~96 of each typed array (heap snapshot of the bench's fleet, docs/PERF.md "## Memory"), and a
 * host simulation has some twenty arrays: carved from one buffer they cost one ArrayBuffer, not
 * twenty, against the bench's budget of 2 KiB per vCPU (issue #16).
 *
 * A layout is a function of a `Carver` run twice by `carve`: once to measure, once on the buffer.
 * Every view starts on an 8-byte boundary, so the views of any layout stay aligned.
 */
export interface Carver {
  f64(length: number): Float64Array;
  i32(length: number): Int32Array;
  u32(length: number): Uint32Array;
  i8(length: number): Int8Array;
}

const align8 = (bytes: number): number => (bytes + 7) & ~7;

/** The first pass: counts the bytes, hands out empty arrays (a layout must not write before `carve` returns). */
class Measure implements Carver {
  bytes = 0;
  f64(length: number): Float64Array {
    this.bytes += 8 * length;
    return EMPTY_F64;
  }
  i32(length: number): Int32Array {
    this.bytes += align8(4 * length);
    return EMPTY_I32;
  }
  u32(length: number): Uint32Array {
    this.bytes += align8(4 * length);
    return EMPTY_U32;
  }
  i8(length: number): Int8Array {
    this.bytes += align8(length);
    return EMPTY_I8;
  }
}

/** The second pass: views of the buffer, in the order the layout asks for them. */
class Views implements Carver {
  at = 0;
  constructor(readonly buffer: ArrayBuffer) {}
  private next(bytes: number): number {
    const at = this.at;
    this.at += align8(bytes);
    return at;
  }
  f64(length: number): Float64Array {
    return new Float64Array(this.buffer, this.next(8 * length), length);
  }
  i32(length: number): Int32Array {
    return new Int32Array(this.buffer, this.next(4 * length), length);
  }
  u32(length: number): Uint32Array {
    return new Uint32Array(this.buffer, this.next(4 * length), length);
  }
  i8(length: number): Int8Array {
    return new Int8Array(this.buffer, this.next(length), length);
  }
}

/** Shared, zero-length: what an absent array is (a view of its own would cost ~96 bytes per host). */
export const EMPTY_F64 = new Float64Array(0);
export const EMPTY_I32 = new Int32Array(0);
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_I8 = new Int8Array(0);

/** Run `layout` on a buffer of exactly the size it asks for; its arrays start zeroed. */
export function carve<T>(layout: (c: Carver) => T): T {
  const measure = new Measure();
  layout(measure);
  const views = new Views(new ArrayBuffer(measure.bytes));
  const out = layout(views);
  if (views.at !== measure.bytes) throw new Error(`layout asked for ${views.at} bytes, measured ${measure.bytes}`);
  return out;
}
