/** Guest operations of a scripted guest: one instruction-level action on one vCPU. */
export type ScriptOp =
  | { readonly op: 'write_cr8'; readonly cpu: number; readonly value: number }
  | { readonly op: 'read_cr8'; readonly cpu: number }
  | { readonly op: 'interrupt'; readonly cpu: number; readonly vector: number; readonly level: boolean }
  | { readonly op: 'eoi'; readonly cpu: number }
  | { readonly op: 'iret'; readonly cpu: number }
  | { readonly op: 'write_apic'; readonly cpu: number; readonly offset: number; readonly value: number }
  | { readonly op: 'read_apic'; readonly cpu: number; readonly offset: number }
  | { readonly op: 'wrmsr'; readonly cpu: number; readonly msr: number; readonly low: number; readonly high: number }
  | { readonly op: 'rdmsr'; readonly cpu: number; readonly msr: number }
  | { readonly op: 'sti'; readonly cpu: number }
  | { readonly op: 'cli'; readonly cpu: number }
  | { readonly op: 'hlt'; readonly cpu: number }
  | { readonly op: 'ipi'; readonly cpu: number; readonly to: number; readonly vector: number }
  | { readonly op: 'io'; readonly cpu: number; readonly port: number }
  | { readonly op: 'cpuid'; readonly cpu: number };

export type ScriptOpName = ScriptOp['op'];

export const SCRIPT_OP_NAMES: readonly ScriptOpName[] = [
  'write_cr8',
  'read_cr8',
  'interrupt',
  'eoi',
  'iret',
  'write_apic',
  'read_apic',
  'wrmsr',
  'rdmsr',
  'sti',
  'cli',
  'hlt',
  'ipi',
  'io',
  'cpuid',
];
