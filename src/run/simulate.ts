import { resolvePolicy } from '../core/hypervisor/policy.js';
import {
  GuestCounter,
  HostSimulation,
  LATENCY_BOUNDS_NS,
  PHASE_ORDER,
  type GuestInstance,
} from '../core/engine/host.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import { Counter, Machine } from '../core/vcpu/machine.js';
import { runScript } from '../core/script/runScript.js';
import { LatencyExemplars, type ExemplarRecord } from '../core/engine/exemplars.js';
import type { GuestModel, PhaseBehaviour } from '../core/guests/model.js';
import { workloadSpecFor } from '../scenario/workload.js';
import { durationLimitNs, type Scenario, type ScenarioVariant, type ScriptedGuestSpec } from '../scenario/types.js';
import type { EntryFailureRecord, GuestTotals, VariantTotals, ViolationRecord } from '../results/types.js';
import { exitCostTable, hostModel, type ModelData } from '../model/data.js';

/**
 * Runs one variant's hosts and adds their counts into a TotalsAccumulator. A variant is `count`
 * identical hosts; host h gets its own random streams, so any partition of hosts over workers or
 * shards gives the same per-host numbers, and the accumulator's integer sums make the totals equal
 * bit for bit in any order.
 */

/** Simulated time between progress reports / cancellation checks. */
export const EPOCH_NS = 1e9;

export interface HostTask {
  readonly variantIndex: number;
  /** Hosts [hostStart, hostEnd) of the variant. */
  readonly hostStart: number;
  readonly hostEnd: number;
}

export interface Progress {
  /** Simulated ns reached by the host being run. */
  readonly simNs: number;
  readonly hostsDone: number;
  readonly hostsTotal: number;
}

export interface RunControl {
  /**
   * Called once per simulated second (all running hosts have reached `simNs`). `snapshot()` returns
   * the totals so far: finished hosts plus the running hosts' current counts (absolute, so a reader
   * that keeps the latest snapshot never counts anything twice). Return true to stop.
   */
  readonly onEpoch?: (progress: Progress, snapshot: () => TotalsAccumulator) => boolean | void;
}

/** Counts of one variant (or a part of it), all exact integer sums. */
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
  maxSimNs = 0;
  guestNs = 0;
  vcpuNs = 0;
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
  ensureSeries(stepNs: number, buckets: number): void {
    if (this.series && this.seriesStepNs === stepNs && this.series.length >= buckets * EXIT_SLOT_COUNT) return;
    const next = new Float64Array(buckets * EXIT_SLOT_COUNT);
    if (this.series) next.set(this.series.subarray(0, Math.min(this.series.length, next.length)));
    this.series = next;
    this.seriesStepNs = stepNs;
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

  /** Add another accumulator (shard/worker merge). Sums are exact; violations concatenated in host order by the caller. */
  merge(o: TotalsAccumulator): void {
    for (let i = 0; i < this.exits.length; i++) {
      this.exits[i] += o.exits[i];
      this.exitHostNs[i] += o.exitHostNs[i];
    }
    for (const [os, e] of o.exitsByOs) {
      const into = this.osExits(os);
      for (let i = 0; i < e.length; i++) into[i] += e[i];
    }
    for (let i = 0; i < this.machineCounters.length; i++) this.machineCounters[i] += o.machineCounters[i];
    for (let i = 0; i < this.guestCounters.length; i++) this.guestCounters[i] += o.guestCounters[i];
    for (let i = 0; i < this.latency.length; i++) this.latency[i] += o.latency[i];
    for (let i = 0; i < this.phaseSumNs.length; i++) {
      this.phaseSumNs[i] += o.phaseSumNs[i];
      this.phaseCount[i] += o.phaseCount[i];
    }
    this.latencySumNs += o.latencySumNs;
    this.latencyCount += o.latencyCount;
    this.latencyExemplars.merge(o.latencyExemplars);
    this.maxSimNs = Math.max(this.maxSimNs, o.maxSimNs);
    this.guestNs += o.guestNs;
    this.vcpuNs += o.vcpuNs;
    this.guests += o.guests;
    this.vcpus += o.vcpus;
    this.events += o.events;
    for (const x of o.violations) this.violations.push(x);
    for (const x of o.entryFailures) this.entryFailures.push(x);
    if (o.perGuest) {
      const into = (this.perGuest ??= []);
      for (const x of o.perGuest) into.push(x);
    }
    if (o.series) {
      this.ensureSeries(o.seriesStepNs, o.series.length / EXIT_SLOT_COUNT);
      for (let i = 0; i < o.series.length; i++) this.series![i] += o.series[i];
    }
  }

  /** Plain JSON form (for worker messages and shard files). */
  toJSON(): Record<string, unknown> {
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
      maxSimNs: this.maxSimNs,
      guestNs: this.guestNs,
      vcpuNs: this.vcpuNs,
      guests: this.guests,
      vcpus: this.vcpus,
      events: this.events,
      violations: this.violations,
      entryFailures: this.entryFailures,
      ...(this.perGuest ? { perGuest: this.perGuest } : {}),
      ...(this.series ? { seriesStepNs: this.seriesStepNs, series: Array.from(this.series) } : {}),
    };
  }

  static fromJSON(j: Record<string, unknown>): TotalsAccumulator {
    const a = new TotalsAccumulator(Array.isArray(j.perGuest));
    if (a.perGuest) for (const x of j.perGuest as GuestTotals[]) a.perGuest.push(x);
    if (Array.isArray(j.series)) {
      a.ensureSeries(j.seriesStepNs as number, (j.series as number[]).length / EXIT_SLOT_COUNT);
      a.series!.set(j.series as number[]);
    }
    const arr = (k: string, into: Float64Array): void => into.set(j[k] as number[]);
    arr('exits', a.exits);
    arr('exitHostNs', a.exitHostNs);
    arr('machineCounters', a.machineCounters);
    for (const [os, e] of Object.entries((j.exitsByOs ?? {}) as Record<string, number[]>)) a.osExits(os).set(e);
    arr('guestCounters', a.guestCounters);
    arr('latency', a.latency);
    arr('phaseSumNs', a.phaseSumNs);
    arr('phaseCount', a.phaseCount);
    a.latencySumNs = j.latencySumNs as number;
    a.latencyCount = j.latencyCount as number;
    a.latencyExemplars.setFromJSON(j.latencyExemplars as (ExemplarRecord | null)[] | undefined);
    a.maxSimNs = j.maxSimNs as number;
    a.guestNs = j.guestNs as number;
    a.vcpuNs = j.vcpuNs as number;
    a.guests = j.guests as number;
    a.vcpus = j.vcpus as number;
    a.events = j.events as number;
    for (const x of j.violations as ViolationRecord[]) a.violations.push(x);
    for (const x of j.entryFailures as EntryFailureRecord[]) a.entryFailures.push(x);
    return a;
  }
}

function guestModelFor(data: ModelData, os: string): GuestModel {
  const m = data.guestModels.get(os);
  if (!m) throw new Error(`no guest model for ${os}`);
  return m;
}

const NO_ACTIVITY: PhaseBehaviour = Object.freeze({
  busyFraction: 1,
  burstNs: 1e9,
  cr8PerBusySecond: 0,
  ioPerBusySecond: 0,
  ipiPerBusySecond: 0,
});

/**
 * The OS model a workload-profile guest runs with: its vectors and ISR times, and nothing of its own
 * behaviour (no timer, no %cr8 stream, no background activity) — the profile's rates are all of it.
 * The guest's LAPIC mode is the profile's (x2apic), whatever the OS would choose.
 */
export function workloadGuestModel(base: GuestModel, x2apic: boolean): GuestModel {
  return Object.freeze({
    ...base,
    usesX2apicWhenOffered: x2apic,
    usesCr8: false,
    timer: Object.freeze({ ...base.timer, hz: 0, oneShotRearm: false }),
    phases: Object.freeze({
      boot: NO_ACTIVITY,
      idle: NO_ACTIVITY,
      install: NO_ACTIVITY,
      build: NO_ACTIVITY,
      'disk-benchmark': NO_ACTIVITY,
    }),
  });
}

/** Modelled guests of one host, with global guest indices (host-major, stable across shards). */
export function hostGuests(variant: ScenarioVariant, data: ModelData, hostIndex: number): GuestInstance[] {
  const out: GuestInstance[] = [];
  let perHost = 0;
  for (const g of variant.guests) if (g.kind === 'modelled') perHost += g.count;
  let index = hostIndex * perHost;
  for (const g of variant.guests) {
    if (g.kind !== 'modelled') continue;
    const base = guestModelFor(data, g.os);
    const workload = g.workload === undefined ? undefined : workloadSpecFor(g.workload, variant.host.cpu.vendor).spec;
    const model = workload === undefined ? base : workloadGuestModel(base, g.x2apic);
    for (let i = 0; i < g.count; i++) {
      out.push({
        index: index++,
        label: g.count > 1 ? `${g.name}#${i}` : g.name,
        model,
        vcpus: g.vcpus,
        x2apicOffered: g.x2apic,
        phases: g.phases.map((p) => ({ phase: p.phase, durationNs: p.durationNs, work: p.work })),
        ...(workload === undefined ? {} : { workload }),
      });
    }
  }
  return out;
}

/**
 * The engine of one host of a variant, for `run` and `replay` alike: policy traits, exit costs and
 * host model resolved once per variant, then one HostSimulation per (host index, its guests).
 */
export function hostSimulations(
  scenario: Scenario,
  variant: ScenarioVariant,
  data: ModelData,
): (hostIndex: number, guests: readonly GuestInstance[]) => HostSimulation {
  const profile = variant.host.cpu;
  const traits = resolvePolicy(variant.hypervisor.policy, profile, variant.hypervisor.tunables);
  const exitCostNs = exitCostTable(data.costModel, profile, traits.hypervisor);
  const host = hostModel(data.costModel, traits.hypervisor);
  return (hostIndex, guests) =>
    new HostSimulation({
      hostIndex,
      seed: scenario.seed,
      profile,
      traits,
      cores: variant.host.cores,
      guests,
      exitCostNs,
      host,
      debugChecks: scenario.debugChecks,
      overrides: variant.hypervisor.vmcs,
    });
}

/**
 * Simulate hosts [start, end) of a variant into `acc`, all of them in lockstep one simulated second
 * at a time (so live metrics move together; a host's numbers do not depend on which others run
 * beside it). With `until-complete` each host stops at the first epoch after its own work is done.
 * Returns false if stopped by onEpoch.
 */
export function runHosts(
  scenario: Scenario,
  variant: ScenarioVariant,
  data: ModelData,
  start: number,
  end: number,
  acc: TotalsAccumulator,
  control: RunControl = {},
): boolean {
  const limit = durationLimitNs(scenario);
  const untilComplete = scenario.duration.kind === 'until-complete';
  const build = hostSimulations(scenario, variant, data);
  const running: { sim: HostSimulation; guests: GuestInstance[]; host: number }[] = [];
  for (let h = start; h < end; h++) {
    const guests = hostGuests(variant, data, h);
    if (guests.length === 0) continue;
    running.push({ sim: build(h, guests), guests, host: h });
  }
  const total = running.length;
  // Time series of exits: at most ~600 buckets whatever the duration (a function of the scenario only).
  const stepNs = Math.max(1, Math.ceil(limit / EPOCH_NS / 600)) * EPOCH_NS;
  acc.ensureSeries(stepNs, Math.ceil(limit / stepNs));
  const lastTotals = running.map(() => new Float64Array(EXIT_SLOT_COUNT));
  let t = 0;
  let stopped = false;
  const finish = (r: (typeof running)[number], at: number): void => {
    r.sim.finalChecks();
    addHost(acc, r.sim, r.guests, r.host, at);
  };
  while (running.length > 0 && t < limit) {
    t = Math.min(limit, t + EPOCH_NS);
    const bucket = Math.floor((t - 1) / stepNs) * EXIT_SLOT_COUNT;
    for (let i = 0; i < running.length; i++) {
      const r = running[i];
      r.sim.advanceTo(t);
      const now = r.sim.machine.exitTotals;
      const last = lastTotals[i];
      for (let s = 0; s < EXIT_SLOT_COUNT; s++) {
        acc.series![bucket + s] += now[s] - last[s];
        last[s] = now[s];
      }
      if (untilComplete && r.sim.workDone()) {
        finish(r, t);
        running.splice(i, 1);
        lastTotals.splice(i, 1);
        i--;
      }
    }
    if (control.onEpoch) {
      const snapshot = (): TotalsAccumulator => {
        const s = acc.clone();
        for (const r of running) addHost(s, r.sim, r.guests, r.host, t);
        return s;
      };
      if (control.onEpoch({ simNs: t, hostsDone: total - running.length, hostsTotal: total }, snapshot) === true) {
        stopped = true;
        break;
      }
    }
  }
  for (const r of running) finish(r, t);
  return !stopped;
}

function addHost(
  acc: TotalsAccumulator,
  sim: HostSimulation,
  guests: readonly GuestInstance[],
  hostIndex: number,
  simNs: number,
): void {
  const m = sim.machine;
  for (let v = 0; v < sim.n; v++) {
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) {
      acc.exits[s] += m.exitCount(v, s);
    }
    for (let c = 0; c < Counter.COUNT; c++) acc.machineCounters[c] += m.counters[v * Counter.COUNT + c];
  }
  for (let s = 0; s < EXIT_SLOT_COUNT; s++) acc.exitHostNs[s] += m.exitHostNs[s];
  {
    let v = 0;
    for (const g of guests) {
      const into = acc.osExits(g.model.os);
      for (let l = 0; l < g.vcpus; l++, v++) {
        for (let s = 0; s < EXIT_SLOT_COUNT; s++) into[s] += m.exitCount(v, s);
      }
    }
  }
  for (let i = 0; i < sim.guestCounters.length; i++) acc.guestCounters[i % GuestCounter.COUNT] += sim.guestCounters[i];
  for (let i = 0; i < acc.latency.length; i++) acc.latency[i] += sim.latencyCounts[i];
  acc.latencySumNs += sim.latencySumNs;
  acc.latencyCount += sim.latencyCount;
  acc.latencyExemplars.merge(sim.latencyExemplars);
  for (let gi = 0; gi < guests.length; gi++) {
    for (let p = 0; p < PHASE_ORDER.length; p++) {
      const done = sim.phaseDoneNs[gi * PHASE_ORDER.length + p];
      if (done >= 0) {
        acc.phaseSumNs[p] += done;
        acc.phaseCount[p]++;
      }
    }
  }
  acc.maxSimNs = Math.max(acc.maxSimNs, simNs);
  acc.guestNs += simNs * guests.length;
  acc.vcpuNs += simNs * sim.n;
  acc.guests += guests.length;
  acc.vcpus += sim.n;
  acc.events += sim.events;
  const vcpuGuest = (v: number): GuestInstance => {
    let rest = v;
    for (const g of guests) {
      if (rest < g.vcpus) return g;
      rest -= g.vcpus;
    }
    return guests[guests.length - 1];
  };
  for (const viol of m.violations) {
    const g = vcpuGuest(viol.vcpu);
    acc.violations.push({
      check: viol.check,
      message: viol.message,
      guest: g.label,
      guestIndex: g.index,
      host: hostIndex,
      vcpu: viol.vcpu,
      simTimeNs: sim.stoppedAtNs[guests.indexOf(g)] >= 0 ? sim.stoppedAtNs[guests.indexOf(g)] : simNs,
      step: viol.step,
      state: { ...viol.state },
      expected: false,
    });
  }
  for (const f of m.entryFailures) {
    acc.entryFailures.push({ ...f, guest: vcpuGuest(f.vcpu).label, host: hostIndex });
  }
  if (acc.perGuest) {
    const slots = new Float64Array(EXIT_SLOT_COUNT);
    for (let gi = 0; gi < guests.length; gi++) {
      slots.fill(0);
      sim.guestExits(gi, slots);
      const exits: Record<string, number> = {};
      for (const k of EXIT_KINDS) if (slots[k.slot] > 0) exits[k.name] = slots[k.slot];
      const phaseSeconds: Record<string, number> = {};
      PHASE_ORDER.forEach((p, i) => {
        const done = sim.phaseDoneNs[gi * PHASE_ORDER.length + i];
        if (done >= 0) phaseSeconds[p] = done / 1e9;
      });
      acc.perGuest.push({
        guest: guests[gi].label,
        os: guests[gi].model.os,
        host: hostIndex,
        exits,
        cr8Accesses: sim.guestMachineCounter(gi, Counter.CR8_READS) + sim.guestMachineCounter(gi, Counter.CR8_WRITES),
        interruptsDelivered: sim.guestMachineCounter(gi, Counter.DELIVERED),
        phaseSeconds,
        guestCpuSeconds: sim.guestCounters[gi * GuestCounter.COUNT + GuestCounter.GUEST_CPU_NS] / 1e9,
      });
    }
  }
}

/** Scripted guests run one by one on their own machine (each is a unit scenario, not load). */
export function runScriptedGuest(
  variant: ScenarioVariant,
  guest: ScriptedGuestSpec,
  acc: TotalsAccumulator,
): ReturnType<typeof runScript> {
  const profile = variant.host.cpu;
  const traits = resolvePolicy(variant.hypervisor.policy, profile, variant.hypervisor.tunables);
  const vcpus = [];
  for (let i = 0; i < guest.vcpus; i++) vcpus.push({ guest: 0, x2apic: guest.x2apic, apicId: i });
  const machine = new Machine({ profile, traits, vcpus, debugChecks: true, overrides: variant.hypervisor.vmcs });
  const steps = runScript(machine, guest.script);
  machine.checkAllInvariants();
  const scriptedOs = acc.osExits('scripted');
  for (let v = 0; v < machine.n; v++) {
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) {
      acc.exits[s] += machine.exitCount(v, s);
      scriptedOs[s] += machine.exitCount(v, s);
    }
    for (let c = 0; c < Counter.COUNT; c++) acc.machineCounters[c] += machine.counters[v * Counter.COUNT + c];
  }
  acc.guests += 1;
  acc.vcpus += guest.vcpus;
  for (const viol of machine.violations) {
    acc.violations.push({
      check: viol.check,
      message: viol.message,
      guest: guest.name,
      host: 0,
      vcpu: viol.vcpu,
      simTimeNs: 0,
      step: viol.step,
      state: { ...viol.state },
      expected: false,
    });
  }
  for (const f of machine.entryFailures) acc.entryFailures.push({ ...f, guest: guest.name, host: 0 });
  return steps;
}

/** Turn an accumulator into results.json totals. */
export function finishTotals(acc: TotalsAccumulator, expectViolations: readonly string[]): VariantTotals {
  const exits: Record<string, number> = {};
  const hostSeconds: Record<string, number> = {};
  let exitsTotal = 0;
  for (const k of EXIT_KINDS) {
    if (acc.exits[k.slot] > 0) {
      exits[k.name] = acc.exits[k.slot];
      hostSeconds[k.name] = acc.exitHostNs[k.slot] / 1e9;
      exitsTotal += acc.exits[k.slot];
    }
  }
  const phaseSeconds: Record<string, number> = {};
  PHASE_ORDER.forEach((p, i) => {
    if (acc.phaseCount[i] > 0) phaseSeconds[p] = acc.phaseSumNs[i] / acc.phaseCount[i] / 1e9;
  });
  const g = acc.guestCounters;
  const mc = acc.machineCounters;
  return {
    simulatedSeconds: acc.maxSimNs / 1e9,
    guestSeconds: acc.guestNs / 1e9,
    vcpuSeconds: acc.vcpuNs / 1e9,
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
    hostSecondsInExits: hostSeconds,
    guestCpuSeconds: g[GuestCounter.GUEST_CPU_NS] / 1e9,
    interruptLatency: {
      boundsNs: LATENCY_BOUNDS_NS,
      counts: Array.from(acc.latency),
      count: acc.latencyCount,
      sumNs: acc.latencySumNs,
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
