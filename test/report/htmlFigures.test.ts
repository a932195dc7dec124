/**
 * The HTML report's figures and words (issue #17, items 3 and 4): the perf-style table per variant,
 * whole numbers without decimals, a variant whose guests stopped named in the headline and in place
 * of its empty chart, and the service pages' badge of a run whose results fail. A partial run's
 * verdict line, a variant without guest time ("-", no rate), and invisible characters of a
 * threshold shown as escapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { perfTableOf } from '../../src/report/perfTable.js';
import { renderRunPage, renderRunsIndex, runBadge } from '../../src/report/servicePages.js';
import { FIGURE_FORMAT } from '../../src/results/figures.js';
import type { RunResults, ThresholdOutcome, VariantResult } from '../../src/results/types.js';
import { runScenario } from '../../src/run/runScenario.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { syntheticResults } from './fixtures.js';
import type { ChartSpec } from '../../src/report/charts.js';

function chartSpecs(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="vmexit-lab-charts">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the page carries its chart data');
  return JSON.parse(m[1]) as ChartSpec[];
}

/** The text of an HTML fragment: tags dropped, entities of escaped text undone, blanks folded. */
function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

let panic: RunResults | undefined;
/** The seed's panic: bhyve-tpr-v2 on an APICv Xeon stops at "ISR and isrvec_stk out of sync", v3 runs on. */
function panicResults(): RunResults {
  const file = join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic.yaml');
  panic ??= { ...runScenario(loadScenarioFile(file)).results, file: relative(REPO_ROOT, file) };
  return panic;
}

test('perf table per variant: perf names, Samples, Samples%, Time%, Min/Max/Avg, totals, the mapping column', () => {
  const r = syntheticResults();
  const v = r.variants[0];
  const withEoi: RunResults = {
    ...r,
    variants: [
      {
        ...v,
        totals: {
          ...v.totals,
          exits: { ...v.totals.exits, VIRTUALIZED_EOI: 40 },
          exitsTotal: v.totals.exitsTotal + 40,
        },
      },
      r.variants[1],
    ],
  };
  const html = renderHtmlReport(withEoi);
  const sections = [...html.matchAll(/<details class="perf" data-variant="([^"]*)"[^>]*>([\s\S]*?)<\/details>/g)];
  assert.deepEqual(
    sections.map((m) => m[1]),
    ['bhyve-12.1', 'bhyve-tpr-v1'],
  );
  const first = sections[0][2];
  assert.match(
    first,
    /<th scope="col">VM-EXIT<\/th><th scope="col">Samples<\/th><th scope="col">Samples%<\/th><th scope="col">Time%<\/th><th scope="col">Min Time<\/th><th scope="col">Max Time<\/th><th scope="col">Avg time<\/th><th scope="col">vmexit-lab name<\/th>/,
  );
  const table = perfTableOf(withEoi.variants[0]);
  const rows = [
    ...first.matchAll(
      /<tr><th scope="row"><code>([^<]*)<\/code><\/th>((?:<td>[^<]*(?:<code>[^<]*<\/code>)?<\/td>)+)<\/tr>/g,
    ),
  ];
  assert.deepEqual(
    rows.map((m) => m[1]),
    table.rows.map((x) => x.perfName),
    'perf names, sorted by samples as perf sorts',
  );
  assert.deepEqual(
    rows.map((m) => m[1]),
    ['CR_ACCESS', 'EXTERNAL_INTERRUPT', 'HLT', 'EOI_INDUCED'],
  );
  const eoi = text(rows[3][2]).trim().split(' ');
  assert.deepEqual(
    eoi,
    ['40', '0.01%', '0.00%', '0.00us', '0.00us', '0.00us', 'VIRTUALIZED_EOI'],
    'perf prints EOI_INDUCED; ours is VIRTUALIZED_EOI',
  );
  const cr = text(rows[0][2]).trim().split(' ');
  assert.deepEqual(cr.slice(0, 4), ['420000', '99.83%', '100.00%', '1.43us']);
  assert.equal(cr.length, 6, 'no mapping where the names agree');
  assert.match(first, /Total Samples:420700, Total events handled time:600000\.00us\./);
  assert.match(
    text(html),
    /Min Time = Max Time = Avg time: the model charges every exit of one kind the same host time/,
  );
});

test('whole numbers without decimals in the report: threshold values, variant figures, wall time', () => {
  const html = renderHtmlReport(panicResults());
  const thresholds = /<table class="thresholds">[\s\S]*?<\/table>/.exec(html)![0];
  assert.match(thresholds, /<td>2<\/td>/, 'violations_total 2, not 2.00');
  assert.doesNotMatch(thresholds, /\d\.00\b/);
  const variants = /<table class="variants">[\s\S]*?<\/table>/.exec(html)![0];
  assert.doesNotMatch(variants, /\b\d+\.00\b/, 'simulated seconds 5, not 5.00');
  assert.match(text(variants), /simulated seconds \(longest host\) 5 5/);
  const specs = chartSpecs(html);
  const exits = specs.find((s) => s.kind === 'exits')!;
  const labels = (exits.config.options as { plugins: { vmexitValueLabels: { format: unknown } } }).plugins
    .vmexitValueLabels;
  assert.deepEqual(labels.format, FIGURE_FORMAT, 'the chart labels use the same number format');
});

test('a variant that stopped at a panic: named in the headline, no "541× the exits", its empty chart says why', () => {
  const r = panicResults();
  const v2 = r.variants.find((v) => v.name === 'bhyve-tpr-v2')!;
  assert.ok(v2.totals.violations.length > 0, 'the seed panics');
  // The first guest stopped at the earliest violation, e.g. "16.48 ms" (the report's figure format).
  const firstStop = Math.min(...v2.totals.violations.map((x) => x.simTimeNs));
  const from = `${Number((firstStop / 1e6).toPrecision(4))} ms`.replace('.', '\\.');
  const html = renderHtmlReport(r);
  const cards = text(/<div class="cards">[\s\S]*?<\/div><\/div><\/div>\n/.exec(html)?.[0] ?? html.slice(0, 0));
  assert.match(
    cards,
    new RegExp(
      `bhyve-tpr-v2 stopped ISR and isrvec_stk out of sync isr_isrvec_stk_out_of_sync \\(expected by the scenario\\): both guests stopped from ${from} of simulated time`,
    ),
  );
  assert.doesNotMatch(text(html), /× the exits/, 'no exit factor against a variant whose guests stopped');
  assert.match(cards, /no factor with bhyve-tpr-v2: it stopped at "ISR and isrvec_stk out of sync"/);
  // The over-time chart of v2 would be empty: its place says what happened instead.
  const specs = chartSpecs(html);
  assert.deepEqual(
    specs.filter((s) => s.kind === 'timeline').map((s) => s.variant),
    ['bhyve-tpr-v3'],
  );
  const empty = /<figure class="chart empty"[^>]*data-variant="bhyve-tpr-v2">([\s\S]*?)<\/figure>/.exec(html);
  assert.ok(empty, "a box in the chart's place");
  assert.match(
    text(empty[1]),
    new RegExp(
      `Nothing to draw over time: bhyve-tpr-v2: "ISR and isrvec_stk out of sync" \\(isr_isrvec_stk_out_of_sync, expected by the scenario\\); both guests stopped from ${from}`,
    ),
  );
  assert.doesNotMatch(html, /<canvas[^>]*data-variant="bhyve-tpr-v2"/);
});

test('service pages: a completed run whose results fail is red and says why, never a green "completed"', () => {
  assert.deepEqual(runBadge('completed', { exitStatus: 0 }), {
    text: 'completed',
    cls: 'badge state state-completed',
    exitStatus: 0,
  });
  assert.deepEqual(runBadge('completed', { exitStatus: 1 }), {
    text: 'completed: threshold failed',
    cls: 'badge state state-completed fail',
    exitStatus: 1,
  });
  assert.equal(runBadge('completed', { exitStatus: 3 }).text, 'completed: invariant violation');
  assert.equal(runBadge('completed', undefined).cls, 'badge state state-completed');
  const runs = [
    { id: 'ok', scenario: 's', state: 'completed', summary: { exitStatus: 0 } },
    { id: 'bad', scenario: 's', state: 'completed', summary: { exitStatus: 1 } },
    { id: 'panic', scenario: 's', state: 'completed', summary: { exitStatus: 3 } },
  ];
  const index = renderRunsIndex(runs);
  assert.match(
    index,
    /<tr data-run-id="ok"><td>.*<span class="badge state state-completed" data-state="completed" data-exit-status="0">completed<\/span>/,
  );
  assert.match(
    index,
    /<tr data-run-id="bad" class="fail"><td>.*<span class="badge state state-completed fail" data-state="completed" data-exit-status="1">completed: threshold failed<\/span>/,
  );
  assert.match(index, /<tr data-run-id="panic" class="fail">.*completed: invariant violation/);
  const page = renderRunPage(runs[1], syntheticResults());
  assert.match(
    page,
    /<span id="run-state" class="badge state state-completed fail" data-state="completed" data-exit-status="1">completed: threshold failed<\/span>/,
  );
  // The CSS makes such a badge red: .badge.state.fail outranks .badge.state-completed.
  assert.match(page, /\.badge\.state\.fail\{background:var\(--fail\)\}/);
});

/** The text of the report's verdict line, tags dropped. */
function verdictText(html: string): string {
  const m = /<p class="verdict[^"]*"[^>]*>([\s\S]*?)<\/p>/.exec(html);
  assert.ok(m, 'a verdict');
  return m[1].replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');
}

test('a partial run: "no verdict" is not followed by a verdict, and its stop reads as a sentence', () => {
  const passing = syntheticResults();
  // Both variants' thresholds passing, so the partial run's "all N passed" would contradict "no verdict".
  const r: RunResults = {
    ...passing,
    variants: passing.variants.map((v) => ({
      ...v,
      thresholds: v.thresholds.map((t) => ({ ...t, passed: true })),
      totals: { ...v.totals, violations: [] },
    })),
    partial: true,
    partialReason:
      'cancelled through the API (DELETE /api/runs/{id}) at 1 of 30 simulated seconds, 0 of 100 hosts done.',
  };
  const text = verdictText(renderHtmlReport(r));
  assert.doesNotMatch(text, /\.\)/, `no sentence's full stop inside a parenthesis: ${text}`);
  assert.doesNotMatch(text, /no verdict; all \d+ thresholds passed/, text);
  assert.match(
    text,
    /^FAIL partial results: cancelled through the API \(DELETE \/api\/runs\/\{id\}\) at 1 of 30 simulated seconds, 0 of 100 hosts done\. No verdict: the thresholds were evaluated on the part that ran only \(there, all 4 thresholds passed\) \(exit status 3\)$/,
  );
});

test('a variant that ran no guest time has no exit rate: "-", not a rate of 0 and not "0 vs 0"', () => {
  const base = syntheticResults();
  const idle = (v: VariantResult): VariantResult => ({
    ...v,
    totals: {
      ...v.totals,
      guestSeconds: 0,
      simulatedSeconds: 0,
      exitsTotal: 0,
      exits: {},
      guests: 0,
      vcpus: 0,
      violations: [],
    },
  });
  const r: RunResults = { ...base, variants: base.variants.map(idle), partial: true, partialReason: 'stopped.' };
  const html = renderHtmlReport(r);
  const card =
    /<div class="card"><div class="card-label">VM exits per second per guest<\/div>([\s\S]*?)<\/div><\/div>/.exec(html);
  assert.ok(card, 'the exit-rate card');
  const figures = card[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  assert.doesNotMatch(figures, /\b0 vs 0\b/, figures);
  assert.match(figures, /- vs -/, figures);
  assert.match(figures, /no guest time simulated/, figures);
  const row = /<tr(?: class="[^"]*")?><th scope="row">VM exits per second per guest<\/th>(.*?)<\/tr>/.exec(html);
  assert.ok(row, 'the variants table row');
  assert.deepEqual(
    [...row[1].matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]),
    ['-', '-'],
    'no rate where no guest ran',
  );
});

test('a threshold whose metric or expression holds U+2028, U+FEFF or a bidi override shows them as escapes in the page (they were copied into it as written)', () => {
  const results = syntheticResults();
  const t = results.variants[0].thresholds[1];
  (results.variants[0].thresholds as ThresholdOutcome[])[1] = {
    ...t,
    metric: `${t.metric}\u2028`,
    expr: `< 1000\ufeff`,
    message: `exits_per_second = 7000; does not hold: < 1000\ufeff\u202e`,
  };
  const html = renderHtmlReport(results);
  const table = html.slice(html.indexOf('<table class="thresholds">'));
  assert.ok(table.includes('variant=&quot;bhyve-12.1&quot;}\\u2028</code>'), 'the metric');
  assert.ok(table.includes('&lt; 1000\\ufeff</code>'), 'the expression');
  assert.ok(table.includes('&lt; 1000\\ufeff\\u202e</td>'), 'the message');
  assert.doesNotMatch(table.slice(0, table.indexOf('</table>')), /[\u2028\ufeff\u202e]/);
});
