/**
 * The VT-x rule table: every row of the topic files beside this one (see table.ts for the columns),
 * each one test: the exits with reason and qualification, then TPR, PPR, deliveries, value, fault,
 * threshold and halt as the row asks, and no invariant broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../../../src/core/vcpu/layout.js';
import { runScript } from '../../../src/core/script/runScript.js';
import { buildMachine } from '../../support/machines.js';
import { ruleRowTitle } from '../../support/ruleRows.js';
import { CR8_ROWS } from './cr8.js';
import { TPR_THRESHOLD_ROWS } from './tprThreshold.js';
import { APIC_ACCESS_ROWS } from './apicAccess.js';
import { APIC_WRITE_ROWS } from './apicWrite.js';
import { VIRTUAL_INTERRUPT_ROWS } from './virtualInterrupts.js';
import { X2APIC_MSR_ROWS } from './x2apicMsrs.js';
import { INSTRUCTION_EXIT_ROWS } from './instructionExits.js';

const ROWS = [
  ...CR8_ROWS,
  ...TPR_THRESHOLD_ROWS,
  ...APIC_ACCESS_ROWS,
  ...APIC_WRITE_ROWS,
  ...VIRTUAL_INTERRUPT_ROWS,
  ...X2APIC_MSR_ROWS,
  ...INSTRUCTION_EXIT_ROWS,
];

for (const r of ROWS) {
  test(ruleRowTitle(r), () => {
    const m = buildMachine(r.setup);
    const steps = runScript(m, [...(r.pre ?? []), r.op]);
    const s = steps[steps.length - 1];
    const got = s.exits.map((e, i) => (r.exits[i]?.[1] === undefined ? [e.reason] : [e.reason, e.qualification]));
    assert.deepEqual(
      got,
      r.exits.map((e) => (e[1] === undefined ? [e[0]] : [e[0], e[1]])),
      `exits ${JSON.stringify(s.exits)}`,
    );
    if (r.tpr !== undefined) assert.equal(m.tpr(0), r.tpr, 'TPR');
    if (r.ppr !== undefined) assert.equal(m.pprField(0), r.ppr, 'PPR field');
    if (r.delivered !== undefined) assert.deepEqual(s.delivered, r.delivered, 'delivered');
    if (r.value !== undefined) assert.equal(s.value, r.value, 'value read');
    assert.equal(s.fault, r.fault, 'fault');
    if (r.threshold !== undefined) assert.equal(m.s[F.TPR_THRESHOLD], r.threshold, 'TPR threshold');
    if (r.halted !== undefined) assert.equal(m.isHalted(0), r.halted, 'halted');
    r.check?.(m, s);
    // No rule here breaks an invariant: the architectural priority rule holds and bhyve's ISR/stack agree.
    assert.deepEqual(
      m.violations.map((v) => v.check),
      [],
    );
    assert.equal(m.checkAllInvariants(), 0);
    assert.equal(m.entryFailures.length, 0);
  });
}

test(`test/core/vmx: the VT-x table has at least 60 rows (${ROWS.length})`, () => {
  assert.ok(ROWS.length >= 60);
});
