import type { RunResults } from '../results/types.js';
import type { InlineScript } from './assets.js';
import { formatFigure } from '../results/figures.js';
import {
  exitsChart,
  latencyChart,
  phaseChart,
  planReasons,
  rankReasons,
  timelineCharts,
  type ChartSpec,
} from './charts.js';
import { esc, fmtTime, note, page } from './page.js';
import { renderPerfTablesHtml } from './perfTable.js';
import { scenarioLabels } from './summary.js';
import { stopSentence, variantStop } from './stops.js';
import { violationsSection } from './violations.js';
import { exitsTable, headline, latencyTable, variantsTable } from './htmlFigures.js';
import { thresholdsTable, verdict } from './htmlVerdicts.js';

/**
 * The HTML report: one self-contained file (styles, data, Chart.js and the code that draws the
 * charts are all inline; nothing is fetched when it is opened) that a person can read in a minute.
 * The same sections make up the service's run page (`/runs/:id`, src/report/servicePages.ts).
 * This file puts a section together and its charts; the verdict line and the thresholds table are
 * in src/report/htmlVerdicts.ts, the headline cards and the other tables in src/report/htmlFigures.ts.
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
