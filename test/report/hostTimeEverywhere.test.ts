/**
 * Host time where the summary goes: run's text summary had 'host time in exits' (the share of vCPU
 * time) and 'per exit' from results.json's hostSecondsInExits; the Markdown summary (--summary) had
 * neither, the HTML report's variant table only the host seconds, and compare the share as a bare
 * ratio (0.005) with no mean per exit. Each now says what the text summary says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderMarkdown } from '../../src/report/summary.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { compareResults } from '../../src/cli/commands/compare.js';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { syntheticResults } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-host-time-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the Markdown summary has host time in exits and per exit, as the text summary', () => {
  const lines = renderMarkdown(syntheticResults()).split('\n');
  const header = lines.find((l) => l.startsWith('| variant'))!;
  const cols = header.split('|').map((c) => c.trim());
  const row = lines
    .find((l) => l.startsWith('| bhyve-12.1 '))!
    .split('|')
    .map((c) => c.trim());
  // bhyve-12.1: 0.6 host s in exits over 120 vCPU s, 420,660 exits (summaryHostTime.test.ts).
  assert.equal(row[cols.indexOf('host time in exits')], '0.5 %');
  assert.equal(row[cols.indexOf('per exit')], '1.426 µs');
});

test("the HTML report's variant table has the same two rows", () => {
  const html = renderHtmlReport(syntheticResults());
  assert.match(html, /<th[^>]*>host time in exits \(share of vCPU time\)<\/th>\s*<td[^>]*>0\.5 %<\/td>/);
  assert.match(html, /<th[^>]*>host time per exit<\/th>\s*<td[^>]*>1\.426 µs<\/td>/);
});

test('compare shows the share as a percentage and the mean per exit, which gates nothing by itself', async () => {
  const a = syntheticResults();
  const hostTime = a.variants.map((v) => ({
    ...v,
    totals: {
      ...v.totals,
      hostSecondsInExits: Object.fromEntries(Object.entries(v.totals.hostSecondsInExits).map(([k, s]) => [k, 2 * s])),
    },
  }));
  const b = { ...a, variants: hostTime };
  const perExit = compareResults(a, b).find((d) => d.variant === 'bhyve-12.1' && d.metric === 'host time per exit (s)');
  assert.ok(perExit, 'no "host time per exit (s)" metric');
  assert.equal(perExit.lowerIsBetter, false);
  assert.ok(Math.abs(perExit.old! - 0.6 / 420_660) < 1e-15);
  const fileA = join(dir, 'a.json');
  const fileB = join(dir, 'b.json');
  writeFileSync(fileA, JSON.stringify(a));
  writeFileSync(fileB, JSON.stringify(b));
  const io = capture();
  await main(['compare', fileA, fileB], io);
  const text = io.stdout.join('\n');
  assert.match(text, /bhyve-12\.1\s+host time in exits \/ vCPU-s\s+0\.5 %\s+1 %\s+\+100 %/);
  assert.match(text, /bhyve-12\.1\s+host time per exit \(s\)\s+1\.426 µs\s+2\.853 µs\s+\+100 %/);
});
