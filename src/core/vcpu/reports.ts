import { guestTpr } from '../apic/priority.js';
import { vecTest } from '../apic/vectors.js';
import { describeEntryFailures, ENTRY_CHECK_TEXT, EntryCheck } from '../vmx/entryChecks.js';
import { VmInstructionError } from '../vmx/exitReasons.js';
import { F } from './layout.js';

/**
 * What a Machine reports when a vCPU stops: a violated consistency check (bhyve's panic, or a rule
 * broken) or a failed VM entry. Building a report allocates; it happens once per stopped vCPU.
 */

export interface Violation {
  /** Check name, e.g. `isr_isrvec_stk_out_of_sync`. */
  readonly check: string;
  /** What the real hypervisor prints (bhyve's panic string) or the rule broken. */
  readonly message: string;
  readonly vcpu: number;
  readonly guest: number;
  readonly step: number;
  readonly state: VcpuSnapshot;
}

/**
 * A failed VM entry: VMLAUNCH/VMRESUME failed with VMfailValid (SDM vol. 3C "Checks on VMX Controls").
 * results.json's EntryFailureRecord (src/results/types.ts) is this with the guest's label and the
 * host: a field added here is added to the file (version 1 allows additions only).
 */
export interface EntryFailure {
  readonly vcpu: number;
  readonly guest: number;
  readonly step: number;
  readonly vmInstructionError: number;
  readonly message: string;
  readonly failedChecks: readonly string[];
  readonly details: readonly string[];
}

export interface VcpuSnapshot {
  readonly tpr: number;
  readonly ppr: number;
  readonly isr: number[];
  readonly irr: number[];
  readonly isrvecStk: number[];
  readonly svi: number;
  readonly rvi: number;
  readonly tprThreshold: number;
}

/** The interrupt state of the vCPU at word `b`, as a violation report shows it. */
export function snapshotOf(s: Int32Array, b: number, intel: boolean): VcpuSnapshot {
  const list = (base: number): number[] => {
    const out: number[] = [];
    for (let vec = 0; vec < 256; vec++) if (vecTest(s, base, vec)) out.push(vec);
    return out;
  };
  const stk: number[] = [];
  for (let i = 1; i <= s[b + F.STK_TOP]; i++) stk.push(s[b + F.STK + i]);
  return {
    tpr: guestTpr(s, b, intel),
    ppr: s[b + F.PPR],
    isr: list(b + F.ISR),
    irr: list(b + F.IRR),
    isrvecStk: stk,
    svi: s[b + F.SVI],
    rvi: s[b + F.RVI],
    tprThreshold: s[b + F.TPR_THRESHOLD],
  };
}

/** A VM entry whose controls failed the checks `failed` (vmx/entryChecks.ts): VM-instruction error 7. */
export function entryFailureOf(vcpu: number, guest: number, step: number, failed: number): EntryFailure {
  const names = describeEntryFailures(failed);
  return {
    vcpu,
    guest,
    step,
    vmInstructionError: VmInstructionError.EntryInvalidControlFields,
    message: 'VM entry with invalid control field(s)',
    failedChecks: names,
    details: names.map((n) => ENTRY_CHECK_TEXT[EntryCheck[n as keyof typeof EntryCheck]]),
  };
}
