/**
 * The Prometheus names the docs write must exist, so a renamed or dropped metric, recording rule or
 * alert cannot leave a page (or a PromQL example a reader pastes) pointing at nothing: every
 * `vmexit_lab_*` name is a metric of src/metrics/registry.ts METRICS (a histogram's `_bucket`,
 * `_sum` and `_count` series included), every `vmexit_lab:*` / `vmexit_lab_fleet:*` name is a
 * `record:` of the shipped rule files, and every `VmexitLab*` name an `alert:` of those files or
 * the alert `vmexit-lab rules` writes (src/metrics/alertRules.ts ALERT_NAME).
 *
 * Pages: README.md, CONTRIBUTING.md, docs/*.md and docs/model/ (as test/docs/references.test.ts
 * reads them); not docs/research/ or docs/perf/history.md, dated notes that name things as they
 * were then.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALERT_NAME } from '../../src/metrics/alertRules.js';
import { METRICS } from '../../src/metrics/catalogue.js';
import { REPO_ROOT } from '../../src/model/data.js';

const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  ...['docs', 'docs/model'].flatMap((d) =>
    readdirSync(join(REPO_ROOT, d))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `${d}/${f}`),
  ),
].sort();

/** The files whose `record:` and `alert:` names the docs may cite. */
const RULE_FILES = [
  'grafana/provisioning/prometheus/rules/vmexit-lab.rules.yml',
  'deploy/k8s/components/monitoring/prometheusrule.yaml',
];

const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');

/** Every series name the registry exports: metric names, and a histogram's three series. */
function exportedSeries(): Set<string> {
  const names = new Set<string>();
  for (const m of METRICS) {
    names.add(m.name);
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

function ruleNames(kind: 'record' | 'alert'): Set<string> {
  const names = new Set<string>();
  for (const f of RULE_FILES)
    for (const m of read(f).matchAll(new RegExp(`^\\s*-?\\s*${kind}:\\s*([\\w:]+)\\s*$`, 'gm'))) names.add(m[1]);
  return names;
}

/** The names a text writes, by kind, with their line numbers. */
export function namesIn(text: string): { kind: 'metric' | 'record' | 'alert'; name: string; line: number }[] {
  const out: { kind: 'metric' | 'record' | 'alert'; name: string; line: number }[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    // A recording rule's name has a colon: vmexit_lab:..., vmexit_lab_fleet:...
    for (const m of line.matchAll(/(?<![\w:])(vmexit_lab(?:_fleet)?:[a-z0-9_:]*[a-z0-9_])/g))
      out.push({ kind: 'record', name: m[1], line: i + 1 });
    for (const m of line.matchAll(/(?<![\w:])(vmexit_lab_[a-z0-9_]*[a-z0-9])(?![\w:])/g))
      out.push({ kind: 'metric', name: m[1], line: i + 1 });
    for (const m of line.matchAll(/(?<![\w])(VmexitLab[A-Za-z0-9]+)/g))
      out.push({ kind: 'alert', name: m[1], line: i + 1 });
  }
  return out;
}

/** The names of a text that do not exist, as "PAGE:LINE: KIND NAME". */
function unknownNames(page: string, text: string, known: Record<'metric' | 'record' | 'alert', Set<string>>): string[] {
  return namesIn(text)
    .filter((n) => !known[n.kind].has(n.name))
    .map((n) => `${page}:${n.line}: ${n.kind} ${n.name}`);
}

function known(): Record<'metric' | 'record' | 'alert', Set<string>> {
  return { metric: exportedSeries(), record: ruleNames('record'), alert: new Set([...ruleNames('alert'), ALERT_NAME]) };
}

test('the rule files hold recording rules and alerts, and the registry metrics', () => {
  const k = known();
  assert.ok(k.metric.size >= 40, `${k.metric.size} series names`);
  assert.ok(k.record.size >= 10, [...k.record].join(' '));
  assert.ok(k.alert.size >= 5, [...k.alert].join(' '));
  assert.ok(PAGES.includes('docs/GRAFANA.md') && PAGES.includes('docs/SERVICE.md'), PAGES.join(' '));
});

test('a name that no longer exists is caught, of each kind; a histogram series and a rule name are not metrics', () => {
  const text = [
    'rate(vmexit_lab_vm_exits_total[1m]) / vmexit_lab_interrupt_latency_seconds_bucket',
    'vmexit_lab_cr8_exits_total, vmexit_lab:vm_exits_per_simulated_second:rate1m',
    'vmexit_lab:cr8_exits:rate5m and vmexit_lab_fleet:vm_exits:sum',
    '`VmexitLabThresholdFailed`, `VmexitLabScenarioThreshold`, `VmexitLabCr8ExitsHigh`',
  ].join('\n');
  assert.deepEqual(unknownNames('x.md', text, known()), [
    'x.md:2: metric vmexit_lab_cr8_exits_total',
    'x.md:3: record vmexit_lab:cr8_exits:rate5m',
    'x.md:4: alert VmexitLabCr8ExitsHigh',
  ]);
});

test('every metric, recording rule and alert name the docs write exists', () => {
  const k = known();
  const unknown: string[] = [];
  let named = 0;
  for (const page of PAGES) {
    const text = read(page);
    named += namesIn(text).length;
    unknown.push(...unknownNames(page, text, k));
  }
  assert.ok(named >= 100, `only ${named} names in the docs`);
  assert.deepEqual(unknown, []);
});
