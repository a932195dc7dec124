/**
 * What `import` prints beside the profile: the fit table and its figures (perSecond, missText), and
 * the notes on virtualization features the report shows (featureHints). The command
 * (commands/import.ts) reads the report and runs the fit.
 */
import { resolvePolicy, type PolicyName, type PolicyTraits } from '../core/hypervisor/policy.js';
import type { CpuProfile } from '../core/cpu/profile.js';
import type { FitResult } from '../import/fitTypes.js';
import { textTable } from '../report/table.js';
import { thresholdFigures } from '../results/figures.js';
import type { UnknownReason } from './importReport.js';

/**
 * Exits that only a virtualization feature produces tell what the measured host had; say so when
 * the chosen configuration lacks it (the fit then cannot reproduce the report).
 */
export function featureHints(
  rates: ReadonlyMap<string, number>,
  traits: PolicyTraits,
  cpu: CpuProfile,
  policy: PolicyName,
  tunableFlags: readonly string[],
): string[] {
  const out: string[] = [];
  if ((rates.has('VMEXIT_AVIC_INCOMPLETE_IPI') || rates.has('VMEXIT_AVIC_NOACCEL')) && !traits.avic) {
    out.push(
      `the report has AVIC exits, so the measured host used AVIC; ${cpu.id} under ${policy} runs without it (${cpu.svm?.avic === true ? 'add --tunable kvm_amd.avic=1' : 'this CPU profile has no AVIC'})`,
    );
  }
  if ((rates.has('VIRTUALIZED_EOI') || rates.has('APIC_WRITE')) && !traits.vid) {
    out.push(
      `the report has ${rates.has('APIC_WRITE') ? 'APIC-write' : 'EOI-induced'} exits, so the measured host used APIC virtualization; ${cpu.id} under ${policy} runs without it (${resolvePolicy(policy, cpu, {}).vid ? `the CPU has it: drop --tunable ${tunableFlags.join(' ')}, which turns it off` : 'choose a CPU profile with APICv, e.g. xeon-e5-2667v4, or enable it'})`,
    );
  }
  return out;
}

const ONE_DECIMAL = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/**
 * A rate of the fit table: grouped with one decimal (54,002.0, as the tables of `run` group their
 * figures), and two significant digits below 1 per second, where one decimal printed a reason the
 * report has as 0.0 (2 exits in 120 vCPU-seconds: 0.017).
 */
export function perSecond(x: number): string {
  return x >= 1 || x === 0 ? ONE_DECIMAL.format(x) : x.toPrecision(2);
}

/** A miss in percent beside the limit it is over: two decimals, more where those read as the limit (5.004 over 5). */
export function missText(e: number, limit: number): string {
  return Number(e.toFixed(2)) === limit && e !== limit ? thresholdFigures(e, limit)[0] : e.toFixed(2);
}

export function formatFitTable(fit: FitResult, unknown: readonly UnknownReason[]): string {
  const lines = [
    `fit after ${fit.iterations} iteration${fit.iterations === 1 ? '' : 's'} (exits per vCPU per second):`,
  ];
  const head = ['reason', 'driver', 'measured', 'simulated', 'error'];
  const rows = fit.rows.map((r) => [
    r.reason,
    r.driver,
    perSecond(r.measured),
    perSecond(r.simulated),
    r.errorPercent === null ? 'not in report' : `${r.errorPercent >= 0 ? '+' : ''}${r.errorPercent.toFixed(2)} %`,
  ]);
  for (const u of fit.unmodelled) rows.push([u.reason, 'not modelled', perSecond(u.perSecond), '0', '-100 %']);
  for (const u of unknown) rows.push([u.name, 'unknown reason', perSecond(u.perSecond), '0', '-100 %']);
  lines.push(...textTable(head, rows, { rightAligned: (i) => i >= 2, rule: true }));
  return lines.join('\n');
}

/** A fit quiet for this long says where it is (ms); then at most one line per this. */
export const FIT_PROGRESS_MS = 5_000;

/**
 * The fit's progress on stderr: nothing for a fit done within FIT_PROGRESS_MS (most are), then a
 * line at most every FIT_PROGRESS_MS. Each iteration simulates the whole span, so a report of high
 * rates takes minutes (polish41: ~80 s at 1e6 exits per vCPU-second) and was silent throughout.
 */
export function fitProgress(
  err: (s: string) => void,
  now: () => number,
  maxIterations: number,
): (iteration: number, worstPercent: number) => void {
  const started = now();
  let last = started;
  return (iteration, worstPercent) => {
    const t = now();
    if (t - last < FIT_PROGRESS_MS) return;
    last = t;
    const worst = Number.isFinite(worstPercent)
      ? `misses its worst reason by ${worstPercent.toFixed(1)} %`
      : 'does not produce every reason yet';
    err(
      `vmexit-lab import: fitting, ${iteration} of at most ${maxIterations} simulations done in ${((t - started) / 1000).toFixed(0)} s; the latest ${worst}`,
    );
  };
}
