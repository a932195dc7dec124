import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import { GuestCounter, LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { VIOLATION_CHECKS } from '../scenario/thresholds.js';
import { formatSeconds } from '../input/units.js';
import type { GuestSeries, MetricsHub, VariantView } from './hub.js';
import type { Sample, SeriesTotals } from './series.js';

/**
 * The samples of the per-variant and per-guest metrics (src/metrics/registry.ts names them), read
 * from one scrape's view of the hub (MetricsHub.current()).
 */

export function scenarioInfo(hub: MetricsHub): Sample[] {
  return hub.current().variants.map(({ s }) => ({ labels: s.info, value: 1 }));
}

export function exits(hub: MetricsHub, which: 'count' | 'seconds'): Sample[] {
  const out: Sample[] = [];
  for (const { s, t } of hub.current().variants) {
    if (which === 'count') {
      // By guest OS too: every OS the variant ran exists from the first scrape (at 0).
      const oses = new Set([...s.oses, ...t.counts.exitsByOs.keys()]);
      for (const os of [...oses].sort()) {
        const e = t.counts.exitsByOs.get(os);
        for (const k of EXIT_KINDS) {
          const value = e ? e[k.slot] : 0;
          if (k.vendor !== s.vendor || (!k.modelled && !s.opaque && value === 0)) continue;
          out.push({ labels: { ...s.labels, os, reason: k.name }, value });
        }
      }
      continue;
    }
    for (const k of EXIT_KINDS) {
      if (k.vendor !== s.vendor || (!k.modelled && !s.opaque && t.counts.exitHostNsOf(k.slot) === 0)) continue;
      out.push({ labels: { ...s.labels, reason: k.name }, value: t.counts.exitHostNsOf(k.slot) / 1e9 });
    }
  }
  return out;
}

export function interrupts(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  const cols: [string, string, number][] = [
    ['timer', 'raised', GuestCounter.RAISED_TIMER],
    ['timer', 'delivered', GuestCounter.DELIVERED_TIMER],
    ['device', 'raised', GuestCounter.RAISED_DEVICE],
    ['device', 'delivered', GuestCounter.DELIVERED_DEVICE],
    ['ipi', 'raised', GuestCounter.RAISED_IPI],
    ['ipi', 'delivered', GuestCounter.DELIVERED_IPI],
  ];
  for (const { s, t } of hub.current().variants) {
    for (const [source, outcome, c] of cols)
      out.push({ labels: { ...s.labels, source, outcome }, value: t.counts.guestCounterOf(c) });
  }
  return out;
}

export function deliveryPaths(hub: MetricsHub): Sample[] {
  return machineCounters(hub, 'path', [
    ['injected', Counter.INJECTED],
    ['virtual', Counter.VIRTUAL_DELIVERED],
    ['posted', Counter.POSTED],
  ]);
}

export function tprAccesses(hub: MetricsHub): Sample[] {
  return machineCounters(hub, 'kind', [
    ['cr8_read', Counter.CR8_READS],
    ['cr8_write', Counter.CR8_WRITES],
    ['mmio_write', Counter.TPR_MMIO_WRITES],
    ['msr_write', Counter.TPR_MSR_WRITES],
  ]);
}

/** One series per variant and machine counter, the counter named by the label `label`. */
function machineCounters(hub: MetricsHub, label: string, cols: readonly (readonly [string, number])[]): Sample[] {
  const out: Sample[] = [];
  for (const { s, t } of hub.current().variants)
    for (const [name, c] of cols)
      out.push({ labels: { ...s.labels, [label]: name }, value: t.counts.machineCounters[c] });
  return out;
}

export function latency(hub: MetricsHub, name: string): Sample[] {
  const out: Sample[] = [];
  for (const e of hub.current().variants) {
    const { s, t } = e;
    let cum = 0;
    LATENCY_BOUNDS_NS.forEach((b, i) => {
      cum += t.counts.latency[i];
      out.push({
        metricName: `${name}_bucket`,
        labels: { ...s.labels, le: String(b / 1e9) },
        value: cum,
        ...exemplarOf(hub, e, i),
      });
    });
    cum += t.counts.latency[LATENCY_BOUNDS_NS.length];
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...s.labels, le: '+Inf' },
      value: cum,
      ...exemplarOf(hub, e, LATENCY_BOUNDS_NS.length),
    });
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: t.counts.latencyNs / 1e9 });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: t.counts.latencyCount });
  }
  return out;
}

/**
 * The bucket's replay handle as an OpenMetrics exemplar {seed, guest, sim_time} (docs/REPLAY.md),
 * from the variant's latest run (the live one while one runs): each run brings its own, so the
 * exemplars of a series stay current instead of keeping the first run's for ever. Its timestamp
 * is when the observation happened in wall time: at pace realtime the run's start plus the
 * simulated time; at pace max (simulated time runs ahead of the clock) when this process first
 * exposed it, so repeated scrapes carry the same one and a new representative gets a newer time.
 */
function exemplarOf(hub: MetricsHub, e: VariantView, bucket: number): { exemplar?: NonNullable<Sample['exemplar']> } {
  const r = e.run;
  if (r === undefined) return {};
  const ex = r.exemplars;
  if (ex.ns(bucket) < 0) return {};
  const labelSet = {
    seed: String(r.seed),
    guest: String(ex.guest(bucket)),
    sim_time: formatSeconds(ex.timeNs(bucket)),
  };
  const now = Date.now();
  if (r.pace === 'realtime')
    return {
      exemplar: {
        labelSet,
        value: ex.ns(bucket) / 1e9,
        timestamp: Math.min(now, r.startedAtMs + ex.timeNs(bucket) / 1e6) / 1000,
      },
    };
  const id = `${r.startedAtMs} ${labelSet.seed} ${labelSet.guest} ${ex.timeNs(bucket)} ${ex.ns(bucket)}`;
  const at = hub.exemplarFirstSeen(`${e.s.key}\u0000${bucket}`, id);
  return { exemplar: { labelSet, value: ex.ns(bucket) / 1e9, timestamp: at } };
}

function perVariant(hub: MetricsHub, f: (t: SeriesTotals) => number): Sample[] {
  return hub.current().variants.map(({ s, t }) => ({ labels: s.labels, value: f(t) }));
}

/** Work-bound phases: guests that completed them, and their completion times summed (mean = ratio). */
export function phases(hub: MetricsHub, which: 'count' | 'seconds'): Sample[] {
  const out: Sample[] = [];
  for (const { s, t } of hub.current().variants) {
    PHASE_ORDER.forEach((phase, i) => {
      out.push({
        labels: { ...s.labels, phase },
        value: which === 'count' ? t.counts.phaseCount[i] : t.counts.phaseNsOf(i) / 1e9,
      });
    });
  }
  return out;
}

export function guestCpuSeconds(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.counts.guestCounterOf(GuestCounter.GUEST_CPU_NS) / 1e9);
}

export function deviceModelSeconds(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.counts.guestCounterOf(GuestCounter.DEVICE_MODEL_NS) / 1e9);
}

export function guestSimulatedSeconds(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.counts.guestNsTotal / 1e9);
}

export function simulatedSeconds(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.simNs / 1e9);
}

export function events(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.counts.events);
}

export function entryFailures(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.entryFailures);
}

export function violations(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const { s, t } of hub.current().variants) {
    const checks = new Set<string>([...VIOLATION_CHECKS, ...t.violations.keys()]);
    for (const check of checks) out.push({ labels: { ...s.labels, check }, value: t.violations.get(check) ?? 0 });
  }
  return out;
}

export function runningGuests(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const { s, runningByOs } of hub.current().variants)
    for (const [os, n] of runningByOs) out.push({ labels: { ...s.labels, os }, value: n });
  return out;
}

export function vcpuSimulatedSeconds(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.counts.vcpuNsTotal / 1e9);
}

/** Simulated seconds of the variant's latest run (the live one while one runs). */
export function runSimulatedSeconds(hub: MetricsHub): Sample[] {
  return hub.current().variants.map(({ s, run }) => ({ labels: s.labels, value: (run?.simNs ?? 0) / 1e9 }));
}

/** The latest run's violations by check, every check pre-created; `expected` as the scenario says. */
export function runViolations(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const { s, run } of hub.current().variants) {
    const checks = new Set<string>([...VIOLATION_CHECKS, ...(run?.violations.keys() ?? [])]);
    for (const check of checks)
      out.push({
        labels: { ...s.labels, check, expected: String(s.expected.has(check)) },
        value: run?.violations.get(check) ?? 0,
      });
  }
  return out;
}

export function guestExits(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const g of hub.current().guests)
    for (const [reason, n] of g.exits) out.push({ labels: { ...g.labels, reason }, value: n });
  return out;
}

export function guestValue(hub: MetricsHub, f: (g: GuestSeries) => number): Sample[] {
  return hub.current().guests.map((g) => ({ labels: g.labels, value: f(g) }));
}
