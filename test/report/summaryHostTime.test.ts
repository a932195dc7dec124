/**
 * run's text summary: host time in exits per variant, from results.json's hostSecondsInExits (the
 * figure `perf kvm stat report` users compare: its Time% and Avg time). The table had exits a second
 * but no host time; now a column gives the share of vCPU time the host spent handling exits and
 * another the mean host time per exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSummary } from '../../src/report/summary.js';
import { syntheticResults } from './fixtures.js';

test('the summary table has host time in exits (share of vCPU time) and the mean per exit, per variant', () => {
  const lines = renderSummary(syntheticResults()).split('\n');
  const header = lines.find((l) => l.startsWith('variant'))!;
  assert.match(header, /exits\/s\/guest\s+host time in exits\s+per exit\s+cr8\/s\/guest/);
  const col = (l: string, name: string): string => l.slice(header.indexOf(name)).split(/\s{2,}/)[0];
  // bhyve-12.1: 0.6 host s in exits over 120 vCPU s, 420,660 exits.
  const slow = lines.find((l) => l.startsWith('bhyve-12.1 '))!;
  assert.equal(col(slow, 'host time in exits'), '0.5 %');
  assert.equal(col(slow, 'per exit'), '1.426 µs');
  // bhyve-tpr-v1: no host time recorded (its exits cost nothing here): 0, and no mean to divide.
  const fast = lines.find((l) => l.startsWith('bhyve-tpr-v1 '))!;
  assert.equal(col(fast, 'host time in exits'), '0 %');
  assert.equal(col(fast, 'per exit'), '0 ns');
});
