/**
 * The scenario's `duration` (a fixed simulated time, or `until-complete`: every work-bound phase
 * done) and `maxDuration` (the cap of an until-complete run; refused with a fixed duration, where it
 * would be ignored). Defaults and the 30-day bound: limits.ts.
 */
import { didYouMean } from '../input/diagnostics.js';
import type { Fields, Reader, Val } from '../input/reader.js';
import { DEFAULT_DURATION_NS, DEFAULT_MAX_DURATION_NS, MAX_DURATION_NS } from './limits.js';
import type { Scenario } from './types.js';

/** Reads `duration` and `maxDuration` from the scenario's fields; undefined when either is invalid. */
export function parseDuration(r: Reader, f: Fields): { value: Scenario['duration']; field: Val } | undefined {
  const df = f.get('duration');
  const mf = f.get('maxDuration');
  const max = '30 days';
  let untilComplete = false;
  let ns: number | undefined = DEFAULT_DURATION_NS;
  if (df !== undefined) {
    const s = r.scalar(df);
    if (s !== undefined && s.value === 'until-complete') untilComplete = true;
    else {
      const str = s !== undefined && typeof s.value === 'string' ? s.value : undefined;
      // A word, not a duration: until_complete, untilComplete, "until complete", forever ...
      if (str !== undefined && !/[0-9]/.test(str)) {
        r.error(
          df,
          `invalid duration for duration: "${str}"${didYouMean(str, ['until-complete'])}`,
          'a duration such as "60s" or until-complete',
        );
        ns = undefined;
      } else ns = r.duration(df, 'duration', 1, MAX_DURATION_NS, max);
    }
  }
  let maxNs: number | undefined = DEFAULT_MAX_DURATION_NS;
  // With a duration that is itself wrong (until_complete) the maxDuration error would be noise.
  if (mf !== undefined && df !== undefined && !untilComplete && ns === undefined) maxNs = undefined;
  else if (mf !== undefined) {
    if (!untilComplete) {
      r.error(
        mf.key,
        'maxDuration only applies with duration: until-complete',
        'duration: until-complete, or no maxDuration',
      );
      maxNs = undefined;
    } else maxNs = r.duration(mf, 'maxDuration', 1, MAX_DURATION_NS, max);
  }
  const field: Val = df ?? { node: f.map };
  if (untilComplete) return maxNs === undefined ? undefined : { value: { kind: 'until-complete', maxNs }, field };
  return ns === undefined ? undefined : { value: { kind: 'fixed', ns }, field };
}
