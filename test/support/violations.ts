/**
 * A large fleet's violations of one check, as the report tests group them (test/report/
 * junitGrouped.test.ts, test/report/summaryViolations.test.ts): one home for the fleet both built.
 */
import type { ViolationRecord } from '../../src/results/types.js';

/** The reproducer `run` shrank for the earliest violation (guest 41's vCPU 1). */
export const FLEET_REPRODUCER =
  'vmexit-lab replay s.yaml --variant bhyve-tpr-v2 --guest 41 --at 0.000999 --only-guests 41 --seed 1';

export interface ViolationFleet {
  /** Guests with 2 vCPUs each, one violation per vCPU (at least 42: guest 41 holds the earliest). */
  readonly guests: number;
  /** Whether the scenario expects the check (`expectViolations`). */
  readonly expected?: boolean;
  /** Each message names its vector, `(vector 0xa9)` for guest 41, as the summary's earliest line quotes it. */
  readonly vectorInMessage?: boolean;
}

/**
 * `guests` guests' isr_isrvec_stk_out_of_sync violations, latest first; guest 41's vCPU 1 is the
 * earliest (t = 999 µs, with FLEET_REPRODUCER), its state `{ svi: 0x80 + 41 }`.
 */
export function violationFleet(f: ViolationFleet): ViolationRecord[] {
  const out: ViolationRecord[] = [];
  for (let g = 0; g < f.guests; g++)
    for (let vcpu = 0; vcpu < 2; vcpu++) {
      const earliest = g === 41 && vcpu === 1;
      out.push({
        check: 'isr_isrvec_stk_out_of_sync',
        message: `ISR and isrvec_stk out of sync${f.vectorInMessage === true ? ` (vector 0x${(0x80 + g).toString(16)})` : ''}`,
        guest: 'windows-10-1909',
        guestIndex: g,
        host: g >> 1,
        vcpu,
        simTimeNs: earliest ? 999_000 : 5_000_000 - g * 1000 - vcpu,
        step: 100 + g,
        state: { svi: 0x80 + g },
        expected: f.expected === true,
        ...(earliest
          ? {
              reproducer: {
                guests: [41],
                untilNs: 1_000_000,
                simTimeNs: 999_000,
                attempts: 2,
                command: FLEET_REPRODUCER,
              },
            }
          : {}),
      });
    }
  return out;
}
