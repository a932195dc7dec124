import { evaluateThresholds } from '../results/thresholds.js';
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import { RESULTS_VERSION, type RunResults, type VariantResult } from '../results/types.js';
import { loadModelData, type ModelData } from '../model/data.js';
import { runHosts, type Progress } from './simulate.js';
import { runScriptedGuest } from './scriptedGuest.js';
import { TotalsAccumulator } from './totals.js';
import { finishTotals } from './finishTotals.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import type { TraceStep } from '../core/script/runScript.js';
import { TOOL_VERSION, MODEL_VERSION } from '../version.js';

export interface ScenarioProgress {
  readonly variant: string;
  readonly variantIndex: number;
  readonly variants: number;
  /** Simulated ns reached in the host being run. */
  readonly simNs: number;
  /** Simulated ns this variant can reach (duration or maxDuration). */
  readonly limitNs: number;
  readonly hostsDone: number;
  readonly hostsTotal: number;
  /** until-complete: the hosts' fixed work done, summed over hosts (simulate.ts Progress.workDone). */
  readonly workDone?: number;
}

export interface ShardSpec {
  /** 1-based shard number, as on the command line (`--shard 2/4`). */
  readonly index: number;
  readonly count: number;
}

export interface RunScenarioOptions {
  readonly data?: ModelData;
  readonly shard?: ShardSpec;
  readonly onProgress?: (p: ScenarioProgress) => void;
  /** Polled before each host's simulated second and at its end; true stops the run (results so far are kept). */
  readonly shouldStop?: () => boolean;
  /** Also report totals per guest (results.json variants[].perGuest). */
  readonly perGuest?: boolean;
  /**
   * Called once per simulated second of each variant with the variant's absolute totals so far
   * (the OpenMetrics history, src/metrics/openmetrics.ts). Scripted guests are not in these.
   */
  readonly onSnapshot?: (variantIndex: number, progress: Progress, snapshot: () => TotalsAccumulator) => void;
}

export interface ScenarioRun {
  readonly results: RunResults;
  /** Accumulators per variant, for merging shards exactly. */
  readonly accumulators: readonly TotalsAccumulator[];
  /** Scripted guests' step records, per variant and guest (trace output). */
  readonly traces: readonly {
    readonly variant: string;
    readonly guest: string;
    readonly steps: readonly TraceStep[];
  }[];
  readonly stopped: boolean;
}

/** Hosts [start, end) of `count` hosts that shard `index` of `of` owns: contiguous, balanced, deterministic. */
export function shardRange(count: number, shard: ShardSpec | undefined): [number, number] {
  if (!shard) return [0, count];
  const i = shard.index - 1;
  return [Math.floor((count * i) / shard.count), Math.floor((count * (i + 1)) / shard.count)];
}

/**
 * Run every variant of a scenario in this thread (the worker pool splits the same host ranges
 * across threads; see src/pool). Pure apart from the clock read for wallSeconds.
 */
export function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): ScenarioRun {
  const data = options.data ?? loadModelData();
  const started = new Date();
  const t0 = performance.now();
  const accumulators: TotalsAccumulator[] = [];
  const traces: { variant: string; guest: string; steps: readonly TraceStep[] }[] = [];
  let stopped = false;
  const limitNs = durationLimitNs(scenario);
  scenario.variants.forEach((variant, vi) => {
    const acc = new TotalsAccumulator(options.perGuest === true);
    accumulators.push(acc);
    if (stopped) return;
    const [start, end] = shardRange(variant.host.count, options.shard);
    const ok = runHosts(scenario, variant, data, start, end, acc, {
      ...(options.shouldStop !== undefined ? { stopRequested: options.shouldStop } : {}),
      onEpoch: (p, snapshot) => {
        options.onSnapshot?.(vi, p, snapshot);
        options.onProgress?.({
          variant: variant.name,
          variantIndex: vi,
          variants: scenario.variants.length,
          simNs: p.simNs,
          limitNs,
          hostsDone: p.hostsDone,
          hostsTotal: p.hostsTotal,
          ...(p.workDone !== undefined ? { workDone: p.workDone } : {}),
        });
        return options.shouldStop?.() === true;
      },
    });
    if (!ok) stopped = true;
    // Scripted guests are unit scenarios, not load: they belong to the first shard only.
    if (!options.shard || options.shard.index === 1) {
      for (const g of variant.guests) {
        if (g.kind === 'scripted')
          traces.push({ variant: variant.name, guest: g.name, steps: runScriptedGuest(variant, g, acc) });
      }
    }
    options.onProgress?.({
      variant: variant.name,
      variantIndex: vi,
      variants: scenario.variants.length,
      simNs: limitNs,
      limitNs,
      hostsDone: end - start,
      hostsTotal: end - start,
    });
  });
  const results = assembleResults(scenario, accumulators, {
    startedAt: started.toISOString(),
    wallSeconds: (performance.now() - t0) / 1000,
    shard: options.shard,
  });
  return { results, accumulators, traces, stopped };
}

/** Build results.json from per-variant accumulators (also used after merging shards). */
export function assembleResults(
  scenario: Scenario,
  accumulators: readonly TotalsAccumulator[],
  meta: { readonly startedAt: string; readonly wallSeconds: number; readonly shard?: ShardSpec },
): RunResults {
  const totals = scenario.variants.map((v, i) => ({
    name: v.name,
    totals: finishTotals(accumulators[i], scenario.expectViolations),
  }));
  const evaluated = evaluateThresholds(scenario, totals);
  const variants: VariantResult[] = scenario.variants.map((v, i) => ({
    name: v.name,
    params: v.params,
    host: {
      cpu: v.host.cpu.id,
      cores: v.host.cores,
      count: v.host.count,
      ...(v.host.os !== undefined ? { os: v.host.os } : {}),
      ...(v.host.tickHz !== undefined ? { tickHz: v.host.tickHz } : {}),
    },
    policy: v.hypervisor.policy,
    tunables: v.hypervisor.tunables,
    totals: totals[i].totals,
    ...(accumulators[i].perGuest ? { perGuest: [...accumulators[i].perGuest].sort((a, b) => a.host - b.host) } : {}),
    ...seriesOf(accumulators[i]),
    thresholds: evaluated.perVariant.get(v.name) ?? [],
    ...(meta.shard ? { raw: accumulators[i].toJSON() } : {}),
  }));
  return {
    version: RESULTS_VERSION,
    tool: { name: 'vmexit-lab', version: TOOL_VERSION, modelVersion: MODEL_VERSION },
    scenario: scenario.name,
    file: scenario.file,
    seed: scenario.seed,
    ...(meta.shard ? { shard: { index: meta.shard.index, count: meta.shard.count } } : {}),
    variants,
    crossVariantThresholds: evaluated.crossVariant,
    startedAt: meta.startedAt,
    wallSeconds: meta.wallSeconds,
  };
}

function seriesOf(acc: TotalsAccumulator): { series?: VariantResult['series'] } {
  if (!acc.series || acc.seriesStepNs <= 0) return {};
  const buckets = acc.series.length / EXIT_SLOT_COUNT;
  // Trim trailing buckets no host reached (until-complete runs end before the cap).
  let used = 0;
  for (let b = 0; b < buckets; b++) {
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) if (acc.series[b * EXIT_SLOT_COUNT + s] !== 0) used = b + 1;
  }
  const exits: Record<string, number[]> = {};
  for (const k of EXIT_KINDS) {
    let any = false;
    const values: number[] = [];
    for (let b = 0; b < used; b++) {
      const x = acc.series[b * EXIT_SLOT_COUNT + k.slot];
      if (x !== 0) any = true;
      values.push(x);
    }
    if (any) exits[k.name] = values;
  }
  return { series: { stepSeconds: acc.seriesStepNs / 1e9, exits } };
}
