/** The text summary, the Markdown summary and JUnit XML (src/report/summary.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderJunit, renderMarkdown, renderSummary } from '../../src/report/summary.js';
import { syntheticResults } from './fixtures.js';

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
  assert.match(xml, /<failure message="value 7,000: exits_per_second = 7000; does not hold: &lt; 1000"\/>/);
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
