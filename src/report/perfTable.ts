/**
 * A run's exits as `perf kvm stat report` prints them, per variant, so a user lays the simulation
 * beside a report from a real host: perf's VM-EXIT table (Samples, Samples%, Time%, Min/Max/Avg time
 * per exit, the totals line) with perf's exit names, plus one column naming the vmexit-lab exit
 * kind where the two names differ (perf prints Linux's VMX_EXIT_REASONS / SVM_EXIT_REASONS strings:
 * EOI_INDUCED for our VIRTUALIZED_EOI, PAUSE_INSTRUCTION for PAUSE, read_cr8 for VMEXIT_CR8_READ).
 *
 * The table itself is rendered by src/import/perfKvmStat.ts renderPerfKvmStat() (perf's exact
 * print_result() layout) from the rows src/import/fromModel.ts builds out of results.json; the
 * mapping column is appended to the right of perf's columns, so cutting it off leaves a table
 * `vmexit-lab import perf-kvm-stat` reads back (tested).
 *
 * Times: perf measures each exit from kvm_exit to the next kvm_entry of the vCPU. The model charges
 * every exit of one kind the same host time (round trip plus handler, docs/MODEL.md), so Min Time =
 * Max Time = Avg time and the deviation is 0: the table says so in its note instead of inventing a
 * spread.
 */
import { exitKindByName } from '../core/vcpu/exits.js';
import { perfRowsFromModelTotals } from '../import/fromModel.js';
import { cFixed, renderPerfKvmStat } from '../import/perfKvmStat.js';
import type { ExitReportRow } from '../import/report.js';
import type { RunResults, VariantResult } from '../results/types.js';
import { counted, formatFigure } from '../results/figures.js';
import { esc } from './page.js';

/** Header of the mapping column (our exit-kind name where perf's differs). */
export const MAPPING_HEADER = 'vmexit-lab name';

export interface PerfTableRow {
  /** The name perf prints (Linux's VMX_EXIT_REASONS / SVM_EXIT_REASONS string). */
  readonly perfName: string;
  /** vmexit-lab's exit kind (results.json `exits` key, the manual's name). */
  readonly name: string;
  readonly samples: number;
  readonly samplesPercent: number;
  readonly timePercent: number;
  /** Host time per exit, ns: min = max = avg (a constant per exit kind in the model). */
  readonly minNs: number;
  readonly maxNs: number;
  readonly avgNs: number;
}

export interface PerfTable {
  readonly variant: string;
  readonly rows: readonly PerfTableRow[];
  readonly totalSamples: number;
  /** Host time in all exits, ns. */
  readonly totalTimeNs: number;
}

/** The note under every table (why there is no spread, what the times are). */
export const PERF_TABLE_NOTE = [
  'note: Min Time = Max Time = Avg time: the model charges every exit of one kind the same host time',
  '(round trip plus handler, docs/MODEL.md), so there is no spread and "( +- x% )" is 0; perf times',
  'each exit from kvm_exit to the next kvm_entry of the vCPU.',
].join('\n');

function rowsOf(v: VariantResult): ExitReportRow[] {
  return perfRowsFromModelTotals(v.totals.exits, v.totals.hostSecondsInExits).map((r) => ({
    ...r,
    minNs: r.avgNs,
    maxNs: r.avgNs,
    avgStddevPercent: 0,
  }));
}

/** The numbers of one variant's table (sorted as perf sorts: samples, descending). */
export function perfTableOf(v: VariantResult): PerfTable {
  const rows = rowsOf(v);
  const totalSamples = rows.reduce((a, r) => a + r.samples, 0);
  const totalTimeNs = rows.reduce((a, r) => a + r.samples * r.avgNs!, 0);
  const ours = new Map<string, string>(
    Object.keys(v.totals.exits).map((name) => {
      const k = exitKindByName(name)!;
      return [`${k.vendor} ${k.code}`, name];
    }),
  );
  const out: PerfTableRow[] = rows
    .map((r, idx) => ({ r, idx }))
    .sort((a, b) => b.r.samples - a.r.samples || a.idx - b.idx)
    .map(({ r }) => ({
      perfName: r.name,
      name: ours.get(`${r.vendor} ${String(r.code)}`) ?? r.name,
      samples: r.samples,
      samplesPercent: totalSamples > 0 ? (100 * r.samples) / totalSamples : 0,
      timePercent: totalTimeNs > 0 ? (100 * r.samples * r.avgNs!) / totalTimeNs : 0,
      minNs: r.avgNs!,
      maxNs: r.avgNs!,
      avgNs: r.avgNs!,
    }));
  return { variant: v.name, rows: out, totalSamples, totalTimeNs };
}

/** One line naming the variant above its table. */
function heading(results: RunResults, v: VariantResult, label?: string): string {
  const t = v.totals;
  const what = `${v.host.cpu}, ${v.policy}: ${counted(t.guests, 'guest')}, ${counted(t.vcpus, 'vCPU')}, ${t.simulatedSeconds} simulated s`;
  return `${label !== undefined ? `${label}: ` : ''}${results.scenario} variant ${v.name} (${what})`;
}

/**
 * The perf table of one variant: perf's layout with perf's names and, to its right, the
 * vmexit-lab name where it differs. A variant without exits gets one line saying so.
 */
export function renderVariantPerfTable(results: RunResults, v: VariantResult, label?: string): string {
  const head = heading(results, v, label);
  const table = perfTableOf(v);
  if (table.rows.length === 0) return `${head}\n\n(no VM exits: perf would print an empty table)\n`;
  const rendered = renderPerfKvmStat({ rows: rowsOf(v) }).replace(/^\n+/, '\n');
  const mapping = new Map(table.rows.map((r) => [r.perfName, r.name]));
  const lines = rendered.split('\n').map((line) => {
    if (/^\s*VM-EXIT\s+Samples\s/.test(line)) return `${line}  ${MAPPING_HEADER}`;
    if (!line.endsWith('% )')) return line;
    const perfName = line.trim().split(/\s+/)[0];
    const ours = mapping.get(perfName);
    return ours !== undefined && ours !== perfName ? `${line}   ${ours}` : line;
  });
  return `${head}\n${lines.join('\n').replace(/\n+$/, '')}\n${PERF_TABLE_NOTE}\n`;
}

/** Every variant's perf table, one after the other. */
export function renderPerfTables(results: RunResults, label?: string): string {
  return results.variants.map((v) => renderVariantPerfTable(results, v, label)).join('\n');
}

/**
 * `compare --perf-table`: for each variant (in the order compare lists them), the old run's table
 * then the new run's, each labelled with its file.
 */
export function renderComparePerfTables(
  old: RunResults,
  next: RunResults,
  names: { readonly old: string; readonly new: string },
): string {
  const variants = [...new Set([...old.variants.map((v) => v.name), ...next.variants.map((v) => v.name)])];
  const parts: string[] = [];
  for (const name of variants) {
    for (const [results, label] of [
      [old, `old (${names.old})`],
      [next, `new (${names.new})`],
    ] as const) {
      const v = results.variants.find((x) => x.name === name);
      parts.push(
        v ? renderVariantPerfTable(results, v, label) : `${label}: ${results.scenario} has no variant ${name}\n`,
      );
    }
  }
  return parts.join('\n');
}

/**
 * The HTML report's perf section: one table per variant with perf's columns, perf's names and the
 * mapping column. Cells read as perf prints them ("22.69%", "2.43us", Samples ungrouped) so they lay
 * beside a real report; the first variant's table is open, the others one click away.
 */
export function renderPerfTablesHtml(results: RunResults): string {
  const head =
    '<tr><th scope="col">VM-EXIT</th><th scope="col">Samples</th><th scope="col">Samples%</th><th scope="col">Time%</th>' +
    `<th scope="col">Min Time</th><th scope="col">Max Time</th><th scope="col">Avg time</th><th scope="col">${esc(MAPPING_HEADER)}</th></tr>`;
  const f2 = (x: number): string => cFixed(x, 2);
  const parts = results.variants.map((v, i) => {
    const table = perfTableOf(v);
    const t = v.totals;
    const summary = `${esc(v.name)} <span class="muted">(${esc(v.host.cpu)}, ${esc(v.policy)}: ${esc(formatFigure(table.totalSamples))} exits)</span>`;
    if (table.rows.length === 0)
      return `<details class="perf" data-variant="${esc(v.name)}"${i === 0 ? ' open' : ''}><summary>${summary}</summary><p class="note">No VM exits: perf would print an empty table.</p></details>`;
    const rows = table.rows.map(
      (r) =>
        `<tr><th scope="row"><code>${esc(r.perfName)}</code></th><td>${r.samples}</td><td>${f2(r.samplesPercent)}%</td><td>${f2(r.timePercent)}%</td>` +
        `<td>${f2(r.minNs / 1000)}us</td><td>${f2(r.maxNs / 1000)}us</td><td>${f2(r.avgNs / 1000)}us</td>` +
        `<td>${r.name !== r.perfName ? `<code>${esc(r.name)}</code>` : ''}</td></tr>`,
    );
    const total = `<tr><th scope="row">Total</th><td>${table.totalSamples}</td><td colspan="6">Total Samples:${table.totalSamples}, Total events handled time:${f2(table.totalTimeNs / 1000)}us.</td></tr>`;
    return (
      `<details class="perf" data-variant="${esc(v.name)}"${i === 0 ? ' open' : ''}><summary>${summary}</summary>` +
      `<p class="muted small">${esc(`${counted(t.guests, 'guest')}, ${counted(t.vcpus, 'vCPU')}, ${formatFigure(t.simulatedSeconds)} simulated s; all VMs, all VCPUs`)}</p>` +
      `<div class="scroll"><table class="numbers perf"><thead>${head}</thead><tbody>${rows.join('')}</tbody><tfoot>${total}</tfoot></table></div></details>`
    );
  });
  return `${parts.join('')}<p class="muted small">${esc(PERF_TABLE_NOTE.replace(/^note: /, '').replace(/\n/g, ' '))}</p>`;
}
