/**
 * The one table of LAPIC register names (src/core/apic/registers.ts REGISTER_NAMES, from the SDM's
 * "Local APIC Register Address Map"): every register of ApicOffset has its name, every x2APIC MSR the
 * name src/run/exitCause.ts gave it from its own map before (MSR causes unchanged), and the cause
 * word of an APIC access (recorder.ts apicWhy) keeps every register's offset and the widest data a
 * write gives it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApicOffset,
  apicRegisterName,
  offsetToX2apicMsr,
  X2apicMsr,
  x2apicMsrExists,
  x2apicMsrName,
} from '../../src/core/apic/registers.js';
import {
  apicWhy,
  apicWhyData,
  apicWhyOffset,
  apicWriteData,
  ExitWhy,
  WHY_KIND_MASK,
  WHY_WRITE,
} from '../../src/core/vcpu/recorder.js';

describe('LAPIC register names', () => {
  it('every xAPIC register of ApicOffset is named, and a reserved offset says so', () => {
    for (const [key, offset] of Object.entries(ApicOffset))
      assert.notEqual(apicRegisterName(offset), 'reserved', `${key} (0x${offset.toString(16)})`);
    assert.equal(apicRegisterName(ApicOffset.Eoi), 'EOI');
    assert.equal(apicRegisterName(ApicOffset.IcrLow), 'ICR low');
    assert.equal(apicRegisterName(ApicOffset.IcrHigh), 'ICR high');
    assert.equal(apicRegisterName(ApicOffset.TimerInitialCount), 'initial count');
    assert.equal(apicRegisterName(ApicOffset.Isr0 + 0x70), 'ISR7');
    assert.equal(apicRegisterName(0x40), 'reserved');
  });

  it('the x2APIC MSRs keep the names the MSR causes printed, and only the MSRs that exist have one', () => {
    const before: Record<number, string> = {
      [X2apicMsr.Id]: 'IA32_X2APIC_APICID',
      [X2apicMsr.Version]: 'IA32_X2APIC_VERSION',
      [X2apicMsr.Tpr]: 'IA32_X2APIC_TPR',
      [X2apicMsr.Ppr]: 'IA32_X2APIC_PPR',
      [X2apicMsr.Eoi]: 'IA32_X2APIC_EOI',
      [X2apicMsr.Ldr]: 'IA32_X2APIC_LDR',
      [X2apicMsr.Svr]: 'IA32_X2APIC_SIVR',
      [X2apicMsr.Esr]: 'IA32_X2APIC_ESR',
      [X2apicMsr.LvtCmci]: 'IA32_X2APIC_LVT_CMCI',
      [X2apicMsr.Icr]: 'IA32_X2APIC_ICR',
      [X2apicMsr.LvtTimer]: 'IA32_X2APIC_LVT_TIMER',
      [X2apicMsr.LvtThermal]: 'IA32_X2APIC_LVT_THERMAL',
      [X2apicMsr.LvtPmc]: 'IA32_X2APIC_LVT_PMI',
      [X2apicMsr.LvtLint0]: 'IA32_X2APIC_LVT_LINT0',
      [X2apicMsr.LvtLint1]: 'IA32_X2APIC_LVT_LINT1',
      [X2apicMsr.LvtError]: 'IA32_X2APIC_LVT_ERROR',
      [X2apicMsr.TimerInitialCount]: 'IA32_X2APIC_INIT_COUNT',
      [X2apicMsr.TimerCurrentCount]: 'IA32_X2APIC_CUR_COUNT',
      [X2apicMsr.TimerDivideConfig]: 'IA32_X2APIC_DIV_CONF',
      [X2apicMsr.SelfIpi]: 'IA32_X2APIC_SELF_IPI',
    };
    for (let i = 0; i < 8; i++) {
      before[X2apicMsr.Isr0 + i] = `IA32_X2APIC_ISR${i}`;
      before[X2apicMsr.Tmr0 + i] = `IA32_X2APIC_TMR${i}`;
      before[X2apicMsr.Irr0 + i] = `IA32_X2APIC_IRR${i}`;
    }
    for (let msr = X2apicMsr.Base; msr <= X2apicMsr.Last; msr++) {
      assert.equal(x2apicMsrName(msr), before[msr] ?? '', `0x${msr.toString(16)}`);
      assert.equal(x2apicMsrName(msr) !== '', x2apicMsrExists(msr), `0x${msr.toString(16)}`);
    }
    assert.equal(x2apicMsrName(offsetToX2apicMsr(ApicOffset.IcrHigh)), '');
  });
});

describe('the cause word of an APIC access (recorder.ts apicWhy)', () => {
  it('keeps the offset, the direction and the widest data of every register', () => {
    for (const offset of Object.values(ApicOffset))
      for (const kind of [ExitWhy.APIC_PAGE, ExitWhy.APIC_REGISTER]) {
        const data = apicWriteData(offset, 0xffffffff, 0xff000000);
        const why = apicWhy(kind, true, offset, data);
        assert.equal(why & WHY_KIND_MASK, kind);
        assert.notEqual(why & WHY_WRITE, 0);
        assert.equal(apicWhyOffset(why), offset);
        assert.equal(apicWhyData(why), data);
        assert.equal(apicWhyData(apicWhy(kind, false, offset, 0)), 0);
      }
    // ICR low: vector, destination from ICR high, and the self shorthand (01B in bits 19:18).
    const icr = apicWriteData(ApicOffset.IcrLow, (1 << 18) | 0xfd, 3 << 24);
    assert.equal(icr & 0xff, 0xfd);
    assert.equal((icr >>> 8) & 0xff, 3);
    assert.notEqual(icr & (1 << 16), 0);
  });
});
