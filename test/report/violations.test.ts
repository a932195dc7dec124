/**
 * The "Invariant violations" section (src/report/violations.ts) is bounded: a run that stops
 * thousands of guests (bhyve-tpr-v2's panic with a large fleet) gets a page of the same size as one
 * that stops a thousand; the page counts each check, shows the earliest of each in detail and says
 * where all of them are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHtmlReport } from '../../src/report/html.js';
import { renderRunPage } from '../../src/report/servicePages.js';
import { ENTRY_FAILURE_ROWS_SHOWN, VIOLATION_ROWS_SHOWN } from '../../src/report/violations.js';
import type { RunResults, ViolationRecord } from '../../src/results/types.js';
import { checkHtml } from './htmlCheck.js';
import { syntheticResults } from './fixtures.js';

/** `n` violations per variant, the panic on every guest; one late ppr_above_tpr per variant, at its end. */
function manyViolations(n: number, failures = 0): RunResults {
  const base = syntheticResults();
  return {
    ...base,
    variants: base.variants.map((v) => {
      const violations: ViolationRecord[] = [];
      for (let i = 0; i < n; i++)
        violations.push({
          check: 'isr_isrvec_stk_out_of_sync',
          message: 'ISR and isrvec_stk out of sync',
          guest: 'windows-10-1909',
          guestIndex: i,
          host: i >> 4,
          vcpu: i & 1,
          // Not in time order: the earliest is the last one.
          simTimeNs: i === n - 1 ? 1_000 : 2_000_000 + i * 1_000,
          step: 400 + i,
          state: { tpr: 0, ppr: 240, isr: [251], irr: [], isrvecStk: [], svi: 251 },
          expected: true,
        });
      violations.push({
        check: 'ppr_above_tpr',
        message: 'PPR below TPR',
        guest: 'ubuntu-18.04',
        guestIndex: n,
        host: 0,
        vcpu: 3,
        simTimeNs: 9_000_000_000,
        step: 147,
        state: { tpr: 224, ppr: 208 },
        expected: false,
      });
      const entryFailures = Array.from({ length: failures }, (_, i) => ({
        host: i,
        vcpu: 0,
        guest: 'ubuntu-18.04',
        step: 10,
        vmInstructionError: 0,
        message: 'VM-entry failure: invalid guest state',
        failedChecks: ['guest-rflags'],
        details: [],
      }));
      return { ...v, totals: { ...v.totals, violations, entryFailures } };
    }),
  };
}

/** The page from its "Invariant violations" heading on. */
const violationsPart = (html: string): string => html.slice(html.indexOf('>Invariant violations</h'));
const count = (html: string, re: RegExp): number => (html.match(re) ?? []).length;
const DETAIL_ROW =
  /<tr class="(expected|fail)"><td><span class="badge [a-z]+">[A-Za-z]+<\/span><\/td><td>[^<]*<\/td><td><code>[a-z_]+<\/code><br>[^<]*<\/td><td>/g;

test('a run with 20,000 violations makes a page of the same size as one with 1,000: bounded rows, a count per check', () => {
  const small = renderHtmlReport(manyViolations(500));
  const large = renderHtmlReport(manyViolations(10_000));
  assert.deepEqual(checkHtml(large).problems, []);
  // Old code: a row per violation, ~0.5 KB each (10 MB at 20,000).
  assert.ok(
    large.length - small.length < 2_000,
    `20,000 violations: ${large.length} bytes; 1,000: ${small.length} bytes`,
  );
  const clean = renderHtmlReport({
    ...syntheticResults(),
    variants: syntheticResults().variants.map((v) => ({ ...v, totals: { ...v.totals, violations: [] } })),
  });
  assert.ok(large.length - clean.length < 150_000, `${large.length - clean.length} bytes of violations`);
  const section = violationsPart(large);
  const detail = section.slice(section.indexOf('<table class="violations">'));
  assert.equal(count(detail, /<tr class="(expected|fail)">/g), VIOLATION_ROWS_SHOWN);
  // Per variant and check: how many, on how many guests, the earliest.
  const byCheck = section.slice(section.indexOf('<table class="violations-by-check">'), section.indexOf('</table>'));
  assert.equal(count(byCheck, /<tr class="(expected|fail)">/g), 4, byCheck);
  assert.match(
    byCheck,
    /<td>bhyve-tpr-v1<\/td><td><code>isr_isrvec_stk_out_of_sync<\/code><br>ISR and isrvec_stk out of sync<\/td><td>10000<\/td><td>10000<\/td><td>1 µs<\/td>/,
  );
  assert.match(
    byCheck,
    /<td>bhyve-12\.1<\/td><td><code>ppr_above_tpr<\/code><br>PPR below TPR<\/td><td>1<\/td><td>1<\/td><td>9 s<\/td>/,
  );
  assert.match(
    section,
    /100 of 20002 violations in detail below: .*all of them are in the run's results\.json \(<code>vmexit-lab run --out results\.json<\/code>\), <code>variants\[\]\.totals\.violations<\/code>/,
  );
  // The earliest of each variant and check has its row, even past the first hundred.
  assert.match(detail, /<td class="step">10399<\/td>/);
  // It comes first: the table starts with the earliest of each variant and check.
  assert.deepEqual(
    [...detail.matchAll(/<td class="step">(\d+)<\/td>/g)].slice(0, 4).map((m) => m[1]),
    ['10399', '147', '10399', '147'],
  );
  assert.equal(count(detail, /<code>ppr_above_tpr<\/code>/g), 2);
  assert.equal(count(detail, DETAIL_ROW), VIOLATION_ROWS_SHOWN);
});

test('the run page points at its results.json for the violations and failed entries it leaves out', () => {
  const page = renderRunPage(
    { id: 'big', scenario: 'synthetic-install', state: 'completed', progress: { fraction: 1 } },
    manyViolations(300, 250),
  );
  assert.deepEqual(checkHtml(page).problems, []);
  assert.match(
    page,
    /100 of 602 violations in detail below: .*all of them are in the run's results\.json \(<a href="\/api\/runs\/big\/results">\/api\/runs\/big\/results<\/a>\)/,
  );
  assert.match(
    page,
    new RegExp(
      `The first ${ENTRY_FAILURE_ROWS_SHOWN} of 500 failed VM entries; all of them are in the run's results\\.json \\(<a href="/api/runs/big/results">`,
    ),
  );
  const failures = page.slice(page.indexOf('<h3>Failed VM entries</h3>'));
  assert.equal(count(failures, /<tr class="fail">/g), ENTRY_FAILURE_ROWS_SHOWN);
});

test('a few violations, each check once: every one in detail, no count table, nothing left out', () => {
  const html = violationsPart(renderHtmlReport(syntheticResults()));
  assert.doesNotMatch(html, /violations-by-check|in detail below/);
  assert.equal(count(html, /<tr class="(expected|fail)"><td><span class="badge/g), 2);
});
