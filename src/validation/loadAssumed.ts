/**
 * An assumed setup item against what the scenario runs, where leaving a scenario key out silently
 * runs something else (issue #14, casewriter3). loadSetup.ts checks what a source *states*; an
 * assumed enlightenment list is the writer's choice and may differ from the scenario's (a case may
 * assume virt-install's list and run the model's default) - except an assumed empty list: "no
 * enlightenments" is written `enlightenments: none` on the guest, and a Windows guest under KVM that
 * names no `enlightenments` runs WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS (virt-install's list with
 * hv-stimer; src/scenario/timekeeping.ts), whose clock is a synthetic timer instead of the HPET or
 * the RTC (src/core/guests/clock.ts): the run then measures another clock than the one assumed.
 */
import { enlightenmentsName, isWindowsOs } from '../scenario/timekeeping.js';
import type { Scenario } from '../scenario/types.js';
import type { Reader, Field } from '../input/reader.js';
import type { CaseSetup } from './types.js';

export function checkAssumedAgainstScenario(
  r: Reader,
  setup: CaseSetup,
  scenario: Scenario,
  /** Where a setup item is written (the `setup:` mapping when the item is missing), for the diagnostics. */
  itemOf: (item: string) => Field,
): void {
  const assumed = setup.enlightenments.assumed;
  if (assumed === undefined || assumed.length > 0) return;
  // Every Windows guest of every variant: one running no enlightenment is the assumption's guest (a
  // before/after matrix pairs `none` with the list a source adds). Under bhyve a guest has none.
  const lists = scenario.variants.flatMap((v) =>
    v.guests.flatMap((g) => (g.kind === 'modelled' && isWindowsOs(g.os) ? [g.timekeeping?.enlightenments ?? []] : [])),
  );
  if (lists.length === 0 || lists.some((l) => l.length === 0)) return;
  r.error(
    itemOf('enlightenments'),
    'setup.enlightenments.assumed is [] and no Windows guest of the scenario runs without enlightenments',
    "a Windows guest with `enlightenments: none` (one that names no enlightenments runs the model's KVM default list)",
    [...new Set(lists.map(enlightenmentsName))].join(' or '),
  );
}
