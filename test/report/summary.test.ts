/** The text summary, the Markdown summary and JUnit XML (src/report/summary.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  scenarioLabels,
  renderJunit,
  renderMarkdown,
  renderMarkdownAll,
  renderSummary,
} from '../../src/report/summary.js';
import { syntheticResults } from './fixtures.js';
import { checkXml } from './xmlCheck.js';
import { renderHtmlReport, renderHtmlReports } from '../../src/report/html.js';
import { exitStatusOf } from '../../src/results/exitStatus.js';
import { NOT_JUDGED_RUN_FAILED, notJudged, notJudgedOnShard } from '../../src/results/thresholds.js';

test('JUnit: time and timestamp on every suite (the run wall time, its start), time on every case', () => {
  const xml = renderJunit(syntheticResults());
  const root = /<testsuites ([^>]*)>/.exec(xml)?.[1] ?? '';
  assert.match(root, /\btests="6"/);
  assert.match(root, /\bfailures="2"/, 'one failed threshold, one unexpected violation');
  assert.match(root, /\btime="1\.25"/);
  const suites = [...xml.matchAll(/<testsuite ([^>]*)>/g)].map((m) => m[1]);
  assert.equal(suites.length, 3, 'two variants and the cross-variant thresholds');
  for (const s of suites) {
    assert.match(s, /\btime="1\.25"/, s);
    // Ant's junit.xsd: an ISO 8601 date-time without zone or fraction.
    assert.match(s, /\btimestamp="2026-11-25T06:00:00"/, s);
    assert.match(s, /\berrors="0" skipped="0"/, s);
  }
  const cases = [...xml.matchAll(/<testcase ([^>]*?)\/?>/g)].map((m) => m[1]);
  assert.equal(cases.length, 6);
  for (const c of cases) assert.match(c, /\btime="0"$/, c);
  assert.match(xml, /<failure message="exits_per_second = 7000; does not hold: &lt; 1000"\/>/);
});

test('summary and Markdown: whole numbers without decimals, latencies with their unit', () => {
  const text = renderSummary(syntheticResults());
  const row = text.split('\n').find((l) => l.startsWith('bhyve-12.1 '))!;
  assert.match(row, /\s30\s/, 'simulated seconds 30, not 30.00');
  assert.match(row, /1\.5 µs/, 'mean latency 150,000 ns / 100');
  assert.doesNotMatch(text, /\b\d+\.00\b/, 'no ".00"');
  assert.match(text, /\(value 2,280\)/);
  const md = renderMarkdown(syntheticResults());
  assert.match(md, /\| install 2,280 s \|/);
  assert.doesNotMatch(md, /\b\d+\.00\b/);
});

/** The cells of a GFM table row: split at every "|" not escaped with a backslash. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

test('Markdown: a "|" or a newline in a name stays inside its cell (results.json files given to merge are not checked)', () => {
  const base = syntheticResults();
  const r = {
    ...base,
    scenario: 'two\nlines',
    variants: base.variants.map((v, i) => ({
      ...v,
      name: i === 0 ? 'a|b' : v.name,
      thresholds: v.thresholds.map((t) => ({ ...t, metric: `${t.metric}|x` })),
    })),
  };
  const md = renderMarkdown(r);
  assert.ok(md.startsWith('### vmexit-lab: two lines\n'), md.split('\n')[0]);
  const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
  assert.equal(tables.length, 2);
  for (const t of tables) {
    const rows = t.trim().split('\n');
    const width = cells(rows[0]).length;
    for (const row of rows) assert.equal(cells(row).length, width, row);
  }
  assert.match(md, /\| a\\\|b \| i7-2620M \|/);
});

test('a partial run (Ctrl-C, a stop) says so in the text, the Markdown and the HTML verdict', () => {
  const partialReason = 'interrupted (Ctrl-C, SIGINT) at 3 of 30 simulated seconds, 0 of 1 hosts done.';
  const r = { ...syntheticResults(), partial: true as const, partialReason };
  assert.match(renderSummary(r).split('\n')[1], /^partial results: interrupted \(Ctrl-C, SIGINT\) .* no verdict\.$/);
  assert.match(renderMarkdown(r), /^> \*\*partial results: interrupted/m);
  assert.match(
    renderJunit(r),
    /<testsuite name="synthetic-install\/run" tests="1" failures="1"[^>]*>\n {4}<testcase classname="synthetic-install" name="the run reached its end" time="0">\n {6}<failure message="partial results: interrupted \(Ctrl-C, SIGINT\) at 3 of 30/,
  );
  assert.doesNotMatch(renderJunit(syntheticResults()), /\/run"/);
  assert.match(
    renderHtmlReport(r),
    /data-exit-status="3">.*partial results: interrupted \(Ctrl-C, SIGINT\) at 3 of 30 simulated seconds, 0 of 1 hosts done\. No verdict/,
  );
  for (const text of [renderSummary(syntheticResults()), renderMarkdown(syntheticResults())])
    assert.doesNotMatch(text, /partial/);
});

test("a stopped run's JUnit gives no verdict on its thresholds: each a skipped case saying so, as the log does", () => {
  const partialReason = 'terminated (SIGTERM) at 3 of 30 simulated seconds, 0 of 1 hosts done.';
  const r = { ...syntheticResults(), partial: true as const, partialReason };
  const xml = renderJunit(r);
  assert.deepEqual(checkXml(xml).problems, []);
  // The fixture's four thresholds (one fails on the part that ran): skipped, the measure kept in the message.
  const skipped = [...xml.matchAll(/<skipped message="([^"]*)"\/>/g)].map((m) => m[1]);
  assert.equal(skipped.length, 4, xml);
  for (const m of skipped)
    assert.match(
      m,
      /^partial results \(terminated \(SIGTERM\) at 3 of 30 simulated seconds, 0 of 1 hosts done\), no verdict; on the part that ran: /,
    );
  assert.ok(
    skipped.includes(
      `partial results (${partialReason.slice(0, -1)}), no verdict; on the part that ran: exits_per_second = 7000; does not hold: &lt; 1000`,
    ),
  );
  assert.ok(skipped.some((m) => m.endsWith('on the part that ran: value 2,280')));
  // Red: the stop itself, and the unexpected invariant violation (it did trip), not a threshold.
  const failures = [...xml.matchAll(/<testcase [^>]*name="([^"]*)"[^>]*>\n {6}<failure /g)].map((m) => m[1]);
  assert.deepEqual(failures, ['the run reached its end', 'invariant ppr_above_tpr']);
  assert.match(xml, /<testsuites [^>]*tests="7" failures="2" errors="0" skipped="4"/);
  // A run that reached its end is judged as before.
  assert.match(renderJunit(syntheticResults()), /<testsuites [^>]*tests="6" failures="2" errors="0" time=/);
});

test('a failed run (a worker died) says its thresholds were not judged for that, not on a shard, in every output', () => {
  // As src/cli/commands/run.ts writes it: partial, every threshold not judged (NOT_JUDGED_RUN_FAILED).
  const partialReason = 'stopped because a task failed (task 1 failed: exit 1), 2 of 4 hosts done.';
  const r = { ...notJudged(syntheticResults(), NOT_JUDGED_RUN_FAILED), partial: true as const, partialReason };
  assert.equal(
    renderSummary(r).split('\n')[1],
    `partial results: ${partialReason} Thresholds not judged: the run failed.`,
  );
  assert.match(renderMarkdown(r), /^> \*\*partial results: stopped .* Thresholds not judged: the run failed\.\*\*$/m);
  assert.match(
    renderMarkdown(r),
    /^Thresholds not judged: the run failed, and its totals lack the failed task's hosts\.$/m,
  );
  const html = renderHtmlReport(r);
  assert.match(
    html,
    /data-exit-status="3">.* 2 of 4 hosts done\. No verdict: the run failed \(4 thresholds not judged: the run failed,/,
  );
  assert.match(
    html,
    /thresholds passed \/ failed<\/th><td>2 not judged \(the run failed\)<\/td><td>1 not judged \(the run failed\)<\/td>/,
  );
  assert.doesNotMatch(html, /on a shard/);
});

test("a shard's thresholds are not judged: said in the text, the Markdown, JUnit (skipped) and the HTML report", () => {
  // The synthetic run without its unexpected violation: a failing threshold is all that fails it.
  const whole = syntheticResults();
  const clean = {
    ...whole,
    shard: { index: 2, count: 3 },
    variants: whole.variants.map((v) => ({
      ...v,
      totals: { ...v.totals, violations: v.totals.violations.filter((x) => x.expected) },
    })),
  };
  assert.equal(exitStatusOf(clean), 1, 'the fixture fails a threshold');
  const r = notJudgedOnShard(clean);
  assert.equal(exitStatusOf(r), 0);

  const text = renderSummary(r);
  const lines = text.split('\n').filter((l) => /^ {2}(ok|FAIL|skip) /.test(l));
  assert.equal(lines.length, 4, text);
  for (const l of lines)
    assert.match(l, /^ {2}skip .* - not judged on a shard: judged on the merged totals by `vmexit-lab merge`$/);

  const md = renderMarkdown(r);
  assert.match(md, /^Thresholds not judged on a shard: judged on the merged totals by `vmexit-lab merge`\.$/m);
  const rows = md.split('\n').filter((l) => /^\| (pass|\*\*FAIL\*\*|not judged) \|/.test(l));
  assert.equal(rows.length, 4, md);
  for (const row of rows) assert.match(row, /^\| not judged \|.*\| - \|$/);

  const xml = renderJunit(r);
  assert.match(xml, /<testsuites [^>]*tests="5" failures="0" errors="0" skipped="4"/);
  assert.equal(
    [...xml.matchAll(/<skipped message="not judged on a shard: judged on the merged totals by `vmexit-lab merge`"\/>/g)]
      .length,
    4,
  );
  assert.doesNotMatch(xml, /<failure/);
  assert.match(
    xml,
    /<testsuite name="synthetic-install\/across-variants" tests="1" failures="0" errors="0" skipped="1"/,
  );

  const html = renderHtmlReport(r);
  assert.match(
    html,
    /<p class="verdict pass" data-exit-status="0"><span class="badge"[^>]*>NOT JUDGED<\/span> 4 thresholds not judged on a shard: judged on the merged totals by `vmexit-lab merge` /,
  );
  assert.equal([...html.matchAll(/<tr class="skip" data-judged="false">/g)].length, 4);
  assert.doesNotMatch(html, /<tr class="(pass|fail)"><td><span class="badge/);
  assert.match(
    html,
    /thresholds passed \/ failed<\/th><td>2 not judged on a shard<\/td><td>1 not judged on a shard<\/td>/,
  );

  // The whole run's outputs say nothing of shards.
  for (const out of [renderSummary(clean), renderMarkdown(clean), renderJunit(clean), renderHtmlReport(clean)])
    assert.doesNotMatch(out, /not judged|NOT JUDGED|skipped="[1-9]/);
});

test('the XML check refuses what is not one document: a second declaration, a second root, an unclosed tag', () => {
  const one = renderJunit(syntheticResults());
  assert.deepEqual(checkXml(one).problems, []);
  assert.match(checkXml(one + one).problems.join('\n'), /an XML declaration not at the start/);
  assert.match(checkXml(one.replace(/^<\?xml[^>]*>\n/, '').repeat(2)).problems.join('\n'), /a second root element/);
  assert.match(checkXml(one.replace('</testsuites>', '')).problems.join('\n'), /not closed at the end/);
  assert.match(checkXml('<a b="1 & 2"/>').problems.join('\n'), /"&" that is no reference/);
  assert.match(checkXml('<a b="1" b="2"/>').problems.join('\n'), /given twice/);
});

test('JUnit of several scenarios (run A.yaml B.yaml): one document, one root, the counts summed', () => {
  const a = syntheticResults({ nasty: true });
  const whole = syntheticResults();
  const b = notJudgedOnShard({ ...whole, scenario: 'second & <last>', wallSeconds: 0.5 });
  const xml = renderJunit([a, b]);
  const shape = checkXml(xml);
  assert.deepEqual(shape.problems, [], xml);
  assert.equal([...xml.matchAll(/<\?xml/g)].length, 1);
  assert.equal(shape.root?.name, 'testsuites');
  const count = (doc: string, attr: string): number => Number(checkXml(doc).root?.attrs.get(attr) ?? 0);
  const [ja, jb] = [renderJunit(a), renderJunit(b)];
  for (const attr of ['tests', 'failures', 'errors', 'skipped'])
    assert.equal(count(xml, attr), count(ja, attr) + count(jb, attr), attr);
  assert.equal(count(xml, 'skipped'), 4, "the second scenario's thresholds, as on a shard");
  assert.equal(shape.root?.attrs.get('time'), '1.75', 'the scenarios run one after the other');
  // Every scenario's suites, in order, under the root; each suite's name says its scenario.
  const suites = shape.elements.filter((e) => e.name === 'testsuite');
  assert.ok(suites.every((s) => s.depth === 1));
  const names = suites.map((s) => s.attrs.get('name') ?? '');
  const esc = (t: string): string =>
    t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const expected = [a, a, a, b, b, b].map((r) => `${esc(r.scenario)}/`);
  assert.equal(names.length, expected.length, names.join('\n'));
  names.forEach((n, k) => assert.ok(n.startsWith(expected[k]), `${n} starts with ${expected[k]}`));
  // One scenario: the document it was.
  assert.equal(renderJunit([a]), ja);
  // No scenario (interrupted before the first ended): still a document.
  assert.deepEqual(checkXml(renderJunit([])).problems, []);
  assert.match(renderJunit([]), /<testsuites name="vmexit-lab" tests="0" failures="0" errors="0" time="0">/);
});

test('JUnit of several scenarios: suite names and classnames unique when scenarios share a name, the rule stable', () => {
  const cases: { what: string; runs: [name: string, file: string][]; labels: string[] }[] = [
    {
      what: 'distinct names: unchanged',
      runs: [
        ['a', 'a.yaml'],
        ['b', 'b.yaml'],
      ],
      labels: ['a', 'b'],
    },
    {
      what: 'one name, two files: the file',
      runs: [
        ['fleet', 'x/fleet.yaml'],
        ['b', 'b.yaml'],
        ['fleet', 'y/fleet.yaml'],
      ],
      labels: ['fleet (x/fleet.yaml)', 'b', 'fleet (y/fleet.yaml)'],
    },
    {
      what: 'one file twice: the file and the place among them',
      runs: [
        ['a', 'a.yaml'],
        ['a', 'a.yaml'],
        ['a', 'c.yaml'],
      ],
      labels: ['a (a.yaml) #1', 'a (a.yaml) #2', 'a (c.yaml)'],
    },
    {
      what: "a name that is another's label: the place in the document",
      runs: [
        ['a (a.yaml)', 'z.yaml'],
        ['a', 'a.yaml'],
        ['a', 'b.yaml'],
      ],
      labels: ['a (a.yaml) #1', 'a (a.yaml) #2', 'a (b.yaml)'],
    },
    {
      what: "a name that is another's numbered label: the place again",
      runs: [
        ['a', 'a.yaml'],
        ['a', 'a.yaml'],
        ['a (a.yaml) #1', 'q.yaml'],
      ],
      labels: ['a (a.yaml) #1 #1', 'a (a.yaml) #2', 'a (a.yaml) #1 #3'],
    },
  ];
  for (const c of cases) {
    const all = c.runs.map(([scenario, file]) => ({ ...syntheticResults(), scenario, file }));
    assert.deepEqual(scenarioLabels(all), c.labels, c.what);
    // The Markdown summary of the same run heads each scenario's section with the same label.
    const headings = [...renderMarkdownAll(all).matchAll(/^### vmexit-lab: (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, c.labels, `${c.what}: Markdown headings`);
    const shape = checkXml(renderJunit(all));
    assert.deepEqual(shape.problems, [], c.what);
    const suites = shape.elements.filter((e) => e.name === 'testsuite').map((e) => e.attrs.get('name') ?? '');
    assert.equal(new Set(suites).size, suites.length, `${c.what}: suite names unique: ${suites.join(', ')}`);
    // Each scenario's suites and cases carry its label: variant suites of the first are LABEL/VARIANT.
    assert.ok(suites.includes(`${c.labels[0]}/bhyve-12.1`), `${c.what}: ${suites.join(', ')}`);
    const classes = new Set(
      shape.elements.filter((e) => e.name === 'testcase').map((e) => e.attrs.get('classname') ?? ''),
    );
    assert.deepEqual([...classes].sort(), [...new Set(c.labels)].sort(), `${c.what}: classnames`);
    // The HTML report of the same run: its contents name each scenario as JUnit does.
    const html = renderHtmlReports(all.map((results) => ({ results })));
    const toc = [...html.matchAll(/<li><a href="#s\d+">([^<]*)<\/a><\/li>/g)].map((m) => m[1]);
    assert.deepEqual(toc, c.labels, `${c.what}: HTML contents`);
  }
  // One scenario: its name alone, as before.
  assert.match(renderJunit(syntheticResults()), /<testsuite name="[^"/]+\/bhyve-12\.1"/);
});

test("a stopped run's text summary, Markdown and HTML give no verdict on each threshold, in JUnit's words, not FAIL or pass", () => {
  const partialReason = 'terminated (SIGTERM) at 3 of 30 simulated seconds, 0 of 1 hosts done.';
  const r = { ...syntheticResults(), partial: true as const, partialReason };
  const failing = 'exits_per_second{reason="CR_ACCESS",variant="bhyve-12.1"}: < 1000';
  const text = renderSummary(r);
  assert.doesNotMatch(text, /^ {2}(FAIL|ok) /m, text);
  assert.ok(
    text.includes(
      `  --   ${failing}  - partial results, no verdict; on the part that ran: exits_per_second = 7000; does not hold: < 1000\n`,
    ),
    text,
  );
  assert.match(
    text,
    /^ {2}-- {3}phase_seconds\{[^}]*\}: >= 1938 {2}- partial results, no verdict; on the part that ran: value 2,280$/m,
  );
  const md = renderMarkdown(r);
  assert.doesNotMatch(md, /^\| (pass|\*\*FAIL\*\*) \|/m, md);
  assert.match(md, /^Thresholds: partial results, no verdict; the values are those of the part that ran\.$/m);
  assert.ok(md.includes(`| no verdict | bhyve-12.1 | \`${failing}\` | 7,000 |`), md);
  const html = renderHtmlReport(r);
  const table = /<table class="thresholds">.*?<\/table>/s.exec(html)![0];
  assert.doesNotMatch(table, /badge (pass|fail)/);
  assert.equal([...table.matchAll(/NO VERDICT/g)].length, 4);
  assert.match(
    table,
    /partial results, no verdict; on the part that ran: exits_per_second = 7000; does not hold: &lt; 1000/,
  );
  assert.match(html, /thresholds passed \/ failed.*?<td[^>]*>1 \/ 1 on the part that ran, no verdict</s);
  // A run that reached its end is judged as before.
  assert.match(renderSummary(syntheticResults()), /^ {2}FAIL exits_per_second/m);
  assert.match(renderMarkdown(syntheticResults()), /^\| \*\*FAIL\*\* \|/m);
});
