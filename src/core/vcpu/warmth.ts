/**
 * Warm exits (issue #14, docs/MODEL.md section 5, docs/research/halt-and-exit-cost.md section 11).
 *
 * An exit's in-the-field part (cost-model.yaml fieldNs: what a real host spends beyond the hot
 * microbenchmark's transition + handler) is mostly the refill of the exit path's code and data, and
 * the host's, after the guest ran: the longer since the vCPU's previous exit, the more of it the guest
 * (or a C-state) evicted. The rule tested: an exit `dt` ns after the same vCPU's previous one pays
 *
 *   transition + handler + field x (1 - exp(-dt / tau))
 *
 * with one time constant `tau` per hypervisor (cost-model.yaml exitWarmthTauNs; 0: always cold, the
 * model before this rule). A halt is time without exits, so the first exit after a long halt is cold.
 *
 * The cost table (exitCostTable, src/model/data.ts) carries what the rule needs after its per-slot
 * costs: the field part of each slot, then tau (COST_FIELD, COST_TAU). A table of EXIT_SLOT_COUNT words
 * (a machine built without one, tests) has no warmth.
 */
import { EXIT_SLOT_COUNT } from './exits.js';

/** Layout of an exit-cost table: [cost per slot | field part per slot | tau]. First field-part word. */
export const COST_FIELD = EXIT_SLOT_COUNT;
/** The word holding the warmth time constant, ns (0: none). */
export const COST_TAU = 2 * EXIT_SLOT_COUNT;
/** Words of an exit-cost table with warmth. */
export const COST_WORDS = 2 * EXIT_SLOT_COUNT + 1;

const LN2 = 0.6931471805599453;

/**
 * exp(-x) for x >= 0 from basic IEEE arithmetic only (as prng.ts detLog: a cost must be the same
 * bits on every engine): x = k ln2 + r with 0 <= r < ln2, exp(-r) by its Taylor series (27 terms
 * reach double precision for r < ln2), then k exact halvings. 0 beyond x = 745 (below the smallest
 * double).
 */
export function detExpNeg(x: number): number {
  if (!(x > 0)) return 1;
  if (x > 745) return 0;
  const k = Math.floor(x / LN2);
  const r = x - k * LN2;
  let term = 1;
  let sum = 1;
  for (let n = 1; n <= 27; n++) {
    term *= -r / n;
    sum += term;
  }
  for (let i = 0; i < k; i++) sum *= 0.5;
  return sum;
}

/**
 * Host ns the field part `fieldNs` of `count` exits saves because the exit path is still warm: the
 * first `dtFirstNs` after the vCPU's previous exit, the others `gapNs` apart. An integer (costs are
 * integer ns, so totals stay exact sums).
 */
export function warmSavingNs(fieldNs: number, count: number, dtFirstNs: number, gapNs: number, tauNs: number): number {
  if (fieldNs <= 0) return 0;
  const first = detExpNeg(dtFirstNs / tauNs);
  const rest = count > 1 ? (count - 1) * detExpNeg(gapNs / tauNs) : 0;
  return Math.round(fieldNs * (first + rest));
}

/**
 * Host ns of `count` exits of vCPU `v` in `slot` at `nowNs`, each at `unitCostNs` cold, from the
 * cost table `table` (its field parts and tau) and each vCPU's last exit time `lastExitNs` (updated).
 * The warm-able part of the unit cost is what it holds above the slot's transition + handler (an
 * x2APIC write's short field part included). `gapNs` > 0: the exits are a bulk spread evenly since
 * the vCPU's previous exit (Machine.repeat), every one `gapNs` after the one before; else one instant.
 * Without tau (a short table, or 0) the cold cost, exactly as before the rule.
 */
export function warmCostNs(
  table: Float64Array,
  lastExitNs: Float64Array,
  v: number,
  slot: number,
  count: number,
  unitCostNs: number,
  nowNs: number,
  gapNs: number,
): number {
  const cost = unitCostNs * count;
  if (table.length !== COST_WORDS || !(table[COST_TAU] > 0)) return cost;
  const dt = gapNs > 0 ? gapNs : nowNs - lastExitNs[v];
  lastExitNs[v] = nowNs;
  const field = Math.max(0, unitCostNs - (table[slot] - table[COST_FIELD + slot]));
  return cost - warmSavingNs(field, count, dt, dt, table[COST_TAU]);
}

/** The mean gap of a bulk of `count` exits spread evenly from vCPU `v`'s previous exit to `nowNs`. */
export function bulkGapNs(lastExitNs: Float64Array, v: number, nowNs: number, count: number): number {
  return (nowNs - lastExitNs[v]) / count;
}
