/**
 * A threshold's value never prints the same as a bound it differs from (src/results/figures.ts
 * thresholdFigures): six significant digits made 999.9999999 against 1000 read
 * `= 1,000 (...); fails: < 1,000`. Both widen to the fewest digits that tell them apart, in
 * results.json's message, run's summary, JUnit, the Markdown summary and the HTML report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { thresholdValueFigure } from '../../src/results/thresholds.js';
import { thresholdFigure, thresholdFigures } from '../../src/results/figures.js';
import { renderJunit, renderMarkdown, renderSummary } from '../../src/report/summary.js';
import { renderHtmlReport } from '../../src/report/html.js';
import type { RunResults } from '../../src/results/types.js';
import { totals } from '../scenario/helpers.js';
import { judgedResults } from './fixtures.js';

test('thresholdFigures: a value that differs from its bound never prints as the bound; equal ones alike', () => {
  const cases: [value: number, bound: number, value: string, bound: string][] = [
    [999.9999999, 1000, '999.9999999', '1,000'],
    [1000.0000001, 1000, '1,000.0000001', '1,000'],
    [1000, 1000.0000001, '1,000', '1,000.0000001'],
    [1000, 1000, '1,000', '1,000'],
    [0.5, 0.5, '0.5', '0.5'],
    [999.99, 1000, '999.99', '1,000'],
    [-999.9999999, -1000, '-999.9999999', '-1,000'],
    [-0.000001, 0, '-0.000001', '0'],
    [1.0000001e-7, 1e-7, '0.00000010000001', '0.0000001'],
    [2.3333333e-6, 2.3333334e-6, '0.0000023333333', '0.0000023333334'],
    [123_456.4, 123_456, '123,456.4', '123,456'],
    [1_721_383.7, 1000, '1,721,384', '1,000'],
    [0.1 + 0.2, 0.3, '0.30000000000000004', '0.3'],
    [1 + 2 ** -52, 1, '1.0000000000000002', '1'],
    [2 ** 53, 2 ** 53 - 1, '9,007,199,254,740,992', '9,007,199,254,740,991'],
  ];
  for (const [value, bound, v, b] of cases) {
    const [vt, bt] = thresholdFigures(value, bound);
    assert.deepEqual([vt, bt], [v, b], `${value} vs ${bound}`);
    if (value !== bound) assert.notEqual(vt, bt, `${value} vs ${bound} print apart`);
  }
  // Any two doubles apart: neighbours around a bound of each magnitude.
  for (const bound of [1e-9, 0.001, 0.5, 1, 1000, 12_345.678, 1e6 + 0.5, 4e15 + 0.5]) {
    const buf = new Float64Array([bound]);
    const bits = new BigInt64Array(buf.buffer);
    for (const step of [-1n, 1n]) {
      const near = new Float64Array(new BigInt64Array([bits[0] + step]).buffer)[0];
      const [vt, bt] = thresholdFigures(near, bound);
      assert.notEqual(vt, bt, `${near} vs ${bound}`);
    }
  }
  // Alone, or beside a bound it does not meet, a value reads as before (six significant digits).
  assert.equal(thresholdFigures(0.0981234567, 1)[0], thresholdFigure(0.0981234567));
  assert.equal(thresholdValueFigure(999.9999999, 'p99 < 1000'), '999.9999999');
  assert.equal(thresholdValueFigure(999.9999999, 'not an expression'), '1,000', 'no bound to tell apart from');
});

/** A run of one variant whose exit rate is `exits` / 10^7 per guest-second, judged by `expr`. */
function judged(expr: string, exits: number): RunResults {
  const scenario = parseScenario(
    'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-12.1 }\nguests:\n  - os: windows-7\n    phases: [{ phase: install, work: 1s }]\n' +
      `thresholds:\n  exits_per_second: ["${expr}"]\n`,
    't.yaml',
  );
  const t = totals({ guestSeconds: 1e7, vcpuSeconds: 1e7, exits: { CR_ACCESS: exits }, exitsTotal: exits });
  return judgedResults(scenario, t);
}

test('every place a threshold line is printed tells the value from its bound', () => {
  const cases: [expr: string, exits: number, value: string, bound: string, passed: boolean][] = [
    ['< 1000', 9_999_999_999, '999.9999999', '1,000', true],
    ['> 1000', 10_000_000_001, '1,000.0000001', '1,000', true],
    ['<= 1000', 10_000_000_001, '1,000.0000001', '1,000', false],
    ['< 1000', 10_000_000_000, '1,000', '1,000', false],
    ['> 1000.0000001', 10_000_000_000, '1,000', '1,000.0000001', false],
  ];
  for (const [expr, exits, value, bound, passed] of cases) {
    const r = judged(expr, exits);
    const t = r.variants[0].thresholds[0];
    assert.equal(t.passed, passed, expr);
    const op = expr.split(' ')[0];
    const message = `exits_per_second = ${value} (variant base); ${passed ? 'holds' : 'fails'}: ${op} ${bound}`;
    assert.equal(t.message, message, 'results.json message');
    const text = renderSummary(r);
    assert.ok(
      text.includes(passed ? `  ok   exits_per_second: ${expr}  (value ${value})` : `  - ${message}`),
      `summary of ${expr}:\n${text}`,
    );
    const esc = (s: string): string => s.replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const xml = renderJunit(r);
    if (!passed) assert.ok(xml.includes(`<failure message="${esc(message)}"/>`), xml);
    const md = renderMarkdown(r);
    assert.ok(md.includes(`| \`exits_per_second: ${expr}\` | ${value} |`), md);
    const html = renderHtmlReport(r);
    assert.ok(html.includes(`<td>${value}</td>`), 'HTML value column');
    if (!passed) assert.ok(html.includes(esc(message)), 'HTML message');
  }
});
