import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import { GuestCounter, LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { VIOLATION_CHECKS } from '../scenario/thresholds.js';
import { formatSeconds } from '../input/units.js';
import type { MetricsHub } from './hub.js';
import type { GuestSeries, VariantView } from './hubView.js';
import type { Labels, Sample, SeriesTotals } from './series.js';
import { carriesReason } from './cardinality.js';
import { hypervisorOf, type PolicyName } from '../core/hypervisor/policy.js';
import { HaltPollStat } from '../run/totals.js';

/**
 * The samples of the per-variant and per-guest metrics (src/metrics/catalogue.ts names them), read
 * from one scrape's view of the hub (MetricsHub.current()).
 */

/**
 * A variant's series' label sets, the same frozen object scrape after scrape (dropped with the
 * variant's own labels). Each sample also gives it as prom-client's `sharedLabels`, as prom-client's
 * Histogram does with a series' labels: the registry formats and escapes a shared set once and
 * takes the text from its cache (a WeakMap by object, registry.js flattenSharedLabels) at every
 * later scrape. At the 20,000-series ceiling, spreading and escaping every sample's labels anew was
 * most of a render's own work (docs/SERVICE.md, Hostile input).
 */
const LABEL_SETS = new WeakMap<Labels, Map<string, Labels>>();

/** `base` with the labels of `pairs` (name, value, name, value...) after it, in that order. */
function labelsOf(base: Labels, ...pairs: string[]): Labels {
  let sets = LABEL_SETS.get(base);
  if (sets === undefined) LABEL_SETS.set(base, (sets = new Map<string, Labels>()));
  const key = pairs.join('\u0000');
  let labels = sets.get(key);
  if (labels === undefined) {
    const l: Labels = { ...base };
    for (let i = 0; i < pairs.length; i += 2) l[pairs[i]] = pairs[i + 1];
    sets.set(key, (labels = Object.freeze(l)));
  }
  return labels;
}

/** A sample whose label set prom-client may cache: `labels` must not change afterwards. */
function sample(labels: Labels, value: number): Sample {
  return { labels, sharedLabels: labels, value };
}

export function scenarioInfo(hub: MetricsHub): Sample[] {
  return hub.current().variants.map(({ s }) => sample(s.info, 1));
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
          if (k.vendor !== s.vendor || (!carriesReason(k, s.reasons) && value === 0)) continue;
          out.push(sample(labelsOf(s.labels, 'os', os, 'reason', k.name), value));
        }
      }
      continue;
    }
    for (const k of EXIT_KINDS) {
      if (k.vendor !== s.vendor || (!carriesReason(k, s.reasons) && t.counts.exitHostNsOf(k.slot) === 0)) continue;
      out.push(sample(labelsOf(s.labels, 'reason', k.name), t.counts.exitHostNsOf(k.slot) / 1e9));
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
      out.push(sample(labelsOf(s.labels, 'source', source, 'outcome', outcome), t.counts.guestCounterOf(c)));
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
    for (const [name, c] of cols) out.push(sample(labelsOf(s.labels, label, name), t.counts.machineCounters[c]));
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
        ...sample(labelsOf(s.labels, 'le', String(b / 1e9)), cum),
        metricName: `${name}_bucket`,
        ...exemplarOf(hub, e, i),
      });
    });
    cum += t.counts.latency[LATENCY_BOUNDS_NS.length];
    out.push({
      ...sample(labelsOf(s.labels, 'le', '+Inf'), cum),
      metricName: `${name}_bucket`,
      ...exemplarOf(hub, e, LATENCY_BOUNDS_NS.length),
    });
    out.push({ ...sample(s.labels, t.counts.latencyNs / 1e9), metricName: `${name}_sum` });
    out.push({ ...sample(s.labels, t.counts.latencyCount), metricName: `${name}_count` });
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
  return hub.current().variants.map(({ s, t }) => sample(s.labels, f(t)));
}

/** Work-bound phases: guests that completed them, and their completion times summed (mean = ratio). */
export function phases(hub: MetricsHub, which: 'count' | 'seconds'): Sample[] {
  const out: Sample[] = [];
  for (const { s, t } of hub.current().variants) {
    PHASE_ORDER.forEach((phase, i) => {
      out.push(
        sample(
          labelsOf(s.labels, 'phase', phase),
          which === 'count' ? t.counts.phaseCount[i] : t.counts.phaseNsOf(i) / 1e9,
        ),
      );
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

/**
 * KVM's halt-poll statistics (results.json totals.haltPoll; kvm_main.c kvm_vcpu_block's vcpu->stat,
 * core/hypervisor/haltPoll.ts), on KVM variants only and from the first scrape (bhyve never polls):
 * polls by outcome - `successful` is halt_successful_poll, `successful` + `failed` halt_attempted_poll -
 * halt_wakeup, and the polled seconds.
 */
function perKvmVariant(
  hub: MetricsHub,
  f: (s: VariantView['s'], h: Float64Array | undefined, t: SeriesTotals) => void,
): void {
  for (const { s, t } of hub.current().variants)
    if (hypervisorOf(s.labels.policy as PolicyName) === 'kvm') f(s, t.counts.haltPoll, t);
}

export function haltPolls(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  perKvmVariant(hub, (s, h) => {
    const attempted = h ? h[HaltPollStat.ATTEMPTED] : 0;
    const successful = h ? h[HaltPollStat.SUCCESSFUL] : 0;
    out.push(sample(labelsOf(s.labels, 'outcome', 'successful'), successful));
    out.push(sample(labelsOf(s.labels, 'outcome', 'failed'), attempted - successful));
  });
  return out;
}

export function haltWakeups(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  perKvmVariant(hub, (s, h) => out.push(sample(s.labels, h ? h[HaltPollStat.WAKEUP] : 0)));
  return out;
}

export function haltPollSeconds(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  perKvmVariant(hub, (s, _h, t) => out.push(sample(s.labels, t.counts.haltPollNs / 1e9)));
  return out;
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
    for (const check of checks) out.push(sample(labelsOf(s.labels, 'check', check), t.violations.get(check) ?? 0));
  }
  return out;
}

export function runningGuests(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const { s, runningByOs } of hub.current().variants)
    for (const [os, n] of runningByOs) out.push(sample(labelsOf(s.labels, 'os', os), n));
  return out;
}

export function vcpuSimulatedSeconds(hub: MetricsHub): Sample[] {
  return perVariant(hub, (t) => t.counts.vcpuNsTotal / 1e9);
}

/** Simulated seconds of the variant's latest run (the live one while one runs). */
export function runSimulatedSeconds(hub: MetricsHub): Sample[] {
  return hub.current().variants.map(({ s, run }) => sample(s.labels, (run?.simNs ?? 0) / 1e9));
}

/**
 * Guests of the variant's latest run that had not finished a work-bound phase (the live run's so far:
 * those not finished yet), for each phase the variant's guests have bound by work, at 0 from the first
 * scrape: results.json totals.phaseUnfinished once the run ended.
 */
export function runPhaseUnfinished(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const { s, run } of hub.current().variants)
    for (const phase of s.workPhases)
      out.push(
        sample(
          labelsOf(s.labels, 'phase', phase),
          run?.phaseUnfinished[(PHASE_ORDER as readonly string[]).indexOf(phase)] ?? 0,
        ),
      );
  return out;
}

/** The latest run's violations by check, every check pre-created; `expected` as the scenario says. */
export function runViolations(hub: MetricsHub): Sample[] {
  const out: Sample[] = [];
  for (const { s, run } of hub.current().variants) {
    const checks = new Set<string>([...VIOLATION_CHECKS, ...(run?.violations.keys() ?? [])]);
    for (const check of checks)
      out.push(
        sample(
          labelsOf(s.labels, 'check', check, 'expected', String(s.expected.has(check))),
          run?.violations.get(check) ?? 0,
        ),
      );
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
