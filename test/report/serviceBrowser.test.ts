/**
 * The real service's pages in headless Chromium: `/` lists runs, `/runs/:id` shows progress and then
 * the run's report with drawn charts, with no console or page errors. Without /usr/bin/chromium the
 * test is skipped with a notice, except under CI=true, where it runs and fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumSkip, launchChromium } from '../support/chromium.js';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { waitForState } from '../support/http.js';

// These run inside the page (playwright serialises them); this project compiles without the DOM lib.

declare const document: any;

type HTMLCanvasElement = any;

const skip = chromiumSkip('the service pages browser test');

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

test(
  'browser: the real service serves the runs index and a run page that becomes the report',
  { skip, timeout: 120_000 },
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vmexit-lab-svc-browser-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const svc: ServiceHandle = await startService({ port: 0, dataDir, workers: 1 });
    cleanup.push(() => svc.close());
    const post = await fetch(`${svc.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/yaml' },
      body: `name: browser-run
host: { cpu: i7-2620M, cores: 4 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
duration: 3s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`,
    });
    assert.equal(post.status, 202);
    const { id } = (await post.json()) as { id: string };

    const { context, close } = await launchChromium();
    cleanup.push(close);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));

    await page.goto(`${svc.url}/`);
    await page.waitForFunction((runId) => document.body.innerText.includes(runId), id, { timeout: 20_000 });
    assert.ok((await page.content()).includes('browser-run'));

    // Wait for the run to end, then its page is the report with drawn charts.
    await waitForState(svc.url, id, ['completed']);
    await page.goto(`${svc.url}/runs/${encodeURIComponent(id)}`);
    await page.waitForFunction(() => document.querySelectorAll('canvas').length > 0, undefined, { timeout: 20_000 });
    const drawn = await page.evaluate(() => {
      const g = globalThis as unknown as {
        Chart?: { getChart(c: HTMLCanvasElement): { data: { datasets: { data: unknown[] }[] } } | undefined };
      };
      return [...document.querySelectorAll('canvas')].map(
        (c) => g.Chart?.getChart(c)?.data.datasets.reduce((n, d) => n + d.data.length, 0) ?? 0,
      );
    });
    assert.ok(drawn.length >= 3 && drawn.every((n) => n > 0), `charts with data points: ${JSON.stringify(drawn)}`);
    assert.deepEqual(problems, []);
  },
);
