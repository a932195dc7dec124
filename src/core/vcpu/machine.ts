import { EoiBy } from '../apic/eoi.js';
import { archPpr, guestTpr, tprFromCr8 } from '../apic/priority.js';
import { ApicOffset, isX2apicMsr, X2apicMsr, x2apicAccessFaults, x2apicMsrToOffset } from '../apic/registers.js';
import { priorityClass } from '../apic/vectors.js';
import { x2apicReadPassedThrough } from '../hypervisor/vmcs.js';
import {
  cr8LoadExits,
  cr8StoreExits,
  Cr8Qualification,
  tprShadowed,
  vmxApicRead,
  vmxApicWrite,
  vmxX2apicRead,
  vmxX2apicWrite,
} from '../vmx/apicAccess.js';
import { selfIpiVirtualization, tprVirtualization } from '../vmx/apicVirtualization.js';
import { clearInterruptWindow, interruptWindowExits } from '../vmx/entry.js';
import { avicApicRead, avicApicWrite, avicTprWrite } from '../svm/avic.js';
import { cr8Intercepted } from '../svm/intercepts.js';
import { MachineCore, STEP_LOG } from './core.js';
import { Counter, Fault } from './counters.js';
import { apicAccessQualification, EXIT_KINDS, LOCAL_SLOT, Slot } from './exits.js';
import { clearSnapshot, pairStateRepeats, RepeatOp, ringQual, ringSlot, sameExits } from './fastForward.js';
import { brokenInvariant } from './invariants.js';
import { F, Flag } from './layout.js';
import { InGuest } from './outcomes.js';
import { RecKind } from './recorder.js';
import { snapshotOf, type VcpuSnapshot } from './reports.js';

export type { MachineConfig } from './core.js';
export { Counter, Fault } from './counters.js';
export { RepeatOp } from './fastForward.js';
export { RecKind } from './recorder.js';
export type { EntryFailure, VcpuSnapshot, Violation } from './reports.js';
export type { VcpuSetup, VmcsOverrides } from '../hypervisor/vmcs.js';

/**
 * A host's vCPUs under one hypervisor policy on one CPU profile: the exact model of which guest
 * operation exits, with which reason, and what state it leaves. Pure: no I/O, no allocation on the
 * operation paths (violations and entry failures allocate their report, which stops the vCPU).
 *
 * The facade is the guest's side: each instruction asks the rules whether it exits (the access
 * classifiers of vmx/ and svm/; apic/ for the software LAPIC) and carries the answer out through
 * the machinery of core.ts — exit, emulation, entry, evaluation of pending virtual interrupts —
 * with the exact fast-forward (fastForward.ts) and the consistency checks (invariants.ts).
 *
 * Rules cite Intel SDM vol. 3 chapter "APIC Virtualization and Virtual Interrupts" (SDM-29 below),
 * "VMX Non-Root Operation" (SDM-26), "Advanced Programmable Interrupt Controller" (SDM-11) and
 * AMD APM vol. 2 chapter 15 "Secure Virtual Machine" (APM-15); docs/MODEL.md has the full list.
 */
export class Machine extends MachineCore {
  /** Validate the initial VMCS of every vCPU (the first VM entry). */
  launch(): void {
    for (let v = 0; v < this.n; v++) this.enter(v);
  }

  // ---------------------------------------------------------------- accessors

  flags(v: number): number {
    return this.s[v * F.STRIDE + F.FLAGS];
  }

  /** Exits of vCPU `v` in exit slot `slot` (0 for the other vendor's kinds). */
  exitCount(v: number, slot: number): number {
    if (EXIT_KINDS[slot].vendor !== (this.intel ? 'intel' : 'amd')) return 0;
    return this.exitCounts[v * this.slotStride + LOCAL_SLOT[slot]];
  }

  isStopped(v: number): boolean {
    return (this.s[v * F.STRIDE + F.FLAGS] & Flag.STOPPED) !== 0;
  }

  isHalted(v: number): boolean {
    return (this.s[v * F.STRIDE + F.FLAGS] & Flag.HALTED) !== 0;
  }

  /** The guest-visible TPR: VTPR / V_TPR when virtualized, else the vlapic TPR. */
  tpr(v: number): number {
    return guestTpr(this.s, v * F.STRIDE, this.intel);
  }

  /** The architectural PPR computed from TPR and the highest in-service vector (SDM-11 "Processor Priority Register"). */
  archPpr(v: number): number {
    return archPpr(this.s, v * F.STRIDE, this.intel);
  }

  /** The PPR field of the (virtual-)APIC page as the hypervisor/CPU last wrote it. */
  pprField(v: number): number {
    return this.s[v * F.STRIDE + F.PPR];
  }

  snapshot(v: number): VcpuSnapshot {
    return snapshotOf(this.s, v * F.STRIDE, this.intel);
  }

  /** Nothing requested, in service or being injected: host-side exits cannot change what the guest sees. */
  isQuiet(v: number): boolean {
    const s = this.s;
    const b = v * F.STRIDE;
    if (s[b + F.PENDING_INJECT] >= 0) return false;
    for (let w = 0; w < 8; w++) if ((s[b + F.IRR + w] | s[b + F.ISR + w] | s[b + F.PIR + w]) !== 0) return false;
    return true;
  }

  // ---------------------------------------------------------------- guest operations

  /**
   * MOV to CR8 (SDM-26 "Instructions That Cause VM Exits Conditionally", SDM-29 "Virtualizing
   * CR8-Based TPR Accesses"; APM-15 "Virtualizing APIC.TPR"). The hottest guest operation (a Windows
   * guest's IRQL changes): the path that stays in the guest is kept short, the others are methods.
   */
  writeCr8(v: number, value: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.counters[v * Counter.COUNT + Counter.CR8_WRITES]++;
    const cr8 = value & 0xf;
    if (!this.intel) this.svmWriteCr8(v, cr8);
    else if (cr8LoadExits(s, b)) this.interceptedTprWrite(v, Slot.CR_ACCESS, Cr8Qualification.MOV_TO, cr8);
    else {
      // VTPR[7:4] = CR8[3:0], the rest cleared; with neither exiting nor a shadow the guest writes the
      // real TPR (not a valid VMM setup).
      s[b + F.TPR] = tprFromCr8(cr8);
      if (tprShadowed(s, b)) this.next(v, tprVirtualization(s, b));
    }
  }

  /** MOV from CR8. Returns CR8 (TPR[7:4]): from VTPR with the shadow, V_TPR under SVM. */
  readCr8(v: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return 0;
    this.counters[v * Counter.COUNT + Counter.CR8_READS]++;
    if (this.intel ? cr8StoreExits(s, b) : cr8Intercepted(s, b, false)) return this.interceptedTprRead(v);
    return this.intel ? priorityClass(s[b + F.TPR]) : s[b + F.V_TPR] & 0xf;
  }

  /** STI: RFLAGS.IF = 1; an interrupt window opens (after the STI shadow, modelled as immediate). */
  sti(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    s[b + F.FLAGS] |= Flag.IF;
    // RFLAGS.IF became 1: interrupt-window exit (SDM-26 "Interrupt-Window Exiting"), VINTR, or virtual delivery.
    const f = s[b + F.FLAGS];
    if (this.intel) {
      if (interruptWindowExits(s, b)) {
        this.exit(v, Slot.INTERRUPT_WINDOW, 0);
        clearInterruptWindow(s, b);
        this.enter(v);
      } else if ((f & Flag.VID) !== 0) this.evaluatePendingVirtualInterrupts(v);
      return;
    }
    if ((f & Flag.AVIC) !== 0) this.evaluatePendingVirtualInterrupts(v);
    this.svmCheckVintr(v);
  }

  /** IRET from an interrupt handler: RFLAGS.IF restored to 1 (the interrupted context was interruptible). */
  iret(v: number): void {
    this.sti(v);
  }

  cli(v: number): void {
    const b = v * F.STRIDE;
    if ((this.s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.s[b + F.FLAGS] &= ~Flag.IF;
  }

  /** HLT: exits (HLT exiting on in both hypervisors); the vCPU sleeps until an interrupt is pending. */
  hlt(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.exit(v, this.intel ? Slot.HLT : Slot.VMEXIT_HLT, 0);
    // bhyve vm_handle_hlt / KVM kvm_vcpu_block: sleep unless an interrupt the guest can take is pending.
    if (!this.hasWakeupPending(v)) s[b + F.FLAGS] |= Flag.HALTED;
    this.enter(v);
  }

  /**
   * An I/O instruction (IN/OUT): both hypervisors intercept every port (bhyve: unconditional I/O
   * exiting via a full I/O bitmap; SVM IOIO intercept), so it always exits (SDM-26, APM-15).
   */
  ioInstruction(v: number, port: number): void {
    this.exitAndReenter(v, this.intel ? Slot.IO_INSTRUCTION : Slot.VMEXIT_IOIO, (port & 0xffff) << 16);
  }

  /**
   * A guest access to an emulated device's MMIO register (e.g. an AHCI doorbell): not mapped in the
   * EPT / nested page tables, so an EPT-violation exit (SVM: nested page fault) and emulation.
   */
  mmio(v: number): void {
    this.exitAndReenter(v, this.intel ? Slot.EPT_VIOLATION : Slot.VMEXIT_NPF, 0);
  }

  /**
   * A host interrupt (the host's own timer tick) arrives while the vCPU runs: an external-interrupt
   * exit (VT-x external-interrupt exiting; SVM INTR intercept), handled by the host, then re-entry.
   */
  hostInterrupt(v: number): void {
    const f = this.s[v * F.STRIDE + F.FLAGS];
    if ((f & (Flag.STOPPED | Flag.HALTED)) !== 0) return;
    this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
    this.enter(v);
  }

  /** CPUID exits unconditionally in VMX non-root operation (SDM-26 "Instructions That Cause VM Exits Unconditionally"); SVM: CPUID intercept. */
  cpuid(v: number): void {
    this.exitAndReenter(v, this.intel ? Slot.CPUID : Slot.VMEXIT_CPUID, 0);
  }

  /**
   * An exit the model does not derive from a guest instruction (a workload profile's opaque exit,
   * RepeatOp.OPAQUE_EXIT): the hypervisor's common exit path, nothing else, then the entry path.
   */
  opaqueExit(v: number, slot: number): void {
    this.exitAndReenter(v, slot, 0);
  }

  /**
   * An exit that needs no emulation beyond the hypervisor's common path (unconditional and
   * intercepted instructions, RepeatOp.OPAQUE_EXIT), then the entry path. Nothing on a stopped vCPU.
   */
  private exitAndReenter(v: number, slot: number, qualification: number): void {
    if (this.isStopped(v)) return;
    this.exit(v, slot, qualification);
    this.enter(v);
  }

  /** End of interrupt, the way the guest's LAPIC mode does it (MMIO 0xB0 or WRMSR 0x80B). */
  eoi(v: number): void {
    if ((this.s[v * F.STRIDE + F.FLAGS] & Flag.X2APIC) !== 0) this.wrmsr(v, X2apicMsr.Eoi, 0, 0);
    else this.writeApic(v, ApicOffset.Eoi, 0);
  }

  /** Arm the LAPIC timer (initial-count register) the way the LAPIC mode does it (MMIO 0x380 or WRMSR 0x838). */
  timerInitialCount(v: number, value: number): void {
    if ((this.s[v * F.STRIDE + F.FLAGS] & Flag.X2APIC) !== 0) this.wrmsr(v, X2apicMsr.TimerInitialCount, value, 0);
    else this.writeApic(v, ApicOffset.TimerInitialCount, value);
  }

  /** Guest sends a fixed IPI to `target` (xAPIC: ICR high then ICR low; x2APIC: one WRMSR 0x830). */
  sendIpi(v: number, target: number, vector: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    const dest = s[target * F.STRIDE + F.APIC_ID];
    if ((s[b + F.FLAGS] & Flag.X2APIC) !== 0) {
      this.wrmsr(v, X2apicMsr.Icr, vector & 0xff, dest);
    } else {
      this.writeApic(v, ApicOffset.IcrHigh, dest << 24);
      this.writeApic(v, ApicOffset.IcrLow, vector & 0xff);
    }
  }

  /**
   * xAPIC MMIO write (SDM-29 "Virtualizing Memory-Mapped APIC Accesses", vmx/apicAccess.ts; AVIC,
   * svm/avic.ts). Without APIC-access virtualization or AVIC the APIC page is unmapped: an EPT
   * violation (SVM: a nested page fault) the hypervisor emulates.
   */
  writeApic(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    // In x2APIC mode the xAPIC MMIO window is not decoded (SDM-11 "x2APIC Mode"): the write goes nowhere.
    if ((f & Flag.X2APIC) !== 0) return;
    if (offset === ApicOffset.Tpr) this.counters[v * Counter.COUNT + Counter.TPR_MMIO_WRITES]++;
    const how = this.intel
      ? vmxApicWrite(s, b, offset)
      : (f & Flag.AVIC) !== 0
        ? avicApicWrite(offset)
        : Slot.VMEXIT_NPF;
    switch (how) {
      case InGuest.TPR_WRITE:
        s[b + F.TPR] = value & 0xff; // virtualized write to VTPR, then TPR virtualization
        this.next(v, tprVirtualization(s, b));
        return;
      case InGuest.EOI:
        this.endOfInterrupt(v, EoiBy.VID);
        return;
      case InGuest.AVIC_TPR_WRITE:
        this.next(v, avicTprWrite(s, b, value));
        return;
      case InGuest.AVIC_EOI:
        this.endOfInterrupt(v, EoiBy.AVIC);
        return;
      case InGuest.AVIC_ICR_HIGH:
        s[b + F.ICR_HIGH] = value;
        return;
      case InGuest.AVIC_ICR_LOW:
        s[b + F.ICR_LOW] = value;
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, true);
        return;
      default:
        // APIC-write exits are trap-like (the data is on the page), APIC-access exits fault-like.
        this.exit(v, how, apicAccessQualification(how, offset, true));
        this.emulateApicWrite(v, offset, value);
        this.enter(v);
    }
  }

  /** xAPIC MMIO read. Returns the 32-bit value the guest sees. */
  readApic(v: number, offset: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0 || (f & Flag.X2APIC) !== 0) return 0;
    const how = this.intel ? vmxApicRead(s, b, offset) : (f & Flag.AVIC) !== 0 ? avicApicRead(offset) : Slot.VMEXIT_NPF;
    if (how === InGuest.READ) return this.registerValue(v, offset);
    this.exit(v, how, apicAccessQualification(how, offset, false));
    const value = this.registerValue(v, offset);
    this.enter(v);
    return value;
  }

  /**
   * WRMSR. x2APIC MSRs (0x800-0x8FF) under "virtualize x2APIC mode" are virtualized for TPR (0x808)
   * and, with VID, EOI (0x80B) and SELF IPI (0x83F) (SDM-29 "Virtualizing MSR-Based APIC Accesses");
   * everything else exits through the MSR bitmap (MSR_WRITE; SVM: VMEXIT_MSR).
   */
  wrmsr(v: number, msr: number, valueLow: number, valueHigh: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    const apicMsr = isX2apicMsr(msr);
    const msrExit = this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR;
    if (apicMsr && x2apicAccessFaults((f & Flag.X2APIC) !== 0, msr, true)) {
      this.exit(v, msrExit, 0);
      this.stepFault = Fault.GP;
      this.enter(v);
      return;
    }
    if (msr === X2apicMsr.Tpr) this.counters[v * Counter.COUNT + Counter.TPR_MSR_WRITES]++;
    const how = this.intel && apicMsr ? vmxX2apicWrite(s, b, msr, valueLow, valueHigh) : msrExit;
    switch (how) {
      case InGuest.GP:
        this.stepFault = Fault.GP;
        return;
      case InGuest.TPR_WRITE:
        s[b + F.TPR] = valueLow & 0xff;
        this.next(v, tprVirtualization(s, b));
        return;
      case InGuest.EOI:
        this.endOfInterrupt(v, EoiBy.VID);
        return;
      case InGuest.SELF_IPI:
        this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
        this.next(v, selfIpiVirtualization(s, b, valueLow & 0xff));
        return;
      default:
        this.exit(v, how, 0); // qualification 0: ECX holds the MSR
        if (apicMsr) this.emulateX2apicWrite(v, msr, valueLow, valueHigh);
        this.enter(v);
    }
  }

  /** RDMSR; returns the low 32 bits. */
  rdmsr(v: number, msr: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return 0;
    const apicMsr = isX2apicMsr(msr);
    const msrExit = this.intel ? Slot.MSR_READ : Slot.VMEXIT_MSR;
    if (apicMsr && x2apicAccessFaults((f & Flag.X2APIC) !== 0, msr, false)) {
      this.exit(v, msrExit, 0); // intercepted, then #GP injected
      this.stepFault = Fault.GP;
      this.enter(v);
      return 0;
    }
    const passedThrough = this.intel && apicMsr && x2apicReadPassedThrough(this.traits.hypervisor, msr);
    const how = this.intel && apicMsr ? vmxX2apicRead(s, b, msr, passedThrough) : msrExit;
    if (how === InGuest.READ) return this.registerValue(v, x2apicMsrToOffset(msr));
    this.exit(v, how, 0);
    const value = apicMsr ? this.registerValue(v, x2apicMsrToOffset(msr)) : 0;
    this.enter(v);
    return value;
  }

  // ---------------------------------------------------------------- exact fast-forward (fastForward.ts)

  /**
   * `pairs` IRQL raise/lower pairs as Windows does them (KfRaiseIrql: read CR8, write `raised`;
   * KeLowerIrql: write `base`), executed by the exact per-instruction rules. Once two consecutive
   * pairs leave the vCPU in the same state with the same exits, every further pair repeats them
   * exactly, so their counts are added without re-executing (exact fast-forward). Returns the
   * number of pairs executed one by one.
   */
  cr8Pairs(v: number, pairs: number, raised: number, base: number): number {
    return this.repeatOp(v, pairs, RepeatOp.CR8_PAIR, raised, base);
  }

  /**
   * `count` host timer interrupts while the vCPU runs (hostInterrupt each), with the same exact
   * fast-forward as cr8Pairs. Returns the number executed one by one.
   */
  hostInterrupts(v: number, count: number): number {
    return this.repeatOp(v, count, RepeatOp.HOST_INTERRUPT, 0, 0);
  }

  /** `count` repetitions of a RepeatOp, with the same exact fast-forward as cr8Pairs. */
  repeat(v: number, count: number, op: RepeatOp, a: number, b: number): number {
    return this.repeatOp(v, count, op, a, b);
  }

  /**
   * Run an operation `count` times by the exact per-instruction rules until two consecutive runs
   * leave the same state (the words in PAIR_WORDS, compared exactly) with the same exits and no
   * delivery; from then on every run repeats them, so the rest are counted without re-executing.
   * Only runs within the step's first STEP_LOG exits compare: the bound of the exit log the
   * comparison once read, kept so that which exits the recorder sees in bulk stays as it was.
   */
  private repeatOp(v: number, count: number, op: RepeatOp, a: number, b: number): number {
    if (count <= 0) return 0;
    const base = v * F.STRIDE;
    let executed = 0;
    clearSnapshot(this.ff);
    let prevExitStart = -1;
    let prevExitCount = 0;
    while (executed < count) {
      if ((this.s[base + F.FLAGS] & Flag.STOPPED) !== 0) return executed;
      const exitStart = this.stepExitCount;
      const deliveredBefore = this.stepDeliveredCount;
      switch (op) {
        case RepeatOp.CR8_PAIR:
          this.readCr8(v);
          this.writeCr8(v, a);
          this.writeCr8(v, b);
          break;
        case RepeatOp.HOST_INTERRUPT:
          this.hostInterrupt(v);
          break;
        case RepeatOp.CR8_WRITE_PAIR:
          this.writeCr8(v, a);
          this.writeCr8(v, b);
          break;
        case RepeatOp.CR8_READ:
          this.readCr8(v);
          break;
        case RepeatOp.CPUID:
          this.cpuid(v);
          break;
        case RepeatOp.IO:
          this.ioInstruction(v, a);
          break;
        case RepeatOp.MMIO:
          this.mmio(v);
          break;
        case RepeatOp.RDMSR:
          this.rdmsr(v, a);
          break;
        case RepeatOp.WRMSR:
          this.wrmsr(v, a, b, 0);
          break;
        case RepeatOp.TIMER_INITIAL_COUNT:
          this.timerInitialCount(v, a);
          break;
        case RepeatOp.OPAQUE_EXIT:
          this.exitAndReenter(v, a, 0);
          break;
      }
      executed++;
      const exitCount = this.stepExitCount - exitStart;
      const repeats = pairStateRepeats(this.s, base, this.ff);
      if (
        this.stepDeliveredCount === deliveredBefore &&
        repeats &&
        exitCount === prevExitCount &&
        exitCount <= 4 &&
        exitStart + exitCount <= STEP_LOG &&
        sameExits(this.ff, prevExitStart, exitStart, exitCount)
      ) {
        const remaining = count - executed;
        if (remaining > 0) this.addRepeated(v, op, remaining, exitStart, exitCount);
        return executed;
      }
      prevExitStart = exitStart;
      prevExitCount = exitCount;
    }
    return executed;
  }

  /** Count `remaining` further runs of `op`, whose exits are the step's [exitStart, exitStart + exitCount), in the ring. */
  private addRepeated(v: number, op: RepeatOp, remaining: number, exitStart: number, exitCount: number): void {
    const c = v * Counter.COUNT;
    if (op === RepeatOp.CR8_PAIR || op === RepeatOp.CR8_READ) this.counters[c + Counter.CR8_READS] += remaining;
    if (op === RepeatOp.CR8_PAIR || op === RepeatOp.CR8_WRITE_PAIR)
      this.counters[c + Counter.CR8_WRITES] += 2 * remaining;
    const kind = op === RepeatOp.CR8_PAIR ? RecKind.BULK_CR8_PAIRS : RecKind.BULK_HOST_INTERRUPTS;
    for (let e = 0; e < exitCount; e++) {
      const k = exitStart + e;
      this.countExits(v, this.ff[ringSlot(k)], this.ff[ringQual(k)], remaining, kind);
    }
  }

  // ---------------------------------------------------------------- invariants (invariants.ts)

  /**
   * The consistency checks, run after every operation in debug mode and at the end of every run:
   * bhyve's isrvec_stk checks on the software path, SVI/RVI with VID, PPR against TPR. Returns the
   * number of new violations.
   */
  checkInvariants(v: number): number {
    const b = v * F.STRIDE;
    if ((this.s[b + F.FLAGS] & Flag.STOPPED) !== 0) return 0;
    const broken = brokenInvariant(this.s, b, this.traits.isrvecStack, this.intel);
    if (broken === undefined) return 0;
    this.violate(v, broken);
    return 1;
  }

  checkAllInvariants(): number {
    let n = 0;
    for (let v = 0; v < this.n; v++) n += this.checkInvariants(v);
    return n;
  }
}
