/** The HTML report's verdicts: the run's verdict line and each threshold's row, with their PASS, FAIL, NOT JUDGED and NO VERDICT badges. */
import type { RunResults, ThresholdOutcome } from '../results/types.js';
import { exitStatusOf, verdictCounts } from '../results/exitStatus.js';
import {
  allOutcomes,
  NOT_JUDGED_ON_SHARD,
  notJudgedText,
  notJudgedWhy,
  runFailed,
  thresholdTally,
} from '../results/thresholds.js';
import { esc, note } from './page.js';
import { showInvisible } from '../input/diagnostics.js';
import { noVerdict, stoppedThresholdText, thresholdValueText } from './summary.js';

function badge(ok: boolean, okText = 'PASS', failText = 'FAIL'): string {
  return ok ? `<span class="badge pass">${okText}</span>` : `<span class="badge fail">${failText}</span>`;
}

/** The grey badge of a threshold a shard did not judge (`run --shard I/N`, N > 1). */
function notJudgedBadge(): string {
  return '<span class="badge" style="background:var(--muted)">NOT JUDGED</span>';
}

/** The grey badge of a stopped run's threshold: evaluated on the part that ran, no verdict. */
function noVerdictBadge(): string {
  return '<span class="badge" style="background:var(--muted)">NO VERDICT</span>';
}

export function verdict(results: RunResults): string {
  // A shard's thresholds (`run --shard I/N`, N > 1) are not judged: `vmexit-lab merge` judges them.
  const outcomes = allOutcomes(results);
  const { judged, failed, notJudged } = thresholdTally(outcomes);
  const { unexpected, entryFailures: entries } = verdictCounts(results);
  const status = exitStatusOf(results);
  const parts: string[] = [];
  if (notJudged === 0 || judged > 0)
    parts.push(
      judged === 0
        ? 'no thresholds'
        : failed === 0
          ? `all ${judged} thresholds passed`
          : `${failed} of ${judged} thresholds failed`,
    );
  if (notJudged > 0) parts.push(notJudgedText(notJudged, notJudgedWhy(outcomes)));
  if (unexpected > 0) parts.push(`${unexpected} unexpected invariant violation${unexpected === 1 ? '' : 's'}`);
  if (entries > 0) parts.push(`${entries} failed VM entr${entries === 1 ? 'y' : 'ies'}`);
  // A run cut short (Ctrl-C, a stop): its thresholds hold for the part that ran, no verdict. Said
  // in that order, the stop's own sentence first (partialReason ends with a full stop): "no
  // verdict; all 2 thresholds passed" read as a verdict (the fresh-eyes pass, docs/SERVICE.md).
  const text =
    results.partial === true
      ? `partial results: ${sentence(results.partialReason ?? 'the run stopped before its end')} ${
          runFailed(outcomes)
            ? `No verdict: the run failed (${parts.join('; ')})`
            : `No verdict: the thresholds were evaluated on the part that ran only (there, ${parts.join('; ')})`
        }`
      : parts.join('; ');
  // A shard that ran clean: its badge says that its thresholds are not judged, not that they passed.
  const mark = status === 0 && notJudged > 0 ? notJudgedBadge() : badge(status === 0);
  return `<p class="verdict ${status === 0 ? 'pass' : 'fail'}" data-exit-status="${status}">${mark} ${esc(text)} <span class="muted">(exit status ${status})</span></p>`;
}

/** `s` ending with a full stop (the pool's partialReason has one; a caller's may not). */
function sentence(s: string): string {
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/**
 * A threshold's metric, expression or message as the page shows it: escaped, and its invisible
 * characters as escapes (showInvisible, the product's one rule), as /metrics' threshold label
 * shows them (src/metrics/thresholdLabel.ts): U+2028 or U+FEFF the grammar trims were in the page
 * as written, a threshold that looks like another (the sixth pass, docs/SERVICE.md).
 */
const shownText = (s: string): string => esc(showInvisible(s));

function thresholdRows(results: RunResults, scope: string, list: readonly ThresholdOutcome[]): string[] {
  return list.map((t) =>
    // A shard's threshold (`run --shard I/N`, N > 1): a grey badge and the reason, no value.
    t.judged === false
      ? `<tr class="skip" data-judged="false"><td>${notJudgedBadge()}</td><td>${esc(scope)}</td><td><code>${shownText(t.metric)}</code></td><td><code>${shownText(t.expr)}</code></td><td>-</td><td class="small">${shownText(t.message ?? NOT_JUDGED_ON_SHARD)}</td></tr>`
      : // A stopped run's: grey, no verdict, the value of the part that ran (JUnit's words, stoppedThresholdText).
        noVerdict(results, t)
        ? `<tr class="skip" data-verdict="none"><td>${noVerdictBadge()}</td><td>${esc(scope)}</td><td><code>${shownText(t.metric)}</code></td><td><code>${shownText(t.expr)}</code></td><td>${esc(thresholdValueText(t))}</td><td class="small">${shownText(stoppedThresholdText(t))}</td></tr>`
        : `<tr class="${t.passed ? 'pass' : 'fail'}"><td>${badge(t.passed)}</td><td>${esc(scope)}</td><td><code>${shownText(t.metric)}</code></td><td><code>${shownText(t.expr)}</code></td><td>${esc(thresholdValueText(t))}</td><td class="small">${!t.passed && t.message ? shownText(t.message) : ''}</td></tr>`,
  );
}

export function thresholdsTable(results: RunResults): string {
  const rows = [
    ...results.variants.flatMap((v) => thresholdRows(results, v.name, v.thresholds)),
    ...thresholdRows(results, 'across variants', results.crossVariantThresholds),
  ];
  if (rows.length === 0) return note('The scenario sets no thresholds.');
  return `<div class="scroll"><table class="thresholds"><thead><tr><th scope="col">result</th><th scope="col">variant</th><th scope="col">metric</th><th scope="col">condition</th><th scope="col">value</th><th scope="col">detail</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}
