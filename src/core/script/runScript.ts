import { EXIT_KINDS } from '../vcpu/exits.js';
import { Fault, type Machine, type EntryFailure, type Violation } from '../vcpu/machine.js';
import type { ScriptOp } from './ops.js';

interface TraceExit {
  /** VT-x basic exit reason, or the SVM exit code on AMD profiles. */
  readonly reason: number;
  readonly name: string;
  readonly qualification: number;
  /** What caused it where reason and qualification do not say it (vcpu/recorder.ts ExitWhy word; 0: nothing). */
  readonly why: number;
}

export interface TraceStep {
  readonly step: number;
  readonly cpu: number;
  readonly op: string;
  readonly args: Readonly<Record<string, number | boolean>>;
  readonly exits: readonly TraceExit[];
  /** Guest-visible TPR after the step. */
  readonly tpr: number;
  /** Processor priority after the step (architectural: TPR vs highest in-service class). */
  readonly ppr: number;
  readonly delivered: readonly number[];
  /** How each of `delivered` reached the guest (vcpu/recorder.ts DeliveryVia), in the same order. */
  readonly deliveredVia: readonly number[];
  readonly violations: readonly Violation[];
  /** Value a read returned (read_cr8, read_apic, rdmsr). */
  readonly value?: number;
  /** An exception the instruction raised instead of completing, e.g. `#GP`. */
  readonly fault?: string;
  /** The VM entry after this step failed: the guest does not run again. */
  readonly entryFailure?: EntryFailure;
  /** Why the operation did not execute (a halted vCPU runs no instructions until an interrupt wakes it). */
  readonly skipped?: string;
}

function argsOf(op: ScriptOp): Record<string, number | boolean> {
  const { op: _name, cpu: _cpu, ...rest } = op as ScriptOp & Record<string, unknown>;
  return rest as Record<string, number | boolean>;
}

/**
 * Execute a script on a machine, one record per operation. Steps that target a stopped vCPU still
 * produce a record (with no effect), so the trace shows where the guest stopped.
 */
export function runScript(machine: Machine, ops: readonly ScriptOp[]): TraceStep[] {
  const out: TraceStep[] = [];
  machine.logStepExits();
  machine.beginStep(0);
  machine.launch();
  // A VMCS the CPU refuses fails the very first entry (VMLAUNCH): report it as step 0.
  for (const failure of machine.entryFailures) {
    out.push({
      step: 0,
      cpu: failure.vcpu,
      op: 'vmlaunch',
      args: {},
      exits: [],
      tpr: machine.tpr(failure.vcpu),
      ppr: machine.archPpr(failure.vcpu),
      delivered: [],
      deliveredVia: [],
      violations: [],
      entryFailure: failure,
    });
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const step = i + 1;
    const violationsBefore = machine.violations.length;
    const failuresBefore = machine.entryFailures.length;
    machine.beginStep(step);
    const v = op.cpu;
    let value: number | undefined;
    // A vCPU in the HLT state executes nothing; only an arriving interrupt can wake it (SDM 26.6.1
    // "Activity State"). The script's instruction is reported as skipped, not executed.
    const skipped =
      op.op !== 'interrupt' && machine.isHalted(v) && !machine.isStopped(v)
        ? 'vCPU is halted (HLT): it executes no instructions until an interrupt wakes it'
        : undefined;
    if (!skipped)
      switch (op.op) {
        case 'write_cr8':
          machine.writeCr8(v, op.value);
          break;
        case 'read_cr8':
          value = machine.readCr8(v);
          break;
        case 'interrupt':
          machine.raiseInterrupt(v, op.vector, op.level);
          break;
        case 'eoi':
          machine.eoi(v);
          break;
        case 'iret':
          machine.iret(v);
          break;
        case 'write_apic':
          machine.writeApic(v, op.offset, op.value);
          break;
        case 'read_apic':
          value = machine.readApic(v, op.offset);
          break;
        case 'wrmsr':
          machine.wrmsr(v, op.msr, op.low, op.high);
          break;
        case 'rdmsr':
          value = machine.rdmsr(v, op.msr);
          break;
        case 'sti':
          machine.sti(v);
          break;
        case 'cli':
          machine.cli(v);
          break;
        case 'hlt':
          machine.hlt(v);
          break;
        case 'ipi':
          machine.sendIpi(v, op.to, op.vector);
          break;
        case 'io':
          machine.ioInstruction(v, op.port);
          break;
        case 'cpuid':
          machine.cpuid(v);
          break;
      }
    if (machine.debugChecks) machine.checkAllInvariants();
    const exits: TraceExit[] = [];
    for (let e = 0; e < Math.min(machine.stepExitCount, machine.stepExits.length); e++) {
      const kind = EXIT_KINDS[machine.stepExits[e]];
      exits.push({
        reason: kind.code,
        name: kind.name,
        qualification: machine.stepExitQual[e],
        why: machine.stepExitWhy[e],
      });
    }
    const delivered: number[] = [];
    const deliveredVia: number[] = [];
    for (let d = 0; d < Math.min(machine.stepDeliveredCount, machine.stepDelivered.length); d++) {
      delivered.push(machine.stepDelivered[d]);
      deliveredVia.push(machine.stepDeliveredVia[d]);
    }
    const record: TraceStep = {
      step,
      cpu: v,
      op: op.op,
      args: argsOf(op),
      exits,
      tpr: machine.tpr(v),
      ppr: machine.archPpr(v),
      delivered,
      deliveredVia,
      violations: machine.violations.slice(violationsBefore),
      ...(value !== undefined && machine.stepFault === Fault.NONE ? { value } : {}),
      ...(machine.stepFault === Fault.GP ? { fault: '#GP' } : {}),
      ...(machine.entryFailures.length > failuresBefore
        ? { entryFailure: machine.entryFailures[machine.entryFailures.length - 1] }
        : {}),
      ...(skipped ? { skipped } : {}),
    };
    out.push(record);
  }
  return out;
}
