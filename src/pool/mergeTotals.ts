/** A run's task totals merged per variant in task order, per-host records in host order. */
import type { Scenario } from '../scenario/types.js';
import { TotalsAccumulator } from '../run/totals.js';
import type { PoolTask } from './tasks.js';

/** Stable sort by host: per-host records in host order whatever the split (finish order differs by split). */
function byHost<T extends { readonly host: unknown }>(list: T[]): void {
  const keyed = list.map((x, i) => ({ x, i, h: typeof x.host === 'number' ? x.host : 0 }));
  keyed.sort((a, b) => a.h - b.h || a.i - b.i);
  keyed.forEach((k, i) => {
    list[i] = k.x;
  });
}

/** Merge task totals per variant in task order, with per-host records in host order. */
export function mergeTaskTotals(
  scenario: Scenario,
  tasks: readonly { readonly task: PoolTask; readonly totals: TotalsAccumulator | undefined }[],
  perGuest: boolean,
): TotalsAccumulator[] {
  const accs = scenario.variants.map(() => new TotalsAccumulator(perGuest));
  for (const t of tasks) if (t.totals) accs[t.task.variantIndex].merge(t.totals);
  for (const a of accs) {
    byHost(a.violations);
    byHost(a.entryFailures as { host: unknown }[]);
    if (!perGuest) a.perGuest = undefined;
    else if (a.perGuest) byHost(a.perGuest);
  }
  return accs;
}
