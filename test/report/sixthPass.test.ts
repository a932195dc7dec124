/**
 * The sixth hostile pass (docs/SERVICE.md "Hostile input"): the HTML report's thresholds table
 * shows invisible characters as escapes, as the threshold label of /metrics does (showInvisible).
 * It failed before the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHtmlReport } from '../../src/report/html.js';
import type { ThresholdOutcome } from '../../src/results/types.js';
import { syntheticResults } from './fixtures.js';

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
