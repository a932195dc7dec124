import { resolvePolicy } from '../core/hypervisor/policy.js';
import { hvFeatureBits } from '../core/hypervisor/hyperv.js';
import { HaltPoll, haltPollSum } from '../core/hypervisor/haltPoll.js';
import { GuestCounter, HostSimulation, PHASE_ORDER, type GuestInstance } from '../core/engine/host.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import type { GuestModel } from '../core/guests/model.js';
import { workloadSpecFor } from '../scenario/workload.js';
import { durationLimitNs, type Scenario, type ScenarioVariant } from '../scenario/types.js';
import { apicMsrWriteCostNs, exitCostTable, hostModel, pauseLoopIntervalTsc, type ModelData } from '../model/data.js';
import type { TotalsAccumulator } from './totals.js';
import { hostWorkShare } from './workShare.js';
import { withMeasuredTimes, workloadGuestModel } from './workloadHost.js';

/**
 * Runs one variant's hosts and adds their counts into a TotalsAccumulator. A variant is `count`
 * identical hosts; host h gets its own random streams, so any partition of hosts over workers or
 * shards gives the same per-host numbers, and the accumulator's integer sums make the totals equal
 * bit for bit in any order.
 */

/** Simulated time between progress reports / cancellation checks. */
export const EPOCH_NS = 1e9;

/**
 * The step of a scenario's exit time series (results.json `series`, the OpenMetrics history): one
 * simulated second, growing so there are at most ~600 buckets whatever the duration. A function of
 * the scenario only, so shards and tasks add up bucket for bucket.
 */
export function seriesStepNs(scenario: Pick<Scenario, 'duration'>): number {
  return Math.max(1, Math.ceil(durationLimitNs(scenario) / EPOCH_NS / 600)) * EPOCH_NS;
}

export interface Progress {
  /** Simulated ns reached by the host being run. */
  readonly simNs: number;
  readonly hostsDone: number;
  readonly hostsTotal: number;
  /**
   * until-complete: the hosts' fixed work done, summed over hosts (a done host counts 1, a running one
   * its share: workShare.ts); for the progress line only.
   */
  readonly workDone?: number;
}

interface RunControl {
  /**
   * Called once per simulated second (all running hosts have reached `simNs`). `snapshot()` returns
   * the totals so far: finished hosts plus the running hosts' current counts (absolute, so a reader
   * that keeps the latest snapshot never counts anything twice). Return true to stop.
   */
  readonly onEpoch?: (progress: Progress, snapshot: () => TotalsAccumulator) => boolean | void;
  /**
   * Polled before each host's simulated second (between two hosts, never per event): true stops the
   * run there, inside the second. The hosts that had run it count up to it, the others up to the
   * second before, each with its own guest time; onEpoch's check alone waited for every host of the
   * task to finish the second, which for many hosts booting took many seconds of wall time.
   */
  readonly stopRequested?: () => boolean;
}

function guestModelFor(data: ModelData, os: string): GuestModel {
  const m = data.guestModels.get(os);
  if (!m) throw new Error(`no guest model for ${os}`);
  return m;
}

/** Modelled guests of one host, with global guest indices (host-major, stable across shards). */
export function hostGuests(variant: ScenarioVariant, data: ModelData, hostIndex: number): GuestInstance[] {
  const out: GuestInstance[] = [];
  let perHost = 0;
  for (const g of variant.guests) if (g.kind === 'modelled') perHost += g.count;
  let index = hostIndex * perHost;
  const cpu = variant.host.cpu;
  const traits = variant.guests.some((g) => g.kind === 'modelled' && g.workload !== undefined)
    ? resolvePolicy(variant.hypervisor.policy, cpu, variant.hypervisor.tunables, variant.host.os)
    : undefined;
  for (const g of variant.guests) {
    if (g.kind !== 'modelled') continue;
    const base = guestModelFor(data, g.os);
    const workload =
      g.workload === undefined || traits === undefined ? undefined : workloadSpecFor(g.workload, traits, cpu).spec;
    const model = workload === undefined ? base : workloadGuestModel(base, g.x2apic);
    for (let i = 0; i < g.count; i++) {
      out.push({
        index: index++,
        label: g.count > 1 ? `${g.name}#${i}` : g.name,
        model,
        vcpus: g.vcpus,
        x2apicOffered: g.x2apic,
        phases: g.phases.map((p) => ({
          phase: p.phase,
          durationNs: p.durationNs,
          work: p.work,
          busyVcpus: p.busyVcpus,
          hopNs: p.hopNs,
        })),
        ...(workload === undefined ? {} : { workload }),
        ...(g.clocksource === undefined ? {} : { clocksource: g.clocksource }),
        ...(g.timekeeping === undefined
          ? {}
          : {
              timekeeping: {
                hyperv: hvFeatureBits(g.timekeeping.enlightenments),
                hpet: g.timekeeping.hpet,
                referenceTscPage: g.timekeeping.referenceTscPage,
                stimerDirect: g.timekeeping.enlightenments.includes('hv-stimer-direct'),
              },
            }),
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
  const traits = resolvePolicy(variant.hypervisor.policy, profile, variant.hypervisor.tunables, variant.host.os);
  const exitCostNs = withMeasuredTimes(exitCostTable(data.costModel, profile, traits.hypervisor), variant);
  const host = hostModel(data.costModel, traits.hypervisor, variant.host.os, variant.host.cores, variant.host.tickHz);
  const apicMsrWrite = apicMsrWriteCostNs(data.costModel, profile, traits.hypervisor);
  const pauseLoop = pauseLoopIntervalTsc(data.costModel, profile);
  return (hostIndex, guests) =>
    new HostSimulation({
      hostIndex,
      seed: scenario.seed,
      profile,
      traits,
      cores: variant.host.cores,
      guests,
      exitCostNs,
      apicMsrWriteCostNs: apicMsrWrite,
      pauseLoopIntervalTsc: pauseLoop,
      haltResumeCycles: data.costModel.haltResumeCycles,
      host,
      debugChecks: scenario.debugChecks,
      overrides: variant.hypervisor.vmcs,
    });
}

/**
 * Simulate hosts [start, end) of a variant into `acc`, all of them in lockstep one simulated second
 * at a time (so live metrics move together; a host's numbers do not depend on which others run
 * beside it). With `until-complete` each host stops at the first epoch after its own work is done.
 * Returns false if stopped (by onEpoch at the end of a second, or by stopRequested inside one).
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
  const stepNs = seriesStepNs(scenario);
  const series = acc.ensureSeries(stepNs, Math.ceil(limit / stepNs));
  const lastTotals = running.map(() => new Float64Array(EXIT_SLOT_COUNT));
  let t = 0;
  let stopped = false;
  // Hosts running[0, cut) have reached t; the rest, after a stop inside a second, are at `from`.
  let from = 0;
  let cut = Infinity;
  const finish = (r: (typeof running)[number], at: number): void => {
    r.sim.finalChecks();
    addHost(acc, r.sim, r.guests, r.host, at);
  };
  epochs: while (running.length > 0 && t < limit) {
    from = t;
    t = Math.min(limit, t + EPOCH_NS);
    const bucket = Math.floor((t - 1) / stepNs) * EXIT_SLOT_COUNT;
    for (let i = 0; i < running.length; i++) {
      if (control.stopRequested?.() === true) {
        stopped = true;
        cut = i;
        break epochs;
      }
      const r = running[i];
      r.sim.advanceTo(t);
      const now = r.sim.machine.exitTotals;
      const last = lastTotals[i];
      for (let s = 0; s < EXIT_SLOT_COUNT; s++) {
        series[bucket + s] += now[s] - last[s];
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
      const hostsDone = total - running.length;
      let workDone = hostsDone;
      if (untilComplete) for (const r of running) workDone += hostWorkShare(r.sim);
      const progress = { simNs: t, hostsDone, hostsTotal: total, ...(untilComplete ? { workDone } : {}) };
      if (control.onEpoch(progress, snapshot) === true) {
        stopped = true;
        break;
      }
    }
  }
  for (let i = 0; i < running.length; i++) finish(running[i], i < cut ? t : from);
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
    for (let c = Counter.RAISED; c < Counter.COUNT; c++) acc.machineCounters[c] += m.counters[v * Counter.COUNT + c];
  }
  for (let s = 0; s < EXIT_SLOT_COUNT; s++) acc.addExitHostNs(s, m.exitHostNs[s]);
  // KVM's halt-poll statistics (kvm_main.c kvm_vcpu_block's vcpu->stat; hypervisor/haltPoll.ts): read
  // from the per-vCPU words here, once per collection. bhyve does not poll: no statistics at all.
  if (sim.config.traits.hypervisor === 'kvm') {
    const w = m.haltPoll;
    acc.addHaltPoll(
      haltPollSum(w, sim.n, HaltPoll.ATTEMPTED),
      haltPollSum(w, sim.n, HaltPoll.SUCCESSFUL),
      haltPollSum(w, sim.n, HaltPoll.WAKEUP),
      haltPollSum(w, sim.n, HaltPoll.POLL_NS),
    );
  }
  {
    let v = 0;
    for (const g of guests) {
      const into = acc.osExits(g.model.os);
      for (let l = 0; l < g.vcpus; l++, v++) {
        for (let s = 0; s < EXIT_SLOT_COUNT; s++) into[s] += m.exitCount(v, s);
      }
    }
  }
  for (let i = 0; i < sim.guestCounters.length; i++) acc.addGuestCounter(i % GuestCounter.COUNT, sim.guestCounters[i]);
  for (let i = 0; i < acc.latency.length; i++) acc.latency[i] += sim.latencyCounts[i];
  acc.addLatencyNs(sim.latencySumNs);
  acc.latencyCount += sim.latencyCount;
  acc.latencyExemplars.merge(sim.latencyExemplars);
  for (let gi = 0; gi < guests.length; gi++) {
    for (let p = 0; p < PHASE_ORDER.length; p++) {
      const done = sim.phaseDoneNs[gi * PHASE_ORDER.length + p];
      if (done >= 0) {
        acc.addPhaseNs(p, done);
        acc.phaseCount[p]++;
      } else if (guests[gi].phases.some((plan) => plan.work !== undefined && plan.phase === PHASE_ORDER[p])) {
        // Its plan has the phase bound by work, and the host stopped first (the duration, maxDuration,
        // a stopped guest): the phase's mean leaves it out, so results.json says it is missing.
        acc.phaseUnfinished[p]++;
      }
    }
  }
  acc.maxSimNs = Math.max(acc.maxSimNs, simNs);
  acc.addGuestNs(simNs * guests.length);
  acc.addVcpuNs(simNs * sim.n);
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
