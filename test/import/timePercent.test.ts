/**
 * perf kvm stat's Time% is each reason's share of the events' handled time: 0.00% to 100.00% a row,
 * and the rows add up to 100 % within their rounding (0.005 % a row). A Time% above 100, or rows
 * that add up to well above 100 (a damaged or hand-edited table), were read and fitted without a
 * word (polish41); now refused at the row, with what was expected. Negative values were refused
 * already (perf prints no sign), now with the range.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { parsePerfKvmStat } from '../../src/import/perfKvmStat.js';
import { ReportFormatError } from '../../src/import/report.js';

const AMD = readFileSync(join(REPO_ROOT, 'test/fixtures/reports/perf-amd-constructed.txt'), 'utf8');

function refusal(text: string): ReportFormatError {
  try {
    parsePerfKvmStat(text, 'r.txt');
  } catch (e) {
    assert.ok(e instanceof ReportFormatError, String(e));
    return e;
  }
  assert.fail('the report was read');
}

test('a Time% above 100 is refused at it', () => {
  const e = refusal(AMD.replace('19.72%    97.14%', '19.72%   197.14%'));
  assert.deepEqual([e.line, e.column], [8, 45]);
  assert.match(e.expected, /^a Time% value like 18\.04%, 0\.00% to 100\.00% \(the reason's share/);
  assert.equal(e.found, '"197.14%"');
});

test('a negative Time% is refused with the range', () => {
  const e = refusal(AMD.replace('46.65%     1.02%', '46.65%    -1.02%'));
  assert.deepEqual([e.line, e.column], [7, 46]);
  assert.match(e.expected, /0\.00% to 100\.00%/);
  assert.equal(e.found, '"-1.02%"');
});

test('rows whose Time% add up to well above 100 are refused at the row that crosses it', () => {
  const e = refusal(AMD.replace('46.65%     1.02%', '46.65%    31.02%'));
  // 31.02 + 97.14: the hlt row (line 8) is where the sum passes 100 % and its rounding.
  assert.deepEqual([e.line, e.column], [8, 46]);
  assert.match(
    e.expected,
    /^Time% that add up to at most 100 % over the rows, within their rounding .*: with this row they add up to 128\.16 %$/,
  );
  assert.equal(e.found, '"97.14%"');
});

test('Time% that add up to 100 within their rounding, or less (a cut table), are read as before', () => {
  assert.equal(parsePerfKvmStat(AMD, 'r.txt').rows.length, 12); // 100.01 % over 12 rows
  // 1.05 %: the rows add up to 100.04 % over 12 rows, 100.03 % over the first 8 (bound 100.04 %).
  const r = parsePerfKvmStat(AMD.replace('46.65%     1.02%', '46.65%     1.05%'), 'r.txt');
  assert.equal(r.rows[0].timePercent, 1.05);
  // 1.07 %: 100.05 % over the first 8 rows, more than their rounding allows.
  assert.match(refusal(AMD.replace('46.65%     1.02%', '46.65%     1.07%')).expected, /add up to 100\.05 %$/);
});
