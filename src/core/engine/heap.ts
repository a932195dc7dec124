import type { Carver } from '../vcpu/arena.js';

/**
 * Indexed binary min-heap of ids 0..n-1 keyed by time (Float64Array), ties broken by id so event
 * order never depends on insertion history. Allocation-free after construction.
 */
export class EventHeap {
  readonly key: Float64Array;
  /**
   * The heap and each id's place in it, interleaved in one array: the id at heap position i at 2i,
   * the position of id at 2id + 1 (-1: not in the heap). One view, not two: a typed array costs ~96
   * bytes of V8 object per host beside its data (docs/perf/memory.md).
   */
  private readonly ix: Int32Array;
  size = 0;

  /** The arrays (n keys, 2n words) carved with the host's (vcpu/arena.ts); absent: its own. */
  constructor(n: number, c?: Carver) {
    this.key = c === undefined ? new Float64Array(n) : c.f64(n);
    this.ix = c === undefined ? new Int32Array(2 * n) : c.i32(2 * n);
    for (let id = 0; id < n; id++) this.ix[2 * id + 1] = -1;
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a];
    const kb = this.key[b];
    return ka < kb || (ka === kb && a < b);
  }

  /** Insert or move `id` to time `t`. */
  set(id: number, t: number): void {
    this.key[id] = t;
    this.rekey(id);
  }

  /**
   * Insert or move `id` to the time its caller has just written in `key[id]`: set without a double
   * argument, which V8 boxes (an allocation) when the call is not inlined.
   */
  rekey(id: number): void {
    const p = this.ix[2 * id + 1];
    // The engine re-keys the vCPU it has just run, which is the root: nothing is above it, so only
    // sift down. Two thirds of events re-key the root and stay there (the fifth session,
    // docs/perf/history.md#fifth-session-the-memo-by-interned-id-the-heaps-root-re-keyed-in-place).
    if (p === 0) {
      this.down(0);
      return;
    }
    if (p < 0) {
      const i = this.size++;
      this.ix[2 * i] = id;
      this.ix[2 * id + 1] = i;
      this.up(i);
    } else {
      this.up(p);
      this.down(this.ix[2 * id + 1]);
    }
  }

  /**
   * Whether `id`, given the time its caller has just written in `key[id]`, is and stays the root: it
   * is the root and before both its children. Then the heap holds as it is, and rekey would move
   * nothing (down(0) makes the same two comparisons).
   */
  keepsRoot(id: number): boolean {
    if (this.ix[2 * id + 1] !== 0) return false;
    const n = this.size;
    return (n < 2 || this.less(id, this.ix[2])) && (n < 3 || this.less(id, this.ix[4]));
  }

  /** The id with the earliest key (its time is `key[peek()]`), or -1 when empty. */
  peek(): number {
    return this.size > 0 ? this.ix[0] : -1;
  }

  remove(id: number): void {
    const p = this.ix[2 * id + 1];
    if (p < 0) return;
    const last = this.ix[2 * --this.size];
    this.ix[2 * id + 1] = -1;
    if (p < this.size) {
      this.ix[2 * p] = last;
      this.ix[2 * last + 1] = p;
      this.up(p);
      this.down(this.ix[2 * last + 1]);
    }
  }

  private up(i: number): void {
    const h = this.ix;
    const id = h[2 * i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pid = h[2 * parent];
      if (!this.less(id, pid)) break;
      h[2 * i] = pid;
      h[2 * pid + 1] = i;
      i = parent;
    }
    h[2 * i] = id;
    h[2 * id + 1] = i;
  }

  private down(i: number): void {
    const h = this.ix;
    const id = h[2 * i];
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[2 * r], h[2 * l]) ? r : l;
      if (!this.less(h[2 * c], id)) break;
      h[2 * i] = h[2 * c];
      h[2 * h[2 * c] + 1] = i;
      i = c;
    }
    h[2 * i] = id;
    h[2 * id + 1] = i;
  }
}
