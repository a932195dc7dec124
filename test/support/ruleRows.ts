/**
 * The columns the VT-x and SVM rule tables (test/core/vmx/, test/core/svm/) share: a guest
 * operation under a setup (CPU profile, policy, tunables), the source it follows, and what must
 * follow it; each table adds its own exit type and columns.
 */
import type { Machine } from '../../src/core/vcpu/machine.js';
import type { TraceStep } from '../../src/core/script/runScript.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import type { MachineSetup } from './machines.js';

export interface RuleRow<Exit> {
  readonly what: string;
  readonly source: string;
  readonly setup: MachineSetup;
  readonly pre?: readonly ScriptOp[];
  readonly op: ScriptOp;
  readonly exits: readonly Exit[];
  readonly tpr?: number;
  readonly delivered?: readonly number[];
  readonly value?: number;
  readonly halted?: boolean;
  readonly check?: (m: Machine, s: TraceStep) => void;
}

/** A row's test title: its source, the setup, what it checks. */
export function ruleRowTitle(r: RuleRow<unknown>): string {
  return `[${r.source}] ${r.setup.policy}/${r.setup.profile.id}${r.setup.x2apic ? '/x2APIC' : ''}: ${r.what}`;
}
