import type { RunResults, ThresholdOutcome, VariantResult } from '../results/types.js';
import { formatFigure, perGuestSecond } from '../results/figures.js';
import { textTable } from './table.js';

/**
 * Human and CI renderings of results.json: a terminal table, a Markdown summary for PR comments and
 * a JUnit XML file (one testcase per threshold, one per unexpected invariant violation).
 */

function topExits(v: VariantResult, n: number): string {
  return Object.entries(v.totals.exits)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, c]) => `${name} ${formatFigure(perGuestSecond(v, c))}/s`)
    .join(', ');
}

function thresholdLine(t: ThresholdOutcome): string {
  const mark = t.passed ? 'ok  ' : 'FAIL';
  const value = t.value === null ? 'no data' : formatFigure(t.value);
  return `  ${mark} ${t.metric}: ${t.expr}  (value ${value})${t.message && !t.passed ? ` - ${t.message}` : ''}`;
}

function latencyMeanUs(v: VariantResult): string {
  const h = v.totals.interruptLatency;
  return h.count > 0 ? `${(h.sumNs / h.count / 1000).toFixed(1)} us` : '-';
}

/** Plain-text summary printed after `vmexit-lab run`. */
export function renderSummary(results: RunResults): string {
  const lines: string[] = [];
  lines.push(
    `scenario ${results.scenario} (seed ${results.seed}${results.shard ? `, shard ${results.shard.index}/${results.shard.count}` : ''}) - ${results.wallSeconds.toFixed(1)} s wall`,
  );
  const rows = results.variants.map((v) => [
    v.name,
    v.host.cpu,
    v.policy,
    formatFigure(v.totals.simulatedSeconds),
    formatFigure(perGuestSecond(v, v.totals.exitsTotal)),
    formatFigure(perGuestSecond(v, v.totals.cr8Accesses)),
    Object.entries(v.totals.phaseSeconds)
      .map(([p, s]) => `${p} ${formatFigure(s)}s`)
      .join(' ') || '-',
    latencyMeanUs(v),
    String(v.totals.violations.length),
  ]);
  const header = [
    'variant',
    'cpu',
    'policy',
    'sim s',
    'exits/s/guest',
    'cr8/s/guest',
    'phases',
    'irq latency',
    'violations',
  ];
  lines.push(...textTable(header, rows, { rule: true }));
  for (const v of results.variants) {
    lines.push('');
    lines.push(`${v.name}: ${topExits(v, 5) || 'no exits'}`);
    for (const viol of v.totals.violations) {
      lines.push(
        `  violation ${viol.check}${viol.expected ? ' (expected)' : ''}: ${viol.message} - guest ${viol.guest}, host ${viol.host}, vCPU ${viol.vcpu}, step ${viol.step}, t=${(viol.simTimeNs / 1e9).toFixed(3)}s`,
      );
      if (viol.reproducer)
        lines.push(
          `    reproduce (${viol.reproducer.guests.length} guest${viol.reproducer.guests.length === 1 ? '' : 's'}): ${viol.reproducer.command}`,
        );
    }
    for (const f of v.totals.entryFailures)
      lines.push(`  failed VM entry: ${f.message} ${JSON.stringify(f.failedChecks)}`);
    for (const t of v.thresholds) lines.push(thresholdLine(t));
  }
  if (results.crossVariantThresholds.length > 0) {
    lines.push('');
    lines.push('across variants:');
    for (const t of results.crossVariantThresholds) lines.push(thresholdLine(t));
  }
  return `${lines.join('\n')}\n`;
}

/** Markdown for a CI job summary or PR comment. */
export function renderMarkdown(results: RunResults): string {
  const out: string[] = [];
  out.push(`### vmexit-lab: ${results.scenario}`);
  out.push('');
  out.push('| variant | cpu | policy | exits/s per guest | %cr8/s per guest | phases | violations |');
  out.push('|---|---|---|---:|---:|---|---:|');
  for (const v of results.variants) {
    out.push(
      `| ${v.name} | ${v.host.cpu} | ${v.policy} | ${formatFigure(perGuestSecond(v, v.totals.exitsTotal))} | ${formatFigure(perGuestSecond(v, v.totals.cr8Accesses))} | ${
        Object.entries(v.totals.phaseSeconds)
          .map(([p, s]) => `${p} ${formatFigure(s)} s`)
          .join(', ') || '-'
      } | ${v.totals.violations.length} |`,
    );
  }
  const all = [
    ...results.variants.flatMap((v) => v.thresholds.map((t) => ({ v: v.name, t }))),
    ...results.crossVariantThresholds.map((t) => ({ v: '(all)', t })),
  ];
  if (all.length > 0) {
    out.push('');
    out.push('| | variant | threshold | value |');
    out.push('|---|---|---|---:|');
    for (const { v, t } of all)
      out.push(
        `| ${t.passed ? 'pass' : '**FAIL**'} | ${v} | \`${t.metric}: ${t.expr}\` | ${t.value === null ? 'no data' : formatFigure(t.value)} |`,
      );
  }
  return `${out.join('\n')}\n`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JUnit XML: one testsuite per variant (plus one for cross-variant thresholds). */
export function renderJunit(results: RunResults): string {
  const suites: string[] = [];
  const suite = (name: string, cases: { name: string; failure?: string; out?: string }[]): void => {
    const failures = cases.filter((c) => c.failure !== undefined).length;
    suites.push(
      `  <testsuite name="${xml(`${results.scenario}/${name}`)}" tests="${cases.length}" failures="${failures}">`,
    );
    for (const c of cases) {
      if (c.failure === undefined && c.out !== undefined)
        suites.push(
          `    <testcase classname="${xml(results.scenario)}" name="${xml(c.name)}">\n      <system-out>${xml(c.out)}</system-out>\n    </testcase>`,
        );
      else if (c.failure === undefined)
        suites.push(`    <testcase classname="${xml(results.scenario)}" name="${xml(c.name)}"/>`);
      else
        suites.push(
          `    <testcase classname="${xml(results.scenario)}" name="${xml(c.name)}">\n      <failure message="${xml(c.failure)}"/>\n    </testcase>`,
        );
    }
    suites.push('  </testsuite>');
  };
  for (const v of results.variants) {
    const cases: { name: string; failure?: string; out?: string }[] = v.thresholds.map((t) => ({
      name: `${t.metric}: ${t.expr}`,
      failure: t.passed ? undefined : `value ${t.value ?? 'no data'}${t.message ? `: ${t.message}` : ''}`,
    }));
    for (const viol of v.totals.violations) {
      cases.push({
        name: `invariant ${viol.check} (guest ${viol.guest})`,
        // An expected violation passes; its reproducer still goes to the case's output.
        ...(viol.expected && viol.reproducer ? { out: `reproduce: ${viol.reproducer.command}` } : {}),
        failure: viol.expected
          ? undefined
          : `${viol.message} at step ${viol.step}, t=${viol.simTimeNs} ns, state ${JSON.stringify(viol.state)}${viol.reproducer ? `; reproduce with ${viol.reproducer.guests.length} guest(s) up to t=${viol.reproducer.simTimeNs} ns: ${viol.reproducer.command}` : ''}`,
      });
    }
    for (const f of v.totals.entryFailures)
      cases.push({ name: `VM entry (guest ${f.guest})`, failure: `${f.message}: ${JSON.stringify(f.failedChecks)}` });
    suite(v.name, cases);
  }
  if (results.crossVariantThresholds.length > 0) {
    suite(
      'across-variants',
      results.crossVariantThresholds.map((t) => ({
        name: `${t.metric}: ${t.expr}`,
        failure: t.passed ? undefined : `value ${t.value ?? 'no data'}${t.message ? `: ${t.message}` : ''}`,
      })),
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="vmexit-lab">\n${suites.join('\n')}\n</testsuites>\n`;
}
