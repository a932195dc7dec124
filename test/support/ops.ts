/**
 * Guest operations as scripted ops (src/core/script/ops.ts), on vCPU 0 unless a cpu is given: the
 * words the rule tables of test/core write their `pre` and `op` columns in.
 */
import type { ScriptOp } from '../../src/core/script/ops.js';

export const W8 = (value: number): ScriptOp => ({ op: 'write_cr8', cpu: 0, value });
export const R8: ScriptOp = { op: 'read_cr8', cpu: 0 };
export const IRQ = (vector: number, level = false, cpu = 0): ScriptOp => ({ op: 'interrupt', cpu, vector, level });
export const EOI: ScriptOp = { op: 'eoi', cpu: 0 };
export const STI: ScriptOp = { op: 'sti', cpu: 0 };
export const CLI: ScriptOp = { op: 'cli', cpu: 0 };
export const IRET: ScriptOp = { op: 'iret', cpu: 0 };
export const HLT: ScriptOp = { op: 'hlt', cpu: 0 };
/** HLT on another vCPU. */
export const hltOn = (cpu: number): ScriptOp => ({ op: 'hlt', cpu });
export const CPUID: ScriptOp = { op: 'cpuid', cpu: 0 };
export const IO = (port: number): ScriptOp => ({ op: 'io', cpu: 0, port });
export const WA = (offset: number, value: number): ScriptOp => ({ op: 'write_apic', cpu: 0, offset, value });
export const RA = (offset: number): ScriptOp => ({ op: 'read_apic', cpu: 0, offset });
export const WRMSR = (msr: number, low: number, high = 0): ScriptOp => ({ op: 'wrmsr', cpu: 0, msr, low, high });
export const RDMSR = (msr: number): ScriptOp => ({ op: 'rdmsr', cpu: 0, msr });
/** A fixed IPI from vCPU 0. */
export const IPI = (to: number, vector: number): ScriptOp => ({ op: 'ipi', cpu: 0, to, vector });
