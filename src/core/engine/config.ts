/**
 * What one host simulation is built from: its guests (GuestInstance) and the host's configuration
 * (HostConfig: CPU, policy traits, cores, exit costs, the host model). The edge (src/run/simulate.ts)
 * builds them from a scenario variant; the engine's state (state.ts) reads them and never writes them.
 */
import type { CpuProfile } from '../cpu/profile.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import type { GuestModel, HostModel, PhasePlan } from '../guests/model.js';
import type { WorkloadSpec } from '../guests/workload.js';
import type { GuestTimekeeping } from '../guests/clock.js';
import type { LinuxClocksource } from '../guests/linuxClock.js';
import type { VmcsOverrides } from '../vcpu/machine.js';

export interface GuestInstance {
  /** Global guest index (stable across shards). */
  readonly index: number;
  readonly label: string;
  readonly model: GuestModel;
  readonly vcpus: number;
  readonly x2apicOffered: boolean;
  readonly phases: readonly PhasePlan[];
  /**
   * A workload-profile guest (src/core/guests/workload.ts): its operations come from these rates;
   * `model` then only supplies vectors and ISR times (the edge builds it with no timer, no %cr8
   * use of its own and no background activity).
   */
  readonly workload?: WorkloadSpec;
  /** Windows under KVM: enlightenments and clock hardware (src/core/guests/clock.ts); none: the model's LAPIC timer, exit-free clock. */
  readonly timekeeping?: GuestTimekeeping;
  /** A Linux guest's clocksource (src/core/guests/linuxClock.ts); none: the hypervisor's default (kvm-clock, tsc). */
  readonly clocksource?: LinuxClocksource;
}

export interface HostConfig {
  readonly hostIndex: number;
  readonly seed: number;
  readonly profile: CpuProfile;
  readonly traits: PolicyTraits;
  readonly cores: number;
  readonly guests: readonly GuestInstance[];
  /** Host ns per exit slot (round trip + handler): the machine's own table, not a copy (it never writes it). */
  readonly exitCostNs: Float64Array;
  /** Host ns of an x2APIC MSR-write exit that does not arm the timer (MachineCore.apicMsrWriteCostNs); absent: the slot's. */
  readonly apicMsrWriteCostNs?: number;
  /** TSC ticks between two PAUSEs of a guest spin loop on this CPU (model/data.ts pauseLoopIntervalTsc); absent: loops never exit. */
  readonly pauseLoopIntervalTsc?: number;
  /**
   * Host TSC cycles of a HLT exit's round trip paid after the wake-up, not before the halt
   * (model/data.ts, cost-model.yaml haltResumeCycles; guests/interrupts.ts haltEntryNs); absent: none
   * deferred, the whole exit is paid before the halt.
   */
  readonly haltResumeCycles?: number;
  readonly host: HostModel;
  readonly debugChecks: boolean;
  readonly overrides?: VmcsOverrides;
}
