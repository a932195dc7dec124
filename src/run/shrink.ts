import type { Scenario } from '../scenario/types.js';
import type { ModelData } from '../model/data.js';
import type { Reproducer, RunResults, ViolationRecord } from '../results/types.js';
import { formatSeconds } from '../input/units.js';
import { hostOfGuest, replay } from './replay.js';
import { hostGuests } from './simulate.js';

/**
 * Shrunk reproducers for invariant violations (property-testing style, docs/REPLAY.md).
 *
 * What is shrunk, and why it stays exact:
 * - the guests of the violating host: guests are removed while every remaining guest keeps its
 *   global index, so its random streams (seed, host, guest index, vCPU) are unchanged; only the
 *   competition for the host's cores changes, which is why a removal must be re-checked by running;
 * - the time: the host stops one nanosecond after the violation, and a smaller guest set may trip
 *   the same check earlier, which shortens the window further.
 * vCPU counts are not shrunk: a guest's IPIs pick targets among its vCPUs, so fewer vCPUs change
 * its random draws and the guest would no longer be the one that failed.
 *
 * A candidate reproduces when the same check trips on the same guest no later than the current
 * window. Removal follows delta debugging (ddmin: try dropping halves, then quarters, ...) with a
 * bounded number of runs; every step depends only on the inputs, so the result is deterministic.
 */

const DEFAULT_SHRINK_ATTEMPTS = 24;

interface ShrinkOptions {
  readonly maxAttempts?: number;
  /** The scenario file as the user gave it (for the command). */
  readonly file?: string;
  /** Whether the run used a --seed override (the command then repeats it). Default: always print it. */
  readonly printSeed?: boolean;
}

function shrinkViolation(
  scenario: Scenario,
  variantIndex: number,
  data: ModelData,
  violation: ViolationRecord,
  options: ShrinkOptions = {},
): Reproducer | undefined {
  const guest = violation.guestIndex;
  if (guest === undefined) return undefined;
  const maxAttempts = options.maxAttempts ?? DEFAULT_SHRINK_ATTEMPTS;
  const { host } = hostOfGuest(scenario, variantIndex, guest);
  if (host !== violation.host) return undefined;
  const all = hostGuests(scenario.variants[variantIndex], data, host).map((g) => g.index);
  let attempts = 0;
  let windowNs = violation.simTimeNs;

  /** Time of the same check on the same guest within the window with only `subset`, or undefined. */
  const trips = (subset: readonly number[]): number | undefined => {
    attempts++;
    const r = replay({ scenario, variantIndex, data, guest, atNs: windowNs, onlyGuests: subset, record: false });
    let best: number | undefined;
    for (const v of r.violations) {
      if (
        v.check === violation.check &&
        v.guest === guest &&
        v.simTimeNs <= windowNs &&
        (best === undefined || v.simTimeNs < best)
      )
        best = v.simTimeNs;
    }
    return best;
  };

  const full = trips(all);
  if (full === undefined) return undefined; // not reproducible alone (should not happen: hosts are independent)
  windowNs = full;
  let keep = all.filter((g) => g !== guest);
  // The boldest step first: the violating guest alone.
  if (keep.length > 0 && attempts < maxAttempts) {
    const at = trips([guest]);
    if (at !== undefined) {
      keep = [];
      windowNs = at;
    }
  }
  // Then ddmin over the other guests.
  let n = 2;
  while (keep.length > 1 && attempts < maxAttempts) {
    const chunk = Math.ceil(keep.length / n);
    let reduced = false;
    for (let start = 0; start < keep.length && attempts < maxAttempts; start += chunk) {
      const candidate = [...keep.slice(0, start), ...keep.slice(start + chunk)];
      const at = trips([...candidate, guest].sort((a, b) => a - b));
      if (at !== undefined) {
        keep = candidate;
        windowNs = at;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk <= 1) break;
      n = Math.min(keep.length, n * 2);
    }
  }
  const guests = [...keep, guest].sort((a, b) => a - b);
  const variant = scenario.variants[variantIndex];
  const parts = [
    'vmexit-lab replay',
    quote(options.file ?? scenario.file),
    '--variant',
    quote(variant.name),
    '--guest',
    String(guest),
    '--at',
    formatSeconds(windowNs),
    '--only-guests',
    guests.join(','),
  ];
  if (options.printSeed !== false) parts.push('--seed', String(scenario.seed));
  return { guests, untilNs: windowNs + 1, simTimeNs: windowNs, attempts, command: parts.join(' ') };
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Add a reproducer to the earliest violation of each (variant, check) of modelled guests (a fleet may
 * trip the same check on many hosts; one shrunk case per check is what a developer needs).
 * Expected violations get one too; they still do not fail the run.
 */
export function withReproducers(
  scenario: Scenario,
  results: RunResults,
  data: ModelData,
  options: ShrinkOptions = {},
): RunResults {
  const variants = results.variants.map((v) => {
    const vi = scenario.variants.findIndex((sv) => sv.name === v.name);
    if (vi < 0) return v;
    // Per check, the earliest violation (then the lowest guest index): the shortest window.
    const pick = new Map<string, ViolationRecord>();
    for (const viol of v.totals.violations) {
      if (viol.guestIndex === undefined) continue;
      const p = pick.get(viol.check);
      if (
        !p ||
        viol.simTimeNs < p.simTimeNs ||
        (viol.simTimeNs === p.simTimeNs && viol.guestIndex < (p.guestIndex ?? 0))
      )
        pick.set(viol.check, viol);
    }
    const violations = v.totals.violations.map((viol) => {
      if (pick.get(viol.check) !== viol) return viol;
      const reproducer = shrinkViolation(scenario, vi, data, viol, options);
      return reproducer ? { ...viol, reproducer } : viol;
    });
    return { ...v, totals: { ...v.totals, violations } };
  });
  return { ...results, variants };
}
