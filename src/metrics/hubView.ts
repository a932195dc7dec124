/** What one scrape of the hub sees, and how a run's parts add into it: variant totals, run-scoped figures, per-guest series. */
import type { Scenario } from '../scenario/types.js';
import type { TotalsAccumulator } from '../run/totals.js';
import type { LivePart, LiveRun } from '../run/liveRun.js';
import { SeriesTotals, type Labels, type RunScoped, type VariantSeries } from './series.js';
import { clientLabel } from './thresholdLabel.js';

export interface GuestSeries {
  readonly labels: Labels;
  readonly exits: Map<string, number>;
  cr8: number;
  delivered: number;
  cpuSeconds: number;
}

/** A live run as the hub holds it, from addRun to finishRun. */
export interface HubRun {
  readonly id: string;
  readonly label: string;
  readonly scenario: Scenario;
  readonly run: LiveRun;
  /** Variant series of each variant index. */
  readonly series: readonly VariantSeries[];
  /** Guests per host by OS, of each variant index. */
  readonly guestsByOs: readonly ReadonlyMap<string, number>[];
}

export interface VariantView {
  readonly s: VariantSeries;
  readonly t: SeriesTotals;
  readonly runningByOs: Map<string, number>;
  /** The latest live run of the variant, else its latest finished run. */
  run: RunScoped | undefined;
}

/** What one scrape sees: computed once per scrape, read by every metric's collect. */
export interface MetricsView {
  readonly variants: readonly VariantView[];
  readonly guests: readonly GuestSeries[];
}

export function runScoped(l: HubRun, t: SeriesTotals): RunScoped {
  return {
    simNs: t.simNs,
    violations: t.violations,
    phaseUnfinished: t.counts.phaseUnfinished,
    exemplars: t.counts.latencyExemplars,
    seed: l.scenario.seed,
    pace: l.run.pace,
    startedAtMs: l.run.startedAtMs,
  };
}

export function runTotals(l: HubRun, parts: readonly LivePart[]): SeriesTotals[] {
  const per = l.series.map(() => new SeriesTotals());
  const sim = l.series.map(() => 0);
  for (const p of parts) {
    if (!p.totals) continue;
    const vi = p.variantIndex;
    per[vi].add(p.totals);
    sim[vi] = Math.max(sim[vi], p.totals.maxSimNs);
  }
  per.forEach((p, vi) => {
    p.simNs = sim[vi];
  });
  return per;
}

export function guestOf(labels: Labels, g: NonNullable<TotalsAccumulator['perGuest']>[number]): GuestSeries {
  return {
    // The guest's name is the client's text (clientLabel: bounded).
    labels: { ...labels, host: String(g.host), guest: clientLabel(g.guest), os: g.os },
    exits: new Map(Object.entries(g.exits)),
    cr8: g.cr8Accesses,
    delivered: g.interruptsDelivered,
    cpuSeconds: g.guestCpuSeconds,
  };
}

export function* runGuests(l: HubRun, parts: readonly LivePart[]): Generator<GuestSeries> {
  for (const p of parts) {
    for (const g of p.totals?.perGuest ?? []) yield guestOf(l.series[p.variantIndex].labels, g);
  }
}

export function addGuest(into: Map<string, GuestSeries>, g: GuestSeries): void {
  const l = g.labels;
  const key = `${l.scenario}\u0000${l.variant}\u0000${l.cpu}\u0000${l.policy}\u0000${l.host}\u0000${l.guest}`;
  const s = into.get(key);
  if (!s) {
    into.set(key, {
      labels: g.labels,
      exits: new Map(g.exits),
      cr8: g.cr8,
      delivered: g.delivered,
      cpuSeconds: g.cpuSeconds,
    });
    return;
  }
  for (const [r, n] of g.exits) s.exits.set(r, (s.exits.get(r) ?? 0) + n);
  s.cr8 += g.cr8;
  s.delivered += g.delivered;
  s.cpuSeconds += g.cpuSeconds;
}
