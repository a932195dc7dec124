/**
 * bench/run.ts --seconds S runs every case S simulated seconds: its printed label says S, not the
 * case's default duration (it read "60 s" for a 4,500 s run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, labelWithSeconds } from '../../bench/cases.js';

test('a case run with --seconds is labelled with the seconds it ran', () => {
  const rows: [label: string, seconds: number, expected: string][] = [
    [CASES['idle-fleet'], 4500, 'idle mixed fleet, 6 hosts x 7 vCPUs, 4500 s, 2 policies'],
    [CASES['busy-fleet'], 5, 'busy mixed fleet, 2 hosts x 7 vCPUs, 5 s, 2 policies'],
    [CASES['install-12.1'], 300, 'Windows 10 install, bhyve-12.1, 300 s'],
  ];
  for (const [label, seconds, expected] of rows) assert.equal(labelWithSeconds(label, seconds), expected);
});
