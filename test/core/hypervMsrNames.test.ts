/**
 * The Hyper-V synthetic MSRs' TLFS names have one home, HvMsr's keys (src/core/hypervisor/hyperv.ts
 * hvMsrName): every MSR keeps the name src/run/exitCause.ts gave it from its own switch before
 * (MSR causes unchanged), and the numbered SINT and STIMER MSRs are named by their number.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HvMsr, hvMsrName, hvStimerOf } from '../../src/core/hypervisor/hyperv.js';

describe('Hyper-V synthetic MSR names', () => {
  it('each MSR keeps the name the MSR causes printed', () => {
    const before: Record<number, string> = {
      0x40000000: 'HV_X64_MSR_GUEST_OS_ID',
      0x40000001: 'HV_X64_MSR_HYPERCALL',
      0x40000002: 'HV_X64_MSR_VP_INDEX',
      0x40000020: 'HV_X64_MSR_TIME_REF_COUNT',
      0x40000021: 'HV_X64_MSR_REFERENCE_TSC',
      0x40000070: 'HV_X64_MSR_EOI',
      0x40000071: 'HV_X64_MSR_ICR',
      0x40000072: 'HV_X64_MSR_TPR',
      0x40000073: 'HV_X64_MSR_VP_ASSIST_PAGE',
      0x40000080: 'HV_X64_MSR_SCONTROL',
      0x40000084: 'HV_X64_MSR_EOM',
      0x40000090: 'HV_X64_MSR_SINT0',
      0x4000009f: 'HV_X64_MSR_SINT15',
      0x400000b0: 'HV_X64_MSR_STIMER0_CONFIG',
      0x400000b1: 'HV_X64_MSR_STIMER0_COUNT',
      0x400000b2: 'HV_X64_MSR_STIMER1_CONFIG',
      0x400000b7: 'HV_X64_MSR_STIMER3_COUNT',
    };
    for (const [msr, name] of Object.entries(before)) assert.equal(hvMsrName(Number(msr)), name, name);
  });

  it('every HvMsr but the range end is named after its key, and an MSR the model does not name is blank', () => {
    for (const [key, msr] of Object.entries(HvMsr))
      assert.equal(hvMsrName(msr), key === 'LAST' ? '' : `HV_X64_MSR_${key}`, key);
    assert.equal(hvMsrName(0x40000003), '');
    assert.equal(hvMsrName(0x400000a0), '', 'past SINT15');
    assert.equal(hvMsrName(0x400000b8), '', 'past STIMER3_COUNT');
  });

  it('a synthetic timer MSR says its timer', () => {
    assert.equal(hvStimerOf(HvMsr.STIMER0_CONFIG), 0);
    assert.equal(hvStimerOf(HvMsr.STIMER0_COUNT), 0);
    assert.equal(hvStimerOf(HvMsr.STIMER3_COUNT), 3);
    assert.equal(hvStimerOf(HvMsr.STIMER0_CONFIG - 1), -1);
    assert.equal(hvStimerOf(HvMsr.STIMER3_COUNT + 1), -1);
  });
});
