/**
 * Running the validation corpus: each case's scenario through runScenario (its own seed, so the
 * result is the same on any machine), then the comparisons (src/validation/compare.ts).
 */
import { runScenario } from '../run/runScenario.js';
import type { ModelData } from '../model/data.js';
import { compareCase, type CaseResult } from './compare.js';
import type { BeforeValues } from './load.js';
import type { ValidationCase } from './types.js';

export interface RunCorpusOptions {
  readonly data?: ModelData;
  readonly before?: BeforeValues;
  /** Called after each case with its wall time (ms), for progress and the runtime report. */
  readonly onCase?: (result: CaseResult, wallMs: number) => void;
}

export function runCase(vc: ValidationCase, options: RunCorpusOptions = {}): CaseResult {
  const run = runScenario(vc.scenario, options.data !== undefined ? { data: options.data } : {});
  return compareCase(vc, run.results, options.before);
}

export function runCorpus(cases: readonly ValidationCase[], options: RunCorpusOptions = {}): CaseResult[] {
  return cases.map((vc) => {
    const t0 = performance.now();
    const r = runCase(vc, options);
    options.onCase?.(r, performance.now() - t0);
    return r;
  });
}

/** Case selection for --case (exact id, or a glob with *), --exclude-fitted. */
export function selectCases(
  cases: readonly ValidationCase[],
  patterns: readonly string[],
  includeFitted: boolean,
): ValidationCase[] {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return cases.filter((c) => (includeFitted || !c.fitted) && (res.length === 0 || res.some((re) => re.test(c.id))));
}

/** The before-values of a run, in the shape of data/validation/before.json's "values". */
export function beforeValuesOf(results: readonly CaseResult[]): Record<string, Record<string, number | null>> {
  const out: Record<string, Record<string, number | null>> = {};
  for (const c of results) {
    out[c.id] = {};
    for (const r of c.rows) out[c.id][r.key] = r.model === null ? null : Number(r.model.toPrecision(6));
  }
  return out;
}
