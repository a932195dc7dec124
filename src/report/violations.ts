import type { RunResults, ViolationRecord } from '../results/types.js';
import { nsText } from '../results/figures.js';
import { esc, note } from './page.js';
import { entryFailureText } from './entryFailures.js';

/**
 * The report's "Invariant violations" section (the HTML report and the service's run page): a
 * bounded page whatever the run. A run can stop thousands of guests (bhyve-tpr-v2's panic scenario
 * with a large fleet: 20,000 violations made a page of over 10 MB that took the service's main
 * thread seconds to render), so the page shows
 *  - a table per variant and check (count, guests, the earliest) when a check tripped more than once;
 *  - at most VIOLATION_ROWS_SHOWN violations in detail, in results order when they all fit; else the
 *    earliest of each variant and check first (the one `vmexit-lab run` gives a reproducer), then
 *    the others in results order;
 *  - at most ENTRY_FAILURE_ROWS_SHOWN failed VM entries;
 * and says how many it left out and where all of them are: results.json, `variants[].totals`.
 */

/** Violations a page shows in detail, at most (each row carries the LAPIC state: ~0.5 KB). */
export const VIOLATION_ROWS_SHOWN = 100;
/** Failed VM entries a page shows, at most. */
export const ENTRY_FAILURE_ROWS_SHOWN = 100;

/** Where the page says all of them are: the run's results.json, linked when the page has its address. */
function allOf(field: string, resultsHref: string | undefined): string {
  const where =
    resultsHref !== undefined
      ? `the run's results.json (<a href="${esc(resultsHref)}">${esc(resultsHref)}</a>)`
      : "the run's results.json (<code>vmexit-lab run --out results.json</code>)";
  return `all of them are in ${where}, <code>variants[].totals.${field}</code>`;
}

function stateHtml(state: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(state);
  if (entries.length === 0) return '-';
  return `<dl class="state">${entries.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${esc(typeof val === 'string' ? val : JSON.stringify(val))}</dd>`).join('')}</dl>`;
}

function expectedBadge(expected: boolean): string {
  return expected ? '<span class="badge expected">expected</span>' : '<span class="badge fail">UNEXPECTED</span>';
}

function violationRow(variant: string, x: ViolationRecord): string {
  return (
    `<tr class="${x.expected ? 'expected' : 'fail'}"><td>${expectedBadge(x.expected)}</td><td>${esc(variant)}</td>` +
    `<td><code>${esc(x.check)}</code><br>${esc(x.message)}</td><td>${esc(x.guest)}</td><td>${esc(String(x.host))}</td><td>${esc(String(x.vcpu))}</td>` +
    `<td>${esc(nsText(x.simTimeNs))}</td><td class="step">${esc(String(x.step))}</td><td>${stateHtml(x.state)}</td></tr>`
  );
}

/** One variant's violations of one check. */
export interface CheckTally {
  readonly variant: string;
  readonly check: string;
  readonly message: string;
  readonly expected: boolean;
  count: number;
  /** Distinct guests: global index, else host/guest name (older files). */
  readonly guests: Set<string>;
  /** Index into the variant's violations of the earliest (simulated time; the first among equals). */
  earliest: number;
  earliestNs: number;
}

/**
 * One variant's violations by check, in order of first appearance: the grouping of this page's table
 * and of `run`'s text summary (summary.ts), one line or row per check.
 */
export function checkTallies(variant: string, violations: readonly ViolationRecord[]): CheckTally[] {
  const byCheck = new Map<string, CheckTally>();
  violations.forEach((x, i) => {
    let t = byCheck.get(x.check);
    if (t === undefined) {
      t = {
        variant,
        check: x.check,
        message: x.message,
        expected: x.expected,
        count: 0,
        guests: new Set(),
        earliest: i,
        earliestNs: x.simTimeNs,
      };
      byCheck.set(x.check, t);
    }
    t.count++;
    t.guests.add(x.guestIndex !== undefined ? `g${x.guestIndex}` : `${x.host}/${x.guest}`);
    if (x.simTimeNs < t.earliestNs) {
      t.earliest = i;
      t.earliestNs = x.simTimeNs;
    }
  });
  return [...byCheck.values()];
}

/** Per variant and check, in order of first appearance. */
function tallies(results: RunResults): CheckTally[][] {
  return results.variants.map((v) => checkTallies(v.name, v.totals.violations));
}

/**
 * Which violations get a row, in their order on the page (pairs [variant index, violation index]):
 * all of them in results order when they fit in `limit`; else the earliest of each variant and
 * check, then the others in results order, up to `limit` in all.
 */
function shownRows(
  results: RunResults,
  perVariant: readonly CheckTally[][],
  total: number,
  limit: number,
): [number, number][] {
  const rows: [number, number][] = [];
  if (total <= limit) {
    // All of them fit: results order.
    results.variants.forEach((v, vi) => v.totals.violations.forEach((_, i) => rows.push([vi, i])));
    return rows;
  }
  const earliest = results.variants.map(() => new Set<number>());
  perVariant.forEach((tallied, vi) => {
    for (const t of tallied) {
      if (rows.length === limit) return;
      rows.push([vi, t.earliest]);
      earliest[vi].add(t.earliest);
    }
  });
  results.variants.forEach((v, vi) => {
    for (let i = 0; i < v.totals.violations.length && rows.length < limit; i++)
      if (!earliest[vi].has(i)) rows.push([vi, i]);
  });
  return rows;
}

function summaryTable(perVariant: readonly CheckTally[][]): string {
  const rows = perVariant
    .flat()
    .map(
      (t) =>
        `<tr class="${t.expected ? 'expected' : 'fail'}"><td>${expectedBadge(t.expected)}</td><td>${esc(t.variant)}</td>` +
        `<td><code>${esc(t.check)}</code><br>${esc(t.message)}</td><td>${t.count}</td><td>${t.guests.size}</td><td>${esc(nsText(t.earliestNs))}</td></tr>`,
    );
  return `<div class="scroll"><table class="violations-by-check"><thead><tr><th scope="col"></th><th scope="col">variant</th><th scope="col">check</th><th scope="col">violations</th><th scope="col">guests</th><th scope="col">earliest (simulated time)</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/**
 * The section's HTML. `resultsHref`: the address of the run's results.json (the service's run page),
 * where the page points for the violations it does not list.
 */
export function violationsSection(results: RunResults, resultsHref?: string): string {
  const total = results.variants.reduce((n, v) => n + v.totals.violations.length, 0);
  let html: string;
  if (total === 0) html = note('No invariant violations: every consistency check of the hypervisor model held.');
  else {
    const perVariant = tallies(results);
    const pairs = perVariant.reduce((n, t) => n + t.length, 0);
    const shown = shownRows(results, perVariant, total, VIOLATION_ROWS_SHOWN);
    const rows = shown.map(([vi, i]) =>
      violationRow(results.variants[vi].name, results.variants[vi].totals.violations[i]),
    );
    html = '';
    if (total > pairs) html += summaryTable(perVariant);
    if (rows.length < total)
      html += `<p class="note" data-violations-shown="${rows.length}" data-violations-total="${total}">${rows.length} of ${total} violations in detail below: the earliest of each variant and check, then the others in the order of results.json; ${allOf('violations', resultsHref)}.</p>`;
    html += `<div class="scroll"><table class="violations"><thead><tr><th scope="col"></th><th scope="col">variant</th><th scope="col">check</th><th scope="col">guest</th><th scope="col">host</th><th scope="col">vCPU</th><th scope="col">simulated time</th><th scope="col">step</th><th scope="col">LAPIC / hypervisor state at the violation</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  }
  const failures = results.variants.flatMap((v) => v.totals.entryFailures.map((f) => ({ variant: v.name, f })));
  if (failures.length > 0) {
    const rows = failures
      .slice(0, ENTRY_FAILURE_ROWS_SHOWN)
      .map(
        ({ variant, f }) =>
          `<tr class="fail"><td>${esc(variant)}</td><td>${esc(f.guest)}</td><td>${esc(String(f.vcpu))}</td><td>${esc(entryFailureText(f))}</td></tr>`,
      );
    html += '<h3>Failed VM entries</h3>';
    if (rows.length < failures.length)
      html += `<p class="note" data-entry-failures-shown="${rows.length}" data-entry-failures-total="${failures.length}">The first ${rows.length} of ${failures.length} failed VM entries; ${allOf('entryFailures', resultsHref)}.</p>`;
    html += `<div class="scroll"><table class="violations"><thead><tr><th scope="col">variant</th><th scope="col">guest</th><th scope="col">vCPU</th><th scope="col">error and failed checks (SDM)</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  }
  return html;
}
