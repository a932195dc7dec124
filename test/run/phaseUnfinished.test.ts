/**
 * TotalsAccumulator's phaseUnfinished (src/run/totals.ts): summed over hosts and shards like the
 * phases' counts, carried through results.json's raw totals (absent when zero, so files without it
 * read as before), and checked like the other counts when a results.json is read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { finishTotals } from '../../src/run/finishTotals.js';
import { rawTotalsProblem } from '../../src/run/rawTotalsCheck.js';
import { PHASE_ORDER } from '../../src/core/engine/host.js';

const INSTALL = PHASE_ORDER.indexOf('install');

test('unfinished guests per phase add over merges and survive the JSON round trip', () => {
  const a = new TotalsAccumulator(false);
  const b = new TotalsAccumulator(false);
  a.phaseUnfinished[INSTALL] = 2;
  b.phaseUnfinished[INSTALL] = 3;
  a.merge(b);
  assert.equal(a.phaseUnfinished[INSTALL], 5);
  const json = a.toJSON();
  assert.equal(json.phaseUnfinished?.[INSTALL], 5);
  assert.equal(rawTotalsProblem(json), undefined);
  const back = TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(json)) as typeof json);
  assert.deepEqual(finishTotals(back, []).phaseUnfinished, { install: 5 });
});

test('absent when every guest finished: the raw totals and the results keep their old shape', () => {
  const a = new TotalsAccumulator(false);
  assert.equal('phaseUnfinished' in a.toJSON(), false);
  assert.equal('phaseUnfinished' in finishTotals(a, []), false);
});

test('a damaged count is refused when results are read back', () => {
  const json = { ...new TotalsAccumulator(false).toJSON(), phaseUnfinished: [0, 0, -1, 0, 0] };
  assert.match(rawTotalsProblem(json) ?? '', /raw\.phaseUnfinished\[2\] is -1/);
});
