import { GuestCounter, LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { LatencyExemplars } from '../core/engine/exemplars.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import type { EntryFailureRecord, GuestTotals, RawTotals, VariantTotals, ViolationRecord } from '../results/types.js';

/**
 * The one totals type: the exact integer counts of a variant, or of a part of it (a host range of
 * a shard or a pool task). The runner adds hosts into it (src/run/simulate.ts), a pool worker
 * posts it (as RawTotals, src/pool/protocol.ts), shards carry it in results.json `raw`, `merge`
 * and the pool add parts together, the metrics hub sums its counts per series, and finishTotals
 * turns it into results.json totals. Every count is an integer sum in Float64 (exact below 2^53),
 * so parts add up to the same totals bit for bit in any order.
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

/**
 * Why `raw` is not a RawTotals that fromJSON can take, or undefined (merge checks each shard's). Shard files come from other
 * machines (CI artifacts); a damaged one (`"exits": "x"`, a short array, a negative count, 1e308
 * guests) was merged silently into wrong results, or failed with JavaScript's words ("Cannot
 * convert undefined or null to object"). Checked: every counter array has the engine's length and
 * holds non-negative integers, every scalar is one, the record lists are lists.
 */
export function rawTotalsProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'raw is not an object';
  const r = raw as Record<string, unknown>;
  const shape = new TotalsAccumulator();
  const count = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const counts = (name: string, v: unknown, length: number): string | undefined => {
    if (!Array.isArray(v)) return `raw.${name} is not a list (expected ${length} non-negative integers)`;
    if (v.length !== length) return `raw.${name} has ${v.length} entries (expected ${length})`;
    const bad = v.findIndex((x) => !count(x));
    return bad < 0 ? undefined : `raw.${name}[${bad}] is ${JSON.stringify(v[bad])} (expected a non-negative integer)`;
  };
  const arrays: [string, number][] = [
    ['exits', shape.exits.length],
    ['exitHostNs', shape.exitHostNs.length],
    ['machineCounters', shape.machineCounters.length],
    ['guestCounters', shape.guestCounters.length],
    ['latency', shape.latency.length],
    ['phaseSumNs', shape.phaseSumNs.length],
    ['phaseCount', shape.phaseCount.length],
  ];
  for (const [name, length] of arrays) {
    const p = counts(name, r[name], length);
    if (p !== undefined) return p;
  }
  if (r.wideHi !== undefined) {
    // A shard written before the halt-poll statistics has one high limb fewer (fromJSON takes it).
    const old = Array.isArray(r.wideHi) && r.wideHi.length === shape.wideHi.length - 1;
    const p = counts('wideHi', r.wideHi, shape.wideHi.length - (old ? 1 : 0));
    if (p !== undefined) return p;
  }
  if (r.phaseUnfinished !== undefined) {
    const p = counts('phaseUnfinished', r.phaseUnfinished, shape.phaseUnfinished.length);
    if (p !== undefined) return p;
  }
  if (r.haltPoll !== undefined) {
    const p = counts('haltPoll', r.haltPoll, HaltPollStat.COUNT);
    if (p !== undefined) return p;
  }
  if (r.exitsByOs !== undefined) {
    if (typeof r.exitsByOs !== 'object' || r.exitsByOs === null || Array.isArray(r.exitsByOs))
      return 'raw.exitsByOs is not an object (expected exits per slot by guest OS)';
    for (const [os, v] of Object.entries(r.exitsByOs)) {
      const p = counts(`exitsByOs.${os}`, v, shape.exits.length);
      if (p !== undefined) return p;
    }
  }
  for (const name of ['latencySumNs', 'latencyCount', 'maxSimNs', 'guestNs', 'vcpuNs', 'guests', 'vcpus', 'events'])
    if (!count(r[name])) return `raw.${name} is ${JSON.stringify(r[name])} (expected a non-negative integer)`;
  for (const name of ['violations', 'entryFailures'])
    if (!Array.isArray(r[name]) || (r[name] as unknown[]).some((x) => typeof x !== 'object' || x === null))
      return `raw.${name} is not a list of records`;
  return undefined;
}

/** One-element scratch for addWideScalar (not reentrant: accumulators are used by one thread). */
const SCALAR_BOX = new Float64Array(1);

/** Turn an accumulator into results.json totals. */
export function finishTotals(acc: TotalsAccumulator, expectViolations: readonly string[]): VariantTotals {
  const exits: Record<string, number> = {};
  const hostSeconds: Record<string, number> = {};
  let exitsTotal = 0;
  for (const k of EXIT_KINDS) {
    if (acc.exits[k.slot] > 0) {
      exits[k.name] = acc.exits[k.slot];
      hostSeconds[k.name] = acc.exitHostNsOf(k.slot) / 1e9;
      exitsTotal += acc.exits[k.slot];
    }
  }
  const phaseSeconds: Record<string, number> = {};
  PHASE_ORDER.forEach((p, i) => {
    if (acc.phaseCount[i] > 0) phaseSeconds[p] = acc.phaseNsOf(i) / acc.phaseCount[i] / 1e9;
  });
  const phaseUnfinished: Record<string, number> = {};
  PHASE_ORDER.forEach((p, i) => {
    if (acc.phaseUnfinished[i] > 0) phaseUnfinished[p] = acc.phaseUnfinished[i];
  });
  const g = acc.guestCounters;
  const mc = acc.machineCounters;
  return {
    simulatedSeconds: acc.maxSimNs / 1e9,
    guestSeconds: acc.guestNsTotal / 1e9,
    vcpuSeconds: acc.vcpuNsTotal / 1e9,
    exits,
    exitsTotal,
    cr8Accesses: mc[Counter.CR8_READS] + mc[Counter.CR8_WRITES],
    cr8Reads: mc[Counter.CR8_READS],
    cr8Writes: mc[Counter.CR8_WRITES],
    tprMmioWrites: mc[Counter.TPR_MMIO_WRITES],
    tprMsrWrites: mc[Counter.TPR_MSR_WRITES],
    interruptsRaised: mc[Counter.RAISED],
    interruptsInjected: mc[Counter.INJECTED],
    interruptsDelivered: mc[Counter.DELIVERED],
    interruptsBySource: {
      timer: { raised: g[GuestCounter.RAISED_TIMER], delivered: g[GuestCounter.DELIVERED_TIMER] },
      device: { raised: g[GuestCounter.RAISED_DEVICE], delivered: g[GuestCounter.DELIVERED_DEVICE] },
      ipi: { raised: g[GuestCounter.RAISED_IPI], delivered: g[GuestCounter.DELIVERED_IPI] },
    },
    phaseSeconds,
    ...(Object.keys(phaseUnfinished).length > 0 ? { phaseUnfinished } : {}),
    hostSecondsInExits: hostSeconds,
    guestCpuSeconds: acc.guestCounterOf(GuestCounter.GUEST_CPU_NS) / 1e9,
    ...(acc.guestCounterOf(GuestCounter.DEVICE_MODEL_NS) > 0
      ? { deviceModelSeconds: acc.guestCounterOf(GuestCounter.DEVICE_MODEL_NS) / 1e9 }
      : {}),
    ...(acc.haltPoll
      ? {
          haltPoll: {
            halt_attempted_poll: acc.haltPoll[HaltPollStat.ATTEMPTED],
            halt_successful_poll: acc.haltPoll[HaltPollStat.SUCCESSFUL],
            halt_wakeup: acc.haltPoll[HaltPollStat.WAKEUP],
            pollSeconds: acc.haltPollNs / 1e9,
          },
        }
      : {}),
    interruptLatency: {
      boundsNs: LATENCY_BOUNDS_NS,
      counts: Array.from(acc.latency),
      count: acc.latencyCount,
      sumNs: acc.latencyNs,
      exemplars: acc.latencyExemplars.toJSON(),
    },
    // Hosts finish in an order that depends on how they were split: report in host order.
    violations: [...acc.violations]
      .sort((a, b) => a.host - b.host || a.vcpu - b.vcpu || a.step - b.step)
      .map((v) => ({ ...v, expected: expectViolations.includes(v.check) })),
    entryFailures: [...acc.entryFailures].sort((a, b) => a.host - b.host || a.vcpu - b.vcpu),
    guests: acc.guests,
    vcpus: acc.vcpus,
  };
}

/**
 * What a run in progress publishes for live metrics (src/metrics/hub.ts reads only this): for each
 * part of the run (a pool task), its latest absolute totals. Absolute, never deltas, so a reader
 * that keeps the latest never counts anything twice.
 */
export interface LivePart {
  readonly variantIndex: number;
  /** The last snapshot while the part runs, its final totals once done; undefined before the first. */
  readonly totals: TotalsAccumulator | undefined;
  /** Hosts of the part running now (0 before it starts and once it ended). */
  readonly hostsRunning: number;
  /**
   * Realtime pace: simulated seconds the part is behind the wall clock — as it measured on reaching
   * its last simulated second, or more when the next one is overdue (0 on time; absent at pace max).
   */
  readonly lagSeconds?: number;
}

export interface LiveRun {
  /** The pace the run runs at (the scenario_info label). */
  readonly pace: 'max' | 'realtime';
  /** Wall clock of the run's start (ms since the epoch): at pace realtime, simulated time 0. */
  readonly startedAtMs: number;
  /** Every part's latest totals, in plan order. */
  live(): readonly LivePart[];
}
