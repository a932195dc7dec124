import type { RunResults, ThresholdOutcome, VariantResult } from '../results/types.js';
import type { InlineScript } from './assets.js';
import { exitStatusOf, verdictCounts } from '../results/exitStatus.js';
import {
  allOutcomes,
  NOT_JUDGED_ON_SHARD,
  notJudgedText,
  notJudgedWhy,
  runFailed,
  thresholdTally,
} from '../results/thresholds.js';
import { factorText, formatFigure, nsText, perGuestSecond, secondsText } from '../results/figures.js';
import {
  exitsChart,
  latencyChart,
  latencyQuantile,
  phaseChart,
  phaseComparisons,
  phaseNames,
  planReasons,
  rankReasons,
  timelineCharts,
  variantColor,
  type ChartSpec,
} from './charts.js';
import { esc, fmtTime, note, page } from './page.js';
import { showInvisible } from '../input/diagnostics.js';
import { renderPerfTablesHtml } from './perfTable.js';
import {
  exitHostTime,
  noVerdict,
  scenarioLabels,
  stoppedThresholdText,
  thresholdValueText,
  unfinishedText,
} from './summary.js';
import { stopSentence, stoppedText, variantStop, type VariantStop } from './stops.js';
import { violationsSection } from './violations.js';

/**
 * The HTML report: one self-contained file (styles, data, Chart.js and the code that draws the
 * charts are all inline; nothing is fetched when it is opened) that a person can read in a minute.
 * The same sections make up the service's run page (`/runs/:id`, src/report/servicePages.ts).
 *
 * Everything here is a pure function of its arguments apart from reading the chart library from
 * node_modules once (src/report/assets.ts). Every string that comes from a scenario or a run is
 * escaped; data for the charts travels as JSON in a <script type="application/json"> element.
 */

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

interface ReportInput {
  readonly results: RunResults;
  /** The scenario's description (results.json does not carry it). */
  readonly description?: string;
  /** The address of the run's results.json (the service's run page): where the page points for what it leaves out. */
  readonly resultsHref?: string;
}

interface HtmlReportOptions {
  /** The scenario's description (results.json does not carry it). */
  readonly description?: string;
  /** The page title (default "vmexit-lab report: SCENARIO"). */
  readonly title?: string;
  /** The chart library to inline (default: Chart.js from node_modules). */
  readonly chartLibrary?: InlineScript;
}

// ---------------------------------------------------------------------------------------------
// HTML sections
// ---------------------------------------------------------------------------------------------

/** A part of a page: its HTML and the charts it has canvases for. */
interface Section {
  readonly html: string;
  readonly charts: readonly ChartSpec[];
}

function chartBox(spec: ChartSpec): string {
  return `<figure class="chart" style="height:${spec.height}px"><canvas id="${esc(spec.canvas)}" data-chart="${spec.kind}"${spec.variant !== undefined ? ` data-variant="${esc(spec.variant)}"` : ''} role="img" aria-label="${esc(spec.title)}"></canvas></figure>`;
}

/** Points of a line chart's longest dataset. */
function linePoints(spec: ChartSpec): number {
  const data = spec.config.data as { datasets?: { data?: unknown[] }[] } | undefined;
  return Math.max(0, ...(data?.datasets ?? []).map((d) => d.data?.length ?? 0));
}

/**
 * A variant's exits-over-time chart, or in its place what there is to say: a line needs two
 * points, and a variant whose guests stopped early (an invariant violation such as bhyve's
 * "ISR and isrvec_stk out of sync" panic) has one bucket or none. A chart of a variant with
 * stopped guests says so under it.
 */
function timelineBox(results: RunResults, spec: ChartSpec): { html: string; drawn: boolean } {
  const v = results.variants.find((x) => x.name === spec.variant);
  const stop = v ? variantStop(v) : undefined;
  const attrs = `data-chart-empty="timeline"${spec.variant !== undefined ? ` data-variant="${esc(spec.variant)}"` : ''}`;
  if (linePoints(spec) < 2) {
    const why = stop
      ? `Nothing to draw over time: ${stopSentence(stop)}. The totals above count its exits before the stop.`
      : `Nothing to draw over time: the run lasted ${formatFigure(v?.totals.simulatedSeconds ?? 0)} simulated s, one time bucket; the totals above have its exits.`;
    return {
      html: `<figure class="chart empty" style="height:${spec.height}px" ${attrs}><figcaption class="chart-title">${esc(spec.title)}</figcaption>${note(why)}</figure>`,
      drawn: false,
    };
  }
  if (!stop) return { html: chartBox(spec), drawn: true };
  return {
    html: `<div>${chartBox(spec)}<p class="note small" data-stopped="${esc(stop.variant)}">${esc(stopSentence(stop))}.</p></div>`,
    drawn: true,
  };
}

function badge(ok: boolean, okText = 'PASS', failText = 'FAIL'): string {
  return ok ? `<span class="badge pass">${okText}</span>` : `<span class="badge fail">${failText}</span>`;
}

/** The grey badge of a threshold a shard did not judge (`run --shard I/N`, N > 1). */
function notJudgedBadge(): string {
  return '<span class="badge" style="background:var(--muted)">NOT JUDGED</span>';
}

/** The grey badge of a stopped run's threshold: evaluated on the part that ran, no verdict. */
function noVerdictBadge(): string {
  return '<span class="badge" style="background:var(--muted)">NO VERDICT</span>';
}

function verdict(results: RunResults): string {
  // A shard's thresholds (`run --shard I/N`, N > 1) are not judged: `vmexit-lab merge` judges them.
  const outcomes = allOutcomes(results);
  const { judged, failed, notJudged } = thresholdTally(outcomes);
  const { unexpected, entryFailures: entries } = verdictCounts(results);
  const status = exitStatusOf(results);
  const parts: string[] = [];
  if (notJudged === 0 || judged > 0)
    parts.push(
      judged === 0
        ? 'no thresholds'
        : failed === 0
          ? `all ${judged} thresholds passed`
          : `${failed} of ${judged} thresholds failed`,
    );
  if (notJudged > 0) parts.push(notJudgedText(notJudged, notJudgedWhy(outcomes)));
  if (unexpected > 0) parts.push(`${unexpected} unexpected invariant violation${unexpected === 1 ? '' : 's'}`);
  if (entries > 0) parts.push(`${entries} failed VM entr${entries === 1 ? 'y' : 'ies'}`);
  // A run cut short (Ctrl-C, a stop): its thresholds hold for the part that ran, no verdict. Said
  // in that order, the stop's own sentence first (partialReason ends with a full stop): "no
  // verdict; all 2 thresholds passed" read as a verdict (the fresh-eyes pass, docs/SERVICE.md).
  const text =
    results.partial === true
      ? `partial results: ${sentence(results.partialReason ?? 'the run stopped before its end')} ${
          runFailed(outcomes)
            ? `No verdict: the run failed (${parts.join('; ')})`
            : `No verdict: the thresholds were evaluated on the part that ran only (there, ${parts.join('; ')})`
        }`
      : parts.join('; ');
  // A shard that ran clean: its badge says that its thresholds are not judged, not that they passed.
  const mark = status === 0 && notJudged > 0 ? notJudgedBadge() : badge(status === 0);
  return `<p class="verdict ${status === 0 ? 'pass' : 'fail'}" data-exit-status="${status}">${mark} ${esc(text)} <span class="muted">(exit status ${status})</span></p>`;
}

/** `s` ending with a full stop (the pool's partialReason has one; a caller's may not). */
function sentence(s: string): string {
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Exits (or accesses) per second per guest as the report shows it: "-" where no guest time was simulated (no rate, not 0). */
function perGuestText(v: VariantResult, count: number): string {
  return v.totals.guestSeconds > 0 ? formatFigure(perGuestSecond(v, count)) : '-';
}

/** Key figures above the details: stopped guests named, phase times with their speed-up, exit rates variant against variant. */
function headline(results: RunResults): string {
  const cards: string[] = [];
  const color = (name: string): string =>
    variantColor(
      Math.max(
        0,
        results.variants.findIndex((v) => v.name === name),
      ),
    );
  const figure = (name: string, text: string): string => `<span style="color:${color(name)}">${esc(text)}</span>`;
  const stops = new Map(
    results.variants.map((v) => [v.name, variantStop(v)] as const).filter((e): e is [string, VariantStop] => !!e[1]),
  );
  for (const s of stops.values()) {
    cards.push(
      `<div class="card stop${s.expected ? ' expected' : ''}" data-stopped="${esc(s.variant)}"><div class="card-label">${esc(s.variant)} stopped</div>` +
        `<div class="card-figure">${figure(s.variant, s.what)}</div>` +
        `<div class="card-detail"><code>${esc(s.check)}</code>${s.expected ? ' (expected by the scenario)' : ''}: ${esc(stoppedText(s))}; its rates per guest-second count the time after the stop too</div></div>`,
    );
  }
  for (const c of phaseComparisons(results)) {
    cards.push(
      `<div class="card" data-phase="${esc(c.phase)}"><div class="card-label">${esc(c.phase)} phase: simulated time to complete</div>` +
        `<div class="card-figure">${figure(c.slow.variant, secondsText(c.slow.seconds))} <span class="vs">vs</span> ${figure(c.fast.variant, secondsText(c.fast.seconds))}</div>` +
        `<div class="card-detail">${esc(c.slow.variant)} vs ${esc(c.fast.variant)}: <strong>${esc(factorText(c.speedup))} faster</strong></div></div>`,
    );
  }
  if (results.variants.length >= 2) {
    const rates = results.variants.map((v) => ({
      name: v.name,
      rate: perGuestSecond(v, v.totals.exitsTotal),
      text: perGuestText(v, v.totals.exitsTotal),
      ran: v.totals.guestSeconds > 0,
    }));
    const notRun = rates.filter((r) => !r.ran).map((r) => r.name);
    const idle = notRun.length > 0 ? `; no guest time simulated in ${notRun.join(', ')}: no rate` : '';
    // A factor only between variants whose guests all ran to the end: a stopped guest's exits stop too.
    const running = rates.filter((r) => !stops.has(r.name) && r.ran);
    let factor = '';
    if (running.length >= 2) {
      const hi = running.reduce((a, b) => (b.rate > a.rate ? b : a));
      const lo = running.reduce((a, b) => (b.rate < a.rate ? b : a));
      if (lo.rate > 0 && hi !== lo)
        factor = `: ${hi.name} has ${factorText(hi.rate / lo.rate)} the exits of ${lo.name}`;
    }
    const stopped = [...stops.values()].map((s) => `; no factor with ${s.variant}: it stopped at "${s.what}"`);
    cards.push(
      `<div class="card"><div class="card-label">VM exits per second per guest</div>` +
        `<div class="card-figure">${rates.map((r) => figure(r.name, `${r.text}${stops.has(r.name) ? ' (stopped)' : ''}`)).join(' <span class="vs">vs</span> ')}</div>` +
        `<div class="card-detail">${rates.map((r) => esc(r.name)).join(' vs ')}${esc(factor)}${esc(stopped.join(''))}${esc(idle)}</div></div>`,
    );
  }
  return cards.length > 0 ? `<div class="cards">${cards.join('')}</div>` : '';
}

function kv(obj: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(obj);
  if (entries.length === 0) return '-';
  return entries.map(([k, val]) => `${esc(k)}=${esc(typeof val === 'string' ? val : JSON.stringify(val))}`).join(', ');
}

function variantsTable(results: RunResults): string {
  const vs = results.variants;
  const phases = phaseNames(vs);
  const row = (label: string, cells: string[], cls = ''): string =>
    `<tr${cls ? ` class="${cls}"` : ''}><th scope="row">${esc(label)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const num = (f: (v: VariantResult) => number): string[] => vs.map((v) => esc(formatFigure(f(v))));
  const rows: string[] = [
    row(
      'policy',
      vs.map((v) => esc(v.policy)),
    ),
    row(
      'CPU',
      vs.map((v) => esc(v.host.cpu)),
    ),
    row(
      'hosts × cores',
      vs.map((v) => esc(`${v.host.count} × ${v.host.cores}`)),
    ),
    row(
      'matrix values',
      vs.map((v) => kv(v.params)),
    ),
    row(
      'tunables',
      vs.map((v) => kv(v.tunables)),
    ),
    row(
      'guests / vCPUs',
      vs.map((v) => esc(`${v.totals.guests} / ${v.totals.vcpus}`)),
    ),
    row(
      'simulated seconds (longest host)',
      num((v) => v.totals.simulatedSeconds),
    ),
    ...phases.map((p) =>
      row(
        `${p} phase completed in (s)`,
        vs.map((v) => {
          const missing = v.totals.phaseUnfinished?.[p] ?? 0;
          const s = v.totals.phaseSeconds[p];
          return esc(`${typeof s === 'number' ? formatFigure(s) : '-'}${unfinishedText(missing)}`);
        }),
        'hl',
      ),
    ),
    row(
      'VM exits, total',
      num((v) => v.totals.exitsTotal),
    ),
    row(
      'VM exits per second per guest',
      vs.map((v) => esc(perGuestText(v, v.totals.exitsTotal))),
      'hl',
    ),
    row(
      '%cr8 accesses per second per guest',
      vs.map((v) => esc(perGuestText(v, v.totals.cr8Accesses))),
    ),
    row(
      'interrupts raised / delivered',
      vs.map((v) => esc(`${formatFigure(v.totals.interruptsRaised)} / ${formatFigure(v.totals.interruptsDelivered)}`)),
    ),
    row(
      'interrupt latency, mean',
      vs.map((v) =>
        esc(
          v.totals.interruptLatency.count > 0
            ? nsText(v.totals.interruptLatency.sumNs / v.totals.interruptLatency.count)
            : '-',
        ),
      ),
    ),
    row(
      'host seconds handling exits',
      num((v) => Object.values(v.totals.hostSecondsInExits).reduce((a, b) => a + b, 0)),
    ),
    // The text and Markdown summaries' two columns, in their words (summary.ts exitHostTime).
    row(
      'host time in exits (share of vCPU time)',
      vs.map((v) => esc(exitHostTime(v)[0])),
    ),
    row(
      'host time per exit',
      vs.map((v) => esc(exitHostTime(v)[1])),
    ),
    row(
      'guest CPU seconds',
      num((v) => v.totals.guestCpuSeconds),
    ),
    row(
      'thresholds passed / failed',
      vs.map((v) => {
        const { judged, failed, notJudged } = thresholdTally(v.thresholds);
        const counts = `${judged - failed} / ${failed}`;
        // A shard's (`run --shard I/N`, N > 1): `vmexit-lab merge` judges them; a failed run's: none does.
        const where = runFailed(v.thresholds) ? ' (the run failed)' : ' on a shard';
        // A stopped run's: counted on the part that ran, no verdict (as each threshold's row says).
        const shown = results.partial === true && judged > 0 ? `${counts} on the part that ran, no verdict` : counts;
        return esc(notJudged === 0 ? shown : `${judged > 0 ? `${shown}, ` : ''}${notJudged} not judged${where}`);
      }),
    ),
    row(
      'invariant violations',
      vs.map((v) => esc(String(v.totals.violations.length))),
    ),
  ];
  return `<div class="scroll"><table class="variants"><thead><tr><th scope="col">variant</th>${vs.map((v, i) => `<th scope="col"><span class="swatch" style="background:${variantColor(i)}"></span>${esc(v.name)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function exitsTable(results: RunResults, reasons: readonly string[]): string {
  if (reasons.length === 0) return '';
  const head = `<tr><th scope="col">exit reason</th>${results.variants.map((v) => `<th scope="col">${esc(v.name)}<br><span class="muted">per s per guest</span></th><th scope="col">${esc(v.name)}<br><span class="muted">total</span></th>`).join('')}</tr>`;
  const rows = reasons.map(
    (r) =>
      `<tr><th scope="row"><code>${esc(r)}</code></th>${results.variants
        .map((v) => {
          const c = v.totals.exits[r] ?? 0;
          return `<td>${esc(formatFigure(perGuestSecond(v, c)))}</td><td>${esc(formatFigure(c))}</td>`;
        })
        .join('')}</tr>`,
  );
  return `<details><summary>Exit counts by reason (table)</summary><div class="scroll"><table class="numbers">${head}${rows.join('')}</table></div></details>`;
}

function latencyTable(results: RunResults): string {
  const head =
    '<tr><th scope="col">variant</th><th scope="col">delivered interrupts measured</th><th scope="col">mean</th><th scope="col">median</th><th scope="col">90th percentile</th><th scope="col">99th percentile</th></tr>';
  const rows = results.variants.map((v) => {
    const h = v.totals.interruptLatency;
    return `<tr><th scope="row">${esc(v.name)}</th><td>${esc(formatFigure(h.count))}</td><td>${esc(h.count > 0 ? nsText(h.sumNs / h.count) : '-')}</td><td>${esc(latencyQuantile(h, 0.5))}</td><td>${esc(latencyQuantile(h, 0.9))}</td><td>${esc(latencyQuantile(h, 0.99))}</td></tr>`;
  });
  return `<div class="scroll"><table class="numbers">${head}${rows.join('')}</table></div><p class="muted small">Percentiles are the upper bounds of the histogram buckets that hold them.</p>`;
}

/**
 * A threshold's metric, expression or message as the page shows it: escaped, and its invisible
 * characters as escapes (showInvisible, the product's one rule), as /metrics' threshold label
 * shows them (src/metrics/thresholdLabel.ts): U+2028 or U+FEFF the grammar trims were in the page
 * as written, a threshold that looks like another (the sixth pass, docs/SERVICE.md).
 */
const shownText = (s: string): string => esc(showInvisible(s));

function thresholdRows(results: RunResults, scope: string, list: readonly ThresholdOutcome[]): string[] {
  return list.map((t) =>
    // A shard's threshold (`run --shard I/N`, N > 1): a grey badge and the reason, no value.
    t.judged === false
      ? `<tr class="skip" data-judged="false"><td>${notJudgedBadge()}</td><td>${esc(scope)}</td><td><code>${shownText(t.metric)}</code></td><td><code>${shownText(t.expr)}</code></td><td>-</td><td class="small">${shownText(t.message ?? NOT_JUDGED_ON_SHARD)}</td></tr>`
      : // A stopped run's: grey, no verdict, the value of the part that ran (JUnit's words, stoppedThresholdText).
        noVerdict(results, t)
        ? `<tr class="skip" data-verdict="none"><td>${noVerdictBadge()}</td><td>${esc(scope)}</td><td><code>${shownText(t.metric)}</code></td><td><code>${shownText(t.expr)}</code></td><td>${esc(thresholdValueText(t))}</td><td class="small">${shownText(stoppedThresholdText(t))}</td></tr>`
        : `<tr class="${t.passed ? 'pass' : 'fail'}"><td>${badge(t.passed)}</td><td>${esc(scope)}</td><td><code>${shownText(t.metric)}</code></td><td><code>${shownText(t.expr)}</code></td><td>${esc(thresholdValueText(t))}</td><td class="small">${!t.passed && t.message ? shownText(t.message) : ''}</td></tr>`,
  );
}

function thresholdsTable(results: RunResults): string {
  const rows = [
    ...results.variants.flatMap((v) => thresholdRows(results, v.name, v.thresholds)),
    ...thresholdRows(results, 'across variants', results.crossVariantThresholds),
  ];
  if (rows.length === 0) return note('The scenario sets no thresholds.');
  return `<div class="scroll"><table class="thresholds"><thead><tr><th scope="col">result</th><th scope="col">variant</th><th scope="col">metric</th><th scope="col">condition</th><th scope="col">value</th><th scope="col">detail</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

export function reportSection(input: ReportInput, index: number, headingLevel: 1 | 2): Section {
  const r = input.results;
  const prefix = `s${index}`;
  const h = (n: number): string => `h${Math.min(6, n + headingLevel - 1)}`;
  const plan = planReasons(r.variants);
  const charts: ChartSpec[] = [];
  const parts: string[] = [];
  const meta = [
    `file <code>${esc(r.file)}</code>`,
    `seed ${esc(String(r.seed))}`,
    ...(r.shard ? [`shard ${r.shard.index}/${r.shard.count}`] : []),
    `started ${esc(fmtTime(r.startedAt))}`,
    `${esc(formatFigure(r.wallSeconds))} s wall`,
    `${esc(r.tool.name)} ${esc(r.tool.version)}, model ${esc(r.tool.modelVersion)}`,
  ];
  parts.push(`<section class="report" id="${prefix}" data-scenario="${esc(r.scenario)}">`);
  parts.push(`<${h(1)} class="scenario-name">${esc(r.scenario)}</${h(1)}>`);
  if (input.description) parts.push(`<p class="description">${esc(input.description)}</p>`);
  parts.push(`<p class="meta">${meta.join(' · ')}</p>`);
  parts.push(verdict(r));
  parts.push(headline(r));

  parts.push(`<${h(2)}>Variants</${h(2)}>`);
  parts.push(variantsTable(r));

  parts.push(`<${h(2)}>Phase completion time</${h(2)}>`);
  const phases = phaseChart(r, prefix);
  if (phases) {
    charts.push(phases);
    parts.push(chartBox(phases));
  } else
    parts.push(
      note(
        'No work-bound phases in this scenario (phases with a fixed amount of work, such as install or build, have a completion time).',
      ),
    );

  parts.push(`<${h(2)}>Exits by reason</${h(2)}>`);
  const exits = exitsChart(r, plan, prefix);
  if (exits) {
    charts.push(exits);
    parts.push(chartBox(exits));
    parts.push(exitsTable(r, rankReasons(r.variants)));
  } else parts.push(note('No VM exits in this run.'));

  parts.push(`<${h(2)} id="${prefix}-perf">Exits as <code>perf kvm stat report</code> prints them</${h(2)}>`);
  parts.push(renderPerfTablesHtml(r));

  parts.push(`<${h(2)}>Exits per second over simulated time</${h(2)}>`);
  const timeline = timelineCharts(r, plan, prefix);
  if (timeline.charts.length > 0) {
    const boxes = timeline.charts.map((spec) => timelineBox(r, spec));
    if (boxes.some((b) => b.drawn))
      parts.push(
        `<p class="controls"><label><input type="checkbox" data-log-toggle="${prefix}-timeline"> logarithmic y axis</label></p>`,
      );
    parts.push(`<div class="grid">${boxes.map((b) => b.html).join('')}</div>`);
    charts.push(...timeline.charts.filter((_, i) => boxes[i].drawn));
  }
  if (timeline.missing.length > 0) {
    parts.push(
      note(
        `No time series in these results for ${timeline.missing.join(', ')} (results.json without variants[].series, e.g. from an older vmexit-lab): the over-time chart is left out; the totals above are complete.`,
      ),
    );
  }

  parts.push(`<${h(2)}>Interrupt latency</${h(2)}>`);
  const latency = latencyChart(r, prefix);
  if (latency) {
    charts.push(latency);
    parts.push(chartBox(latency));
  } else parts.push(note('No interrupt latency was measured in this run.'));
  parts.push(latencyTable(r));

  parts.push(`<${h(2)}>Thresholds</${h(2)}>`);
  parts.push(thresholdsTable(r));

  parts.push(`<${h(2)}>Invariant violations</${h(2)}>`);
  parts.push(violationsSection(r, input.resultsHref));
  parts.push('</section>');
  return { html: parts.join('\n'), charts };
}

// ---------------------------------------------------------------------------------------------
// Public renderers
// ---------------------------------------------------------------------------------------------

function reportBody(inputs: readonly ReportInput[]): { body: string; charts: ChartSpec[] } {
  const sections = inputs.map((input, i) => reportSection(input, i, inputs.length > 1 ? 2 : 1));
  let body = sections.map((s) => s.html).join('\n');
  if (inputs.length > 1) {
    // Two scenarios of one name: their entries say which is which, as JUnit's suites do.
    const labels = scenarioLabels(inputs.map((input) => input.results));
    const toc = labels.map((label, i) => `<li><a href="#s${i}">${esc(label)}</a></li>`).join('');
    body = `<h1>vmexit-lab report: ${inputs.length} scenarios</h1><ul class="toc">${toc}</ul>\n${body}`;
  }
  return { body, charts: sections.flatMap((s) => s.charts) };
}

/** The report of one run as a self-contained HTML document. */
export function renderHtmlReport(results: RunResults, options: HtmlReportOptions = {}): string {
  return renderHtmlReports(
    [{ results, ...(options.description !== undefined ? { description: options.description } : {}) }],
    options,
  );
}

/** Several scenarios' reports in one self-contained HTML document (`vmexit-lab run --html` with several files). */
export function renderHtmlReports(
  inputs: readonly ReportInput[],
  options: Omit<HtmlReportOptions, 'description'> = {},
): string {
  if (inputs.length === 0) throw new Error('renderHtmlReports: no results');
  const { body, charts } = reportBody(inputs);
  const title =
    options.title ??
    (inputs.length === 1
      ? `vmexit-lab report: ${inputs[0].results.scenario}`
      : `vmexit-lab report: ${inputs.map((i) => i.results.scenario).join(', ')}`);
  return page({ title, body, charts, ...(options.chartLibrary ? { chartLibrary: options.chartLibrary } : {}) });
}
