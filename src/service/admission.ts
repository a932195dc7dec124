/**
 * Admission of a run (docs/SERVICE.md, "Queue"): the scenario a request names or posts, read and
 * validated (`resolveScenario`); the refusals before a run is queued (a service shutting down 503,
 * a full queue 429, over the caps 422: src/service/caps.ts); the scenario with the options the run
 * takes (`admittedRun`, src/service/runRequest.ts); and what an admitted run is made of, its history
 * record and its queue entry (`createRun`), for posted runs and the continuous default alike.
 */
import { randomUUID } from 'node:crypto';
import type { Scenario } from '../scenario/types.js';
import type { HistoryStore } from '../history/store.js';
import { seriesLabel, type Lane, type RunSource } from '../history/records.js';
import { planTasks } from '../pool/tasks.js';
import { checkCaps, type CapsContext } from './caps.js';
import { ApiError } from './errors.js';
import type { QueuedRun } from './queue.js';
import { takenOptions, type ScenarioDefaults, type SubmitRequest, type TakenOptions } from './runRequest.js';
import { parseOrThrow, type LoadedScenario, type ScenarioCatalog } from './scenarios.js';
import type { ScenarioValidator } from './scenarioValidator.js';

/** Resolve the request's scenario: a name of scenarios/, or inline YAML (diagnostics name it request.yaml). */
export async function resolveScenario(
  req: SubmitRequest,
  catalog: ScenarioCatalog,
  validator: ScenarioValidator | undefined,
): Promise<LoadedScenario> {
  if (req.name !== undefined && req.yaml !== undefined)
    throw new ApiError(400, 'bad_request', 'give either a scenario name or scenario YAML, not both');
  if (req.name !== undefined) return catalog.load(req.name);
  if (req.yaml === undefined || req.yaml.trim() === '')
    throw new ApiError(
      400,
      'bad_request',
      'no scenario: post scenario YAML, or JSON {"scenario": "NAME"} with the name of one in scenarios/',
    );
  const file = req.file ?? 'request.yaml';
  const scenario = validator
    ? await validator.validate(req.yaml, file)
    : parseOrThrow(req.yaml, file, { workloadBaseDir: null });
  return { scenario, yaml: req.yaml };
}

export function refuseWhileDraining(draining: boolean): void {
  if (draining)
    throw new ApiError(503, 'shutting_down', 'the service is shutting down', { headers: { 'Retry-After': '5' } });
}

/** `queued`: runs waiting in every lane; `maxQueued`: --max-queued. */
export function refuseWhenQueueFull(queued: number, maxQueued: number): void {
  if (queued >= maxQueued)
    throw new ApiError(
      429,
      'too_many_runs',
      `${queued} runs are waiting in the queue; this service queues at most ${maxQueued} (--max-queued)`,
      { headers: { 'Retry-After': '10' } },
    );
}

/** The caps' figures of an admitted scenario (checkCaps). */
export type CapsFigures = ReturnType<typeof checkCaps>;

/**
 * A posted run as it will run: the scenario with the options it takes (takenOptions), held to the
 * caps (422 over them), and the defaults its scenario gave those options.
 */
export function admittedRun(
  req: SubmitRequest,
  loaded: LoadedScenario,
  maxRunSeconds: number,
  caps: CapsContext,
): { scenario: Scenario; defaults: ScenarioDefaults; options: TakenOptions; figures: CapsFigures } {
  const defaults: ScenarioDefaults = { seed: loaded.scenario.seed, pace: loaded.scenario.pace };
  const options = takenOptions(req, defaults, maxRunSeconds);
  const { pace, seed } = options;
  let scenario: Scenario = loaded.scenario;
  if (seed !== scenario.seed || pace !== scenario.pace) scenario = { ...scenario, seed, pace };
  const figures = checkCaps(scenario, caps);
  if (req.timeLimitSeconds !== undefined && !(req.timeLimitSeconds > 0))
    throw new ApiError(400, 'bad_request', 'timeLimitSeconds must be a positive number');
  return { scenario, defaults, options, figures };
}

/** What a new run's record and queue entry are made of, besides its scenario. */
export interface NewRun extends CapsFigures {
  readonly pace: 'max' | 'realtime';
  readonly lane: Lane;
  readonly timeLimitSeconds: number;
  readonly continuous?: boolean;
}

/** A history record (state queued) and the queue entry of a run. */
export function createRun(
  history: HistoryStore,
  workers: number,
  scenario: Scenario,
  loaded: LoadedScenario,
  o: NewRun,
): QueuedRun {
  const id = randomUUID();
  const source: RunSource = loaded.name !== undefined ? { kind: 'name', name: loaded.name } : { kind: 'inline' };
  const label = seriesLabel(source, scenario.name, loaded.yaml);
  history.create({
    id,
    scenario: scenario.name,
    source,
    createdAt: new Date().toISOString(),
    options: {
      pace: o.pace,
      seed: scenario.seed,
      workers,
      timeLimitSeconds: o.timeLimitSeconds,
      lane: o.lane,
      predictedCoreSeconds: Math.round(o.cost * 1000) / 1000,
    },
    guests: o.guests,
    variants: scenario.variants.map((v) => v.name),
    yaml: loaded.yaml,
    seriesLabel: label,
    continuous: o.continuous,
  });
  const tasks = planTasks(scenario, { workers, pace: o.pace }).length;
  return {
    id,
    scenario,
    label,
    lane: o.lane,
    pace: o.pace,
    timeLimitSeconds: o.timeLimitSeconds,
    tasks,
    series: o.series,
  };
}
