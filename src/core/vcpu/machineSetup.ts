import { Counter } from './counters.js';
import { EXIT_SLOT_COUNT } from './exits.js';
import { FF_WORDS } from './fastForward.js';
import { F } from './layout.js';
import type { CpuProfile } from '../cpu/profile.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import type { VcpuSetup, VmcsOverrides } from '../hypervisor/vmcs.js';

/** What a machine is built from: the CPU, the hypervisor policy's traits, each vCPU's setup. */
export interface MachineConfig {
  readonly profile: CpuProfile;
  readonly traits: PolicyTraits;
  readonly vcpus: readonly VcpuSetup[];
  /** Run the consistency checks after every operation (slower; always run at the end of a run). */
  readonly debugChecks?: boolean;
  readonly overrides?: VmcsOverrides;
}

/** A machine's typed arrays (fields of MachineCore, documented there). */
export interface MachineArrays {
  readonly exitCounts: Float64Array;
  readonly counters: Float64Array;
  readonly vcpuHostNs: Float64Array;
  readonly exitCostNs: Float64Array;
  readonly exitHostNs: Float64Array;
  readonly exitTotals: Float64Array;
  readonly s: Int32Array;
  readonly ff: Int32Array;
}

/**
 * The arrays of a machine of `n` vCPUs with `slotStride` exit kinds each, as views into one
 * ArrayBuffer: V8 spends ~180 bytes on a typed array with its own buffer and ~115 on a view, and
 * the bench's memory budget is per vCPU. Float64 views first, so every view stays aligned.
 */
export function machineArrays(n: number, slotStride: number): MachineArrays {
  const f64 = n * slotStride + n * Counter.COUNT + n + 3 * EXIT_SLOT_COUNT;
  const buffer = new ArrayBuffer(8 * f64 + 4 * (n * F.STRIDE + FF_WORDS));
  let at = 0;
  const f64View = (length: number): Float64Array => {
    const a = new Float64Array(buffer, at, length);
    at += 8 * length;
    return a;
  };
  const i32View = (length: number): Int32Array => {
    const a = new Int32Array(buffer, at, length);
    at += 4 * length;
    return a;
  };
  return {
    exitCounts: f64View(n * slotStride),
    counters: f64View(n * Counter.COUNT),
    vcpuHostNs: f64View(n),
    exitCostNs: f64View(EXIT_SLOT_COUNT),
    exitHostNs: f64View(EXIT_SLOT_COUNT),
    exitTotals: f64View(EXIT_SLOT_COUNT),
    s: i32View(n * F.STRIDE),
    ff: i32View(FF_WORDS),
  };
}
