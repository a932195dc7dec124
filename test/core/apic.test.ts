/**
 * Local-APIC architectural rules, table-driven. Every row cites the manual section (Intel SDM vol. 3,
 * chapter "Advanced Programmable Interrupt Controller", numbered as in the 2016 edition where it is
 * chapter 10) or the hypervisor function it checks. Rules that must hold on every delivery path
 * (software vlapic with CR8 exiting, software vlapic with the TPR shadow, APICv virtual-interrupt
 * delivery, SVM V_TPR, AVIC) run under each of them, on the synthetic profiles of test/support.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Machine, Fault } from '../../src/core/vcpu/machine.js';
import { F } from '../../src/core/vcpu/layout.js';
import type { PolicyName, Tunables } from '../../src/core/hypervisor/policy.js';
import { runScript, type TraceStep } from '../../src/core/script/runScript.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { priorityClass, vecSet } from '../../src/core/apic/vectors.js';
import {
  ApicOffset,
  X2apicMsr,
  offsetToX2apicMsr,
  x2apicMsrExists,
  x2apicMsrReadOnly,
  x2apicMsrToOffset,
  x2apicMsrWriteOnly,
} from '../../src/core/apic/registers.js';
import { AMD_AVIC, AMD_NO_AVIC, DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine } from '../support/machines.js';
import { EOI, IRET, IRQ, R8, RA, RDMSR, STI, W8, WA, WRMSR } from '../support/ops.js';

// ------------------------------------------------------------------ helpers

interface Setup {
  readonly label: string;
  readonly profile: CpuProfile;
  readonly policy: PolicyName;
  readonly x2apic?: boolean;
  readonly tunables?: Tunables;
}

function run(su: Setup, ops: readonly ScriptOp[]): { m: Machine; steps: TraceStep[] } {
  const m = buildMachine(su);
  const steps = runScript(m, ops);
  return { m, steps };
}

const last = <T>(a: readonly T[]): T => a[a.length - 1];

/** Deliver `vectors` in ascending priority (each nests on the previous), re-enabling interrupts after each. */
function inService(vectors: readonly number[]): ScriptOp[] {
  return [...vectors].sort((a, b) => a - b).flatMap((v) => [IRQ(v), STI]);
}

/** Every delivery path the model has, xAPIC guests. */
const PATHS: readonly Setup[] = [
  { label: 'bhyve-12.1/DESKTOP (CR8 exiting, software vlapic)', profile: DESKTOP, policy: 'bhyve-12.1' },
  { label: 'bhyve-tpr-v3/DESKTOP (TPR shadow, software vlapic)', profile: DESKTOP, policy: 'bhyve-tpr-v3' },
  { label: 'kvm/DESKTOP (FlexPriority)', profile: DESKTOP, policy: 'kvm' },
  { label: 'bhyve-tpr-v3/SERVER (APICv, posted interrupts)', profile: SERVER, policy: 'bhyve-tpr-v3' },
  { label: 'kvm/SERVER (APICv)', profile: SERVER, policy: 'kvm' },
  { label: 'bhyve/AMD (V_INTR_MASKING)', profile: AMD_NO_AVIC, policy: 'bhyve-tpr-v3' },
  { label: 'kvm/AMD (V_INTR_MASKING, CR8 write intercept)', profile: AMD_NO_AVIC, policy: 'kvm' },
  { label: 'kvm/AMD AVIC', profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } },
];
const INTEL_PATHS = PATHS.filter((p) => p.profile.vendor === 'intel');

let rows = 0;

// ------------------------------------------------------------------ priority class

const CLASS_ROWS: readonly { vector: number; cls: number; source: string }[] = [
  { vector: 0x10, cls: 1, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
  { vector: 0x1f, cls: 1, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
  { vector: 0x20, cls: 2, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
  { vector: 0x51, cls: 5, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
  { vector: 0x8f, cls: 8, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
  { vector: 0xd1, cls: 13, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
  { vector: 0xff, cls: 15, source: 'SDM 10.8.3 "Interrupt, Task, and Processor Priority": class = vector[7:4]' },
];
for (const r of CLASS_ROWS) {
  rows++;
  test(`[${r.source}] priority class of vector 0x${r.vector.toString(16)} is ${r.cls}`, () => {
    assert.equal(priorityClass(r.vector), r.cls);
  });
}

// ------------------------------------------------------------------ PPR

interface PprRow {
  tpr: number;
  isr: number[];
  ppr: number;
  source: string;
}
const PPR_SRC = 'SDM 10.8.3.1 "Task and Processor Priorities": PPR = TPR if TPR[7:4] >= ISRV[7:4] else ISRV & 0xF0';
const PPR_ROWS: readonly PprRow[] = [
  { tpr: 0x00, isr: [], ppr: 0x00, source: PPR_SRC },
  { tpr: 0x35, isr: [], ppr: 0x35, source: `${PPR_SRC} (all 8 TPR bits, ISRV = 0)` },
  { tpr: 0x20, isr: [0x51], ppr: 0x50, source: PPR_SRC },
  { tpr: 0x5f, isr: [0x51], ppr: 0x5f, source: `${PPR_SRC} (equal classes: TPR wins)` },
  { tpr: 0x60, isr: [0x51], ppr: 0x60, source: PPR_SRC },
  { tpr: 0x4a, isr: [0x31, 0x51], ppr: 0x50, source: `${PPR_SRC} (ISRV is the highest in-service vector)` },
  { tpr: 0x00, isr: [0xe1], ppr: 0xe0, source: PPR_SRC },
  { tpr: 0xf0, isr: [0xe1], ppr: 0xf0, source: PPR_SRC },
  { tpr: 0x3c, isr: [0x29, 0x3f], ppr: 0x3c, source: `${PPR_SRC} (low nibbles of ISRV never reach PPR)` },
];

for (const r of PPR_ROWS) {
  rows++;
  const name = `TPR 0x${r.tpr.toString(16)}, ISR [${r.isr.map((v) => `0x${v.toString(16)}`).join(',')}] -> PPR 0x${r.ppr.toString(16)}`;
  test(`[${r.source}] archPpr: ${name}`, () => {
    const m = buildMachine(PATHS[0]);
    m.s[F.TPR] = r.tpr;
    for (const v of r.isr) vecSet(m.s, F.ISR, v);
    assert.equal(m.archPpr(0), r.ppr);
  });
  for (const p of INTEL_PATHS) {
    test(`[${r.source}] ${p.label}: ${name} after delivering ISR and writing TPR through the xAPIC page`, () => {
      const { m, steps } = run(p, [...inService(r.isr), WA(ApicOffset.Tpr, r.tpr), RA(ApicOffset.Ppr)]);
      assert.deepEqual(
        m.snapshot(0).isr,
        [...r.isr].sort((a, b) => a - b),
      );
      assert.equal(m.tpr(0), r.tpr);
      assert.equal(m.archPpr(0), r.ppr);
      assert.equal(m.pprField(0), r.ppr, 'the (virtual-)APIC page PPR the hypervisor or CPU computed');
      assert.equal(last(steps).value, r.ppr, 'guest read of PPR (offset 0xA0)');
      assert.deepEqual(m.violations, []);
    });
  }
}

// ------------------------------------------------------------------ delivery only when class > PPR class

interface DeliveryRow {
  tpr: number;
  isr: number[];
  vector: number;
  delivered: boolean;
  source: string;
}
const ACC =
  'SDM 10.8.3.1 "Task and Processor Priorities" + 10.8.4 "Interrupt Acceptance for Fixed Interrupts": dispatched only if class > PPR[7:4]';
const DELIVERY_ROWS: readonly DeliveryRow[] = [
  { tpr: 0x00, isr: [], vector: 0x20, delivered: true, source: ACC },
  { tpr: 0x00, isr: [], vector: 0x10, delivered: true, source: `${ACC} (vector 16, class 1 > 0)` },
  { tpr: 0x50, isr: [], vector: 0x51, delivered: false, source: `${ACC} (equal class is masked)` },
  { tpr: 0x50, isr: [], vector: 0x4f, delivered: false, source: ACC },
  { tpr: 0x50, isr: [], vector: 0x60, delivered: true, source: ACC },
  { tpr: 0x3f, isr: [], vector: 0x40, delivered: true, source: `${ACC} (TPR[3:0] does not mask)` },
  { tpr: 0x4f, isr: [], vector: 0x4f, delivered: false, source: ACC },
  { tpr: 0x00, isr: [0x51], vector: 0x52, delivered: false, source: `${ACC} (ISRV class masks its own class)` },
  { tpr: 0x00, isr: [0x51], vector: 0x45, delivered: false, source: ACC },
  { tpr: 0x00, isr: [0x51], vector: 0x61, delivered: true, source: `${ACC} (nesting)` },
  { tpr: 0x70, isr: [0x51], vector: 0x61, delivered: false, source: `${ACC} (TPR above ISRV)` },
  { tpr: 0x20, isr: [0x31, 0x51], vector: 0x5a, delivered: false, source: ACC },
  { tpr: 0x20, isr: [0x31, 0x51], vector: 0x6a, delivered: true, source: ACC },
  { tpr: 0xe0, isr: [], vector: 0xff, delivered: true, source: ACC },
  { tpr: 0xf0, isr: [], vector: 0xff, delivered: false, source: `${ACC} (TPR 15 masks everything)` },
];

for (const r of DELIVERY_ROWS) {
  rows++;
  for (const p of PATHS) {
    // SVM: the V_TPR/TPR low nibble does not survive an exit (KVM sync_cr8_to_lapic, bhyve
    // svm_update_virqinfo -> vlapic_set_cr8), so only the class matters there; it is all that matters here.
    const ops = [...inService(r.isr), WA(ApicOffset.Tpr, r.tpr), IRQ(r.vector)];
    test(`[${r.source}] ${p.label}: TPR 0x${r.tpr.toString(16)} ISR [${r.isr.map((v) => v.toString(16))}] raise 0x${r.vector.toString(16)} -> ${r.delivered ? 'delivered' : 'held in IRR'}`, () => {
      const { m, steps } = run(p, ops);
      const snap = m.snapshot(0);
      assert.deepEqual(last(steps).delivered, r.delivered ? [r.vector] : []);
      // IRR -> ISR on delivery (SDM 10.8.4): the vector leaves IRR and is set in ISR.
      assert.equal(snap.isr.includes(r.vector), r.delivered, `ISR ${snap.isr}`);
      assert.equal(snap.irr.includes(r.vector), !r.delivered, `IRR ${snap.irr}`);
      assert.deepEqual(m.violations, []);
      assert.equal(m.checkAllInvariants(), 0);
    });
  }
}

// ------------------------------------------------------------------ EOI

interface EoiRow {
  tpr: number;
  isr: number[];
  eois: number;
  isrAfter: number[];
  pprAfter: number;
  source: string;
}
const EOI_SRC =
  'SDM 10.8.5 "Signaling Interrupt Servicing Completion": EOI clears the highest ISR bit, PPR re-evaluated';
const EOI_ROWS: readonly EoiRow[] = [
  { tpr: 0, isr: [0x31, 0x51], eois: 1, isrAfter: [0x31], pprAfter: 0x30, source: EOI_SRC },
  { tpr: 0, isr: [0x31, 0x51], eois: 2, isrAfter: [], pprAfter: 0x00, source: EOI_SRC },
  { tpr: 0x40, isr: [0x31, 0x51, 0x71], eois: 1, isrAfter: [0x31, 0x51], pprAfter: 0x50, source: EOI_SRC },
  { tpr: 0x40, isr: [0x31, 0x51], eois: 1, isrAfter: [0x31], pprAfter: 0x40, source: `${EOI_SRC} (TPR now dominates)` },
  {
    tpr: 0x20,
    isr: [],
    eois: 1,
    isrAfter: [],
    pprAfter: 0x20,
    source: `${EOI_SRC} (EOI with nothing in service changes nothing)`,
  },
];
for (const r of EOI_ROWS) {
  rows++;
  for (const p of PATHS) {
    test(`[${r.source}] ${p.label}: ISR [${r.isr.map((v) => v.toString(16))}] + ${r.eois} EOI -> ISR [${r.isrAfter.map((v) => v.toString(16))}]`, () => {
      const ops = [...inService(r.isr), W8(r.tpr >> 4), ...Array.from({ length: r.eois }, () => EOI)];
      const { m } = run(p, ops);
      assert.deepEqual(m.snapshot(0).isr, r.isrAfter);
      assert.equal(m.archPpr(0), r.pprAfter);
      assert.deepEqual(m.violations, []);
      assert.equal(m.checkAllInvariants(), 0);
    });
  }
}

rows++;
for (const p of PATHS) {
  test(`[${EOI_SRC}; SDM 10.8.4] ${p.label}: a vector masked by the in-service one is delivered once it is EOIed and the handler IRETs`, () => {
    const { m, steps } = run(p, [IRQ(0x51), IRQ(0x45), EOI, IRET]);
    assert.deepEqual(steps[0].delivered, [0x51]);
    assert.deepEqual(steps[1].delivered, [], 'class 4 <= ISRV class 5');
    assert.deepEqual(steps[2].delivered, [], 'RFLAGS.IF = 0 inside the handler');
    assert.deepEqual(steps[3].delivered, [0x45]);
    assert.deepEqual(m.snapshot(0).isr, [0x45]);
    assert.deepEqual(m.violations, []);
  });
}

// ------------------------------------------------------------------ CR8 <-> TPR

interface Cr8Row {
  ops: ScriptOp[];
  tpr: number;
  cr8: number;
  what: string;
  source: string;
}
const CR8_SRC =
  'SDM 10.8.6.1 "Interaction of Task Priorities between CR8 and APIC": TPR[7:4] = CR8[3:0], TPR[3:0] = 0; CR8 reads TPR[7:4]';
const CR8_ROWS: readonly Cr8Row[] = [
  { ops: [W8(5)], tpr: 0x50, cr8: 5, what: 'MOV CR8 5 sets TPR 0x50', source: CR8_SRC },
  { ops: [W8(15)], tpr: 0xf0, cr8: 15, what: 'MOV CR8 15 sets TPR 0xF0', source: CR8_SRC },
  { ops: [W8(9), W8(0)], tpr: 0x00, cr8: 0, what: 'MOV CR8 0 clears TPR', source: CR8_SRC },
  { ops: [WA(ApicOffset.Tpr, 0x3a)], tpr: 0x3a, cr8: 3, what: 'xAPIC TPR 0x3A reads back as CR8 3', source: CR8_SRC },
  {
    ops: [WA(ApicOffset.Tpr, 0x3a), W8(3)],
    tpr: 0x30,
    cr8: 3,
    what: 'MOV CR8 clears TPR[3:0] written through the xAPIC page',
    source: CR8_SRC,
  },
  { ops: [WA(ApicOffset.Tpr, 0xff)], tpr: 0xff, cr8: 15, what: 'xAPIC TPR 0xFF reads back as CR8 15', source: CR8_SRC },
];
for (const r of CR8_ROWS) {
  rows++;
  for (const p of PATHS) {
    test(`[${r.source}] ${p.label}: ${r.what}`, () => {
      const { m, steps } = run(p, [...r.ops, R8, RA(ApicOffset.Tpr)]);
      const amd = p.profile.vendor === 'amd';
      // On SVM the emulated TPR follows V_TPR (4 bits) at every #VMEXIT (KVM sync_cr8_to_lapic,
      // bhyve svm_update_virqinfo), so only TPR[7:4] survives the exits of this script there.
      const tpr = amd ? r.tpr & 0xf0 : r.tpr;
      assert.equal(steps[steps.length - 2].value, r.cr8, 'MOV from CR8');
      assert.equal(m.tpr(0), tpr);
      assert.equal(last(steps).value, tpr, 'xAPIC TPR read');
    });
  }
}

// ------------------------------------------------------------------ illegal vectors

const ESR_SRC = 'SDM 10.5.3 "Error Handling": vectors 0-15 are illegal, ESR bit 6 "Received Illegal Vector"';
for (const vector of [0, 2, 8, 15]) {
  rows++;
  for (const p of PATHS.filter((x) => x.profile === DESKTOP || x.profile === SERVER)) {
    test(`[${ESR_SRC}] ${p.label}: vector ${vector} is rejected, not requested, ESR bit 6 set`, () => {
      const m = buildMachine(p);
      m.beginStep(0);
      m.launch();
      assert.equal(m.raiseInterrupt(0, vector, false), false);
      const snap = m.snapshot(0);
      assert.deepEqual(snap.irr, []);
      assert.deepEqual(snap.isr, []);
      assert.equal(m.stepDeliveredCount, 0);
      assert.equal(m.s[F.ESR] & (1 << 6), 1 << 6);
      assert.equal(m.readApic(0, ApicOffset.Esr) & 0x40, 0x40, 'guest reads ESR bit 6');
    });
  }
}
rows++;
test(`[${ESR_SRC}] vector 16 is legal: requested and delivered, ESR stays 0`, () => {
  const { m, steps } = run(PATHS[1], [IRQ(16)]);
  assert.deepEqual(last(steps).delivered, [16]);
  assert.equal(m.s[F.ESR], 0);
});

// ------------------------------------------------------------------ register map

const MAP_SRC = 'SDM 10.4.1 table 10-1 "Local APIC Register Address Map"';
const X2_SRC = 'SDM 10.12.1.2 "x2APIC Register Address Space": MSR = 0x800 + (offset >> 4), table 10-6';
const MAP_ROWS: readonly { name: keyof typeof ApicOffset; offset: number; msr: number | undefined }[] = [
  { name: 'Id', offset: 0x20, msr: 0x802 },
  { name: 'Version', offset: 0x30, msr: 0x803 },
  { name: 'Tpr', offset: 0x80, msr: 0x808 },
  { name: 'Apr', offset: 0x90, msr: undefined },
  { name: 'Ppr', offset: 0xa0, msr: 0x80a },
  { name: 'Eoi', offset: 0xb0, msr: 0x80b },
  { name: 'Ldr', offset: 0xd0, msr: 0x80d },
  { name: 'Dfr', offset: 0xe0, msr: undefined },
  { name: 'Svr', offset: 0xf0, msr: 0x80f },
  { name: 'Isr0', offset: 0x100, msr: 0x810 },
  { name: 'Tmr0', offset: 0x180, msr: 0x818 },
  { name: 'Irr0', offset: 0x200, msr: 0x820 },
  { name: 'Esr', offset: 0x280, msr: 0x828 },
  { name: 'IcrLow', offset: 0x300, msr: 0x830 },
  { name: 'IcrHigh', offset: 0x310, msr: undefined },
  { name: 'LvtTimer', offset: 0x320, msr: 0x832 },
  { name: 'TimerInitialCount', offset: 0x380, msr: 0x838 },
  { name: 'TimerCurrentCount', offset: 0x390, msr: 0x839 },
  { name: 'TimerDivideConfig', offset: 0x3e0, msr: 0x83e },
  { name: 'SelfIpi', offset: 0x3f0, msr: 0x83f },
];
for (const r of MAP_ROWS) {
  rows++;
  test(`[${MAP_SRC}; ${X2_SRC}] ${r.name} at offset 0x${r.offset.toString(16)}${r.msr === undefined ? ', no x2APIC MSR' : `, MSR 0x${r.msr.toString(16)}`}`, () => {
    assert.equal(ApicOffset[r.name], r.offset);
    const msr = offsetToX2apicMsr(r.offset);
    assert.equal(msr, 0x800 + (r.offset >> 4));
    assert.equal(x2apicMsrToOffset(msr), r.offset);
    assert.equal(x2apicMsrExists(msr), r.msr !== undefined, `MSR 0x${msr.toString(16)} exists`);
  });
}
rows++;
test(`[${X2_SRC}] named x2APIC MSRs: TPR 0x808, PPR 0x80A, EOI 0x80B, ICR 0x830, SELF IPI 0x83F`, () => {
  assert.equal(X2apicMsr.Tpr, 0x808);
  assert.equal(X2apicMsr.Ppr, 0x80a);
  assert.equal(X2apicMsr.Eoi, 0x80b);
  assert.equal(X2apicMsr.Icr, 0x830);
  assert.equal(X2apicMsr.SelfIpi, 0x83f);
  assert.ok(x2apicMsrReadOnly(0x80a) && x2apicMsrReadOnly(0x802) && !x2apicMsrReadOnly(0x808));
  assert.ok(x2apicMsrWriteOnly(0x80b) && x2apicMsrWriteOnly(0x83f) && !x2apicMsrWriteOnly(0x830));
});

// ------------------------------------------------------------------ x2APIC MSR faults

interface MsrRow {
  x2apic: boolean;
  op: ScriptOp;
  fault: boolean;
  what: string;
  source: string;
}
const GP_SRC = 'SDM 10.12.1.2 "x2APIC Register Address Space"';
const MSR_ROWS: readonly MsrRow[] = [
  {
    x2apic: false,
    op: WRMSR(0x808, 0x20),
    fault: true,
    what: 'WRMSR TPR in xAPIC mode #GP',
    source: `${GP_SRC}: x2APIC MSRs #GP unless x2APIC mode is enabled`,
  },
  {
    x2apic: false,
    op: RDMSR(0x808),
    fault: true,
    what: 'RDMSR TPR in xAPIC mode #GP',
    source: `${GP_SRC}: x2APIC MSRs #GP unless x2APIC mode is enabled`,
  },
  {
    x2apic: false,
    op: WRMSR(0x80b, 0),
    fault: true,
    what: 'WRMSR EOI in xAPIC mode #GP',
    source: `${GP_SRC}: x2APIC MSRs #GP unless x2APIC mode is enabled`,
  },
  {
    x2apic: true,
    op: WRMSR(0x80a, 0),
    fault: true,
    what: 'WRMSR PPR (read-only) #GP',
    source: `${GP_SRC}: WRMSR to a read-only register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x802, 0),
    fault: true,
    what: 'WRMSR APIC ID (read-only) #GP',
    source: `${GP_SRC}: WRMSR to a read-only register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x803, 0),
    fault: true,
    what: 'WRMSR version (read-only) #GP',
    source: `${GP_SRC}: WRMSR to a read-only register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x810, 0),
    fault: true,
    what: 'WRMSR ISR0 (read-only) #GP',
    source: `${GP_SRC}: WRMSR to a read-only register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x827, 0),
    fault: true,
    what: 'WRMSR IRR7 (read-only) #GP',
    source: `${GP_SRC}: WRMSR to a read-only register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x839, 0),
    fault: true,
    what: 'WRMSR current count (read-only) #GP',
    source: `${GP_SRC}: WRMSR to a read-only register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x80b),
    fault: true,
    what: 'RDMSR EOI (write-only) #GP',
    source: `${GP_SRC}: RDMSR of a write-only register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x83f),
    fault: true,
    what: 'RDMSR SELF IPI (write-only) #GP',
    source: `${GP_SRC}: RDMSR of a write-only register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x809),
    fault: true,
    what: 'RDMSR 0x809 (APR has no x2APIC MSR) #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x809, 0),
    fault: true,
    what: 'WRMSR 0x809 #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x80e),
    fault: true,
    what: 'RDMSR 0x80E (DFR does not exist in x2APIC mode) #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x80e, 0),
    fault: true,
    what: 'WRMSR 0x80E #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x831),
    fault: true,
    what: 'RDMSR 0x831 (ICR high is part of the 64-bit ICR) #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: WRMSR(0x831, 0),
    fault: true,
    what: 'WRMSR 0x831 #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x840),
    fault: true,
    what: 'RDMSR 0x840 (beyond SELF IPI) #GP',
    source: `${GP_SRC}: nonexistent register #GP`,
  },
  {
    x2apic: true,
    op: RDMSR(0x808),
    fault: false,
    what: 'RDMSR TPR is allowed',
    source: `${GP_SRC}: TPR is read/write`,
  },
  {
    x2apic: true,
    op: WRMSR(0x808, 0x20),
    fault: false,
    what: 'WRMSR TPR is allowed',
    source: `${GP_SRC}: TPR is read/write`,
  },
  { x2apic: true, op: RDMSR(0x80a), fault: false, what: 'RDMSR PPR is allowed', source: `${GP_SRC}: PPR is read-only` },
  {
    x2apic: true,
    op: WRMSR(0x80b, 0),
    fault: false,
    what: 'WRMSR EOI is allowed',
    source: `${GP_SRC}: EOI is write-only`,
  },
];
for (const r of MSR_ROWS) {
  rows++;
  for (const p of [PATHS[0], PATHS[2], PATHS[4], PATHS[6]]) {
    test(`[${r.source}] ${p.label} ${r.x2apic ? 'x2APIC' : 'xAPIC'} guest: ${r.what}`, () => {
      const { m, steps } = run({ ...p, x2apic: r.x2apic }, [W8(4), r.op]);
      const s = last(steps);
      if (r.fault) {
        assert.equal(s.fault, '#GP');
        assert.equal(s.value, undefined, 'a faulting RDMSR returns nothing');
        assert.equal(m.tpr(0), 0x40, 'a faulting WRMSR changes no state');
        assert.equal(m.stepFault, Fault.GP);
      } else {
        assert.equal(s.fault, undefined);
      }
    });
  }
}

rows++;
test(`[${GP_SRC}; SDM 10.8.3.1] x2APIC RDMSR 0x808 / 0x80A return TPR and PPR; WRMSR 0x808 sets all 8 TPR bits`, () => {
  for (const p of [PATHS[0], PATHS[2]]) {
    const { m, steps } = run({ ...p, x2apic: true }, [IRQ(0x61), WRMSR(0x808, 0x35), RDMSR(0x808), RDMSR(0x80a)]);
    assert.equal(m.tpr(0), 0x35, p.label);
    assert.equal(steps[2].value, 0x35, p.label);
    assert.equal(steps[3].value, 0x60, `${p.label}: ISRV 0x61 class 6 > TPR class 3`);
  }
});

// ------------------------------------------------------------------ TMR

const TMR_SRC =
  'SDM 10.8.4 "Interrupt Acceptance for Fixed Interrupts": TMR bit set for level-, cleared for edge-triggered';
const tmrBit = (m: Machine, vector: number): boolean =>
  ((m.readApic(0, ApicOffset.Tmr0 + ((vector >> 5) << 4)) >>> (vector & 31)) & 1) === 1;
interface TmrRow {
  ops: ScriptOp[];
  vector: number;
  tmr: boolean;
  what: string;
}
const TMR_ROWS: readonly TmrRow[] = [
  { ops: [IRQ(0x41, true)], vector: 0x41, tmr: true, what: 'level-triggered 0x41 sets TMR' },
  { ops: [IRQ(0x41, false)], vector: 0x41, tmr: false, what: 'edge-triggered 0x41 leaves TMR clear' },
  {
    ops: [IRQ(0xa3, true), IRQ(0xa3, false)],
    vector: 0xa3,
    tmr: false,
    what: 'an edge request of 0xA3 accepted while the level one is in service clears its TMR bit',
  },
  {
    ops: [IRQ(0xa3, false), IRQ(0xa3, true)],
    vector: 0xa3,
    tmr: true,
    what: 'a level request of 0xA3 accepted while an edge one is in service sets its TMR bit',
  },
  {
    ops: [IRQ(0x41, true), IRQ(0x62, false)],
    vector: 0x41,
    tmr: true,
    what: "an edge interrupt does not touch another vector's TMR bit",
  },
];
for (const r of TMR_ROWS) {
  rows++;
  for (const p of PATHS) {
    test(`[${TMR_SRC}] ${p.label}: ${r.what}`, () => {
      const { m } = run(p, r.ops);
      assert.equal(tmrBit(m, r.vector), r.tmr);
    });
  }
}

test('apic.test.ts has at least 60 table rows', () => {
  assert.ok(rows >= 60, `${rows} rows`);
});
