/** A shard's `raw` checked before merge takes it: every count an integer of the engine's shape. */
import { HaltPollStat, TotalsAccumulator } from './totals.js';

/**
 * Why `raw` is not a RawTotals that fromJSON can take, or undefined (merge checks each shard's). Shard files come from other
 * machines (CI artifacts); a damaged one (`"exits": "x"`, a short array, a negative count, 1e308
 * guests) was merged silently into wrong results, or failed with JavaScript's words ("Cannot
 * convert undefined or null to object"). Checked: every counter array has the engine's length and
 * holds non-negative integers, every scalar is one, the record lists are lists.
 */
export function rawTotalsProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'raw is not an object';
  const r = raw as Record<string, unknown>;
  const shape = new TotalsAccumulator();
  const count = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const counts = (name: string, v: unknown, length: number): string | undefined => {
    if (!Array.isArray(v)) return `raw.${name} is not a list (expected ${length} non-negative integers)`;
    if (v.length !== length) return `raw.${name} has ${v.length} entries (expected ${length})`;
    const bad = v.findIndex((x) => !count(x));
    return bad < 0 ? undefined : `raw.${name}[${bad}] is ${JSON.stringify(v[bad])} (expected a non-negative integer)`;
  };
  const arrays: [string, number][] = [
    ['exits', shape.exits.length],
    ['exitHostNs', shape.exitHostNs.length],
    ['machineCounters', shape.machineCounters.length],
    ['guestCounters', shape.guestCounters.length],
    ['latency', shape.latency.length],
    ['phaseSumNs', shape.phaseSumNs.length],
    ['phaseCount', shape.phaseCount.length],
  ];
  for (const [name, length] of arrays) {
    const p = counts(name, r[name], length);
    if (p !== undefined) return p;
  }
  if (r.wideHi !== undefined) {
    // A shard written before the halt-poll statistics has one high limb fewer (fromJSON takes it).
    const old = Array.isArray(r.wideHi) && r.wideHi.length === shape.wideHi.length - 1;
    const p = counts('wideHi', r.wideHi, shape.wideHi.length - (old ? 1 : 0));
    if (p !== undefined) return p;
  }
  if (r.phaseUnfinished !== undefined) {
    const p = counts('phaseUnfinished', r.phaseUnfinished, shape.phaseUnfinished.length);
    if (p !== undefined) return p;
  }
  if (r.haltPoll !== undefined) {
    const p = counts('haltPoll', r.haltPoll, HaltPollStat.COUNT);
    if (p !== undefined) return p;
  }
  if (r.exitsByOs !== undefined) {
    if (typeof r.exitsByOs !== 'object' || r.exitsByOs === null || Array.isArray(r.exitsByOs))
      return 'raw.exitsByOs is not an object (expected exits per slot by guest OS)';
    for (const [os, v] of Object.entries(r.exitsByOs)) {
      const p = counts(`exitsByOs.${os}`, v, shape.exits.length);
      if (p !== undefined) return p;
    }
  }
  for (const name of ['latencySumNs', 'latencyCount', 'maxSimNs', 'guestNs', 'vcpuNs', 'guests', 'vcpus', 'events'])
    if (!count(r[name])) return `raw.${name} is ${JSON.stringify(r[name])} (expected a non-negative integer)`;
  for (const name of ['violations', 'entryFailures'])
    if (!Array.isArray(r[name]) || (r[name] as unknown[]).some((x) => typeof x !== 'object' || x === null))
      return `raw.${name} is not a list of records`;
  return undefined;
}
