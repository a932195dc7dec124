import type { Carver } from '../vcpu/arena.js';

/**
 * Replay handles for the interrupt-latency histogram: per bucket, one representative observation
 * (latency, simulated time, global guest index) chosen by a total order that does not depend on
 * how hosts were split over workers or shards:
 *   the largest latency wins; on equal latency the earlier simulated time; then the lower guest index.
 * Being a maximum under a total order, "best of" is associative and commutative, so per-host
 * representatives merged in any order give the same result bit for bit (docs/REPLAY.md).
 *
 * Pure, preallocated typed arrays; `offer` allocates nothing (it runs once per interrupt delivery).
 */
export class LatencyExemplars {
  /**
   * Per bucket b, at 3b: latency ns of its representative (-1: none), at 3b+1 the simulated ns at
   * which it was observed (the delivery), at 3b+2 the global guest index (GuestInstance.index).
   * One array, not three: every host simulation has one of these. Read directly by
   * HostState.observeLatency (engine/state.ts), which skips offers that cannot be taken.
   */
  readonly data: Float64Array;

  /** `c`: the array carved with the host's (vcpu/arena.ts); absent: its own. */
  constructor(
    readonly buckets: number,
    c?: Carver,
  ) {
    this.data = c === undefined ? new Float64Array(3 * buckets) : c.f64(3 * buckets);
    for (let b = 0; b < buckets; b++) this.data[3 * b] = -1;
  }

  /** Latency ns of bucket b's representative; -1 when the bucket has none. */
  ns(b: number): number {
    return this.data[3 * b];
  }

  timeNs(b: number): number {
    return this.data[3 * b + 1];
  }

  guest(b: number): number {
    return this.data[3 * b + 2];
  }

  /** Keep (ns, timeNs, guest) in `bucket` if it beats the current representative; true if it did. */
  offer(bucket: number, ns: number, timeNs: number, guest: number): boolean {
    const d = this.data;
    const i = 3 * bucket;
    const best = d[i];
    if (ns < best) return false;
    if (ns === best) {
      const t = d[i + 1];
      if (timeNs > t || (timeNs === t && guest >= d[i + 2])) return false;
    }
    d[i] = ns;
    d[i + 1] = timeNs;
    d[i + 2] = guest;
    return true;
  }

  merge(o: LatencyExemplars): void {
    for (let b = 0; b < this.buckets; b++) if (o.ns(b) >= 0) this.offer(b, o.ns(b), o.timeNs(b), o.guest(b));
  }

  /** One entry per bucket: null when the bucket has no observation. */
  toJSON(): (ExemplarRecord | null)[] {
    const out: (ExemplarRecord | null)[] = [];
    for (let b = 0; b < this.buckets; b++)
      out.push(this.ns(b) >= 0 ? { guest: this.guest(b), simTimeNs: this.timeNs(b), latencyNs: this.ns(b) } : null);
    return out;
  }

  /** Read the toJSON form (entries may be missing in files written before exemplars existed). */
  setFromJSON(j: readonly (ExemplarRecord | null)[] | undefined): void {
    if (!j) return;
    for (let b = 0; b < Math.min(j.length, this.buckets); b++) {
      const e = j[b];
      if (e) this.offer(b, e.latencyNs, e.simTimeNs, e.guest);
    }
  }
}

/** A bucket's representative observation, as results.json and worker messages carry it. */
export interface ExemplarRecord {
  readonly guest: number;
  readonly simTimeNs: number;
  readonly latencyNs: number;
}
