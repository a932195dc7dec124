/**
 * A threshold's value is printed in one form wherever its outcome shows: the text summary, the
 * results.json message, JUnit, the Markdown summary and the HTML report (src/results/figures.ts
 * thresholdFigure). The summary once printed `(value 1,721,384) - ... = 1721380`: two forms, two numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { evaluateThresholds } from '../../src/results/thresholds.js';
import { renderJunit, renderMarkdown, renderSummary } from '../../src/report/summary.js';
import { renderHtmlReport } from '../../src/report/html.js';
import type { RunResults } from '../../src/results/types.js';
import { totals } from '../scenario/helpers.js';
import { judgedResults } from './fixtures.js';

/** A run of one variant whose CR_ACCESS rate is 1,721,383.7 per guest-second and host time 9.81235 % of vCPU time. */
function measured(): RunResults {
  const scenario = parseScenario(
    'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-12.1 }\nguests:\n  - os: windows-7\n    phases: [{ phase: install, work: 1s }]\n' +
      'thresholds:\n  exits_per_second{reason="CR_ACCESS"}: ["< 1000"]\n  host_exit_time_ratio: ["< 1"]\n',
    't.yaml',
  );
  const t = totals({
    guestSeconds: 10,
    vcpuSeconds: 10,
    exits: { CR_ACCESS: 17_213_837 },
    exitsTotal: 17_213_837,
    hostSecondsInExits: { CR_ACCESS: 0.981234567 },
  });
  return judgedResults(scenario, t);
}

test("a threshold's value reads the same in results.json's message, the summary, JUnit, Markdown and HTML", () => {
  const r = measured();
  const [fail, pass] = r.variants[0].thresholds;
  assert.equal(fail.value, 17_213_837 / 10, 'results.json keeps the exact value');
  assert.equal(
    fail.message,
    'exits_per_second{reason="CR_ACCESS"} = 1,721,384 (variant base); fails: < 1,000',
    'grouped, whole from 100,000 up (no digit of the integer part dropped)',
  );
  assert.equal(pass.message, 'host_exit_time_ratio = 0.0981235 (variant base); holds: < 1');

  const text = renderSummary(r);
  const failLine = text.split('\n').find((l) => l.startsWith('  FAIL '))!;
  assert.equal(
    failLine,
    '  FAIL exits_per_second{reason="CR_ACCESS"}: < 1000  - exits_per_second{reason="CR_ACCESS"} = 1,721,384 (variant base); fails: < 1,000',
    'the value once, in the message',
  );
  assert.match(text, /^ {2}ok {3}host_exit_time_ratio: < 1 {2}\(value 0\.0981235\)$/m);

  const xml = renderJunit(r);
  assert.match(
    xml,
    /<failure message="exits_per_second\{reason=&quot;CR_ACCESS&quot;\} = 1,721,384 \(variant base\); fails: &lt; 1,000"\/>/,
  );

  const md = renderMarkdown(r);
  assert.match(md, /\| \*\*FAIL\*\* \| base \| `exits_per_second\{reason="CR_ACCESS"\}: < 1000` \| 1,721,384 \|/);
  assert.match(md, /\| pass \| base \| `host_exit_time_ratio: < 1` \| 0\.0981235 \|/);

  const html = renderHtmlReport(r);
  assert.match(
    html,
    /<td>1,721,384<\/td><td class="small">exits_per_second\{reason=&quot;CR_ACCESS&quot;\} = 1,721,384 /,
  );
  assert.match(html, /<td>0\.0981235<\/td>/);

  // No other form of either value where the thresholds are shown.
  const htmlThresholds = /<table class="thresholds">.*?<\/table>/s.exec(html)?.[0] ?? '';
  for (const out of [text, xml, md, htmlThresholds]) {
    assert.doesNotMatch(out, /1721380|1,721,380|1,721,383|1\.72/);
    assert.doesNotMatch(out, /0\.098[^1]|0\.0981(?!235)/);
  }
});

test('figures of a threshold: integers exact and grouped, six significant digits below 100,000', () => {
  const one = (expr: string, over: Parameters<typeof totals>[0]): string => {
    const s = parseScenario(
      `name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-12.1 }\nguests:\n  - os: windows-7\n    phases: [{ phase: install, work: 1s }]\nthresholds:\n  ${expr}\n`,
      't.yaml',
    );
    return evaluateThresholds(s, [{ name: 'base', totals: totals(over) }]).perVariant.get('base')![0].message!;
  };
  assert.match(one('exits_total: ["< 1"]', { exitsTotal: 20_000_000_123 }), / = 20,000,000,123 /);
  assert.match(one('exits_per_second: ["< 1"]', { exitsTotal: 123_456, guestSeconds: 10 }), / = 12,345\.6 /);
  assert.match(one('exits_per_second: ["< 1"]', { exitsTotal: 1_234_567, guestSeconds: 10 }), / = 123,457 /);
});
