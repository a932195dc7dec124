/**
 * What `what-if` prints: the main table (exits, change, host time, guest CPU, projected phase), the
 * table by reason under common exit names, where the figures come from, the verdict lines, and the
 * --json form. The command (commands/whatIf.ts) reads the options and runs the configurations.
 */
import { parse as parseYaml } from 'yaml';
import { textTable } from '../report/table.js';
import type { WorkloadProfile } from '../scenario/types.js';
import { COMMON_EXIT_NAMES, byCommonName, commonExitEntry } from '../import/commonExitNames.js';
import { changeAgainstText, changeText, formatFigure, percentText, secondsText } from '../results/figures.js';
import { configurationsText, type WhatIfResult, type WhatIfVerdict } from '../import/whatIf.js';

/** Columns the text output fits in without --wide. */
export const WHAT_IF_WIDTH = 100;

/** Words of `text` in lines of at most `width` columns (a word longer than that on its own line), the later ones indented. */
export function wrap(text: string, width: number | undefined, indent = '  '): string[] {
  if (width === undefined) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * The legend's phase column: what it projects, or - when no row could be projected - why not, here
 * beside the '-' of every row rather than only in the notes after the reason table.
 */
function phaseLegend(r: WhatIfResult): string {
  if (r.phaseSeconds === undefined) return '';
  const what = `a phase of fixed guest work that took ${secondsText(r.phaseSeconds)} on the measured host`;
  if (r.phaseRefused !== undefined) return `; phase: ${what}, not projected (-): ${r.phaseRefused}`;
  return `; phase: ${what}, projected`;
}

/** The measured row, then the others: exits, change, host time, guest CPU, projected phase, stops. */
function mainTable(r: WhatIfResult, wide: boolean): { lines: string[]; notes: string[] } {
  // What stopped a row's guest: its invariant checks, then 'failed VM entry' (the verdict has the messages).
  const stopOf = (row: WhatIfResult['rows'][number]): string =>
    [...row.violations, ...(row.entryFailures.length > 0 ? ['failed VM entry'] : [])].join(', ');
  const stops = [...new Set(r.rows.map(stopOf).filter((x) => x !== ''))];
  const head = [
    'configuration',
    'exits/s',
    'change',
    'in exits',
    'guest CPU',
    ...(r.phaseSeconds !== undefined ? ['phase'] : []),
    ...(stops.length > 0 ? ['stopped'] : []),
    ...(wide ? ['top reasons (exits/s)'] : []),
  ];
  const rows = r.rows.map((row) => {
    const stopped = stopOf(row) !== '';
    const top = Object.entries(byCommonName(row.exitsPerSecond))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} ${formatFigure(v)}`)
      .join(', ');
    return [
      row.variant,
      formatFigure(row.exitsPerSecondTotal),
      row.isSource ? 'measured' : changeText(row.exitsChangePercent),
      percentText(row.hostTimeInExits),
      percentText(row.guestCpu),
      ...(r.phaseSeconds !== undefined
        ? [row.projectedPhaseSeconds === undefined || stopped ? '-' : secondsText(row.projectedPhaseSeconds)]
        : []),
      ...(stops.length > 0 ? [stopped ? `[${stops.indexOf(stopOf(row)) + 1}]` : ''] : []),
      ...(wide ? [top] : []),
    ];
  });
  const lines = textTable(head, rows, {
    rightAligned: (i) => i > 0 && head[i] !== 'top reasons (exits/s)',
    rule: true,
  });
  const notes = [
    `exits/s: exits per vCPU-second; change: against the measured host; in exits: host time handling exits per vCPU-second; guest CPU: the guest's share of its vCPUs${phaseLegend(r)}.`,
    ...stops.map(
      (checks, i) =>
        `[${i + 1}] ${checks}: ${checks === 'failed VM entry' ? 'a failed VM entry' : 'an invariant violation'} stopped a guest (docs/IMPORT.md, what-if); its phase is not projected.`,
    ),
  ];
  return { lines, notes };
}

/**
 * Exits per vCPU-second by reason, configurations by common exit names (src/import/commonExitNames.ts),
 * so Intel and AMD hosts line up: the reasons with the highest rates as columns, as many as fit in
 * `width` (the rest summed as "other"); all of them without a width.
 */
function reasonTable(r: WhatIfResult, report: ReportFigures | undefined, width: number | undefined): string[] {
  // The report's own rates last, under the same names: what the measured row is held against.
  const labels = [...r.rows.map((row) => row.variant), ...(report !== undefined ? ['report'] : [])];
  const rates = [
    ...r.rows.map((row) => byCommonName(row.exitsPerSecond)),
    ...(report !== undefined ? [byCommonName(report.exitsPerSecond)] : []),
  ];
  const peak = new Map<string, number>();
  for (const x of rates) for (const [k, v] of Object.entries(x)) peak.set(k, Math.max(peak.get(k) ?? 0, v));
  const names = [...peak.keys()].sort((a, b) => peak.get(b)! - peak.get(a)! || (a < b ? -1 : 1));
  const cell = (x: number | undefined): string => (x === undefined || x === 0 ? '-' : formatFigure(x));
  const build = (shown: readonly string[], other: boolean): string[] => {
    const head = ['configuration', ...shown, ...(other ? ['other'] : [])];
    const rows = labels.map((label, i) => {
      const x = rates[i];
      const rest = names.filter((n) => !shown.includes(n)).reduce((a, n) => a + (x[n] ?? 0), 0);
      return [label, ...shown.map((n) => cell(x[n])), ...(other ? [cell(rest)] : [])];
    });
    return textTable(head, rows, { rightAligned: (i) => i > 0, rule: true });
  };
  let shown = names;
  let lines = build(shown, false);
  while (width !== undefined && shown.length > 1 && Math.max(...lines.map((l) => l.length)) > width) {
    shown = shown.slice(0, -1);
    lines = build(shown, true);
  }
  const legend = names
    .filter((n) => commonExitEntry(n) !== undefined)
    .map((n) => {
      const c = commonExitEntry(n)!;
      const side = (list: readonly string[], vendor: string): string =>
        list.length > 0 ? `${list.join(' + ')} (${vendor})` : '';
      return `${n} = ${[side(c.intel, 'Intel'), side(c.amd, 'AMD')].filter((x) => x !== '').join(' / ')}`;
    });
  // What the "other" column sums: the reasons without a column of their own, by name (the report's
  // exits the model has no kind for included), so no figure of the table is unexplained.
  const left = names.filter((n) => !shown.includes(n));
  const other = left.length > 0 ? [`other = ${left.join(' + ')} (no room for their columns; --wide shows them).`] : [];
  return [
    'exits per vCPU-second by reason, Intel and AMD exits under common names:',
    ...lines,
    ...wrap(`names: ${legend.join('; ')}.`, width),
    ...other.flatMap((l) => wrap(l, width)),
  ];
}

/**
 * What the report said, as `import` wrote it into the profile's `fit:` section: the measured exits per
 * vCPU-second by reason (the model's exit names; rows it has no kind for under their own names) and
 * the fit's worst error. Undefined for a profile without that section (written by hand).
 */
export interface ReportFigures {
  readonly format?: string;
  readonly file?: string;
  readonly exitsPerSecond: Readonly<Record<string, number>>;
  readonly exitsPerSecondTotal: number;
  /** The largest |simulated - measured| / measured over the fitted reasons, percent. */
  readonly worstFitErrorPercent: number;
  /** Exits per vCPU-second of the report's reasons the model has no exit kind for (not simulated). */
  readonly unmodelledPerSecond: number;
}

export function reportFigures(text: string, profile: WorkloadProfile): ReportFigures | undefined {
  let fit: unknown;
  try {
    fit = (parseYaml(text) as { fit?: unknown } | null)?.fit;
  } catch {
    return undefined;
  }
  if (typeof fit !== 'object' || fit === null) return undefined;
  const exitsPerSecond: Record<string, number> = {};
  let worst = 0;
  let unmodelled = 0;
  for (const [reason, row] of Object.entries(fit as Record<string, unknown>)) {
    const r = (typeof row === 'object' && row !== null ? row : {}) as Record<string, unknown>;
    const measured = r.measuredPerSecond;
    if (typeof measured !== 'number' || !Number.isFinite(measured) || measured <= 0) continue;
    exitsPerSecond[reason] = measured;
    // Reasons the model has no kind for are -100 % by definition: counted apart, not as the fit's error.
    if (r.driver === 'unknown reason' || r.driver === 'not modelled') unmodelled += measured;
    else if (typeof r.errorPercent === 'number') worst = Math.max(worst, Math.abs(r.errorPercent));
  }
  const total = Object.values(exitsPerSecond).reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const src = profile.source ?? {};
  return {
    ...(typeof src.format === 'string' ? { format: src.format } : {}),
    ...(typeof src.file === 'string' ? { file: src.file } : {}),
    exitsPerSecond,
    exitsPerSecondTotal: total,
    worstFitErrorPercent: worst,
    unmodelledPerSecond: unmodelled,
  };
}

/**
 * Which figures are the report's and which the model's: the report's own rate, and that every
 * figure of the tables is simulated (the measured row too, by the profile fitted to the report).
 */
function provenance(r: WhatIfResult, report: ReportFigures | undefined): string {
  const measured = r.rows[0].variant;
  if (report === undefined)
    return `source of the figures: every one is the model's (the profile has no fit: section from 'vmexit-lab import', so no report to hold ${measured} against).`;
  const from = [report.format, report.file].filter((x) => x !== undefined).join(' ');
  return (
    `source of the figures: the report${from === '' ? '' : ` (${from})`} measured ${formatFigure(report.exitsPerSecondTotal)} exits per vCPU-second` +
    ` (its row 'report' below, from the profile's fit: section); every figure of the tables is the model's, ${measured} too:` +
    ` the profile simulated on the measured host (the fit's worst reason off by ${formatFigure(report.worstFitErrorPercent)} %` +
    (report.unmodelledPerSecond > 0
      ? `; ${formatFigure(report.unmodelledPerSecond)} of the report's exits per vCPU-second have no exit kind in the model and are in 'report' only).`
      : ').')
  );
}

/**
 * The verdict after the tables: the configurations whose guest stopped (exit 3) and, with
 * --max-increase, those over it (exit 1), each named with its change.
 */
export function verdictLines(r: WhatIfResult, v: WhatIfVerdict): string[] {
  const lines: string[] = [];
  const byWhy = new Map<string, WhatIfResult['rows'][number][]>();
  for (const s of v.stopped) {
    const why = [
      ...(s.violations.length > 0 ? [`invariant violation ${s.violations.join(', ')}`] : []),
      ...(s.entryFailures.length > 0 ? [`failed VM entry: ${s.entryFailures.join('; ')}`] : []),
    ].join('; ');
    const row = r.rows.find((x) => x.variant === s.variant)!;
    byWhy.set(why, [...(byWhy.get(why) ?? []), row]);
  }
  for (const [why, rows] of byWhy)
    lines.push(`stopped: ${configurationsText(rows)}: a guest stopped on ${why} (exit status 3, as 'run').`);
  const limit = v.maxIncreasePercent;
  if (limit !== null) {
    const head = `--max-increase ${formatFigure(limit)} %:`;
    // The change as the table prints it, or with more digits where that rounding reads as the limit.
    const change = (x: number): string => changeAgainstText(x, limit);
    const skipped = v.stopped.length > 0 ? ' (a configuration whose guest stopped is not judged)' : '';
    if (v.notJudged !== undefined) lines.push(`${head} not judged: ${v.notJudged}.`);
    else if (v.over.length > 0)
      lines.push(
        `${head} ${v.over.length} configuration${v.over.length === 1 ? '' : 's'} over it${skipped}: ` +
          `${v.over.map((o) => `${o.variant} ${change(o.exitsChangePercent)}`).join(', ')}` +
          (v.status === 1 ? ': exit status 1.' : '.'),
      );
    else {
      const judged = r.rows.filter((row) => !row.isSource && !v.stopped.some((s) => s.variant === row.variant));
      const top = judged.sort((a, b) => b.exitsChangePercent - a.exitsChangePercent)[0];
      lines.push(
        `${head} no configuration over it${skipped}` +
          (top === undefined ? '.' : ` (the highest: ${top.variant} ${changeText(top.exitsChangePercent)}).`),
      );
    }
  }
  return lines;
}

/** --json: the result, each row's rates by common exit name too, the report's figures (or null), the verdict. */
export function withCommonNames(r: WhatIfResult, report: ReportFigures | undefined, verdict: WhatIfVerdict): unknown {
  return {
    ...r,
    verdict,
    rows: r.rows.map((row) => ({ ...row, exitsPerSecondByCommonName: byCommonName(row.exitsPerSecond) })),
    report:
      report === undefined
        ? null
        : {
            ...report,
            exitsPerSecondByCommonName: byCommonName(report.exitsPerSecond),
            from: "the profile's fit: section",
          },
    commonExitNames: COMMON_EXIT_NAMES,
  };
}

export function formatWhatIf(r: WhatIfResult, report: ReportFigures | undefined, width: number | undefined): string {
  const src = r.rows[0];
  const main = mainTable(r, width === undefined);
  return [
    ...wrap(
      `what-if for workload ${r.profile}: ${formatFigure(r.simSeconds)} simulated s per configuration, seed ${r.seed}; measured on ${src.variant}${src.hostTickHz !== undefined ? ` (host tick ${src.hostTickHz} Hz, as the configurations on its host OS)` : ''}`,
      width,
    ),
    ...wrap(provenance(r, report), width),
    ...main.lines,
    ...main.notes.flatMap((n) => wrap(n, width)),
    '',
    ...reasonTable(r, report, width),
  ].join('\n');
}
