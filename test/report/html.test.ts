import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartJsAsset, reportAssets, scriptSafe } from '../../src/report/assets.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { latencyQuantile, phaseComparisons, timelinePoints, type ChartSpec } from '../../src/report/charts.js';
import { renderHtmlReport, renderHtmlReports } from '../../src/report/html.js';
import { escapeHtml } from '../../src/report/page.js';
import { renderRunPage, renderRunsIndex } from '../../src/report/servicePages.js';
import type { RunResults, VariantResult } from '../../src/results/types.js';
import { checkHtml, externalReferences } from './htmlCheck.js';
import { NASTY, syntheticResults } from './fixtures.js';

/** Regex checks on a whole page, failing with the pattern rather than the page. */
function has(text: string, re: RegExp, what?: string): void {
  assert.ok(re.test(text), what ?? `expected to match ${re}`);
}
function hasNot(text: string, re: RegExp, what?: string): void {
  const m = re.exec(text);
  assert.ok(!m, `${what ?? `expected not to match ${re}`}; found ${JSON.stringify(m?.[0])}`);
}

function chartSpecs(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="vmexit-lab-charts">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the page carries its chart data');
  return JSON.parse(m[1]) as ChartSpec[];
}

function datasets(spec: ChartSpec): { label: string; data: unknown[] }[] {
  return (spec.config.data as { datasets: { label: string; data: unknown[] }[] }).datasets;
}

function assertWellFormed(html: string): ReturnType<typeof checkHtml> {
  const shape = checkHtml(html);
  assert.deepEqual(shape.problems, []);
  for (const t of ['html', 'head', 'body', 'title', 'main']) assert.equal(shape.tags.get(t), 1, `one <${t}>`);
  return shape;
}

function assertSelfContained(html: string): void {
  assert.deepEqual(externalReferences(html), []);
  hasNot(html, /<(script|link)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no script or stylesheet from a URL');
  hasNot(html, /<script\b[^>]*\bsrc\s*=/i, 'every script is inline');
}

test('report: a well-formed, self-contained document with the scenario, every section and Chart.js inlined', () => {
  const html = renderHtmlReport(syntheticResults(), { description: 'Install, before and after the TPR shadow' });
  const shape = assertWellFormed(html);
  assertSelfContained(html);
  assert.equal(shape.tags.get('h1'), 1);
  has(html, /<title>vmexit-lab report: synthetic-install<\/title>/);
  has(html, /<p class="description">Install, before and after the TPR shadow<\/p>/);
  for (const h of [
    'Variants',
    'Phase completion time',
    'Exits by reason',
    'Exits per second over simulated time',
    'Interrupt latency',
    'Thresholds',
    'Invariant violations',
  ]) {
    assert.ok(html.includes(`<h2>${h}</h2>`), h);
  }
  const lib = chartJsAsset();
  assert.equal(lib.name, 'Chart.js');
  assert.match(lib.version, /^4\./);
  assert.ok(html.includes(lib.source), 'the library is inlined whole');
  has(html, /\/\*!\s*\n \* Chart\.js v4/, 'its licence header is kept');
  hasNot(html, /sourceMappingURL/);
  // Three scripts: the library, the chart data (JSON), the drawing code.
  assert.deepEqual(
    shape.scripts.map((s) => s.attrs.trim()),
    ['', 'type="application/json" id="vmexit-lab-charts"', ''],
  );
  // Variants side by side: one column each.
  has(
    html,
    /<th scope="col"><span class="swatch"[^>]*><\/span>bhyve-12\.1<\/th><th scope="col"><span class="swatch"[^>]*><\/span>bhyve-tpr-v1<\/th>/,
  );
});

test('report: every chart is specified with a title in units, data for each variant, and a canvas of its own', () => {
  const html = renderHtmlReport(syntheticResults());
  const specs = chartSpecs(html);
  assert.deepEqual(
    specs.map((s) => s.kind),
    ['phases', 'exits', 'timeline', 'timeline', 'latency'],
  );
  for (const s of specs) {
    assert.ok(html.includes(`<canvas id="${s.canvas}" data-chart="${s.kind}"`), s.canvas);
    const plugins = (s.config.options as { plugins: { title: { text: string } } }).plugins;
    assert.equal(plugins.title.text, s.title);
    has(s.title, /seconds|per second|%/, `units in "${s.title}"`);
    const scales = (s.config.options as { scales: Record<string, { title?: { text: string } }> }).scales;
    for (const axis of Object.values(scales)) assert.ok(axis.title?.text, `${s.kind} axes are titled`);
    assert.ok(datasets(s).length > 0 && datasets(s).every((d) => d.data.length > 0), `${s.kind} has data`);
  }
  const phases = specs[0];
  assert.deepEqual(
    datasets(phases).map((d) => [d.label, d.data]),
    [
      ['bhyve-12.1', [2280]],
      ['bhyve-tpr-v1', [370]],
    ],
  );
  const subtitle = (phases.config.options as { plugins: { subtitle: { text: string[] } } }).plugins.subtitle.text;
  assert.deepEqual(subtitle, ['install: 2,280 s (bhyve-12.1) vs 370 s (bhyve-tpr-v1), 6.16× faster']);
  // Exits: stacked, per guest-second (CR_ACCESS 420,000 over 60 guest-seconds).
  const exits = specs[1];
  assert.deepEqual(
    datasets(exits).map((d) => d.label),
    ['CR_ACCESS', 'EXTERNAL_INTERRUPT', 'HLT'],
  );
  assert.deepEqual(datasets(exits)[0].data, [7000, 0]);
  assert.deepEqual(datasets(exits)[1].data, [10, 9.5]);
  // Timelines: exits per second per guest = bucket / stepSeconds / guests, at the bucket's middle.
  assert.deepEqual(
    specs.slice(2, 4).map((s) => s.variant),
    ['bhyve-12.1', 'bhyve-tpr-v1'],
  );
  const cr = datasets(specs[2]).find((d) => d.label === 'CR_ACCESS');
  assert.deepEqual(cr?.data, [
    { x: 5, y: 6000 },
    { x: 15, y: 12000 },
    { x: 25, y: 3000 },
  ]);
  assert.equal(
    datasets(specs[3]).find((d) => d.label === 'CR_ACCESS'),
    undefined,
    'no line for a reason that did not occur',
  );
  // Both variants' timelines share their axes.
  const xMax = specs.slice(2, 4).map((s) => (s.config.options as { scales: { x: { max: number } } }).scales.x.max);
  assert.deepEqual(xMax, [30, 30]);
  // Latency: percentages of each variant's deliveries, over the buckets that hold any.
  const latency = specs[4];
  assert.deepEqual((latency.config.data as { labels: string[] }).labels, [
    '≤ 1 µs',
    '≤ 2.5 µs',
    '≤ 5 µs',
    '≤ 10 µs',
    '> 10 µs',
  ]);
  assert.deepEqual(
    datasets(latency).map((d) => d.data),
    [
      [60, 30, 10, 0, 0],
      [10, 20, 30, 30, 10],
    ],
  );
});

test('report: the headline shows the phase times and the speed-up factor', () => {
  const html = renderHtmlReport(syntheticResults());
  has(html, /<div class="card" data-phase="install">.*2,280 s.*vs.*370 s.*6\.16× faster/);
  assert.deepEqual(
    phaseComparisons(syntheticResults()).map((c) => [c.phase, c.slow.variant, c.fast.variant, c.speedup.toFixed(3)]),
    [['install', 'bhyve-12.1', 'bhyve-tpr-v1', (2280 / 370).toFixed(3)]],
  );
});

test('report: without variants[].series the over-time chart is replaced by a note, the rest stays', () => {
  const html = renderHtmlReport(syntheticResults({ series: false }));
  assertWellFormed(html);
  assert.deepEqual(
    chartSpecs(html).map((s) => s.kind),
    ['phases', 'exits', 'latency'],
  );
  has(html, /<p class="note">No time series in these results for bhyve-12\.1, bhyve-tpr-v1/);
  hasNot(html, /<input type="checkbox" data-log-toggle/);
});

test('report: a malformed series is treated as absent, not drawn', () => {
  const r = syntheticResults();
  const broken = {
    ...r,
    variants: r.variants.map((v, i) =>
      i === 0
        ? { ...v, series: { stepSeconds: 0, exits: { CR_ACCESS: [1] } } }
        : { ...v, series: { stepSeconds: 10, exits: { HLT: ['x'] } } },
    ),
  } as unknown as RunResults;
  const html = renderHtmlReport(broken);
  assert.deepEqual(
    chartSpecs(html).filter((s) => s.kind === 'timeline'),
    [],
  );
  has(html, /No time series in these results for bhyve-12\.1, bhyve-tpr-v1/);
});

test('report: strings from the scenario are escaped everywhere, in markup and in the chart data', () => {
  const html = renderHtmlReport(syntheticResults({ nasty: true }), { description: NASTY });
  assertWellFormed(html);
  assertSelfContained(html);
  assert.ok(!html.includes(NASTY), 'the raw string never appears');
  assert.ok(!html.includes('<img'), 'no injected element');
  assert.ok(!html.includes('<script>alert'), 'no injected script');
  assert.ok(html.includes(escapeHtml(NASTY)), 'the text is shown, escaped');
  // The chart data still carries the exact name (the chart library draws it as text on a canvas).
  const specs = chartSpecs(html);
  assert.ok(datasets(specs[0]).some((d) => d.label === NASTY));
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(scriptSafe('x = "</script>"; y = "<!-- z"'), 'x = "<\\/script>"; y = "<\\!-- z"');
});

test('report: thresholds with pass and fail, and the verdict with the exit status', () => {
  const html = renderHtmlReport(syntheticResults());
  const rows = html.match(/<tr class="(pass|fail)"><td><span class="badge (pass|fail)">(PASS|FAIL)<\/span>/g) ?? [];
  assert.equal(rows.length, 4);
  assert.equal(rows.filter((r) => r.includes('FAIL')).length, 1);
  has(
    html,
    /<tr class="fail"><td><span class="badge fail">FAIL<\/span><\/td><td>bhyve-12\.1<\/td><td><code>exits_per_second\{reason=&quot;CR_ACCESS&quot;,variant=&quot;bhyve-12\.1&quot;\}<\/code><\/td><td><code>&lt; 1000<\/code><\/td><td>7,000<\/td>/,
  );
  has(html, /<td>across variants<\/td><td><code>ratio\(phase_seconds/);
  // An unexpected violation outranks the failed threshold: exit status 3.
  has(
    html,
    /<p class="verdict fail" data-exit-status="3">.*1 of 4 thresholds failed; 1 unexpected invariant violation/,
  );
});

test('report: invariant violations with their step and LAPIC state', () => {
  const html = renderHtmlReport(syntheticResults());
  has(
    html,
    /<span class="badge expected">expected<\/span><\/td><td>bhyve-tpr-v1<\/td><td><code>isr_isrvec_stk_out_of_sync<\/code><br>ISR and isrvec_stk out of sync<\/td><td>windows-10-1909<\/td><td>0<\/td><td>1<\/td><td>2\.776 ms<\/td><td class="step">431<\/td>/,
  );
  has(html, /<dt>ppr<\/dt><dd>240<\/dd><dt>isr<\/dt><dd>\[251\]<\/dd>/);
  has(html, /<span class="badge fail">UNEXPECTED<\/span><\/td><td>bhyve-tpr-v1<\/td><td><code>ppr_above_tpr<\/code>/);
  const clean = renderHtmlReport({
    ...syntheticResults(),
    variants: syntheticResults().variants.map((v) => ({ ...v, totals: { ...v.totals, violations: [] } })),
  });
  has(clean, /No invariant violations/);
});

test('timelinePoints: long series are merged bucket-wise, the counts they stand for are kept', () => {
  const n = 4000;
  const counts = Array.from({ length: n }, (_, i) => (i % 7) * 3);
  const v = {
    ...syntheticResults().variants[0],
    totals: { ...syntheticResults().variants[0].totals, simulatedSeconds: n, guests: 3 },
  } as VariantResult;
  const pts = timelinePoints(v, { stepSeconds: 1, exits: { HLT: counts } }).get('HLT');
  assert.ok(pts);
  assert.ok(pts.length <= 1500 && pts.length >= 1000, `${pts.length} points`);
  const k = Math.ceil(n / 1500);
  const back = pts.reduce((sum, p, j) => sum + p.y * 3 * (Math.min(n, (j + 1) * k) - j * k), 0);
  assert.ok(Math.abs(back - counts.reduce((a, b) => a + b, 0)) < 1e-3, `${back}`);
  // A last bucket cut short by the end of the run is a rate over the part that ran.
  const cut = { ...v, totals: { ...v.totals, simulatedSeconds: 25, guests: 1 } } as VariantResult;
  assert.deepEqual(timelinePoints(cut, { stepSeconds: 10, exits: { HLT: [10, 10, 10] } }).get('HLT'), [
    { x: 5, y: 1 },
    { x: 15, y: 1 },
    { x: 22.5, y: 2 },
  ]);
});

test('latencyQuantile: the upper bound of the bucket holding the quantile', () => {
  const h = { boundsNs: [1000, 2500, 1e6], counts: [50, 40, 9, 1], count: 100, sumNs: 0 };
  assert.equal(latencyQuantile(h, 0.5), '≤ 1 µs');
  assert.equal(latencyQuantile(h, 0.9), '≤ 2.5 µs');
  assert.equal(latencyQuantile(h, 0.99), '≤ 1 ms');
  assert.equal(latencyQuantile(h, 1), '> 1 ms');
  assert.equal(latencyQuantile({ ...h, counts: [0, 0, 0, 0], count: 0 }, 0.5), '-');
});

test('report: several scenarios in one document, with one copy of the library and distinct chart ids', () => {
  const a = syntheticResults();
  const b = { ...syntheticResults({ series: false }), scenario: 'second' };
  const html = renderHtmlReports([{ results: a, description: 'first one' }, { results: b }]);
  const shape = assertWellFormed(html);
  assert.equal(shape.tags.get('h1'), 1);
  assert.equal(shape.tags.get('section'), 2);
  assert.equal(html.split(chartJsAsset().source).length, 2, 'the library once');
  const ids = chartSpecs(html).map((s) => s.canvas);
  assert.equal(new Set(ids).size, ids.length);
  has(html, /<a href="#s1">second<\/a>/);
  assert.throws(() => renderHtmlReports([]));
});

test('report: no phases, no exits, no latency: notes instead of empty charts', () => {
  const r = syntheticResults({ series: false });
  const empty: RunResults = {
    ...r,
    variants: r.variants.map((v) => ({
      ...v,
      totals: {
        ...v.totals,
        phaseSeconds: {},
        exits: {},
        exitsTotal: 0,
        violations: [],
        interruptLatency: { ...v.totals.interruptLatency, counts: [0, 0, 0, 0, 0], count: 0 },
      },
    })),
  };
  const html = renderHtmlReport(empty);
  assertWellFormed(html);
  has(html, /No work-bound phases/);
  has(html, /No VM exits in this run/);
  has(html, /No interrupt latency was measured/);
  hasNot(html, /<canvas/);
  hasNot(html, /vmexit-lab-charts/, 'no chart data, no library');
});

const RUNS = [
  {
    id: 'a1b2',
    scenario: 'win10-1909-install-tpr-shadowing',
    state: 'running',
    progress: { fraction: 0.425, simSeconds: 969.4, limitSeconds: 2281 },
    startedAt: '2026-11-25T06:00:00.000Z',
  },
  {
    id: 'id/with"odd&chars',
    scenario: NASTY,
    state: 'completed',
    progress: { fraction: 1 },
    startedAt: '2026-11-25T05:00:00.000Z',
  },
  { id: 'q1', scenario: 'queued-one', state: 'queued', progress: null, startedAt: null },
];

test('runs index: one row per run with state and progress, escaped, linking to the run pages, polling the runs API', () => {
  const html = renderRunsIndex(RUNS);
  const shape = assertWellFormed(html);
  assertSelfContained(html);
  assert.ok(!html.includes(NASTY));
  assert.equal((html.match(/<tr data-run-id=/g) ?? []).length, 3);
  has(html, /<a href="\/runs\/a1b2">a1b2<\/a>/);
  assert.ok(html.includes(`<a href="/runs/${escapeHtml(encodeURIComponent('id/with"odd&chars'))}">`));
  has(html, /data-state="running">running<\/span>/);
  has(
    html,
    /<progress max="1" value="0.425"><\/progress> <span class="progress-text">42 %, 969 of 2281 simulated s<\/span>/,
  );
  has(html, /<td>2026-11-25 06:00:00 UTC<\/td>/);
  hasNot(html, /Chart\.js v4/, 'no chart library on the index');
  const live = shape.scripts.find((s) => s.attrs.includes('vmexit-lab-live'));
  assert.ok(live);
  assert.deepEqual(JSON.parse(live.text), { pollUrl: '/api/runs', intervalMs: 2000, runHrefPrefix: '/runs/' });
  has(renderRunsIndex([]), /<p class="note" id="runs-empty">No runs yet/);
  const off = renderRunsIndex(RUNS, { pollUrl: null, runHrefPrefix: '/ui/runs/' });
  has(off, /not updated live/);
  has(off, /<a href="\/ui\/runs\/a1b2">/);
});

test('run page: live progress while running, the full report when done, the error when failed', () => {
  const running = renderRunPage(RUNS[0]);
  assertWellFormed(running);
  has(running, /<h1>Run <code>a1b2<\/code>: win10-1909-install-tpr-shadowing<\/h1>/);
  has(running, /<span id="run-state" class="badge state state-running" data-state="running">running<\/span>/);
  has(running, /<td id="run-progress"><progress max="1" value="0.425">/);
  has(running, /The full report appears here when the run ends/);
  has(running, /"pollUrl":"\/api\/runs\/a1b2"/);
  hasNot(running, /<canvas/);

  const done = renderRunPage(
    { ...RUNS[0], state: 'completed', progress: { fraction: 1 }, finishedAt: '2026-11-25T06:01:00.000Z' },
    syntheticResults(),
    { description: 'a description' },
  );
  const shape = assertWellFormed(done);
  assertSelfContained(done);
  assert.equal(shape.tags.get('h1'), 1, 'the run page has one h1; the report starts at h2');
  has(done, /<h2 class="scenario-name">synthetic-install<\/h2>/);
  has(done, /<p class="description">a description<\/p>/);
  assert.deepEqual(
    chartSpecs(done).map((s) => s.kind),
    ['phases', 'exits', 'timeline', 'timeline', 'latency'],
  );
  has(done, /<a href="\/api\/runs\/a1b2\/results">/);
  hasNot(done, /vmexit-lab-live/, 'a finished run is not polled');
  has(done, /<a href="\/">all runs<\/a>/);

  const failed = renderRunPage({ ...RUNS[1], state: 'failed', error: `worker crashed: ${NASTY}` });
  assertWellFormed(failed);
  assert.ok(!failed.includes(NASTY));
  has(failed, /<tr class="fail"><th scope="row">error<\/th><td>worker crashed: &lt;\/script&gt;/);
  has(failed, /This run has no results/);
});

test('the style and browser scripts come from src/report/assets: built into dist, shipped, inlined without their header', () => {
  const src = join(REPO_ROOT, 'src', 'report', 'assets');
  const files = readdirSync(src).sort();
  assert.deepEqual(files, ['charts.js', 'live.js', 'report.css', 'run.js', 'runs.js']);
  for (const f of files)
    assert.equal(
      readFileSync(join(REPO_ROOT, 'dist', 'src', 'report', 'assets', f), 'utf8'),
      readFileSync(join(src, f), 'utf8'),
      `dist/src/report/assets/${f}: npm run build copies it`,
    );
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(
    pkg.files.some((p) => 'dist/src/report/assets/'.startsWith(`${p}/`)),
    'package.json files ships dist/src/report/assets',
  );
  const a = reportAssets();
  const page = renderRunPage({ id: 'r', scenario: 's', state: 'running' });
  assert.ok(page.includes(`<style>\n${a.css}</style>`));
  assert.ok(page.includes(a.runPage));
  for (const text of [a.css, a.charts, a.runsPage, a.runPage]) {
    hasNot(text, /^\/\*/, 'the file header is not shipped');
    hasNot(text, /@include/, 'live.js is included');
  }
  has(a.runsPage, /function setProgress/, 'live.js is inside runs.js');
});
