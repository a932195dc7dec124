import type { VariantTotals } from './types.js';

/**
 * A work-bound phase some guests had not finished when the run ended (results.json
 * totals.phaseUnfinished, docs/RESULTS.md): its mean covers only the guests that got through, so it
 * is no figure of the phase. The one home of how many there were and of the sentence that says so:
 * a threshold on the phase's time fails with it as its "no data" (thresholds.ts), validate-model
 * gives it as the row's note (src/validation/compare.ts).
 */

/** Guests that had not finished `phase` when the run ended; 0 when every guest had (or no phase is named). */
export function phaseUnfinishedOf(t: Pick<VariantTotals, 'phaseUnfinished'>, phase: string | undefined): number {
  return phase === undefined ? 0 : (t.phaseUnfinished?.[phase] ?? 0);
}

/**
 * "1 guest had not finished phase install when the run ended (its mean covers only those that
 * did)", or "(none did)" when `meanOfFinished` is false: no guest finished it, so there is no mean.
 */
export function unfinishedPhaseSentence(phase: string, unfinished: number, meanOfFinished: boolean): string {
  return `${unfinished} guest${unfinished === 1 ? '' : 's'} had not finished phase ${phase} when the run ended (${
    meanOfFinished ? 'its mean covers only those that did' : 'none did'
  })`;
}
