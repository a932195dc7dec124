/**
 * VM-entry checks on the VMX controls (Intel SDM vol. 3C 26.2.1.1 "VM-Execution Control Fields",
 * 26.2.1.2 "VM-Exit Control Fields", appendix A.3 "VM-Execution Controls" for the capability MSRs),
 * table-driven over checkVmEntry: every EntryCheck item failing and passing. Then a Machine whose
 * VmcsOverrides make VMLAUNCH fail (VM-instruction error 7), and the SDM 26.6.7 rule that with
 * "virtualize APIC accesses" = 1 a threshold above VTPR is a TPR-below-threshold exit after entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVmEntry, describeEntryFailures, ENTRY_CHECK_TEXT, EntryCheck } from '../../src/core/vmx/entryChecks.js';
import { ExitControls, PinBased, ProcBased, ProcBased2 } from '../../src/core/vmx/controls.js';
import { VmInstructionError, ExitReason } from '../../src/core/vmx/exitReasons.js';
import type { VmxCapabilities } from '../../src/core/cpu/profile.js';
import { Counter, type Machine, type VmcsOverrides } from '../../src/core/vcpu/machine.js';
import { F, Flag } from '../../src/core/vcpu/layout.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import type { PolicyName } from '../../src/core/hypervisor/policy.js';
import { runScript } from '../../src/core/script/runScript.js';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { DESKTOP, NO_TPR_SHADOW, SERVER } from '../support/profiles.js';
import { buildMachine } from '../support/machines.js';

type CheckName = keyof typeof EntryCheck;

interface Controls {
  pin: number;
  proc: number;
  proc2: number;
  exit: number;
  threshold: number;
  vtpr: number;
}

const SERVER_CAPS = SERVER.vmx!;
const DESKTOP_CAPS = DESKTOP.vmx!;
const OLD_CAPS = NO_TPR_SHADOW.vmx!;

/** A VMCS every check accepts on SERVER: TPR shadow, secondary controls on but empty. */
function base(caps: VmxCapabilities = SERVER_CAPS): Controls {
  return {
    pin: caps.pinBased.allowed0 | PinBased.ExternalInterruptExiting | PinBased.NmiExiting,
    proc:
      (caps.procBased.allowed0 |
        ProcBased.HltExiting |
        ProcBased.UseMsrBitmaps |
        ProcBased.UseIoBitmaps |
        ProcBased.UseTprShadow |
        ProcBased.ActivateSecondaryControls) >>>
      0,
    proc2: 0,
    exit: caps.exit.allowed0 | ExitControls.AcknowledgeInterruptOnExit,
    threshold: 0,
    vtpr: 0,
  };
}

const APICV =
  ProcBased2.VirtualizeApicAccesses | ProcBased2.ApicRegisterVirtualization | ProcBased2.VirtualInterruptDelivery;

interface Row {
  readonly what: string;
  readonly source: string;
  readonly caps?: VmxCapabilities;
  readonly change: (c: Controls) => Controls;
  readonly fails: readonly CheckName[];
}

const RES = 'SDM 26.2.1.1 "VM-Execution Control Fields" + appendix A.3 "VM-Execution Controls" (allowed-0 / allowed-1)';
const RES_EXIT = 'SDM 26.2.1.2 "VM-Exit Control Fields" + appendix A.4 "VM-Exit Controls"';
const VEC = 'SDM 26.2.1.1 "VM-Execution Control Fields"';
const TPR_T = `${VEC}: use TPR shadow = 1, VID = 0 -> TPR threshold bits 31:4 = 0`;
const TPR_V = `${VEC}: use TPR shadow = 1, virtualize APIC accesses = 0, VID = 0 -> threshold[3:0] <= VTPR[7:4]`;

const ROWS: readonly Row[] = [
  { what: 'baseline: TPR shadow, secondary controls on, nothing else', source: VEC, change: (c) => c, fails: [] },
  {
    what: 'baseline APICv: TPR shadow + APIC accesses + register virtualization + VID + posted',
    source: VEC,
    change: (c) => ({ ...c, proc2: APICV, pin: c.pin | PinBased.ProcessPostedInterrupts }),
    fails: [],
  },
  // reserved bits
  {
    what: 'pin-based: a must-be-1 bit (allowed-0) cleared',
    source: RES,
    change: (c) => ({ ...c, pin: c.pin & ~(1 << 1) }),
    fails: ['PIN_BASED_RESERVED'],
  },
  {
    what: 'pin-based: posted interrupts set on a CPU that does not allow it (DESKTOP allowed-1 0x7f)',
    source: RES,
    caps: DESKTOP_CAPS,
    change: (c) => ({
      ...c,
      pin: c.pin | PinBased.ProcessPostedInterrupts,
      proc2: ProcBased2.VirtualInterruptDelivery,
    }),
    fails: ['PIN_BASED_RESERVED', 'PROC_BASED2_RESERVED'],
  },
  {
    what: 'primary: must-be-1 bit 1 cleared',
    source: RES,
    change: (c) => ({ ...c, proc: c.proc & ~(1 << 1) }),
    fails: ['PROC_BASED_RESERVED'],
  },
  {
    what: 'primary: bit 17 (not allowed-1) set',
    source: RES,
    change: (c) => ({ ...c, proc: (c.proc | (1 << 17)) >>> 0 }),
    fails: ['PROC_BASED_RESERVED'],
  },
  {
    what: 'primary: use TPR shadow on a CPU without it',
    source: RES,
    caps: OLD_CAPS,
    change: (c) => c,
    fails: ['PROC_BASED_RESERVED'],
  },
  {
    what: 'primary: CR8-load/-store exiting instead of the TPR shadow passes on an old CPU',
    source: RES,
    caps: OLD_CAPS,
    change: (c) => ({
      ...c,
      proc: ((c.proc & ~ProcBased.UseTprShadow) | ProcBased.Cr8LoadExiting | ProcBased.Cr8StoreExiting) >>> 0,
    }),
    fails: [],
  },
  {
    what: 'secondary: VID on a desktop CPU (not allowed-1)',
    source: RES,
    caps: DESKTOP_CAPS,
    change: (c) => ({ ...c, proc2: ProcBased2.VirtualInterruptDelivery }),
    fails: ['PROC_BASED2_RESERVED'],
  },
  {
    what: 'secondary: APIC-register virtualization on a desktop CPU',
    source: RES,
    caps: DESKTOP_CAPS,
    change: (c) => ({ ...c, proc2: ProcBased2.ApicRegisterVirtualization }),
    fails: ['PROC_BASED2_RESERVED'],
  },
  {
    what: 'secondary: virtualize APIC accesses on a desktop CPU is allowed',
    source: RES,
    caps: DESKTOP_CAPS,
    change: (c) => ({ ...c, proc2: ProcBased2.VirtualizeApicAccesses }),
    fails: [],
  },
  {
    what: 'secondary: bit 15 (not allowed-1 on SERVER 0x77fff) set',
    source: RES,
    change: (c) => ({ ...c, proc2: 1 << 15 }),
    fails: ['PROC_BASED2_RESERVED'],
  },
  {
    what: 'secondary controls ignored when "activate secondary controls" = 0 (acts as if all 0)',
    source: `${VEC}: "activate secondary controls" = 0 -> secondary controls treated as 0`,
    change: (c) => ({
      ...c,
      proc: (c.proc & ~ProcBased.ActivateSecondaryControls) >>> 0,
      proc2:
        (1 << 15) |
        ProcBased2.VirtualizeX2apicMode |
        ProcBased2.VirtualizeApicAccesses |
        ProcBased2.VirtualInterruptDelivery,
    }),
    fails: [],
  },
  {
    what: 'exit controls: must-be-1 bit 0 cleared',
    source: RES_EXIT,
    change: (c) => ({ ...c, exit: c.exit & ~1 }),
    fails: ['EXIT_CONTROLS_RESERVED'],
  },
  {
    what: 'exit controls: bit 24 (not allowed-1 0x7fffff) set',
    source: RES_EXIT,
    change: (c) => ({ ...c, exit: c.exit | (1 << 24) }),
    fails: ['EXIT_CONTROLS_RESERVED'],
  },
  // TPR threshold
  {
    what: 'TPR threshold 0x10 (bit 4 set) with the TPR shadow and no VID',
    source: TPR_T,
    change: (c) => ({ ...c, threshold: 0x10, vtpr: 0xf0 }),
    fails: ['TPR_THRESHOLD_RESERVED_BITS'],
  },
  {
    what: 'TPR threshold 0x80000000 with the TPR shadow and no VID',
    source: TPR_T,
    change: (c) => ({ ...c, threshold: 0x80000000 | 0, vtpr: 0xf0 }),
    fails: ['TPR_THRESHOLD_RESERVED_BITS'],
  },
  {
    what: 'TPR threshold bits 31:4 are not checked with VID',
    source: TPR_T,
    change: (c) => ({ ...c, proc2: APICV, threshold: 0x13 }),
    fails: [],
  },
  {
    what: 'TPR threshold bits 31:4 are not checked without the TPR shadow',
    source: TPR_T,
    change: (c) => ({
      ...c,
      proc: ((c.proc & ~ProcBased.UseTprShadow) | ProcBased.Cr8LoadExiting) >>> 0,
      threshold: 0x13,
    }),
    fails: [],
  },
  {
    what: 'threshold 3 > VTPR[7:4] 2',
    source: TPR_V,
    change: (c) => ({ ...c, threshold: 3, vtpr: 0x2f }),
    fails: ['TPR_THRESHOLD_ABOVE_VTPR'],
  },
  {
    what: 'threshold 15 > VTPR 0',
    source: TPR_V,
    change: (c) => ({ ...c, threshold: 15, vtpr: 0 }),
    fails: ['TPR_THRESHOLD_ABOVE_VTPR'],
  },
  {
    what: 'threshold 3 = VTPR[7:4] 3 passes',
    source: TPR_V,
    change: (c) => ({ ...c, threshold: 3, vtpr: 0x30 }),
    fails: [],
  },
  {
    what: 'threshold 3 < VTPR[7:4] 9 passes',
    source: TPR_V,
    change: (c) => ({ ...c, threshold: 3, vtpr: 0x95 }),
    fails: [],
  },
  {
    what: 'threshold above VTPR passes when virtualize APIC accesses = 1 (exit after entry instead)',
    source: `${TPR_V}; SDM 26.6.7 "VM Exits Induced by the TPR Threshold"`,
    change: (c) => ({ ...c, proc2: ProcBased2.VirtualizeApicAccesses, threshold: 5, vtpr: 0x10 }),
    fails: [],
  },
  {
    what: 'threshold above VTPR passes when VID = 1',
    source: TPR_V,
    change: (c) => ({ ...c, proc2: APICV, threshold: 5, vtpr: 0x10 }),
    fails: [],
  },
  {
    what: 'threshold above VTPR passes without the TPR shadow',
    source: TPR_V,
    change: (c) => ({
      ...c,
      proc: ((c.proc & ~ProcBased.UseTprShadow) | ProcBased.Cr8LoadExiting) >>> 0,
      threshold: 5,
      vtpr: 0x10,
    }),
    fails: [],
  },
  {
    what: 'both threshold checks fail together',
    source: `${TPR_T}; ${TPR_V}`,
    change: (c) => ({ ...c, threshold: 0x25, vtpr: 0x40 }),
    fails: ['TPR_THRESHOLD_RESERVED_BITS', 'TPR_THRESHOLD_ABOVE_VTPR'],
  },
  // APIC virtualization needs the TPR shadow
  {
    what: 'virtualize x2APIC mode without the TPR shadow',
    source: `${VEC}: use TPR shadow = 0 -> virtualize x2APIC mode = 0`,
    change: (c) => ({ ...c, proc: (c.proc & ~ProcBased.UseTprShadow) >>> 0, proc2: ProcBased2.VirtualizeX2apicMode }),
    fails: ['APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW'],
  },
  {
    what: 'APIC-register virtualization without the TPR shadow',
    source: `${VEC}: use TPR shadow = 0 -> APIC-register virtualization = 0`,
    change: (c) => ({
      ...c,
      proc: (c.proc & ~ProcBased.UseTprShadow) >>> 0,
      proc2: ProcBased2.ApicRegisterVirtualization,
    }),
    fails: ['APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW'],
  },
  {
    what: 'VID without the TPR shadow',
    source: `${VEC}: use TPR shadow = 0 -> virtual-interrupt delivery = 0`,
    change: (c) => ({
      ...c,
      proc: (c.proc & ~ProcBased.UseTprShadow) >>> 0,
      proc2: ProcBased2.VirtualInterruptDelivery,
    }),
    fails: ['APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW'],
  },
  {
    what: 'virtualize APIC accesses alone does not need the TPR shadow',
    source: VEC,
    change: (c) => ({ ...c, proc: (c.proc & ~ProcBased.UseTprShadow) >>> 0, proc2: ProcBased2.VirtualizeApicAccesses }),
    fails: [],
  },
  // x2APIC mode vs APIC accesses
  {
    what: 'virtualize x2APIC mode and virtualize APIC accesses together',
    source: `${VEC}: virtualize x2APIC mode = 1 -> virtualize APIC accesses = 0`,
    change: (c) => ({ ...c, proc2: ProcBased2.VirtualizeX2apicMode | ProcBased2.VirtualizeApicAccesses }),
    fails: ['X2APIC_MODE_WITH_APIC_ACCESSES'],
  },
  {
    what: 'virtualize x2APIC mode with register virtualization and VID (bhyve vmx_enable_x2apic_mode_vid)',
    source: VEC,
    change: (c) => ({
      ...c,
      proc2:
        ProcBased2.VirtualizeX2apicMode | ProcBased2.ApicRegisterVirtualization | ProcBased2.VirtualInterruptDelivery,
    }),
    fails: [],
  },
  // VID needs external-interrupt exiting
  {
    what: 'VID without external-interrupt exiting',
    source: `${VEC}: virtual-interrupt delivery = 1 -> external-interrupt exiting = 1`,
    change: (c) => ({ ...c, proc2: APICV, pin: c.pin & ~PinBased.ExternalInterruptExiting }),
    fails: ['VID_NEEDS_EXTERNAL_INTERRUPT_EXITING'],
  },
  {
    what: 'no VID: external-interrupt exiting may be 0',
    source: VEC,
    change: (c) => ({ ...c, pin: c.pin & ~PinBased.ExternalInterruptExiting }),
    fails: [],
  },
  // posted interrupts
  {
    what: 'posted interrupts without VID',
    source: `${VEC}: process posted interrupts = 1 -> virtual-interrupt delivery = 1`,
    change: (c) => ({ ...c, pin: c.pin | PinBased.ProcessPostedInterrupts }),
    fails: ['POSTED_INTERRUPTS_NEED_VID'],
  },
  {
    what: 'posted interrupts without acknowledge interrupt on exit',
    source: `${VEC}: process posted interrupts = 1 -> acknowledge interrupt on exit = 1`,
    change: (c) => ({
      ...c,
      proc2: APICV,
      pin: c.pin | PinBased.ProcessPostedInterrupts,
      exit: c.exit & ~ExitControls.AcknowledgeInterruptOnExit,
    }),
    fails: ['POSTED_INTERRUPTS_NEED_ACK_ON_EXIT'],
  },
  {
    what: 'posted interrupts with neither VID nor acknowledge interrupt on exit',
    source: `${VEC} (process posted interrupts)`,
    change: (c) => ({
      ...c,
      pin: c.pin | PinBased.ProcessPostedInterrupts,
      exit: c.exit & ~ExitControls.AcknowledgeInterruptOnExit,
    }),
    fails: ['POSTED_INTERRUPTS_NEED_VID', 'POSTED_INTERRUPTS_NEED_ACK_ON_EXIT'],
  },
  {
    what: 'VID without posted interrupts needs no acknowledge interrupt on exit',
    source: VEC,
    change: (c) => ({ ...c, proc2: APICV, exit: c.exit & ~ExitControls.AcknowledgeInterruptOnExit }),
    fails: [],
  },
  // NMIs
  {
    what: 'virtual NMIs without NMI exiting',
    source: `${VEC}: NMI exiting = 0 -> virtual NMIs = 0`,
    change: (c) => ({ ...c, pin: (c.pin & ~PinBased.NmiExiting) | PinBased.VirtualNmis }),
    fails: ['VIRTUAL_NMIS_NEED_NMI_EXITING'],
  },
  {
    what: 'NMI-window exiting without virtual NMIs',
    source: `${VEC}: virtual NMIs = 0 -> NMI-window exiting = 0`,
    change: (c) => ({ ...c, proc: (c.proc | ProcBased.NmiWindowExiting) >>> 0 }),
    fails: ['NMI_WINDOW_NEEDS_VIRTUAL_NMIS'],
  },
  {
    what: 'NMI-window exiting with virtual NMIs and NMI exiting passes',
    source: VEC,
    change: (c) => ({ ...c, pin: c.pin | PinBased.VirtualNmis, proc: (c.proc | ProcBased.NmiWindowExiting) >>> 0 }),
    fails: [],
  },
];

function failedNames(caps: VmxCapabilities, c: Controls): string[] {
  return describeEntryFailures(checkVmEntry(caps, c.pin, c.proc, c.proc2, c.exit, c.threshold, c.vtpr)).sort();
}

for (const r of ROWS) {
  test(`[${r.source}] checkVmEntry: ${r.what} -> ${r.fails.length === 0 ? 'entry succeeds' : r.fails.join(' + ')}`, () => {
    const caps = r.caps ?? SERVER_CAPS;
    assert.deepEqual(failedNames(caps, r.change(base(caps))), [...r.fails].sort());
  });
}

test('[SDM 26.2.1.1] every EntryCheck item has a row that fails it and the manual wording for reports', () => {
  const failedSomewhere = new Set(ROWS.flatMap((r) => r.fails));
  for (const name of Object.keys(EntryCheck) as CheckName[]) {
    assert.ok(failedSomewhere.has(name), `${name} is failed by some row`);
    assert.ok((ENTRY_CHECK_TEXT[EntryCheck[name]] ?? '').length > 20, `${name} has a description`);
  }
  assert.ok(ROWS.filter((r) => r.fails.length === 0).length >= 10, 'and passing rows');
});

// ------------------------------------------------------------------ a Machine whose VMLAUNCH fails

function machine(profile: CpuProfile, policy: PolicyName, overrides: VmcsOverrides, x2apic = false): Machine {
  return buildMachine({ profile, policy, overrides, x2apic });
}

interface LaunchRow {
  readonly what: string;
  readonly source: string;
  readonly profile: CpuProfile;
  readonly policy: PolicyName;
  readonly x2apic?: boolean;
  readonly overrides: VmcsOverrides;
  readonly fails: readonly CheckName[];
}

const LAUNCH_ROWS: readonly LaunchRow[] = [
  {
    what: 'review v1 (no threshold management) with TPR threshold 5 above VTPR 0',
    source: TPR_V,
    profile: DESKTOP,
    policy: 'bhyve-tpr-v1',
    overrides: { tprThreshold: 5 },
    fails: ['TPR_THRESHOLD_ABOVE_VTPR'],
  },
  {
    what: 'review v1 with TPR threshold 0x12 (bits 31:4)',
    source: TPR_T,
    profile: DESKTOP,
    policy: 'bhyve-tpr-v1',
    overrides: { tprThreshold: 0x12 },
    fails: ['TPR_THRESHOLD_RESERVED_BITS', 'TPR_THRESHOLD_ABOVE_VTPR'],
  },
  {
    what: 'bhyve-12.1 forcing VID on a desktop CPU',
    source: RES,
    profile: DESKTOP,
    policy: 'bhyve-12.1',
    overrides: { procSet: ProcBased.UseTprShadow, proc2Set: ProcBased2.VirtualInterruptDelivery },
    fails: ['PROC_BASED2_RESERVED'],
  },
  {
    what: 'APICv with external-interrupt exiting cleared',
    source: `${VEC}: VID -> external-interrupt exiting`,
    profile: SERVER,
    policy: 'bhyve-tpr-v3',
    overrides: { pinClear: PinBased.ExternalInterruptExiting },
    fails: ['VID_NEEDS_EXTERNAL_INTERRUPT_EXITING'],
  },
  {
    what: 'APICv with the TPR shadow cleared',
    source: `${VEC}: use TPR shadow = 0 -> no APIC virtualization`,
    profile: SERVER,
    policy: 'kvm',
    overrides: { procClear: ProcBased.UseTprShadow },
    fails: ['APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW'],
  },
  {
    what: 'KVM FlexPriority xAPIC guest also given virtualize x2APIC mode',
    source: `${VEC}: x2APIC mode excludes APIC accesses`,
    profile: DESKTOP,
    policy: 'kvm',
    overrides: { proc2Set: ProcBased2.VirtualizeX2apicMode },
    fails: ['X2APIC_MODE_WITH_APIC_ACCESSES'],
  },
  {
    what: 'posted interrupts with VID cleared',
    source: `${VEC}: posted interrupts -> VID`,
    profile: SERVER,
    policy: 'bhyve-tpr-v3',
    overrides: { proc2Clear: ProcBased2.VirtualInterruptDelivery },
    fails: ['POSTED_INTERRUPTS_NEED_VID'],
  },
  {
    what: 'posted interrupts with acknowledge interrupt on exit cleared',
    source: `${VEC}: posted interrupts -> acknowledge interrupt on exit`,
    profile: SERVER,
    policy: 'kvm',
    overrides: { exitClear: ExitControls.AcknowledgeInterruptOnExit },
    fails: ['POSTED_INTERRUPTS_NEED_ACK_ON_EXIT'],
  },
  {
    what: 'a primary control the CPU does not allow (bit 17)',
    source: RES,
    profile: DESKTOP,
    policy: 'bhyve-tpr-v3',
    overrides: { procSet: 1 << 17 },
    fails: ['PROC_BASED_RESERVED'],
  },
];

for (const r of LAUNCH_ROWS) {
  test(`[${r.source}; SDM 30.4 "VM Instruction Error Numbers" (7)] ${r.policy}/${r.profile.id} VmcsOverrides: ${r.what} -> VMLAUNCH fails, vCPU stopped, later ops do nothing`, () => {
    const m = machine(r.profile, r.policy, r.overrides, r.x2apic);
    const steps = runScript(m, [
      { op: 'write_cr8', cpu: 0, value: 2 },
      { op: 'interrupt', cpu: 0, vector: 0x51, level: false },
      { op: 'read_cr8', cpu: 0 },
      { op: 'io', cpu: 0, port: 0x80 },
      { op: 'hlt', cpu: 0 },
    ]);
    assert.equal(m.entryFailures.length, 1);
    const f = m.entryFailures[0];
    assert.equal(f.vmInstructionError, VmInstructionError.EntryInvalidControlFields);
    assert.equal(f.vmInstructionError, 7);
    assert.equal(f.step, 0);
    assert.equal(f.message, 'VM entry with invalid control field(s)');
    assert.deepEqual([...f.failedChecks].sort(), [...r.fails].sort());
    assert.equal(f.details.length, r.fails.length);
    assert.ok(m.isStopped(0));
    assert.ok((m.flags(0) & Flag.ENTRY_FAILED) !== 0);
    assert.equal(m.counters[Counter.ENTRY_FAILURES], 1);
    // The trace shows the failed VMLAUNCH as step 0, then the guest ops with no effect.
    assert.equal(steps[0].op, 'vmlaunch');
    assert.equal(steps[0].entryFailure, f);
    for (const s of steps.slice(1)) {
      assert.deepEqual(s.exits, []);
      assert.deepEqual(s.delivered, []);
    }
    assert.equal(
      m.exitCounts.reduce((a, b) => a + b, 0),
      0,
      'no VM exit ever happened',
    );
    assert.equal(m.counters[Counter.CR8_WRITES] + m.counters[Counter.CR8_READS] + m.counters[Counter.RAISED], 0);
    assert.equal(m.tpr(0), 0);
    assert.deepEqual(m.snapshot(0).irr, []);
    assert.deepEqual(m.violations, []);
  });
}

test(`[${TPR_V}] the same policy without the bad override launches`, () => {
  for (const r of LAUNCH_ROWS) {
    const m = machine(r.profile, r.policy, {}, r.x2apic);
    m.beginStep(0);
    m.launch();
    assert.deepEqual(m.entryFailures, [], `${r.policy}/${r.profile.id}`);
  }
});

test('[SDM 26.6.7 "VM Exits Induced by the TPR Threshold"] virtualize APIC accesses = 1: threshold > VTPR[7:4] is not an entry failure but a TPR-below-threshold exit right after entry', () => {
  // Review v1 never programs the threshold, so the override stays; it has no handler for exit 43
  // (bhyve vmx_exit_process has no EXIT_REASON_TPR case before review v2).
  const m = machine(DESKTOP, 'bhyve-tpr-v1', { proc2Set: ProcBased2.VirtualizeApicAccesses, tprThreshold: 5 });
  m.logStepExits();
  m.beginStep(0);
  assert.doesNotThrow(() => m.launch());
  assert.deepEqual(m.entryFailures, []);
  assert.equal(m.stepExitCount, 1, 'exactly one exit, at entry');
  assert.equal(m.stepExits[0], Slot.TPR_BELOW_THRESHOLD);
  assert.equal(m.exitCount(0, Slot.TPR_BELOW_THRESHOLD), 1);
  assert.equal(m.s[F.TPR_THRESHOLD], 5);
  // Re-entering with the same threshold would exit again forever; the policy cannot handle the exit.
  assert.deepEqual(
    m.violations.map((v) => v.check),
    ['unhandled_vm_exit'],
  );
  assert.ok(m.isStopped(0));
  m.beginStep(1);
  m.writeCr8(0, 9);
  assert.equal(m.stepExitCount, 0, 'the stopped vCPU does nothing');
});

test('[SDM 26.6.7 "VM Exits Induced by the TPR Threshold"; SDM 29.1.2 "TPR Virtualization"] virtualize APIC accesses = 1 with the threshold not above VTPR: no exit at entry, the guest runs', () => {
  const m = machine(DESKTOP, 'bhyve-tpr-v1', { proc2Set: ProcBased2.VirtualizeApicAccesses, tprThreshold: 0 });
  const steps = runScript(m, [{ op: 'write_cr8', cpu: 0, value: 4 }]);
  assert.deepEqual(m.entryFailures, []);
  assert.deepEqual(steps[0].exits, []);
  assert.equal(m.exitCount(0, Slot.TPR_BELOW_THRESHOLD), 0);
});

test(`[SDM 26.2.1.1; entry reason ${ExitReason.EntryFailInvalidGuestState} is for guest state, not controls] a control-field failure never reports an exit reason`, () => {
  const m = machine(DESKTOP, 'bhyve-tpr-v1', { tprThreshold: 9 });
  m.beginStep(0);
  m.launch();
  assert.equal(m.entryFailures.length, 1);
  assert.equal(m.stepExitCount, 0);
});

test(`entryChecks.test.ts has at least 40 table rows (${ROWS.length + LAUNCH_ROWS.length})`, () => {
  assert.ok(ROWS.length + LAUNCH_ROWS.length >= 40);
});
