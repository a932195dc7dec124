/**
 * Guests that stopped: an invariant violation (bhyve's "ISR and isrvec_stk out of sync" panic) or a
 * failed VM entry stops the guest in the model (src/core/engine/host.ts, noteStops), while the
 * variant's clock runs on. Its rates per guest-second then count the time after the stop, so the
 * report names the stop wherever it would otherwise compare rates or draw an empty chart.
 */
import { nsText } from '../results/figures.js';
import type { VariantResult } from '../results/types.js';

export interface VariantStop {
  readonly variant: string;
  /** Guests that stopped, and all of the variant's guests. */
  readonly stopped: number;
  readonly guests: number;
  /** Simulated time of the earliest stop (undefined: only failed VM entries, which carry no time). */
  readonly firstNs?: number;
  /** What stopped the earliest: the violation's message ("ISR and isrvec_stk out of sync") or the failed entry's. */
  readonly what: string;
  /** The invariant check, or "failed VM entry". */
  readonly check: string;
  /** Every stop is a violation the scenario expects. */
  readonly expected: boolean;
}

/** How a variant's guests stopped, or undefined when none did. */
export function variantStop(v: VariantResult): VariantStop | undefined {
  const t = v.totals;
  if (t.violations.length === 0 && t.entryFailures.length === 0) return undefined;
  const guests = new Set<string>();
  for (const x of t.violations) guests.add(x.guestIndex !== undefined ? `g${x.guestIndex}` : `${x.host}/${x.guest}`);
  for (const f of t.entryFailures) guests.add(`${f.host}/${f.guest}`);
  const first = [...t.violations].sort((a, b) => a.simTimeNs - b.simTimeNs)[0];
  const failure = t.entryFailures[0];
  return {
    variant: v.name,
    stopped: Math.min(guests.size, t.guests),
    guests: t.guests,
    ...(first !== undefined ? { firstNs: first.simTimeNs } : {}),
    what: first !== undefined ? first.message : failure.message,
    check: first !== undefined ? first.check : 'failed VM entry',
    expected: t.entryFailures.length === 0 && t.violations.every((x) => x.expected),
  };
}

/** "every guest stopped at 2.776 ms of simulated time" / "1 of 4 guests stopped ..." */
export function stoppedText(s: VariantStop): string {
  const who =
    s.stopped >= s.guests
      ? s.guests === 1
        ? 'its guest'
        : s.guests === 2
          ? 'both guests'
          : `all ${s.guests} guests`
      : `${s.stopped} of ${s.guests} guests`;
  const when = s.firstNs !== undefined ? ` from ${nsText(s.firstNs)} of simulated time` : ' at VM entry';
  return `${who} stopped${when}`;
}

/** One sentence naming the stop: 'bhyve-tpr-v2 stopped: "ISR and isrvec_stk out of sync" (isr_isrvec_stk_out_of_sync), ...'. */
export function stopSentence(s: VariantStop): string {
  return `${s.variant}: "${s.what}" (${s.check}${s.expected ? ', expected by the scenario' : ''}); ${stoppedText(s)}`;
}
