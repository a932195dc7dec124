/** The %cr8 prior: a Windows guest's IRQL traffic from its model when the measured host shadowed the TPR. */
import { exitKindByName } from '../core/vcpu/exits.js';
import { WORKLOAD_RATE_NAMES } from '../scenario/types.js';
import { buildProfile, sixDigits } from './fittedProfile.js';
import type { FitConfig, MeasuredRates } from './fitTypes.js';
import { simulateProfile } from './simulateProfile.js';

/** Exits a %cr8 write causes when the TPR is not shadowed (Intel MOV-to-CR8 exiting; SVM CR8 write intercept). */
const CR8_EXIT_NAMES = ['CR_ACCESS', 'VMEXIT_CR8_WRITE'];

/**
 * Windows raises and lowers IRQL through %cr8 tens of thousands of times a second (KfRaiseIrql /
 * KeLowerIrql; docs/MODEL.md §4). A report from a host that shadows the TPR has no exit for any
 * of it, so the fit alone would give the profile no %cr8 traffic and every target without a TPR
 * shadow would be predicted to take none. For a Windows guest whose report shows (almost) no CR8
 * exits, the guest model's own steady-state rate is taken instead - its `idle` phase, per busy
 * guest-second, the unit of the profile's rates - as a prior, not fitted (nothing in the report
 * constrains it), and the fit says so. A raise/lower pair is a read and two writes.
 */
export function cr8Prior(
  measured: MeasuredRates,
  config: FitConfig,
): { readonly writes: number; readonly reads: number; readonly note: string } | undefined {
  const model = config.data.guestModels.get(config.os);
  if (model === undefined || !model.usesCr8) return undefined;
  const perBusySecond = model.phases.idle.cr8PerBusySecond;
  const writes = (2 / 3) * perBusySecond;
  let cr8Exits = 0;
  for (const n of CR8_EXIT_NAMES) cr8Exits += measured.get(n) ?? 0;
  // The report's CR8 exits cover less than 1 % of the writes the model expects: the host shadowed the TPR.
  if (writes <= 0 || cr8Exits >= 0.01 * writes) return undefined;
  // ... unless the configuration the report is fitted on does not: then its writes would all exit,
  // the prior could not be reproduced (the fit chased it into nonsense), and the report's few CR8
  // exits say the guest wrote %cr8 rarely there, or that --cpu / --policy is not the measured host.
  if (cr8WritesExit(config, writes)) return { writes: 0, reads: 0, note: cr8ConflictNote(config) };
  return {
    writes,
    reads: perBusySecond / 3,
    note:
      `%cr8 prior: the report has ${cr8Exits > 0 ? 'almost ' : ''}no CR8 exits, so the measured host shadowed ` +
      `the TPR; the profile takes the ${config.os} guest model's %cr8 traffic (${sixDigits(perBusySecond)} ` +
      'accesses per busy guest-second, its idle phase) instead of fitting it: a target without a TPR shadow ' +
      'then exits on each write, as the seed measured (docs/IMPORT.md)',
  };
}

/** Whether `writes` %cr8 writes per guest-second exit under the fit's configuration (a short probe run). */
function cr8WritesExit(config: FitConfig, writes: number): boolean {
  const rates: Record<string, number> = {};
  for (const k of WORKLOAD_RATE_NAMES) rates[k] = 0;
  rates.cr8Writes = writes;
  const probe = buildProfile(config, rates, {}, 0);
  const sim = simulateProfile(
    probe,
    config.cpu,
    config.policy,
    config.tunables,
    0.1,
    config.seed,
    config.data,
    config.hostTickHz,
  );
  let exits = 0;
  for (const n of CR8_EXIT_NAMES) {
    const kind = exitKindByName(n);
    if (kind !== undefined && kind.vendor === config.cpu.vendor) exits += sim.perSecond[kind.slot];
  }
  return exits >= 0.01 * writes;
}

function cr8ConflictNote(config: FitConfig): string {
  return (
    `no %cr8 prior: the report has (almost) no CR8 exits, but ${config.cpu.id} under ${config.policy} ` +
    `exits on every %cr8 write, so the ${config.os} guest model's %cr8 traffic cannot be taken as the ` +
    'prior (it would exit); %cr8 writes are fitted to the CR8 exits the report has. If the measured host ' +
    'shadowed the TPR, choose its --cpu/--policy (docs/IMPORT.md)'
  );
}
