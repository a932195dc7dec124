/**
 * The HTML report and the service pages in a real browser: headless Chromium (Debian's
 * `chromium` package, driven by playwright-core; no browser download) opens them, and the tests
 * check that no console error or page error occurs, that every chart exists and holds drawn data
 * points (asked of Chart.js in the page), and that the live pages update. The seed install
 * scenario's report is kept as test-artifacts/report.html and test-artifacts/report.png.
 *
 * Without /usr/bin/chromium these tests are skipped with a notice, except under CI=true, where
 * they run and fail.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../support/chromium.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { REPO_ROOT } from '../../src/model/data.js';
import type { RunResults } from '../../src/results/types.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { renderRunPage, renderRunsIndex, type RunPageEntry } from '../../src/report/servicePages.js';
import { NASTY } from './fixtures.js';
import { formatFigure, perGuestSecond } from '../../src/results/figures.js';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

const skip = chromiumSkip("the HTML report's browser tests");

let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;

async function browser(): Promise<BrowserContext> {
  chromium ??= await launchChromium({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  return chromium.context;
}

after(async () => {
  await chromium?.close();
});

/** Console errors, page errors, failed requests, dialogs, and every URL the page asked for. */
function watch(page: Page): { problems: string[]; requests: string[] } {
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText ?? '';
    // A poll of the API still in flight when the page reloads itself into the report is cancelled
    // by the navigation (net::ERR_ABORTED): that is the browser leaving the page, not a failure.
    if (error === 'net::ERR_ABORTED' && /\/api\/runs(\/|$)/.test(new URL(r.url()).pathname) && r.method() === 'GET')
      return;
    problems.push(`request failed: ${r.url()} ${error}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => requests.push(r.url()));
  return { problems, requests };
}

interface DrawnChart {
  id: string;
  kind: string;
  variant: string | null;
  width: number;
  height: number;
  /** Canvas pixels that are not transparent. */
  inked: number;
  chart: null | {
    type: string;
    title: string;
    labels: string[];
    yType: string;
    datasets: { label: string; values: (number | null)[]; drawn: number }[];
  };
}

/** Every chart canvas of the page, as Chart.js has it (runs in the page). */
const INSPECT_CHARTS = `(() => Array.from(document.querySelectorAll('canvas[data-chart]')).map((c) => {
  const chart = window.Chart ? window.Chart.getChart(c) : undefined;
  let inked = 0;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) inked++;
  return {
    id: c.id, kind: c.dataset.chart, variant: c.dataset.variant || null, width: c.width, height: c.height, inked,
    chart: chart ? {
      type: chart.config.type,
      title: chart.options.plugins.title.text,
      labels: (chart.data.labels || []).map(String),
      yType: chart.scales.y ? chart.scales.y.type : '',
      datasets: chart.data.datasets.map((d, i) => ({
        label: d.label,
        values: d.data.map((p) => (p === null || p === undefined ? null : typeof p === 'number' ? p : p.y)),
        drawn: chart.getDatasetMeta(i).data.filter((el) => el && Number.isFinite(el.x) && Number.isFinite(el.y)).length,
      })),
    } : null,
  };
}))()`;

async function charts(page: Page): Promise<DrawnChart[]> {
  const drawn: DrawnChart[] = await page.evaluate(INSPECT_CHARTS);
  return drawn;
}

function assertDrawn(list: DrawnChart[]): void {
  assert.ok(list.length > 0, 'charts on the page');
  for (const c of list) {
    assert.ok(c.chart, `${c.id}: Chart.js has a chart on the canvas`);
    assert.ok(c.width > 100 && c.height > 100, `${c.id}: laid out (${c.width}x${c.height})`);
    assert.ok(c.inked > 1000, `${c.id}: the canvas is drawn on (${c.inked} px)`);
    assert.ok(c.chart.title.length > 0, `${c.id}: titled`);
    const drawn = c.chart.datasets.filter((d) => d.drawn > 0 && d.values.some((v) => v !== null && v > 0));
    assert.ok(drawn.length > 0, `${c.id}: holds drawn data points`);
    for (const d of c.chart.datasets)
      assert.equal(d.drawn, d.values.length, `${c.id} ${d.label}: every value has a drawn element`);
  }
}

/**
 * Open the report `htmlFile` in `page`, wait until its charts are drawn and check each is
 * (assertDrawn): the charts, and what the page logged and requested on the way (watch).
 */
async function openDrawn(
  page: Page,
  htmlFile: string,
): Promise<{ seen: ReturnType<typeof watch>; list: DrawnChart[] }> {
  const seen = watch(page);
  await page.goto(pathToFileURL(htmlFile).href);
  await page.waitForSelector('body[data-charts-drawn]', { timeout: 30_000 });
  const list = await charts(page);
  assertDrawn(list);
  return { seen, list };
}

let panic: RunResults | undefined;
function panicResults(): RunResults {
  if (!panic) {
    const file = join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic.yaml');
    panic = { ...runScenario(loadScenarioFile(file)).results, file: relative(REPO_ROOT, file) };
  }
  return panic;
}

test(
  'browser: the seed install report (bhyve-12.1 vs bhyve-tpr-v1) draws every chart without errors; screenshot kept',
  { skip, timeout: 300_000 },
  async () => {
    const ctx = await browser(); // first: fail fast without Chromium
    const file = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-install-tpr-shadowing.yaml');
    const scenario = loadScenarioFile(file);
    // Shown as the CLI shows it when run from the repository: a relative path.
    const results = { ...runScenario(scenario).results, file: relative(REPO_ROOT, file) };
    assert.equal(
      typeof (results.variants[0] as { series?: unknown }).series,
      'object',
      'results carry variants[].series',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    const htmlFile = join(ARTIFACTS, 'report.html');
    writeFileSync(htmlFile, renderHtmlReport(results, { description: scenario.description }));

    const page = await ctx.newPage();
    const { seen, list } = await openDrawn(page, htmlFile);
    assert.deepEqual(
      list.map((c) => c.kind),
      ['phases', 'exits', 'timeline', 'timeline', 'latency'],
    );
    assert.equal(await page.getAttribute('body', 'data-charts-drawn'), '5');

    // Phase completion: both variants, 2280 s vs 370 s in the seed.
    const phases = list[0].chart!;
    assert.deepEqual(phases.labels, ['install']);
    assert.deepEqual(
      phases.datasets.map((d) => d.label),
      ['bhyve-12.1', 'bhyve-tpr-v1'],
    );
    const [slow, fast] = phases.datasets.map((d) => d.values[0] ?? 0);
    assert.ok(slow > 1938 && slow < 2622, `bhyve-12.1 install ${slow} s`);
    assert.ok(fast > 314 && fast < 426, `bhyve-tpr-v1 install ${fast} s`);
    assert.ok(phases.datasets.every((d) => d.drawn === 1));
    // Exits by reason: CR_ACCESS stacked for bhyve-12.1 only.
    const exits = list[1].chart!;
    assert.deepEqual(exits.labels, ['bhyve-12.1', 'bhyve-tpr-v1']);
    const cr = exits.datasets.find((d) => d.label === 'CR_ACCESS');
    assert.ok(
      cr && (cr.values[0] ?? 0) > 100_000 && cr.values[1] === 0,
      `CR_ACCESS per guest-second ${JSON.stringify(cr?.values)}`,
    );
    // One over-time chart per variant, each with its own lines.
    assert.deepEqual(
      list.slice(2, 4).map((c) => c.variant),
      ['bhyve-12.1', 'bhyve-tpr-v1'],
    );
    assert.ok(list[2].chart!.datasets.some((d) => d.label === 'CR_ACCESS' && d.values.length > 100));
    assert.ok(!list[3].chart!.datasets.some((d) => d.label === 'CR_ACCESS'));
    // Latency: both variants.
    assert.deepEqual(
      list[4].chart!.datasets.map((d) => d.label),
      ['bhyve-12.1', 'bhyve-tpr-v1'],
    );

    // What a reader sees first.
    assert.match(await page.title(), /win10-1909-install-tpr-shadowing/);
    const card = await page.textContent('.card[data-phase="install"]');
    assert.match(card ?? '', /install phase.*s vs .*s.*bhyve-12\.1 vs bhyve-tpr-v1: \d\.\d\d× faster/s);
    assert.match((await page.textContent('.verdict')) ?? '', /all 7 thresholds passed/);
    assert.equal(await page.locator('table.thresholds tbody tr').count(), 7);

    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    assert.ok(statSync(join(ARTIFACTS, 'report.png')).size > 50_000, 'a screenshot with content');

    // The log-scale toggle redraws the over-time charts.
    await page.check('input[data-log-toggle]');
    const logged = await charts(page);
    assert.deepEqual(
      logged.filter((c) => c.kind === 'timeline').map((c) => c.chart!.yType),
      ['logarithmic', 'logarithmic'],
    );
    assertDrawn(logged);

    assert.deepEqual(seen.problems, []);
    assert.deepEqual(
      seen.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
      [],
      'the report fetches nothing',
    );
    await page.close();
  },
);

test(
  'browser: a report with invariant violations shows them with step and state; the charts still draw',
  { skip, timeout: 120_000 },
  async () => {
    await browser();
    const results = panicResults();
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-report-'));
    try {
      const htmlFile = join(dir, 'panic.html');
      writeFileSync(htmlFile, renderHtmlReport(results));
      const page = await (await browser()).newPage();
      // Every text drawn on a canvas (the figures at the end of the bars).
      await page.addInitScript(`(() => {
        const texts = (window.drawnTexts = []);
        const fill = CanvasRenderingContext2D.prototype.fillText;
        CanvasRenderingContext2D.prototype.fillText = function (t, ...rest) {
          texts.push(String(t));
          return fill.call(this, t, ...rest);
        };
      })()`);
      const { seen, list } = await openDrawn(page, htmlFile);
      // bhyve-tpr-v2's guests stopped at the panic: its over-time chart would be empty, a note says why.
      assert.deepEqual(
        list.map((c) => [c.kind, c.variant ?? '']),
        [
          ['exits', ''],
          ['timeline', 'bhyve-tpr-v3'],
          ['latency', ''],
        ],
      );
      assert.match(
        (await page.textContent('figure.chart.empty[data-variant="bhyve-tpr-v2"]')) ?? '',
        /Nothing to draw over time: bhyve-tpr-v2: "ISR and isrvec_stk out of sync"/,
      );
      assert.ok(await page.isVisible('figure.chart.empty[data-variant="bhyve-tpr-v2"] .note'));
      assert.match(
        (await page.textContent('.card.stop')) ?? '',
        /bhyve-tpr-v2 stopped.*ISR and isrvec_stk out of sync/s,
      );
      // The figures drawn on the exits chart read as formatFigure writes them.
      const drawnTexts: string[] = await page.evaluate('window.drawnTexts');
      for (const v of results.variants)
        assert.ok(
          drawnTexts.includes(`${formatFigure(perGuestSecond(v, v.totals.exitsTotal))} /s`),
          `${v.name}: ${drawnTexts.filter((t) => t.endsWith('/s')).join(', ')}`,
        );
      // The perf-style tables: the first variant's open, a row per exit reason.
      assert.equal(await page.locator('details.perf[open]').count(), 1);
      assert.equal(
        await page.locator('details.perf[open] table.perf tbody tr').count(),
        Object.keys(results.variants[0].totals.exits).length,
      );
      assert.ok(await page.isVisible('details.perf[open] table.perf'));
      assert.match((await page.textContent('h2 + p.note')) ?? '', /No work-bound phases/);
      const violations = results.variants.flatMap((v) => v.totals.violations);
      assert.ok(violations.length >= 2);
      const rows = page.locator('table.violations tbody tr');
      assert.equal(await rows.count(), violations.length);
      assert.deepEqual(
        await page.locator('table.violations td.step').allTextContents(),
        violations.map((x) => String(x.step)),
      );
      assert.match(
        (await rows.first().textContent()) ?? '',
        /isr_isrvec_stk_out_of_sync.*ISR and isrvec_stk out of sync.*isrvecStk/s,
      );
      assert.deepEqual(seen.problems, []);
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'browser: the service index and run page update live, and the run page turns into the report when the run ends',
  { skip, timeout: 120_000 },
  async () => {
    await browser();
    const results = panicResults();
    const runs = new Map<string, RunPageEntry>();
    runs.set('r1', {
      id: 'r1',
      scenario: results.scenario,
      state: 'running',
      progress: { fraction: 0.1, simSeconds: 0.5, limitSeconds: 5 },
      startedAt: '2026-11-25T06:00:00.000Z',
    });
    const server: Server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const send = (status: number, type: string, body: string): void => {
        res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
        res.end(body);
      };
      const byId = (m: RegExpExecArray | null): RunPageEntry | undefined =>
        m ? runs.get(decodeURIComponent(m[1])) : undefined;
      if (path === '/')
        return send(200, 'text/html; charset=utf-8', renderRunsIndex([...runs.values()], { pollIntervalMs: 150 }));
      if (path === '/api/runs') return send(200, 'application/json', JSON.stringify({ runs: [...runs.values()] }));
      const api = byId(/^\/api\/runs\/([^/]+)$/.exec(path));
      if (api) return send(200, 'application/json', JSON.stringify(api));
      const run = byId(/^\/runs\/([^/]+)$/.exec(path));
      if (run)
        return send(
          200,
          'text/html; charset=utf-8',
          renderRunPage(run, run.state === 'completed' ? results : null, {
            pollIntervalMs: 150,
            description: 'the panic of review v2',
          }),
        );
      send(404, 'text/plain', `no ${path}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const page = await (await browser()).newPage();
      const seen = watch(page);
      await page.goto(`${origin}/`);
      assert.match((await page.textContent('tr[data-run-id="r1"]')) ?? '', /running.*10 %, 0\.5 of 5 simulated s/s);
      // Progress and new runs appear without a reload.
      runs.set('r1', { ...runs.get('r1')!, progress: { fraction: 0.6, simSeconds: 3, limitSeconds: 5 } });
      runs.set('r2', {
        id: 'r2',
        scenario: NASTY,
        state: 'queued',
        progress: null,
        startedAt: null,
        queue: { lane: 'max', position: 2 },
      });
      await page.waitForFunction(
        `document.querySelectorAll('#runs-body tr').length === 2 && document.querySelector('tr[data-run-id="r1"] .progress-text').textContent.startsWith('60 %')`,
        undefined,
        { timeout: 10_000 },
      );
      assert.match((await page.textContent('#live-status')) ?? '', /^live: updated/);
      assert.equal(await page.textContent('tr[data-run-id="r2"] td:nth-child(2)'), NASTY, 'shown as text');
      assert.equal(await page.locator('img').count(), 0, 'nothing injected');
      assert.equal(await page.getAttribute('tr[data-run-id="r2"] [data-state]', 'data-state'), 'queued');
      assert.equal(await page.textContent('tr[data-run-id="r2"] [data-state]'), 'queued: 2 in the max lane');
      // A run that completed with a failed threshold turns red in the list, not a green "completed".
      runs.set('r3', {
        id: 'r3',
        scenario: 'thresholds',
        state: 'completed',
        progress: { fraction: 1, simSeconds: 5, limitSeconds: 5 },
        startedAt: '2026-11-25T06:00:00.000Z',
        summary: { exitStatus: 1 },
      });
      await page.waitForSelector('tr[data-run-id="r3"]', { timeout: 10_000 });
      const badge = 'tr[data-run-id="r3"] [data-state]';
      assert.equal(await page.textContent(badge), 'completed: threshold failed');
      const colors = await page.evaluate(
        `[getComputedStyle(document.querySelector('${badge}')).backgroundColor, getComputedStyle(document.querySelector('tr[data-run-id="r3"] td')).backgroundColor]`,
      );
      assert.deepEqual(colors, ['rgb(198, 40, 40)', 'rgb(253, 236, 234)'], 'the fail red, on a red row');
      runs.delete('r3');
      // A run the service stopped at its wall-clock limit says so, not a bare "cancelled"; a run of
      // many tasks says how many are done, not "73 %, 0 of 30 simulated s" (live.js as
      // servicePages.ts: the fresh-eyes pass).
      runs.set('r4', {
        id: 'r4',
        scenario: 'limited',
        state: 'cancelled',
        stopReason: 'time_limit',
        progress: { fraction: 0.73, simSeconds: 0, limitSeconds: 30, tasksDone: 12, tasksTotal: 16 },
        startedAt: '2026-11-25T06:00:00.000Z',
        summary: { exitStatus: 3 },
      });
      await page.waitForSelector('tr[data-run-id="r4"]', { timeout: 10_000 });
      assert.equal(await page.textContent('tr[data-run-id="r4"] [data-state]'), 'cancelled: wall-clock limit');
      assert.equal(
        await page.textContent('tr[data-run-id="r4"] .progress-text'),
        '73 %: 12 of 16 tasks done, the least advanced at 0 of 30 simulated s',
      );
      runs.delete('r4');

      // The run page: live while running, then the report.
      await page.click('a[href="/runs/r1"]');
      await page.waitForURL(`${origin}/runs/r1`);
      assert.match((await page.textContent('#run-progress')) ?? '', /60 %/);
      assert.equal(await page.locator('canvas').count(), 0);
      // No figures yet: the "so far" table waits hidden.
      assert.equal(await page.isHidden('#run-live'), true);
      assert.equal(await page.isVisible('#run-live-empty'), true);
      runs.set('r1', {
        ...runs.get('r1')!,
        progress: { fraction: 0.9, simSeconds: 4.5, limitSeconds: 5 },
        live: [
          {
            name: NASTY,
            simSeconds: 4.56,
            exitsTotal: 1234567.4,
            exitsPerGuestSecond: 68012.6,
            topExits: [
              { reason: 'CR_ACCESS', exits: 1200000, share: 0.972 },
              { reason: 'HLT', exits: 34567, share: 0.028 },
            ],
          },
          // A variant whose tasks wait for a worker: no rate yet.
          { name: 'waiting', simSeconds: 0, exitsTotal: 0, exitsPerGuestSecond: 0, topExits: [] },
        ],
      });
      await page.waitForFunction(
        `document.querySelector('#run-progress .progress-text').textContent.startsWith('90 %') && document.querySelectorAll('#run-live-body tr').length === 2`,
        undefined,
        { timeout: 10_000 },
      );
      assert.equal(await page.isVisible('#run-live'), true);
      assert.equal(await page.isHidden('#run-live-empty'), true);
      assert.deepEqual(await page.locator('#run-live-body td').allTextContents(), [
        NASTY,
        '4.5',
        '1,234,567',
        '68,013',
        'CR_ACCESS 97.2\u00a0%, HLT 2.8\u00a0%',
        'waiting',
        '0',
        '0',
        '-',
        '-',
      ]);
      assert.equal(await page.locator('img').count(), 0, 'a variant name is shown as text');
      runs.set('r1', {
        ...runs.get('r1')!,
        state: 'completed',
        progress: { fraction: 1, simSeconds: 5, limitSeconds: 5 },
        finishedAt: '2026-11-25T06:00:05.000Z',
      });
      await page.waitForSelector('body[data-charts-drawn]', { timeout: 15_000 });
      assert.equal(await page.getAttribute('#run-state', 'data-state'), 'completed');
      assert.match((await page.textContent('.description')) ?? '', /the panic of review v2/);
      assertDrawn(await charts(page));
      assert.equal(
        await page.locator('table.violations tbody tr').count(),
        results.variants.reduce((n, v) => n + v.totals.violations.length, 0),
      );

      assert.deepEqual(seen.problems, []);
      assert.deepEqual(
        seen.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:')),
        [],
        'the pages fetch only from the service',
      );
      await page.close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
);

test(
  'browser: the checks see a broken page (console error, page error, missing chart library)',
  { skip, timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-report-'));
    try {
      const htmlFile = join(dir, 'broken.html');
      const broken = {
        name: 'Chart.js',
        version: '0',
        license: 'MIT',
        source: 'console.error("library failed"); throw new Error("no library");',
      };
      writeFileSync(htmlFile, renderHtmlReport(panicResults(), { chartLibrary: broken }));
      const page = await (await browser()).newPage();
      const seen = watch(page);
      await page.goto(pathToFileURL(htmlFile).href);
      await page.waitForLoadState('load');
      assert.equal(await page.getAttribute('body', 'data-charts-drawn'), null, 'nothing drawn');
      const list = await charts(page);
      assert.ok(list.length > 0 && list.every((c) => c.chart === null && c.inked === 0));
      assert.ok(
        seen.problems.some((p) => p.includes('console error: library failed')),
        seen.problems.join('\n'),
      );
      assert.ok(
        seen.problems.some((p) => p.includes('page error: no library')),
        seen.problems.join('\n'),
      );
      assert.ok(
        seen.problems.some((p) => p.includes('Chart.js is missing')),
        seen.problems.join('\n'),
      );
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
