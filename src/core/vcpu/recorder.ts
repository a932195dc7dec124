/**
 * The exit recorder (Machine.startRecorder; src/run/replay.ts reads it): every exit of the vCPUs
 * [first, end) goes into a preallocated ring of `capacity` records, a struct of typed arrays;
 * `written` counts records ever written, so a reader that drained up to n lost records when
 * written - n > capacity. Allocated only when started: a machine that never records pays nothing.
 */

/** Kinds of exit-recorder records. */
export const enum RecKind {
  /** One exit: code = exit slot, qual = exit qualification, value = 1. */
  EXIT = 0,
  /** Exits counted in bulk by the exact fast-forward of %cr8 raise/lower pairs: value = count. */
  BULK_CR8_PAIRS = 1,
  /** Exits counted in bulk by the fast-forward of host timer interrupts: value = count. */
  BULK_HOST_INTERRUPTS = 2,
  /** An interrupt delivery (written by the engine): code = vector, value = latency ns or -1. */
  DELIVERY = 3,
}

export class ExitRecorder {
  written = 0;
  readonly timeNs: Float64Array;
  readonly value: Float64Array;
  readonly vcpu: Int32Array;
  readonly kind: Int32Array;
  readonly code: Int32Array;
  readonly qual: Int32Array;

  constructor(
    readonly capacity: number,
    readonly first: number,
    readonly end: number,
  ) {
    this.timeNs = new Float64Array(capacity);
    this.value = new Float64Array(capacity);
    this.vcpu = new Int32Array(capacity);
    this.kind = new Int32Array(capacity);
    this.code = new Int32Array(capacity);
    this.qual = new Int32Array(capacity);
  }

  /** One record, if vCPU `v` is recorded. */
  record(timeNs: number, v: number, kind: number, code: number, qual: number, value: number): void {
    if (v < this.first || v >= this.end) return;
    const i = this.written % this.capacity;
    this.timeNs[i] = timeNs;
    this.vcpu[i] = v;
    this.kind[i] = kind;
    this.code[i] = code;
    this.qual[i] = qual;
    this.value[i] = value;
    this.written++;
  }
}

/** The recorder of a machine that never started one. */
export const NO_RECORDER = new ExitRecorder(0, 0, 0);
