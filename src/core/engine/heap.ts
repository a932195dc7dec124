import type { Carver } from '../vcpu/arena.js';

/**
 * Indexed binary min-heap of ids 0..n-1 keyed by time (Float64Array), ties broken by id so event
 * order never depends on insertion history. Allocation-free after construction.
 */
export class EventHeap {
  readonly key: Float64Array;
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  size = 0;

  /** The arrays, n entries each, carved with the host's (vcpu/arena.ts); absent: its own. */
  constructor(n: number, c?: Carver) {
    this.key = c === undefined ? new Float64Array(n) : c.f64(n);
    this.heap = c === undefined ? new Int32Array(n) : c.i32(n);
    this.pos = (c === undefined ? new Int32Array(n) : c.i32(n)).fill(-1);
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
    const p = this.pos[id];
    // The engine re-keys the vCPU it has just run, which is the root: nothing is above it, so only
    // sift down. Two thirds of events re-key the root and stay there (docs/PERF.md, fifth session).
    if (p === 0) {
      this.down(0);
      return;
    }
    if (p < 0) {
      const i = this.size++;
      this.heap[i] = id;
      this.pos[id] = i;
      this.up(i);
    } else {
      this.up(p);
      this.down(this.pos[id]);
    }
  }

  /**
   * Whether `id`, given the time its caller has just written in `key[id]`, is and stays the root: it
   * is the root and before both its children. Then the heap holds as it is, and rekey would move
   * nothing (down(0) makes the same two comparisons).
   */
  keepsRoot(id: number): boolean {
    if (this.pos[id] !== 0) return false;
    const n = this.size;
    return (n < 2 || this.less(id, this.heap[1])) && (n < 3 || this.less(id, this.heap[2]));
  }

  /** The id with the earliest key (its time is `key[peek()]`), or -1 when empty. */
  peek(): number {
    return this.size > 0 ? this.heap[0] : -1;
  }

  remove(id: number): void {
    const p = this.pos[id];
    if (p < 0) return;
    const last = this.heap[--this.size];
    this.pos[id] = -1;
    if (p < this.size) {
      this.heap[p] = last;
      this.pos[last] = p;
      this.up(p);
      this.down(this.pos[last]);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const id = h[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pid = h[parent];
      if (!this.less(id, pid)) break;
      h[i] = pid;
      this.pos[pid] = i;
      i = parent;
    }
    h[i] = id;
    this.pos[id] = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const id = h[i];
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r], h[l]) ? r : l;
      if (!this.less(h[c], id)) break;
      h[i] = h[c];
      this.pos[h[c]] = i;
      i = c;
    }
    h[i] = id;
    this.pos[id] = i;
  }
}
