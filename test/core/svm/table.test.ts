/**
 * The SVM rule table: every row of the topic files beside this one (see table.ts for the columns),
 * each one test: the #VMEXITs, then TPR, deliveries, value, halt and the CR8 write intercept as the
 * row asks, and no invariant broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, SvmIntercept } from '../../../src/core/vcpu/layout.js';
import { runScript } from '../../../src/core/script/runScript.js';
import { buildMachine } from '../../support/machines.js';
import { ruleRowTitle } from '../../support/ruleRows.js';
import { CR8_ROWS } from './cr8.js';
import { INTERRUPT_ROWS } from './interrupts.js';
import { INSTRUCTION_EXIT_ROWS } from './instructionExits.js';
import { APIC_ACCESS_ROWS } from './apicAccess.js';

const ROWS = [...CR8_ROWS, ...INTERRUPT_ROWS, ...INSTRUCTION_EXIT_ROWS, ...APIC_ACCESS_ROWS];

for (const r of ROWS) {
  test(ruleRowTitle(r), () => {
    const m = buildMachine(r.setup);
    const steps = runScript(m, [...(r.pre ?? []), r.op]);
    const s = steps[steps.length - 1];
    assert.deepEqual(
      s.exits.map((e) => e.reason),
      r.exits,
      JSON.stringify(s.exits),
    );
    for (const e of s.exits) assert.ok(e.name.startsWith('VMEXIT_'), e.name);
    if (r.tpr !== undefined) assert.equal(m.tpr(0), r.tpr, 'TPR');
    if (r.delivered !== undefined) assert.deepEqual(s.delivered, r.delivered, 'delivered');
    if (r.value !== undefined) assert.equal(s.value, r.value, 'value read');
    if (r.halted !== undefined) assert.equal(m.isHalted(0), r.halted, 'halted');
    if (r.cr8WriteIntercept !== undefined)
      assert.equal((m.s[F.SVM_INTERCEPTS] & SvmIntercept.CR8_WRITE) !== 0, r.cr8WriteIntercept, 'CR8 write intercept');
    r.check?.(m, s);
    assert.deepEqual(
      m.violations.map((v) => v.check),
      [],
    );
    assert.equal(m.checkAllInvariants(), 0);
  });
}

test(`test/core/svm: the SVM table has at least 40 rows (${ROWS.length})`, () => {
  assert.ok(ROWS.length >= 40);
});
