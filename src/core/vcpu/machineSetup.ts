import { Counter } from './counters.js';
import { carve, EMPTY_F64, type Carver } from './arena.js';
import { EXIT_SLOT_COUNT, VENDOR_SLOTS } from './exits.js';
import { ffWords } from './fastForward.js';
import { F } from './layout.js';
import { HaltPoll, HOST_WORDS as HALT_POLL_HOST_WORDS, keepsHaltPoll } from '../hypervisor/haltPoll.js';
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
  /** The machine's arrays, carved with its host's (machineArrays); absent: the machine carves its own. */
  readonly arrays?: MachineArrays;
}

/** A machine's typed arrays (fields of MachineCore, documented there). */
export interface MachineArrays {
  /**
   * The exit and counter accounting as one view, for the table's apply (interned.ts): exitCounts,
   * counters, vcpuHostNs, exitHostNs and exitTotals are views of it, in that order (acctLayout).
   */
  readonly acct: Float64Array;
  readonly exitCounts: Float64Array;
  readonly counters: Float64Array;
  readonly vcpuHostNs: Float64Array;
  readonly exitCostNs: Float64Array;
  readonly exitHostNs: Float64Array;
  readonly exitTotals: Float64Array;
  /**
   * KVM's halt polling per vCPU (hypervisor/haltPoll.ts), written by the engine's halts and wake-ups;
   * empty on a host that keeps none (keepsHaltPoll: bhyve).
   */
  readonly haltPoll: Float64Array;
  readonly s: Int32Array;
  readonly ff: Int32Array;
}

/** Where each accounting array starts in a machine's `acct` of `n` vCPUs with `slotStride` exit kinds each. */
export function acctLayout(n: number, slotStride: number) {
  const counters = n * slotStride;
  const vcpuHostNs = counters + n * Counter.COUNT;
  const exitHostNs = vcpuHostNs + n;
  const exitTotals = exitHostNs + EXIT_SLOT_COUNT;
  return { exitCounts: 0, counters, vcpuHostNs, exitHostNs, exitTotals, end: exitTotals + EXIT_SLOT_COUNT };
}

/** Exit kinds per vCPU: only its vendor's (LOCAL_SLOT); the other vendor's would stay 0. */
export function slotStrideOf(profile: CpuProfile): number {
  return VENDOR_SLOTS[profile.vendor].length;
}

/**
 * The arrays of a machine of `n` vCPUs with `slotStride` exit kinds each, carved from one buffer
 * (arena.ts) - the machine's own, or its host's with the host's arrays. Float64 views first. An
 * `exitCostNs` table given is the machine's (read, never written: hosts of a variant share theirs).
 * The halt-poll words only for a host of `traits` that keeps them (keepsHaltPoll: not bhyve).
 */
export function machineArrays(
  c: Carver,
  n: number,
  slotStride: number,
  traits: PolicyTraits,
  exitCostNs?: Float64Array,
): MachineArrays {
  if (exitCostNs !== undefined && exitCostNs.length !== EXIT_SLOT_COUNT)
    throw new Error(`exit cost table of ${exitCostNs.length} slots, not ${EXIT_SLOT_COUNT}`);
  const at = acctLayout(n, slotStride);
  // One view carved, the five arrays views of it (while measuring, empty views of the empty one).
  const acct = c.f64(at.end);
  return {
    acct,
    exitCounts: acct.subarray(at.exitCounts, at.counters),
    counters: acct.subarray(at.counters, at.vcpuHostNs),
    vcpuHostNs: acct.subarray(at.vcpuHostNs, at.exitHostNs),
    exitHostNs: acct.subarray(at.exitHostNs, at.exitTotals),
    exitTotals: acct.subarray(at.exitTotals, at.end),
    exitCostNs: exitCostNs ?? c.f64(EXIT_SLOT_COUNT),
    // + the host's words (haltPoll.ts); bhyve never polls (vm_handle_hlt): nothing to keep.
    haltPoll: keepsHaltPoll(traits) ? c.f64(n * HaltPoll.STRIDE + HALT_POLL_HOST_WORDS) : EMPTY_F64,
    s: c.i32(n * F.STRIDE),
    ff: c.i32(ffWords(n)),
  };
}

/** The arrays a machine of `config` uses: those its host carved (checked), or its own. */
export function machineArraysOf(config: MachineConfig, slotStride: number): MachineArrays {
  const n = config.vcpus.length;
  const a = config.arrays ?? carve((c) => machineArrays(c, n, slotStride, config.traits));
  if (
    a.s.length !== n * F.STRIDE ||
    a.exitCounts.length !== n * slotStride ||
    a.acct.length !== acctLayout(n, slotStride).end ||
    a.ff.length !== ffWords(n)
  )
    throw new Error(`machine arrays not carved for ${n} vCPUs of ${config.profile.vendor}`);
  if (a.haltPoll.length !== (keepsHaltPoll(config.traits) ? n * HaltPoll.STRIDE + HALT_POLL_HOST_WORDS : 0))
    throw new Error(`machine arrays' halt-poll words not carved for ${config.traits.hypervisor}`);
  return a;
}
