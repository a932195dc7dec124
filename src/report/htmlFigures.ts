/** The HTML report's figures: the headline cards above the details and the variants, exits and latency tables. */
import type { RunResults, VariantResult } from '../results/types.js';
import { runFailed, thresholdTally } from '../results/thresholds.js';
import { factorText, formatFigure, nsText, perGuestSecond, secondsText } from '../results/figures.js';
import { latencyQuantile, phaseComparisons, phaseNames, variantColor } from './charts.js';
import { esc } from './page.js';
import { exitHostTime, unfinishedText } from './summary.js';
import { stoppedText, variantStop, type VariantStop } from './stops.js';

/** Exits (or accesses) per second per guest as the report shows it: "-" where no guest time was simulated (no rate, not 0). */
function perGuestText(v: VariantResult, count: number): string {
  return v.totals.guestSeconds > 0 ? formatFigure(perGuestSecond(v, count)) : '-';
}

/** Key figures above the details: stopped guests named, phase times with their speed-up, exit rates variant against variant. */
export function headline(results: RunResults): string {
  const cards: string[] = [];
  const color = (name: string): string =>
    variantColor(
      Math.max(
        0,
        results.variants.findIndex((v) => v.name === name),
      ),
    );
  const figure = (name: string, text: string): string => `<span style="color:${color(name)}">${esc(text)}</span>`;
  const stops = new Map(
    results.variants.map((v) => [v.name, variantStop(v)] as const).filter((e): e is [string, VariantStop] => !!e[1]),
  );
  for (const s of stops.values()) {
    cards.push(
      `<div class="card stop${s.expected ? ' expected' : ''}" data-stopped="${esc(s.variant)}"><div class="card-label">${esc(s.variant)} stopped</div>` +
        `<div class="card-figure">${figure(s.variant, s.what)}</div>` +
        `<div class="card-detail"><code>${esc(s.check)}</code>${s.expected ? ' (expected by the scenario)' : ''}: ${esc(stoppedText(s))}; its rates per guest-second count the time after the stop too</div></div>`,
    );
  }
  for (const c of phaseComparisons(results)) {
    cards.push(
      `<div class="card" data-phase="${esc(c.phase)}"><div class="card-label">${esc(c.phase)} phase: simulated time to complete</div>` +
        `<div class="card-figure">${figure(c.slow.variant, secondsText(c.slow.seconds))} <span class="vs">vs</span> ${figure(c.fast.variant, secondsText(c.fast.seconds))}</div>` +
        `<div class="card-detail">${esc(c.slow.variant)} vs ${esc(c.fast.variant)}: <strong>${esc(factorText(c.speedup))} faster</strong></div></div>`,
    );
  }
  if (results.variants.length >= 2) {
    const rates = results.variants.map((v) => ({
      name: v.name,
      rate: perGuestSecond(v, v.totals.exitsTotal),
      text: perGuestText(v, v.totals.exitsTotal),
      ran: v.totals.guestSeconds > 0,
    }));
    const notRun = rates.filter((r) => !r.ran).map((r) => r.name);
    const idle = notRun.length > 0 ? `; no guest time simulated in ${notRun.join(', ')}: no rate` : '';
    // A factor only between variants whose guests all ran to the end: a stopped guest's exits stop too.
    const running = rates.filter((r) => !stops.has(r.name) && r.ran);
    let factor = '';
    if (running.length >= 2) {
      const hi = running.reduce((a, b) => (b.rate > a.rate ? b : a));
      const lo = running.reduce((a, b) => (b.rate < a.rate ? b : a));
      if (lo.rate > 0 && hi !== lo)
        factor = `: ${hi.name} has ${factorText(hi.rate / lo.rate)} the exits of ${lo.name}`;
    }
    const stopped = [...stops.values()].map((s) => `; no factor with ${s.variant}: it stopped at "${s.what}"`);
    cards.push(
      `<div class="card"><div class="card-label">VM exits per second per guest</div>` +
        `<div class="card-figure">${rates.map((r) => figure(r.name, `${r.text}${stops.has(r.name) ? ' (stopped)' : ''}`)).join(' <span class="vs">vs</span> ')}</div>` +
        `<div class="card-detail">${rates.map((r) => esc(r.name)).join(' vs ')}${esc(factor)}${esc(stopped.join(''))}${esc(idle)}</div></div>`,
    );
  }
  return cards.length > 0 ? `<div class="cards">${cards.join('')}</div>` : '';
}

function kv(obj: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(obj);
  if (entries.length === 0) return '-';
  return entries.map(([k, val]) => `${esc(k)}=${esc(typeof val === 'string' ? val : JSON.stringify(val))}`).join(', ');
}

export function variantsTable(results: RunResults): string {
  const vs = results.variants;
  const phases = phaseNames(vs);
  const row = (label: string, cells: string[], cls = ''): string =>
    `<tr${cls ? ` class="${cls}"` : ''}><th scope="row">${esc(label)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const num = (f: (v: VariantResult) => number): string[] => vs.map((v) => esc(formatFigure(f(v))));
  const rows: string[] = [
    row(
      'policy',
      vs.map((v) => esc(v.policy)),
    ),
    row(
      'CPU',
      vs.map((v) => esc(v.host.cpu)),
    ),
    row(
      'hosts × cores',
      vs.map((v) => esc(`${v.host.count} × ${v.host.cores}`)),
    ),
    row(
      'matrix values',
      vs.map((v) => kv(v.params)),
    ),
    row(
      'tunables',
      vs.map((v) => kv(v.tunables)),
    ),
    row(
      'guests / vCPUs',
      vs.map((v) => esc(`${v.totals.guests} / ${v.totals.vcpus}`)),
    ),
    row(
      'simulated seconds (longest host)',
      num((v) => v.totals.simulatedSeconds),
    ),
    ...phases.map((p) =>
      row(
        `${p} phase completed in (s)`,
        vs.map((v) => {
          const missing = v.totals.phaseUnfinished?.[p] ?? 0;
          const s = v.totals.phaseSeconds[p];
          return esc(`${typeof s === 'number' ? formatFigure(s) : '-'}${unfinishedText(missing)}`);
        }),
        'hl',
      ),
    ),
    row(
      'VM exits, total',
      num((v) => v.totals.exitsTotal),
    ),
    row(
      'VM exits per second per guest',
      vs.map((v) => esc(perGuestText(v, v.totals.exitsTotal))),
      'hl',
    ),
    row(
      '%cr8 accesses per second per guest',
      vs.map((v) => esc(perGuestText(v, v.totals.cr8Accesses))),
    ),
    row(
      'interrupts raised / delivered',
      vs.map((v) => esc(`${formatFigure(v.totals.interruptsRaised)} / ${formatFigure(v.totals.interruptsDelivered)}`)),
    ),
    row(
      'interrupt latency, mean',
      vs.map((v) =>
        esc(
          v.totals.interruptLatency.count > 0
            ? nsText(v.totals.interruptLatency.sumNs / v.totals.interruptLatency.count)
            : '-',
        ),
      ),
    ),
    row(
      'host seconds handling exits',
      num((v) => Object.values(v.totals.hostSecondsInExits).reduce((a, b) => a + b, 0)),
    ),
    // The text and Markdown summaries' two columns, in their words (summary.ts exitHostTime).
    row(
      'host time in exits (share of vCPU time)',
      vs.map((v) => esc(exitHostTime(v)[0])),
    ),
    row(
      'host time per exit',
      vs.map((v) => esc(exitHostTime(v)[1])),
    ),
    row(
      'guest CPU seconds',
      num((v) => v.totals.guestCpuSeconds),
    ),
    row(
      'thresholds passed / failed',
      vs.map((v) => {
        const { judged, failed, notJudged } = thresholdTally(v.thresholds);
        const counts = `${judged - failed} / ${failed}`;
        // A shard's (`run --shard I/N`, N > 1): `vmexit-lab merge` judges them; a failed run's: none does.
        const where = runFailed(v.thresholds) ? ' (the run failed)' : ' on a shard';
        // A stopped run's: counted on the part that ran, no verdict (as each threshold's row says).
        const shown = results.partial === true && judged > 0 ? `${counts} on the part that ran, no verdict` : counts;
        return esc(notJudged === 0 ? shown : `${judged > 0 ? `${shown}, ` : ''}${notJudged} not judged${where}`);
      }),
    ),
    row(
      'invariant violations',
      vs.map((v) => esc(String(v.totals.violations.length))),
    ),
  ];
  return `<div class="scroll"><table class="variants"><thead><tr><th scope="col">variant</th>${vs.map((v, i) => `<th scope="col"><span class="swatch" style="background:${variantColor(i)}"></span>${esc(v.name)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

export function exitsTable(results: RunResults, reasons: readonly string[]): string {
  if (reasons.length === 0) return '';
  const head = `<tr><th scope="col">exit reason</th>${results.variants.map((v) => `<th scope="col">${esc(v.name)}<br><span class="muted">per s per guest</span></th><th scope="col">${esc(v.name)}<br><span class="muted">total</span></th>`).join('')}</tr>`;
  const rows = reasons.map(
    (r) =>
      `<tr><th scope="row"><code>${esc(r)}</code></th>${results.variants
        .map((v) => {
          const c = v.totals.exits[r] ?? 0;
          return `<td>${esc(formatFigure(perGuestSecond(v, c)))}</td><td>${esc(formatFigure(c))}</td>`;
        })
        .join('')}</tr>`,
  );
  return `<details><summary>Exit counts by reason (table)</summary><div class="scroll"><table class="numbers">${head}${rows.join('')}</table></div></details>`;
}

export function latencyTable(results: RunResults): string {
  const head =
    '<tr><th scope="col">variant</th><th scope="col">delivered interrupts measured</th><th scope="col">mean</th><th scope="col">median</th><th scope="col">90th percentile</th><th scope="col">99th percentile</th></tr>';
  const rows = results.variants.map((v) => {
    const h = v.totals.interruptLatency;
    return `<tr><th scope="row">${esc(v.name)}</th><td>${esc(formatFigure(h.count))}</td><td>${esc(h.count > 0 ? nsText(h.sumNs / h.count) : '-')}</td><td>${esc(latencyQuantile(h, 0.5))}</td><td>${esc(latencyQuantile(h, 0.9))}</td><td>${esc(latencyQuantile(h, 0.99))}</td></tr>`;
  });
  return `<div class="scroll"><table class="numbers">${head}${rows.join('')}</table></div><p class="muted small">Percentiles are the upper bounds of the histogram buckets that hold them.</p>`;
}
