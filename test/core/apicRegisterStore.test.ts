/**
 * The registers the vlapic keeps as written, in one home (src/core/apic/emulation.ts storedWord): an
 * emulated write stores each where an emulated read finds it, all 32 bits, and in a word of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegisterWrite, apicRegisterValue, emulateRegisterWrite } from '../../src/core/apic/emulation.js';
import { ApicOffset } from '../../src/core/apic/registers.js';
import { F } from '../../src/core/vcpu/layout.js';

/** bhyve vlapic_write / vlapic_read: the read/write registers kept as written (SDM table "Local APIC Register Address Map"). */
const STORED: readonly (keyof typeof ApicOffset)[] = [
  'Ldr',
  'Svr',
  'IcrLow',
  'IcrHigh',
  'LvtTimer',
  'TimerInitialCount',
  'TimerDivideConfig',
];
const VALUE = 0xdeadbeef;

test('[bhyve vlapic_write / vlapic_read] a register kept as written reads back all 32 bits, and its write changes its own word only', () => {
  for (const name of STORED) {
    const offset = ApicOffset[name];
    const s = new Int32Array(F.STRIDE);
    const before = Int32Array.from(s);
    const what = emulateRegisterWrite(s, 0, offset, VALUE | 0);
    assert.equal(what, name === 'IcrLow' ? RegisterWrite.SEND_IPI : RegisterWrite.DONE, name);
    assert.equal(apicRegisterValue(s, 0, offset, true), VALUE, `${name} read back`);
    const changed = [...s.keys()].filter((i) => s[i] !== before[i]);
    assert.equal(changed.length, 1, `${name} changes one word`);
    for (const other of STORED.filter((n) => n !== name)) {
      assert.equal(apicRegisterValue(s, 0, ApicOffset[other], true), 0, `${name}'s write seen in ${other}`);
    }
  }
});

test('[SDM "Local APIC Register Address Map"] the other registers are not stored as written: TPR and EOI go to the vlapic, ESR clears, read-only ones keep nothing', () => {
  for (const [name, offset] of Object.entries(ApicOffset)) {
    if ((STORED as readonly string[]).includes(name)) continue;
    const s = new Int32Array(F.STRIDE);
    s[F.ESR] = 0x40;
    const what = emulateRegisterWrite(s, 0, offset, VALUE | 0);
    const expected = name === 'Tpr' ? RegisterWrite.TPR : name === 'Eoi' ? RegisterWrite.EOI : RegisterWrite.DONE;
    assert.equal(what, expected, name);
    const esr: number = F.ESR;
    const changed = [...s.keys()].filter((i) => s[i] !== (i === esr ? 0x40 : 0));
    assert.deepEqual(changed, name === 'Esr' ? [esr] : [], `${name}: words changed`);
  }
});
