/**
 * Several refreshes of `perf kvm stat live`, summed (src/import/perfLive.ts): the sum's Samples% and
 * Time% are its own, computed from the summed counts and times, so a refresh's printed percentages
 * do not reach the report. Found by test/fuzz/importers.test.ts: a Time% edited in one refresh gave
 * the same report without a word; the note now says those columns are not kept.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { parsePerfKvmStat } from '../../src/import/perfKvmStat.js';

const FILE = 'perf-intel-live-2refreshes-constructed.txt';
const TEXT = readFileSync(join(REPO_ROOT, 'test/fixtures/reports', FILE), 'utf8');

describe('perf kvm stat live, refreshes summed: the percentages of one refresh', () => {
  it('an edited Time% of one refresh changes no row, and the note says why', () => {
    const row = TEXT.split('\n').findIndex((l) => /^\s+PAUSE_INSTRUCTION\s+3\s/.test(l));
    const lines = TEXT.split('\n');
    // Within what the rows' Time% may add up to (a refresh's 101.5 % is refused at the row: timePercent.test.ts).
    lines[row] = lines[row].replace('0.00%', '0.02%');
    const before = parsePerfKvmStat(TEXT, FILE);
    const after = parsePerfKvmStat(lines.join('\n'), FILE);
    assert.deepEqual(after.rows, before.rows);
    assert.match(after.notes[0], /Samples% and Time% are the sum's own: a refresh's are not kept/);
  });
});
