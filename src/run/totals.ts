import { GuestCounter, LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { LatencyExemplars } from '../core/engine/exemplars.js';
import { EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import type { EntryFailureRecord, GuestTotals, RawTotals, ViolationRecord } from '../results/types.js';

/**
 * The one totals type: the exact integer counts of a variant, or of a part of it (a host range of
 * a shard or a pool task). The runner adds hosts into it (src/run/simulate.ts), a pool worker
 * posts it (as RawTotals, src/pool/protocol.ts), shards carry it in results.json `raw`, `merge`
 * and the pool add parts together, the metrics hub sums its counts per series, and finishTotals
 * (finishTotals.ts) turns it into results.json totals. Every count is an integer sum in Float64
 * (exact below 2^53), so parts add up to the same totals bit for bit in any order.
 *
 * The nanosecond sums (host time in exits, guest counters, phase and latency sums, guest and vCPU
 * time) pass 2^53 ns (104 days) in large runs: 2,000 two-vCPU guests for an hour are 1.4e16 vCPU-ns.
 * Above 2^53 a Float64 addition rounds, and differently for each order of the parts, so a 1-worker
 * and a 2-worker run would differ. Those sums are therefore two limbs: the field itself (the low
 * limb, what every reader sees while it stays below 2^52) and a high limb in `wideHi`, counting
 * multiples of 2^32 ns carried out of it. Every addition is then exact in any order (a low limb
 * below 2^52 plus a part below 2^52), and the value read, `hi x 2^32 + lo`, is the exact sum rounded
 * once: the same bits whatever the order. Below 2^52 nothing is carried, so small runs are unchanged.
 */
/** A low limb at or above this is carried into the high limb, so the next addition stays exact. */
const CARRY_AT = 2 ** 52;
/** The high limb's unit (ns). */
const LIMB = 2 ** 32;

/** Where each nanosecond sum's high limb is in `wideHi`. */
const WIDE_EXIT_HOST_NS = 0;
const WIDE_GUEST_COUNTERS = WIDE_EXIT_HOST_NS + EXIT_SLOT_COUNT;
const WIDE_PHASE_NS = WIDE_GUEST_COUNTERS + GuestCounter.COUNT;
const WIDE_LATENCY_NS = WIDE_PHASE_NS + PHASE_ORDER.length;
const WIDE_GUEST_NS = WIDE_LATENCY_NS + 1;
const WIDE_VCPU_NS = WIDE_GUEST_NS + 1;
const WIDE_HALT_POLL_NS = WIDE_VCPU_NS + 1;
const WIDE_COUNT = WIDE_HALT_POLL_NS + 1;

/**
 * KVM's halt-poll statistics of a variant, summed over its vCPUs (TotalsAccumulator.haltPoll): the
 * per-vCPU counters KVM keeps and kvm_stat / virsh domstats print - halt_attempted_poll,
 * halt_successful_poll, halt_wakeup (arch/x86/kvm/x86.c debugfs_entries, VCPU_STAT; the counting is
 * kvm_main.c kvm_vcpu_block: core/hypervisor/haltPoll.ts) - and the host ns the vCPU threads polled
 * (what newer kernels split into halt_poll_success_ns and halt_poll_fail_ns).
 */
export const enum HaltPollStat {
  ATTEMPTED = 0,
  SUCCESSFUL = 1,
  WAKEUP = 2,
  POLL_NS = 3,
  COUNT = 4,
}

export class TotalsAccumulator {
  readonly exits = new Float64Array(EXIT_SLOT_COUNT);
  readonly exitHostNs = new Float64Array(EXIT_SLOT_COUNT);
  /** Exits per slot by guest OS (the metrics' `os` label); sums to `exits`. */
  readonly exitsByOs = new Map<string, Float64Array>();
  readonly machineCounters = new Float64Array(Counter.COUNT);
  readonly guestCounters = new Float64Array(GuestCounter.COUNT);
  readonly latency = new Float64Array(LATENCY_BOUNDS_NS.length + 1);
  latencySumNs = 0;
  latencyCount = 0;
  /** Per latency bucket, the replayable representative observation (merges exactly in any order). */
  readonly latencyExemplars = new LatencyExemplars(LATENCY_BOUNDS_NS.length + 1);
  /** Per phase: sum of completion ns and number of guests that completed it. */
  readonly phaseSumNs = new Float64Array(PHASE_ORDER.length);
  readonly phaseCount = new Float64Array(PHASE_ORDER.length);
  /**
   * Per phase: guests whose plan has it bound by work and that had not finished it when their host
   * stopped (duration or maxDuration reached). phaseSumNs / phaseCount is the mean of those that did.
   */
  readonly phaseUnfinished = new Float64Array(PHASE_ORDER.length);
  maxSimNs = 0;
  guestNs = 0;
  vcpuNs = 0;
  /**
   * High limbs of the nanosecond sums, in units of 2^32 ns (see the header): all 0 below 2^52 ns.
   * Read the sums through exitHostNsOf, guestCounterOf, phaseNsOf, latencyNs, guestNsTotal, vcpuNsTotal.
   */
  readonly wideHi = new Float64Array(WIDE_COUNT);
  /**
   * KVM's halt-poll statistics (HaltPollStat order; POLL_NS's high limb in `wideHi`), or undefined
   * while no KVM host was added: bhyve never polls (vm_handle_hlt sleeps at once), so its variants
   * have none. Read POLL_NS through haltPollNs.
   */
  haltPoll: Float64Array | undefined;
  guests = 0;
  vcpus = 0;
  events = 0;
  readonly violations: ViolationRecord[] = [];
  readonly entryFailures: EntryFailureRecord[] = [];
  /** Per-guest totals, in global guest order, when collecting them was asked for (opt-in: a fleet can be large). */
  perGuest: GuestTotals[] | undefined;
  /**
   * Exits per time bucket and slot (bucket-major), summed over hosts: bucket i covers simulated
   * [i*seriesStepNs, (i+1)*seriesStepNs). The step depends only on the scenario, so shards add up.
   */
  series: Float64Array | undefined;
  seriesStepNs = 0;

  constructor(collectPerGuest = false) {
    this.perGuest = collectPerGuest ? [] : undefined;
  }

  /** Make room for `buckets` time buckets of `stepNs` (no-op if already set up the same way). */
  ensureSeries(stepNs: number, buckets: number): Float64Array {
    if (this.series && this.seriesStepNs === stepNs && this.series.length >= buckets * EXIT_SLOT_COUNT)
      return this.series;
    const next = new Float64Array(buckets * EXIT_SLOT_COUNT);
    if (this.series) next.set(this.series.subarray(0, Math.min(this.series.length, next.length)));
    this.series = next;
    this.seriesStepNs = stepNs;
    return next;
  }

  clone(): TotalsAccumulator {
    const c = new TotalsAccumulator(this.perGuest !== undefined);
    c.merge(this);
    return c;
  }

  osExits(os: string): Float64Array {
    let a = this.exitsByOs.get(os);
    if (!a) {
      a = new Float64Array(EXIT_SLOT_COUNT);
      this.exitsByOs.set(os, a);
    }
    return a;
  }

  /** Add `v` ns (an integer) to element `i` of a nanosecond sum whose high limb is `wideHi[w]`. */
  private addWide(lo: Float64Array, i: number, w: number, v: number): void {
    if (v >= CARRY_AT) {
      const h = Math.floor(v / LIMB);
      this.wideHi[w] += h;
      v -= h * LIMB;
    }
    let x = lo[i] + v;
    if (x >= CARRY_AT) {
      const h = Math.floor(x / LIMB);
      this.wideHi[w] += h;
      x -= h * LIMB;
    }
    lo[i] = x;
  }

  /** The same for the scalar sums (kept as fields: their readers and RawTotals name them). */
  private addWideScalar(w: number, v: number): void {
    const box = SCALAR_BOX;
    box[0] = w === WIDE_LATENCY_NS ? this.latencySumNs : w === WIDE_GUEST_NS ? this.guestNs : this.vcpuNs;
    this.addWide(box, 0, w, v);
    if (w === WIDE_LATENCY_NS) this.latencySumNs = box[0];
    else if (w === WIDE_GUEST_NS) this.guestNs = box[0];
    else this.vcpuNs = box[0];
  }

  addExitHostNs(slot: number, ns: number): void {
    this.addWide(this.exitHostNs, slot, WIDE_EXIT_HOST_NS + slot, ns);
  }
  addGuestCounter(c: number, v: number): void {
    this.addWide(this.guestCounters, c, WIDE_GUEST_COUNTERS + c, v);
  }
  addPhaseNs(p: number, ns: number): void {
    this.addWide(this.phaseSumNs, p, WIDE_PHASE_NS + p, ns);
  }
  addLatencyNs(ns: number): void {
    this.addWideScalar(WIDE_LATENCY_NS, ns);
  }
  addGuestNs(ns: number): void {
    this.addWideScalar(WIDE_GUEST_NS, ns);
  }
  addVcpuNs(ns: number): void {
    this.addWideScalar(WIDE_VCPU_NS, ns);
  }
  /** Add a KVM host's (or part's) halt-poll statistics: counts, and polled ns (an integer). */
  addHaltPoll(attempted: number, successful: number, wakeup: number, pollNs: number): void {
    const h = (this.haltPoll ??= new Float64Array(HaltPollStat.COUNT));
    h[HaltPollStat.ATTEMPTED] += attempted;
    h[HaltPollStat.SUCCESSFUL] += successful;
    h[HaltPollStat.WAKEUP] += wakeup;
    this.addWide(h, HaltPollStat.POLL_NS, WIDE_HALT_POLL_NS, pollNs);
  }

  exitHostNsOf(slot: number): number {
    return this.wideHi[WIDE_EXIT_HOST_NS + slot] * LIMB + this.exitHostNs[slot];
  }
  guestCounterOf(c: number): number {
    return this.wideHi[WIDE_GUEST_COUNTERS + c] * LIMB + this.guestCounters[c];
  }
  phaseNsOf(p: number): number {
    return this.wideHi[WIDE_PHASE_NS + p] * LIMB + this.phaseSumNs[p];
  }
  get latencyNs(): number {
    return this.wideHi[WIDE_LATENCY_NS] * LIMB + this.latencySumNs;
  }
  get guestNsTotal(): number {
    return this.wideHi[WIDE_GUEST_NS] * LIMB + this.guestNs;
  }
  get vcpuNsTotal(): number {
    return this.wideHi[WIDE_VCPU_NS] * LIMB + this.vcpuNs;
  }
  /** Host ns the KVM vCPU threads polled (0 without halt-poll statistics). */
  get haltPollNs(): number {
    return this.haltPoll ? this.wideHi[WIDE_HALT_POLL_NS] * LIMB + this.haltPoll[HaltPollStat.POLL_NS] : 0;
  }

  /**
   * Add another part's counts: every sum and the longest simulated time, but not its exemplars nor
   * its per-host records (violations, entry failures, per-guest totals, time series).
   */
  mergeCounts(o: TotalsAccumulator): void {
    for (let i = 0; i < this.exits.length; i++) {
      this.exits[i] += o.exits[i];
      this.addExitHostNs(i, o.exitHostNs[i]);
    }
    // The high limbs add exactly (integers far below 2^53); the low limbs through addWide.
    for (let w = 0; w < WIDE_COUNT; w++) this.wideHi[w] += o.wideHi[w];
    for (const [os, e] of o.exitsByOs) {
      const into = this.osExits(os);
      for (let i = 0; i < e.length; i++) into[i] += e[i];
    }
    for (let i = 0; i < this.machineCounters.length; i++) this.machineCounters[i] += o.machineCounters[i];
    for (let i = 0; i < this.guestCounters.length; i++) this.addGuestCounter(i, o.guestCounters[i]);
    for (let i = 0; i < this.latency.length; i++) this.latency[i] += o.latency[i];
    for (let i = 0; i < this.phaseSumNs.length; i++) {
      this.addPhaseNs(i, o.phaseSumNs[i]);
      this.phaseCount[i] += o.phaseCount[i];
      this.phaseUnfinished[i] += o.phaseUnfinished[i];
    }
    this.addLatencyNs(o.latencySumNs);
    this.latencyCount += o.latencyCount;
    this.maxSimNs = Math.max(this.maxSimNs, o.maxSimNs);
    this.addGuestNs(o.guestNs);
    this.addVcpuNs(o.vcpuNs);
    const hp = o.haltPoll;
    if (hp)
      this.addHaltPoll(
        hp[HaltPollStat.ATTEMPTED],
        hp[HaltPollStat.SUCCESSFUL],
        hp[HaltPollStat.WAKEUP],
        hp[HaltPollStat.POLL_NS],
      );
    this.guests += o.guests;
    this.vcpus += o.vcpus;
    this.events += o.events;
  }

  /** Add another part (shard/worker merge). Sums are exact; violations concatenated in host order by the caller. */
  merge(o: TotalsAccumulator): void {
    this.mergeCounts(o);
    this.latencyExemplars.merge(o.latencyExemplars);
    for (const x of o.violations) this.violations.push(x);
    for (const x of o.entryFailures) this.entryFailures.push(x);
    if (o.perGuest) {
      const into = (this.perGuest ??= []);
      for (const x of o.perGuest) into.push(x);
    }
    if (o.series) {
      const into = this.ensureSeries(o.seriesStepNs, o.series.length / EXIT_SLOT_COUNT);
      for (let i = 0; i < o.series.length; i++) into[i] += o.series[i];
    }
  }

  /** Plain JSON form: results.json `raw` of a shard, and the pool's worker messages. */
  toJSON(): RawTotals {
    return {
      exits: Array.from(this.exits),
      exitHostNs: Array.from(this.exitHostNs),
      machineCounters: Array.from(this.machineCounters),
      exitsByOs: Object.fromEntries([...this.exitsByOs].map(([os, e]) => [os, Array.from(e)])),
      guestCounters: Array.from(this.guestCounters),
      latency: Array.from(this.latency),
      latencySumNs: this.latencySumNs,
      latencyCount: this.latencyCount,
      latencyExemplars: this.latencyExemplars.toJSON(),
      phaseSumNs: Array.from(this.phaseSumNs),
      phaseCount: Array.from(this.phaseCount),
      // Only when a guest left a phase unfinished: otherwise the format is the one it always was.
      ...(this.phaseUnfinished.some((n) => n !== 0) ? { phaseUnfinished: Array.from(this.phaseUnfinished) } : {}),
      maxSimNs: this.maxSimNs,
      guestNs: this.guestNs,
      vcpuNs: this.vcpuNs,
      guests: this.guests,
      vcpus: this.vcpus,
      events: this.events,
      violations: this.violations,
      entryFailures: this.entryFailures,
      // Only when a sum passed 2^52 ns: below that the format is the one it always was.
      ...(this.wideHi.some((h) => h !== 0) ? { wideHi: Array.from(this.wideHi) } : {}),
      ...(this.haltPoll ? { haltPoll: Array.from(this.haltPoll) } : {}),
      ...(this.perGuest ? { perGuest: this.perGuest } : {}),
      ...(this.series ? { seriesStepNs: this.seriesStepNs, series: Array.from(this.series) } : {}),
    };
  }

  static fromJSON(j: RawTotals): TotalsAccumulator {
    const a = new TotalsAccumulator(j.perGuest !== undefined);
    if (a.perGuest && j.perGuest) for (const x of j.perGuest) a.perGuest.push(x);
    if (j.series !== undefined && j.seriesStepNs !== undefined)
      a.ensureSeries(j.seriesStepNs, j.series.length / EXIT_SLOT_COUNT).set(j.series);
    a.exits.set(j.exits);
    a.exitHostNs.set(j.exitHostNs);
    a.machineCounters.set(j.machineCounters);
    for (const [os, e] of Object.entries(j.exitsByOs ?? {})) a.osExits(os).set(e);
    a.guestCounters.set(j.guestCounters);
    a.latency.set(j.latency);
    a.phaseSumNs.set(j.phaseSumNs);
    a.phaseCount.set(j.phaseCount);
    if (j.phaseUnfinished !== undefined) a.phaseUnfinished.set(j.phaseUnfinished);
    a.latencySumNs = j.latencySumNs;
    a.latencyCount = j.latencyCount;
    a.latencyExemplars.setFromJSON(j.latencyExemplars);
    a.maxSimNs = j.maxSimNs;
    a.guestNs = j.guestNs;
    a.vcpuNs = j.vcpuNs;
    a.guests = j.guests;
    a.vcpus = j.vcpus;
    a.events = j.events;
    if (j.wideHi !== undefined) a.wideHi.set(j.wideHi);
    if (j.haltPoll !== undefined) a.haltPoll = Float64Array.from(j.haltPoll);
    for (const x of j.violations) a.violations.push(x);
    for (const x of j.entryFailures) a.entryFailures.push(x);
    return a;
  }
}

/** One-element scratch for addWideScalar (not reentrant: accumulators are used by one thread). */
const SCALAR_BOX = new Float64Array(1);
