import { EMPTY_F64, EMPTY_I32, type Carver } from '../vcpu/arena.js';

/**
 * The most vCPUs a host may have for its queue to be a scan (below); a host with more gets the heap.
 * docs/perf/engine30.md, E5: the measurement it rests on.
 */
export const SCAN_MAX = 16;

/**
 * A host's event queue: ids 0..n-1 keyed by time (Float64Array), the least (time, id) first, so that
 * event order never depends on insertion history (vCPUs due at the same time run in index order,
 * src/core/engine/events.ts). Allocation-free after construction.
 *
 * Two forms behind one class (one hidden class, so the engine's call sites stay monomorphic), chosen
 * once when the host is built from its vCPU count: an indexed binary min-heap, and for a host of at
 * most SCAN_MAX vCPUs a linear scan of the queued keys, the least and second least kept, which pops
 * in the same order for fewer instructions where there are few ids to look at. A scan costs the id
 * count whenever the second is not known: a scan alone, re-keying the root by a full scan, was x0.74
 * on one host of 4 x 64 vCPUs (docs/perf/history.md#sixteenth-session-second-round-measured-or-weighed-none-kept-evwalk2-16).
 *
 * The caller writes an id's new time in `key[id]` and then calls rekey (or asks keepsRoot first):
 * key[] of an id not queued holds its last time, in either form.
 */
export class EventHeap {
  readonly key: Float64Array;
  /**
   * The heap and each id's place in it, interleaved in one array: the id at heap position i at 2i,
   * the position of id at 2id + 1 (-1: not in the heap). One view, not two: a typed array costs ~96
   * bytes of V8 object per host beside its data (docs/perf/memory.md). Empty in the scan form.
   */
  private readonly ix: Int32Array;
  /**
   * The scan form's queued keys: each id's time when it was last re-keyed, Infinity when not queued
   * (so a queued time must be finite: the engine queues no vCPU without a next event). 8 bytes per id,
   * as the heap's ix. Empty in the heap form.
   */
  private readonly at: Float64Array;
  /**
   * Which form (fixed at construction). Tested as `this.scan === true`: a bare `if (this.scan)` is
   * V8's generic truth test of a tagged field, ~10 instructions at every re-key (docs/perf/engine30.md, E8).
   */
  readonly scan: boolean;
  /** The scan form's least (time, id), kept at every change; -1 when empty. */
  private root = -1;
  /** The scan form's second least (time, id): -1 when none, -2 when not known (a scan finds it). */
  private second = -1;
  size = 0;

  /**
   * The arrays (n keys, and 2n words or n queued keys) carved with the host's (vcpu/arena.ts); absent:
   * its own. `scan` chooses the form (by default, by n).
   */
  constructor(n: number, c?: Carver, scan = n <= SCAN_MAX) {
    this.scan = scan;
    this.key = c === undefined ? new Float64Array(n) : c.f64(n);
    if (scan) {
      this.ix = EMPTY_I32;
      this.at = c === undefined ? new Float64Array(n) : c.f64(n);
      this.at.fill(Infinity);
    } else {
      this.ix = c === undefined ? new Int32Array(2 * n) : c.i32(2 * n);
      this.at = EMPTY_F64;
      for (let id = 0; id < n; id++) this.ix[2 * id + 1] = -1;
    }
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
    if (this.scan === true) {
      this.scanRekey(id);
      return;
    }
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
   * is the root and before both its children (the heap), before every other queued id (the scan).
   * Then the queue holds as it is, with `id` at its new time, and rekey would move nothing (down(0)
   * makes the same two comparisons).
   */
  keepsRoot(id: number): boolean {
    if (this.scan === true) return this.scanKeepsRoot(id);
    if (this.ix[2 * id + 1] !== 0) return false;
    const n = this.size;
    return (n < 2 || this.less(id, this.ix[2])) && (n < 3 || this.less(id, this.ix[4]));
  }

  /** The id with the earliest key (its time is `key[peek()]`), or -1 when empty. */
  peek(): number {
    if (this.scan === true) return this.root;
    return this.size > 0 ? this.ix[0] : -1;
  }

  remove(id: number): void {
    if (this.scan === true) {
      this.scanRemove(id);
      return;
    }
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

  // ---------------------------------------------------------------- the scan

  /**
   * rekey in the scan form: one store, and the least and second kept. Most events re-key the root
   * later and leave it the least (the fifth session, above): one comparison with the second answers
   * that. The full scan runs only when the second is not known (after the root or the second moved
   * later past it, or the root was removed).
   */
  private scanRekey(id: number): void {
    const at = this.at;
    const t = this.key[id];
    const was = at[id];
    at[id] = t;
    const r = this.root;
    if (id === r) {
      if (t <= was) return; // earlier: still the least
      const s = this.second;
      if (s === -1 || (s >= 0 && (t < at[s] || (t === at[s] && id < s)))) return;
      if (s >= 0) {
        this.root = s;
        this.second = -2;
      } else this.scanBoth();
      return;
    }
    if (was === Infinity) this.size++;
    if (r < 0) {
      this.root = id;
      this.second = -1;
      return;
    }
    if (t < at[r] || (t === at[r] && id < r)) {
      this.second = r; // the old root was before every other id
      this.root = id;
      return;
    }
    const s = this.second;
    if (s === -2) return;
    if (id === s) {
      if (t > was) this.second = -2; // another may be before it now
    } else if (s === -1 || t < at[s] || (t === at[s] && id < s)) this.second = id;
  }

  /** remove in the scan form. */
  private scanRemove(id: number): void {
    if (this.at[id] === Infinity) return;
    this.at[id] = Infinity;
    this.size--;
    if (id === this.root) {
      const s = this.second;
      if (s === -2) this.scanBoth();
      else {
        this.root = s;
        this.second = s < 0 ? -1 : -2;
      }
    } else if (id === this.second) this.second = -2;
  }

  /**
   * The queued ids with the least and second least (time, id), into root and second (-1: none): a
   * strict `<` in id order keeps the lowest id of a tie first.
   */
  private scanBoth(): void {
    const at = this.at;
    let b1 = Infinity;
    let s1 = -1;
    let b2 = Infinity;
    let s2 = -1;
    for (let i = 0; i < at.length; i++) {
      const x = at[i];
      if (x < b2) {
        if (x < b1) {
          b2 = b1;
          s2 = s1;
          b1 = x;
          s1 = i;
        } else {
          b2 = x;
          s2 = i;
        }
      }
    }
    this.root = s1;
    this.second = s2;
  }

  /** keepsRoot in the scan form: `id` is the root and its new time, in key[id], is before the second's. */
  private scanKeepsRoot(id: number): boolean {
    if (id !== this.root) return false;
    if (this.second === -2) this.scanBoth(); // the root stays: at[] still holds its old time
    const s = this.second;
    const t = this.key[id];
    if (s >= 0 && (this.at[s] < t || (this.at[s] === t && s < id))) return false;
    this.at[id] = t; // the queue holds its new time, as the heap's key[] does
    return true;
  }

  // ---------------------------------------------------------------- the heap

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
