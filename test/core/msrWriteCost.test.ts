/**
 * Which host time an MSR-write exit costs (data/cost-model.yaml apicMsrWriteFieldNs, docs/MODEL.md
 * §5): the MSR_WRITE slot's field part is the host timer the write programs (IA32_TSC_DEADLINE and
 * the x2APIC initial count go to KVM's start_apic_timer); an x2APIC write that programs no timer
 * (EOI: apic_set_eoi, ICR: kvm_apic_send_ipi, an LVT) costs the short in-kernel exit instead.
 * Table-driven on a desktop CPU without APICv (every x2APIC write but the TPR exits) and a server with
 * it (EOI virtualized: no exit, no cost); then the shipped cost model's numbers for both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X2apicMsr } from '../../src/core/apic/registers.js';
import { HvFeature, HvMsr } from '../../src/core/hypervisor/hyperv.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { apicMsrWriteCostNs, exitCostTable, loadModelData } from '../../src/model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

const SLOT_NS = 3000;
const SHORT_NS = 500;
const MSR_WRITE = EXIT_KINDS.find((k) => k.name === 'MSR_WRITE')!.slot;

function machine(setup: MachineSetup, short: number): Machine {
  const m = buildMachine({ ...setup, x2apic: true, vcpus: 2 });
  m.exitCostNs.fill(0);
  m.exitCostNs[MSR_WRITE] = SLOT_NS;
  m.apicMsrWriteCostNs = short;
  m.launch();
  return m;
}

const IA32_TSC_DEADLINE = 0x6e0;

interface Row {
  readonly what: string;
  readonly setup: MachineSetup;
  readonly write: (m: Machine) => void;
  /** Host ns the write costs vCPU 0 (exits of every kind, here only MSR_WRITE is priced). */
  readonly ns: number;
}

const D: MachineSetup = { profile: DESKTOP, policy: 'kvm' };
const S: MachineSetup = { profile: SERVER, policy: 'kvm' };

const ROWS: readonly Row[] = [
  {
    what: 'TSC-deadline arm (start_apic_timer)',
    setup: D,
    write: (m) => m.wrmsr(0, IA32_TSC_DEADLINE, 1, 0),
    ns: SLOT_NS,
  },
  {
    what: 'x2APIC initial count (start_apic_timer)',
    setup: D,
    write: (m) => m.wrmsr(0, X2apicMsr.TimerInitialCount, 1000, 0),
    ns: SLOT_NS,
  },
  {
    what: 'x2APIC EOI without VID (apic_set_eoi)',
    setup: D,
    write: (m) => m.wrmsr(0, X2apicMsr.Eoi, 0, 0),
    ns: SHORT_NS,
  },
  {
    what: 'x2APIC ICR, a fixed IPI (kvm_apic_send_ipi)',
    setup: D,
    write: (m) => m.wrmsr(0, X2apicMsr.Icr, 0x40, 1),
    ns: SHORT_NS,
  },
  { what: 'x2APIC LVT timer', setup: D, write: (m) => m.wrmsr(0, X2apicMsr.LvtTimer, 0xec, 0), ns: SHORT_NS },
  { what: 'x2APIC EOI with VID: virtualized, no exit', setup: S, write: (m) => m.wrmsr(0, X2apicMsr.Eoi, 0, 0), ns: 0 },
  { what: 'TSC-deadline arm with APICv', setup: S, write: (m) => m.wrmsr(0, IA32_TSC_DEADLINE, 1, 0), ns: SLOT_NS },
  // hv-vapic's synthetic EOI and ICR do the x2APIC registers' work (kvm_hv_vapic_msr_write); the
  // synthetic timer's count arms a host timer (stimer_start), like IA32_TSC_DEADLINE.
  {
    what: 'HV_X64_MSR_EOI under hv-vapic (apic_set_eoi)',
    setup: { ...S, hyperv: { features: HvFeature.VAPIC } },
    write: (m) => m.wrmsr(0, HvMsr.EOI, 0, 0),
    ns: SHORT_NS,
  },
  {
    what: 'HV_X64_MSR_ICR under hv-vapic (a fixed IPI)',
    setup: { ...S, hyperv: { features: HvFeature.VAPIC } },
    write: (m) => m.wrmsr(0, HvMsr.ICR, 0x40, 1),
    ns: SHORT_NS,
  },
  {
    what: 'HV_X64_MSR_STIMER0_COUNT (a host timer armed)',
    setup: { ...S, hyperv: { features: HvFeature.SYNIC | HvFeature.STIMER } },
    write: (m) => m.wrmsr(0, HvMsr.STIMER0_COUNT, 1, 0),
    ns: SLOT_NS,
  },
];

for (const r of ROWS) {
  test(`MSR-write cost: ${r.what} costs ${r.ns} ns`, () => {
    const m = machine(r.setup, SHORT_NS);
    const before = m.vcpuHostNs[0];
    r.write(m);
    assert.equal(m.vcpuHostNs[0] - before, r.ns);
  });
}

test('without an apicMsrWriteFieldNs (bhyve, -1) every MSR-write exit costs the slot', () => {
  for (const msr of [X2apicMsr.Eoi, X2apicMsr.Icr, IA32_TSC_DEADLINE]) {
    const m = machine(D, -1);
    m.wrmsr(0, msr, msr === X2apicMsr.Icr ? 0x40 : 1, msr === X2apicMsr.Icr ? 1 : 0);
    assert.equal(m.vcpuHostNs[0], SLOT_NS, `MSR ${msr.toString(16)}`);
  }
});

test('the shipped cost model: under KVM an EOI/ICR write costs less than a timer arm by the two field parts; bhyve has no split', () => {
  const data = loadModelData();
  const cpu = findCpuProfile(loadCpuCatalog(), 'i7-6700K');
  const table = exitCostTable(data.costModel, cpu, 'kvm');
  const short = apicMsrWriteCostNs(data.costModel, cpu, 'kvm');
  assert.equal(
    table[MSR_WRITE] - short,
    data.costModel.fieldNs.kvm.MSR_WRITE - data.costModel.apicMsrWriteFieldNs.kvm!,
  );
  assert.ok(short > 0 && short < table[MSR_WRITE]);
  assert.equal(apicMsrWriteCostNs(data.costModel, cpu, 'bhyve'), -1);
});
