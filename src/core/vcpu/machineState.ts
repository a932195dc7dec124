import type { CpuProfile, VmxCapabilities } from '../cpu/profile.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import { setupVcpu } from '../hypervisor/vmcs.js';
import { isrvecStackViolation, StackCheck } from '../apic/isrvecStack.js';
import { LOCAL_SLOT } from './exits.js';
import type { Broken } from './invariants.js';
import { Counter, Fault } from './counters.js';
import { acctLayout, machineArraysOf, slotStrideOf, type MachineConfig } from './machineSetup.js';
import { F, Flag } from './layout.js';
import { ExitRecorder, NO_RECORDER, RecKind, type DeliveryVia } from './recorder.js';
import { DOUBLE_ZERO } from '../numbers.js';
import { snapshotOf, type EntryFailure, type Violation } from './reports.js';

/** Entries a per-step log keeps (exits, deliveries, queued IPIs); later ones are counted, not kept. */
export const STEP_LOG = 64;

/** The exit logs of a machine that keeps none (logStepExits): written only while it keeps them. */
const NO_LOG = Object.freeze([]) as unknown as number[];

const NO_VIOLATIONS: readonly Violation[] = Object.freeze([]);
const NO_ENTRY_FAILURES: readonly EntryFailure[] = Object.freeze([]);

/** The empty pirMoved of a machine that keeps no causes. */
const NO_WORDS = new Int32Array(0);

/**
 * What a Machine (machine.ts) holds and records, beneath the machinery that changes it (core.ts):
 * the vCPUs' state words (layout.ts, set up from the VMCS or VMCB the policy programs:
 * hypervisor/vmcs.ts), exit accounting, the per-step logs and the queued IPIs, the exit recorder and
 * the reports of broken checks. Performs no rule: what it writes is counts, logs and reports.
 */
export class MachineState {
  readonly n: number;
  readonly s: Int32Array;
  /**
   * exitCounts, counters, vcpuHostNs, exitHostNs and exitTotals as one view, each from its word
   * below (machineSetup.ts acctLayout): the table's apply (interned.ts) counts a record's exits
   * and counters in one array rather than five.
   */
  protected readonly acct: Float64Array;
  protected readonly countersAt: number;
  protected readonly vcpuHostNsAt: number;
  protected readonly exitHostNsAt: number;
  protected readonly exitTotalsAt: number;
  /** Exits per vCPU and kind of this CPU's vendor: index v * slotStride + LOCAL_SLOT[slot] (use exitCount). */
  readonly exitCounts: Float64Array;
  readonly slotStride: number;
  readonly counters: Float64Array;
  readonly traits: PolicyTraits;
  readonly profile: CpuProfile;
  readonly intel: boolean;
  readonly debugChecks: boolean;
  protected readonly caps: VmxCapabilities | undefined;
  /** Host nanoseconds charged per exit slot (set by the engine from the cost model). */
  readonly exitCostNs: Float64Array;
  /** Host nanoseconds spent in exits per vCPU since the engine last drained it. */
  readonly vcpuHostNs: Float64Array;
  /** Host nanoseconds spent in exits per slot, all vCPUs of the host (never reset). */
  readonly exitHostNs: Float64Array;
  /** Exits per slot, all vCPUs of the host (never reset): cheap to read once per epoch for time series. */
  readonly exitTotals: Float64Array;
  /**
   * KVM's halt polling per vCPU (hypervisor/haltPoll.ts): the engine's halts write it, an IPI's waker
   * reads it; empty on a host that keeps none (keepsHaltPoll: bhyve).
   */
  readonly haltPoll: Float64Array;
  /** The fast-forward's words (fastForward.ts): the repeating vCPU's PAIR_WORDS snapshot, the exit ring. */
  protected readonly ff: Int32Array;

  // Per-step logs of this machine since beginStep(): the first STEP_LOG entries, the counts go on
  // beyond. Sized for what a step logs rather than for STEP_LOG: a log starts with 4 entries (or
  // none) and grows - the one allocation on an operation path, and only when a step logs more than
  // any step of this machine before it - because six 64-entry typed arrays per machine would cost
  // ~430 bytes per vCPU against the bench's 2 KiB budget. Plain arrays of small integers, which V8
  // stores unboxed.
  /**
   * The step's exits (slots) and their qualifications, kept once logStepExits() was called (the
   * trace does; the engine reads none, and the fast-forward reads its exit ring). Until then the one
   * frozen empty array of every machine (NO_LOG): 32 bytes an array, per host (docs/perf/memory.md).
   */
  stepExits: number[] = NO_LOG;
  stepExitQual: number[] = NO_LOG;
  /** Their causes (recorder.ts ExitWhy words, 0: none), as the recorder's cause column: the trace's `cause`. */
  stepExitWhy: number[] = NO_LOG;
  stepExitCount = 0;
  protected logExits = false;
  /** The step's deliveries (vector) and the vCPUs that took them, read by the trace and the engine. */
  readonly stepDelivered: number[] = [0, 0, 0, 0];
  readonly stepDeliveredVcpu: number[] = [0, 0, 0, 0];
  /**
   * How each was delivered (recorder.ts DeliveryVia), read by the trace and the recorder's delivery
   * notes. Written by the rules only: a tabulated operation (interned.ts apply) replays none, and runs only
   * while nothing records or logs (its `tabulates`), so what reads it never sees a stale entry.
   */
  readonly stepDeliveredVia: number[] = [0, 0, 0, 0];
  stepDeliveredCount = 0;
  stepFault = Fault.NONE;
  stepHostNs = DOUBLE_ZERO;
  step = 0;

  /**
   * The reports of broken checks and failed VM entries; until the first, the one frozen empty array
   * of every machine (most machines never have one: 32 bytes an array, per host).
   */
  violations: readonly Violation[] = NO_VIOLATIONS;
  entryFailures: readonly EntryFailure[] = NO_ENTRY_FAILURES;

  /** Simulated ns the engine is at (stamps recorder records; the machine itself has no clock). */
  clockNs = DOUBLE_ZERO;
  /** The exit recorder is on (recorder.ts): the hot path pays one boolean test when it is off. */
  recOn = false;
  protected recorder: ExitRecorder = NO_RECORDER;
  /**
   * While causes are kept (keepsWhy): per vCPU, 8 words, the vectors the hypervisor moved from the
   * PIR to the VIRR (core.ts hypervisorSyncsPir), so that their delivery says so
   * (DeliveryVia.PIR_MOVED_BY_HYPERVISOR). Allocated when the recorder or the step log starts.
   */
  protected pirMoved: Int32Array = NO_WORDS;
  /**
   * The cause (recorder.ts ExitWhy) the next exit takes, set while causes are kept (keepsWhy) just
   * before a path whose first act is its exit and which notes no cause itself (the Hyper-V MSR
   * handlers of emulation.ts); 0: none. Taken, and cleared, by that exit (MachineCore.exit).
   */
  protected whyNext = 0;

  /**
   * When set (by the event engine), IPIs the guest sends are not raised at the target at once but
   * queued here for the engine to deliver after the interconnect latency. Trace mode leaves it off.
   */
  deferIpis = false;
  readonly ipiOutTarget: number[] = [0, 0, 0, 0];
  readonly ipiOutVector: number[] = [0, 0, 0, 0];
  ipiOutCount = 0;

  constructor(config: MachineConfig) {
    this.profile = config.profile;
    this.traits = config.traits;
    this.intel = config.profile.vendor === 'intel';
    this.caps = config.profile.vmx;
    const n = config.vcpus.length;
    this.n = n;
    this.slotStride = slotStrideOf(config.profile);
    const a = machineArraysOf(config, this.slotStride);
    const at = acctLayout(n, this.slotStride);
    this.acct = a.acct;
    this.countersAt = at.counters;
    this.vcpuHostNsAt = at.vcpuHostNs;
    this.exitHostNsAt = at.exitHostNs;
    this.exitTotalsAt = at.exitTotals;
    this.exitCounts = a.exitCounts;
    this.counters = a.counters;
    this.vcpuHostNs = a.vcpuHostNs;
    this.exitCostNs = a.exitCostNs;
    this.exitHostNs = a.exitHostNs;
    this.exitTotals = a.exitTotals;
    this.haltPoll = a.haltPoll;
    this.s = a.s;
    this.ff = a.ff;
    this.debugChecks = config.debugChecks === true;
    if (this.intel && !this.caps) throw new Error(`CPU profile ${config.profile.id} has no VMX capabilities`);
    const vmx = this.intel ? this.caps : undefined;
    for (let v = 0; v < n; v++) setupVcpu(this.s, v, config.vcpus[v], this.traits, vmx, config.overrides);
  }

  /** Keep each step's exits in stepExits / stepExitQual from now on (traces, tests). */
  logStepExits(): void {
    if (!this.logExits) {
      this.stepExits = [];
      this.stepExitQual = [];
      this.stepExitWhy = [];
    }
    this.logExits = true;
    if (this.pirMoved.length === 0) this.pirMoved = new Int32Array(8 * this.n);
  }

  beginStep(step: number): void {
    this.step = step;
    this.stepExitCount = 0;
    this.stepDeliveredCount = 0;
    this.stepFault = Fault.NONE;
    this.stepHostNs = 0;
    this.ipiOutCount = 0;
  }

  // ---------------------------------------------------------------- recorder

  /** Record the exits of vCPUs [first, end) into a fresh ring of `capacity` records (recorder.ts). */
  startRecorder(capacity: number, first: number, end: number): void {
    this.recorder = new ExitRecorder(capacity, first, end);
    this.recOn = true;
    if (this.pirMoved.length === 0) this.pirMoved = new Int32Array(8 * this.n);
  }

  /** The engine's note of a delivery (latency ns, or -1 when the arrival was not timed; `via`: DeliveryVia). */
  recordDeliveryNote(v: number, vector: number, latencyNs: number, via: number): void {
    this.recorder.record(this.clockNs, v, RecKind.DELIVERY, vector, via, latencyNs);
  }

  /**
   * The cause (recorder.ts ExitWhy) of the exit vCPU `v` just took, where its reason and qualification
   * do not say it: into the recorder's cause column and the step's exit log, when either is kept.
   */
  protected exitWhy(v: number, why: number): void {
    if (this.recOn) this.recorder.why(v, why);
    if (this.logExits) {
      const i = this.stepExitCount - 1;
      if (i >= 0 && i < STEP_LOG) this.stepExitWhy[i] = why;
    }
  }

  /** Causes are kept (the recorder or the step's exit log): a cause word is worth working out. */
  protected get keepsWhy(): boolean {
    return this.recOn || this.logExits;
  }

  /** The exit recorder's ring, read (never written) by the replay and timeline drains. */
  get recorded(): Readonly<ExitRecorder> {
    return this.recorder;
  }

  // ---------------------------------------------------------------- accounting

  /** Count `count` exits of vCPU `v` in `slot` and charge their host time; record them as `kind`. */
  protected countExits(
    v: number,
    slot: number,
    qualification: number,
    count: number,
    kind: RecKind,
    unitCostNs: number = this.exitCostNs[slot],
  ): void {
    const cost = unitCostNs * count;
    this.exitCounts[v * this.slotStride + LOCAL_SLOT[slot]] += count;
    this.stepHostNs += cost;
    this.vcpuHostNs[v] += cost;
    this.exitHostNs[slot] += cost;
    this.exitTotals[slot] += count;
    if (this.recOn) this.recorder.record(this.clockNs, v, kind, slot, qualification, count);
  }

  protected recordDelivery(v: number, vector: number, via: DeliveryVia): void {
    this.counters[v * Counter.COUNT + Counter.DELIVERED]++;
    const i = this.stepDeliveredCount;
    if (i < STEP_LOG) {
      this.stepDelivered[i] = vector;
      this.stepDeliveredVcpu[i] = v;
      this.stepDeliveredVia[i] = via;
    }
    this.stepDeliveredCount = i + 1;
  }

  // ---------------------------------------------------------------- reports

  /** A VM entry failed its checks (core.ts enter): its report. */
  protected reportEntryFailure(failure: EntryFailure): void {
    if (this.entryFailures === NO_ENTRY_FAILURES) this.entryFailures = [];
    (this.entryFailures as EntryFailure[]).push(failure);
  }

  /** The vCPU stops on a broken check; the report keeps its state as it was then. */
  protected violate(v: number, broken: Broken): void {
    const b = v * F.STRIDE;
    this.s[b + F.FLAGS] |= Flag.STOPPED;
    if (this.violations === NO_VIOLATIONS) this.violations = [];
    (this.violations as Violation[]).push({
      check: broken.check,
      message: broken.message,
      vcpu: v,
      guest: this.s[b + F.GUEST_INDEX],
      step: this.step,
      state: snapshotOf(this.s, b, this.intel),
    });
  }

  /** A failed isrvec_stk check (bhyve's panic): the vCPU stops; nothing when `code` is OK. */
  protected checkStack(v: number, code: StackCheck): void {
    if (code !== StackCheck.OK) this.violate(v, isrvecStackViolation(code, this.s, v * F.STRIDE));
  }
}
