/** A TotalsAccumulator turned into results.json totals (per kind, per phase, per source, the latency histogram). */
import { GuestCounter, LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import type { VariantTotals } from '../results/types.js';
import { HaltPollStat, type TotalsAccumulator } from './totals.js';

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
