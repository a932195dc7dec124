import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import type { LiveVariantFigures } from '../history/records.js';
import type { LivePart } from '../run/liveRun.js';

/** How many exit reasons a running run's page lists per variant (the rest are in /metrics). */
export const LIVE_TOP_EXITS = 5;

/**
 * A running run's figures so far, per variant, from the same live totals /metrics reads
 * (src/metrics/hub.ts): exits, exits per guest-second as the finished run's summary defines it
 * (src/service/summary.ts: exits over simulated guest-seconds) and the leading exit reasons with
 * their share. Computed on request (GET /api/runs/{id}); never stored.
 */
export function liveFigures(variants: readonly string[], parts: readonly LivePart[]): LiveVariantFigures[] {
  const exits = variants.map(() => new Float64Array(EXIT_SLOT_COUNT));
  const guestNs = variants.map(() => 0);
  const simNs = variants.map(() => 0);
  for (const p of parts) {
    const t = p.totals;
    const vi = p.variantIndex;
    if (!t || vi < 0 || vi >= variants.length) continue;
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) exits[vi][s] += t.exits[s];
    guestNs[vi] += t.guestNsTotal;
    simNs[vi] = Math.max(simNs[vi], t.maxSimNs);
  }
  return variants.map((name, vi) => {
    const e = exits[vi];
    let total = 0;
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) total += e[s];
    const slots: number[] = [];
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) if (e[s] > 0) slots.push(s);
    // Most exits first; equal counts in slot order, so two polls of the same totals list alike.
    slots.sort((a, b) => e[b] - e[a] || a - b);
    return {
      name,
      simSeconds: simNs[vi] / 1e9,
      exitsTotal: total,
      exitsPerGuestSecond: guestNs[vi] > 0 ? total / (guestNs[vi] / 1e9) : 0,
      topExits: slots
        .slice(0, LIVE_TOP_EXITS)
        .map((s) => ({ reason: EXIT_KINDS[s].name, exits: e[s], share: total > 0 ? e[s] / total : 0 })),
    };
  });
}
