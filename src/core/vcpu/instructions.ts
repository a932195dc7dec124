import { EoiBy } from '../apic/eoi.js';
import { tprFromCr8 } from '../apic/priority.js';
import { ApicOffset, isX2apicMsr, X2apicMsr, x2apicAccessFaults, x2apicMsrToOffset } from '../apic/registers.js';
import { priorityClass, vecHighest, vecTest } from '../apic/vectors.js';
import { x2apicReadPassedThrough } from '../hypervisor/vmcs.js';
import { HvAccess, HvFeature, HvMsr, hvMsrAccess, isHypervMsr } from '../hypervisor/hyperv.js';
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
import { selfIpiVirtualizable, selfIpiVirtualization, tprVirtualization } from '../vmx/apicVirtualization.js';
import { interruptWindowExits } from '../vmx/entry.js';
import { avicApicRead, avicApicWrite, avicTprWrite } from '../svm/avic.js';
import { cr8Intercepted } from '../svm/intercepts.js';
import { HypervisorEmulation } from './emulation.js';
import { Counter, Fault } from './counters.js';
import { apicAccessQualification, Slot } from './exits.js';
import { F, Flag } from './layout.js';
import { InGuest } from './outcomes.js';
import {
  apicWhy,
  apicWriteData,
  ExitWhy,
  msrWhyCode,
  WHY_FAULT,
  WHY_OPERAND_SHIFT,
  WHY_WRITE,
  x2apicIcrWhy,
} from './recorder.js';

/**
 * The guest's instructions as the exact rules execute them: MOV to/from CR8, STI/CLI/IRET, HLT,
 * I/O, MMIO, CPUID, xAPIC MMIO and x2APIC MSR accesses, and the exits the guest does not cause
 * (host interrupts, opaque exits). Each asks the rules whether it exits (the access classifiers of
 * vmx/ and svm/; apic/ for the software LAPIC) and carries the answer out through the machinery
 * of core.ts. Machine (machine.ts) adds the accessors, the exact fast-forward and the checks.
 */
export class GuestInstructions extends HypervisorEmulation {
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
    if (value < 0 || value > 15) {
      this.cr8ReservedBits(v);
      return;
    }
    const cr8 = value;
    if (!this.intel) this.svmWriteCr8(v, cr8);
    else if (cr8LoadExits(s, b)) this.interceptedTprWrite(v, Slot.CR_ACCESS, Cr8Qualification.MOV_TO, cr8);
    else {
      // VTPR[7:4] = CR8[3:0], the rest cleared; with neither exiting nor a shadow the guest writes the
      // real TPR (not a valid VMM setup).
      s[b + F.TPR] = tprFromCr8(cr8);
      if (tprShadowed(s, b)) this.next(v, tprVirtualization(s, b));
    }
  }

  /**
   * MOV to CR8 with any of bits 63:4 set (D8): #GP(0), CR8 reserved bits (SDM vol. 2 "MOV-Move
   * to/from Control Registers"); TPR and VTPR unchanged. The #GP is not among the exceptions that
   * have priority over VM exits (SDM 26.1.1 "Relative Priority of Faults and VM Exits": a fault-like
   * VM exit wins over other exceptions), so with CR8-load exiting the CR-access exit comes first and
   * the hypervisor injects the #GP (bhyve vlapic_set_cr8, KVM kvm_set_cr8 -> kvm_complete_insn_gp).
   * SVM likewise checks the CR8 write intercept before operand-value exceptions (APM 15.9
   * "Instruction Intercepts"). With the TPR shadow (or V_TPR) the CPU raises the #GP without an exit.
   */
  private cr8ReservedBits(v: number): void {
    const b = v * F.STRIDE;
    const exits = this.intel ? cr8LoadExits(this.s, b) : cr8Intercepted(this.s, b, true);
    this.stepFault = Fault.GP;
    if (!exits) return;
    this.exit(v, this.intel ? Slot.CR_ACCESS : Slot.VMEXIT_CR8_WRITE, this.intel ? Cr8Qualification.MOV_TO : 0);
    this.enter(v);
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

  /**
   * KfRaiseIrql's two accesses: MOV from CR8, then MOV to CR8 `value`; returns the CR8 read. The
   * same as the two calls (this is them), but one operation of the table of interned states
   * (tabulated.ts): one lookup and one record applied where the two took two of each.
   */
  raiseCr8(v: number, value: number): number {
    const old = this.readCr8(v);
    this.writeCr8(v, value);
    return old;
  }

  /**
   * Host ns one %cr8 access of a Windows IRQL raise/lower pair (Machine.cr8Pairs: MOV from CR8, MOV
   * to CR8 twice) costs vCPU `v` under its controls now, by the rules readCr8 and writeCr8 apply: a
   * read exits with CR8-store exiting (SVM: the CR8 read intercept), a write with CR8-load exiting
   * (SVM: the CR8 write intercept), each at its exit's cost in the machine's table; with the TPR
   * shadow (V_TPR) an access stays in the guest and costs 0. The %cr8 stream's estimate before it has
   * measured one (guests/irql.ts, engine/state.ts). Exits the accesses cause only in some states - a
   * TPR threshold's trap-like exit when a write lowers the TPR below it, a delivery a lowering unmasks -
   * are not here: the stream measures them when they happen.
   */
  cr8AccessCostNs(v: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    const c = this.exitCostNs;
    const read = this.intel ? cr8StoreExits(s, b) : cr8Intercepted(s, b, false);
    const write = this.intel ? cr8LoadExits(s, b) : cr8Intercepted(s, b, true);
    const readNs = read ? c[this.intel ? Slot.CR_ACCESS : Slot.VMEXIT_CR8_READ] : 0;
    const writeNs = write ? c[this.intel ? Slot.CR_ACCESS : Slot.VMEXIT_CR8_WRITE] : 0;
    return (readNs + 2 * writeNs) / 3;
  }

  /**
   * The end of a Windows ISR: EOI, then MOV to CR8 `value` (IRQL back to what the ISR interrupted).
   * The two calls, as one operation of the table of interned states (like raiseCr8).
   */
  eoiCr8(v: number, value: number): void {
    this.eoi(v);
    this.writeCr8(v, value);
  }

  /**
   * eoiCr8 then IRET, for an ISR's end with nothing between the two (src/core/guests/isr.ts): one
   * operation of the table of interned states instead of two lookups.
   */
  eoiCr8Iret(v: number, value: number): void {
    this.eoiCr8(v, value);
    this.iret(v);
  }

  /**
   * eoiCr8Iret then HLT, for the end of an ISR that interrupted an idle vCPU (src/core/guests/isr.ts):
   * one operation of the table of interned states instead of two lookups. The HLT runs only if the
   * EOI, the %cr8 write and the IRET delivered no interrupt and sent no IPI: a delivered interrupt's
   * ISR runs next instead (the guest's idle loop halts only with nothing to do, and the caller's
   * engine work between IRET and HLT is a no-op only when nothing was delivered). Returns 1 if the
   * HLT ran, else 0 (the caller goes on as after eoiCr8Iret).
   */
  eoiCr8IretHlt(v: number, value: number): number {
    const delivered = this.stepDeliveredCount;
    const ipis = this.ipiOutCount;
    this.eoiCr8Iret(v, value);
    if (this.stepDeliveredCount !== delivered || this.ipiOutCount !== ipis) return 0;
    this.hlt(v);
    return 1;
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
      if (interruptWindowExits(s, b)) this.interruptWindowExit(v);
      else if ((f & Flag.VID) !== 0) this.evaluatePendingVirtualInterrupts(v);
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
    this.opaqueExit(v, this.intel ? Slot.IO_INSTRUCTION : Slot.VMEXIT_IOIO, (port & 0xffff) << 16);
  }

  /**
   * A guest access to an emulated device's MMIO register (an AHCI doorbell, an HPET counter read):
   * not backed by memory, so an EPT exit the hypervisor emulates - EPT_VIOLATION under bhyve,
   * EPT_MISCONFIG under KVM, whose MMIO SPTEs are misconfigured on purpose (D9; hypervisor/policy.ts
   * mmioExitSlot) - and on SVM a nested page fault.
   */
  mmio(v: number): void {
    this.opaqueExit(v, this.mmioSlot, 0, ExitWhy.DEVICE_MMIO);
  }

  /**
   * A host interrupt (the host's own timer tick) arrives while the vCPU runs: an external-interrupt
   * exit (VT-x external-interrupt exiting; SVM INTR intercept), handled by the host, then re-entry.
   */
  hostInterrupt(v: number): void {
    const f = this.s[v * F.STRIDE + F.FLAGS];
    if ((f & (Flag.STOPPED | Flag.HALTED)) !== 0) return;
    this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
    this.exitWhy(v, ExitWhy.HOST_TICK);
    this.enter(v);
  }

  /**
   * The guest's LAPIC timer (one-shot, periodic or TSC-deadline) expires, delivered the way the
   * hypervisor emulates it (PolicyTraits.guestTimer):
   * - KVM with the VMX-preemption timer (kvm_intel.preemption_timer, default on, when the CPU has
   *   it): while the vCPU runs, the preemption timer counts the guest's deadline down and expires
   *   as a VM exit, reason 52 (vmx.c handle_preemption_timer -> kvm_lapic_expired_hv_timer); the
   *   handler makes the timer vector ready and the entry delivers it;
   * - otherwise a host timer (KVM's hrtimer apic_timer_fn; bhyve's callout vlapic_callout_handler,
   *   assumed on the vCPU's own host CPU): its interrupt on the host CPU that runs the vCPU is an
   *   external-interrupt exit (SVM: INTR), then the same;
   * - a halted vCPU is woken by the host timer with no further exit (KVM moves the deadline to an
   *   hrtimer while the vCPU blocks: kvm_lapic_switch_to_sw_timer; its HLT exit already happened).
   * Returns false when the vector was already requested (coalesced).
   */
  guestTimerExpires(v: number, vector: number): boolean {
    const f = this.s[v * F.STRIDE + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return false;
    if ((f & Flag.HALTED) !== 0) return this.raiseInterrupt(v, vector, false);
    this.exit(v, this.timerSlot, 0);
    this.exitWhy(v, ExitWhy.GUEST_TIMER | (vector << WHY_OPERAND_SHIFT));
    const ready = this.setInterruptReady(v, vector, false);
    this.enter(v);
    return ready;
  }

  /**
   * A Hyper-V synthetic timer (hv-stimer) expires: KVM runs STIMERn on a host hrtimer
   * (hyperv.c stimer_start, stimer_timer_callback), so a running vCPU takes the host's interrupt
   * as an external-interrupt exit (SVM: INTR); the handler queues the expiry message in the SynIC
   * message page (stimer_send_msg, no exit) and raises the timer's SINT `vector` (synic_set_irq),
   * delivered at the entry. A halted vCPU is woken with no further exit. False without hv-stimer
   * (the guest cannot have armed one) or when the vector was already requested.
   */
  stimerExpires(v: number, vector: number): boolean {
    const b = v * F.STRIDE;
    const f = this.s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0 || (this.s[b + F.HV] & HvFeature.STIMER) === 0) return false;
    if ((f & Flag.HALTED) !== 0) return this.raiseInterrupt(v, vector, false);
    this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
    this.exitWhy(v, ExitWhy.STIMER | (vector << WHY_OPERAND_SHIFT));
    const ready = this.setInterruptReady(v, vector, false);
    this.enter(v);
    return ready;
  }

  /**
   * The guest may skip its EOI write (hv-vapic's EOI assist in the VP assist page, TLFS "Virtual
   * Processor Assist Page"): KVM implements it as its PV EOI (kvm_lapic_set_pv_eoi on
   * HV_X64_MSR_VP_ASSIST_PAGE) and marks an EOI as not needed at entry when no other interrupt is
   * requested, one is in service and KVM does not track its EOI - neither level-triggered nor the
   * RTC's (lapic.c apic_sync_pv_eoi_to_guest: irr_pending, highest_isr_cache,
   * kvm_ioapic_handles_vector; apic/eoi.ts requestEoiExit); never under APICv / AVIC, where KVM
   * keeps irr_pending set. A cheap query for the guest model: no state changes.
   */
  hvEoiAssist(v: number): boolean {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.HV] & HvFeature.VAPIC) === 0 || (s[b + F.FLAGS] & (Flag.VID | Flag.AVIC)) !== 0) return false;
    if (vecHighest(s, b + F.IRR) >= 0) return false;
    const vector = vecHighest(s, b + F.ISR);
    return vector >= 0 && !vecTest(s, b + F.TMR, vector) && !vecTest(s, b + F.EOI_EXIT, vector);
  }

  /**
   * The guest's EOI under hv-vapic: skipped when the EOI assist allows it (no exit; KVM retires the
   * vector at the next exit, apic_sync_pv_eoi_from_guest - modelled at once, before anything else
   * can look at the ISR), else a WRMSR to HV_X64_MSR_EOI (an MSR exit handled in the kernel).
   */
  hvEoi(v: number): void {
    if ((this.s[v * F.STRIDE + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (this.hvEoiAssist(v)) this.endOfInterrupt(v, EoiBy.HYPERVISOR);
    else this.wrmsr(v, HvMsr.EOI, 0, 0);
  }

  /**
   * A fixed IPI through hv-vapic's HV_X64_MSR_ICR (TLFS "Synthetic MSRs for APIC access": the ICR as
   * one 64-bit write, destination in bits 63:32 - in xAPIC mode in ICR2's bits 31:24): an MSR exit
   * KVM handles like the x2APIC ICR (kvm_hv_vapic_msr_write).
   */
  hvSendIpi(v: number, target: number, vector: number): void {
    const s = this.s;
    if ((s[v * F.STRIDE + F.FLAGS] & Flag.STOPPED) !== 0) return;
    const dest = s[target * F.STRIDE + F.APIC_ID];
    const x2apic = (s[v * F.STRIDE + F.FLAGS] & Flag.X2APIC) !== 0;
    this.wrmsr(v, HvMsr.ICR, vector & 0xff, x2apic ? dest : dest << 24);
  }

  /** `vector` is the guest's SynIC AutoEOI SINT: delivered without entering ISR, so the guest writes no EOI for it. */
  hvAutoEoi(v: number, vector: number): boolean {
    const word = this.s[v * F.STRIDE + F.HV];
    return word >>> 8 !== 0 && word >>> 8 === vector;
  }

  /** CPUID exits unconditionally in VMX non-root operation (SDM-26 "Instructions That Cause VM Exits Unconditionally"); SVM: CPUID intercept. */
  cpuid(v: number): void {
    this.opaqueExit(v, this.intel ? Slot.CPUID : Slot.VMEXIT_CPUID, 0);
  }

  /**
   * An exit that needs no emulation beyond the hypervisor's common path, then the entry path:
   * unconditional and intercepted instructions, and exits the model does not derive from a guest
   * instruction (a workload profile's opaque exits, RepeatOp.OPAQUE_EXIT). Nothing on a stopped vCPU.
   * `why`: its cause for the exit recorder, where reason and qualification do not say it.
   */
  opaqueExit(v: number, slot: number, qualification = 0, why: ExitWhy = ExitWhy.NONE): void {
    if ((this.s[v * F.STRIDE + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.exit(v, slot, qualification);
    if (why !== ExitWhy.NONE) this.exitWhy(v, why);
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
      case InGuest.ICR_HIGH_WRITE:
        s[b + F.ICR_HIGH] = value & 0xff000000; // APIC-write emulation of 310H clears bytes 2:0; no exit (D1)
        return;
      case InGuest.ICR_LOW_WRITE:
        s[b + F.ICR_LOW] = value;
        if (selfIpiVirtualizable(value)) {
          this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
          this.next(v, selfIpiVirtualization(s, b, value & 0xff)); // D2
          return;
        }
        this.exit(v, Slot.APIC_WRITE, ApicOffset.IcrLow); // trap-like: VICR is on the page (D3)
        if (this.keepsWhy) this.apicWriteWhy(v, ExitWhy.APIC_REGISTER, offset, value);
        this.emulateApicWrite(v, offset, value);
        this.enter(v);
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
        this.exit(v, how === Slot.EPT_VIOLATION ? this.mmioSlot : how, apicAccessQualification(how, offset, true));
        if (this.keepsWhy)
          this.apicWriteWhy(
            v,
            how === Slot.EPT_VIOLATION || how === Slot.VMEXIT_NPF ? ExitWhy.APIC_PAGE : ExitWhy.APIC_REGISTER,
            offset,
            value,
          );
        this.emulateApicWrite(v, offset, value);
        this.enter(v);
    }
  }

  /**
   * The cause of the xAPIC register write that just exited (recorder.ts apicWhy): the register and
   * what the write does, the ICR's destination from ICR high as the vlapic holds it.
   */
  private apicWriteWhy(v: number, kind: ExitWhy, offset: number, value: number): void {
    const icrHigh = this.s[v * F.STRIDE + F.ICR_HIGH];
    this.exitWhy(v, apicWhy(kind, true, offset, apicWriteData(offset, value, icrHigh)));
  }

  /** xAPIC MMIO read. Returns the 32-bit value the guest sees. */
  readApic(v: number, offset: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0 || (f & Flag.X2APIC) !== 0) return 0;
    const how = this.intel ? vmxApicRead(s, b, offset) : (f & Flag.AVIC) !== 0 ? avicApicRead(offset) : Slot.VMEXIT_NPF;
    if (how === InGuest.READ) return this.registerValue(v, offset);
    this.exit(v, how === Slot.EPT_VIOLATION ? this.mmioSlot : how, apicAccessQualification(how, offset, false));
    if (this.keepsWhy)
      this.exitWhy(
        v,
        apicWhy(
          how === Slot.EPT_VIOLATION || how === Slot.VMEXIT_NPF ? ExitWhy.APIC_PAGE : ExitWhy.APIC_REGISTER,
          false,
          offset,
          0,
        ),
      );
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
    if (isHypervMsr(msr)) {
      // Its exit is hypervMsrWrite's first act (emulation.ts): the cause goes with it.
      if (this.keepsWhy) this.whyNext = this.hvMsrWhy(v, msr, WHY_WRITE);
      this.hypervMsrWrite(v, msr, valueLow, valueHigh);
      return;
    }
    const apicMsr = isX2apicMsr(msr);
    const msrExit = this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR;
    const why = ExitWhy.MSR | WHY_WRITE | (msrWhyCode(msr) << WHY_OPERAND_SHIFT);
    if (apicMsr && x2apicAccessFaults((f & Flag.X2APIC) !== 0, msr, true)) {
      this.exit(v, msrExit, 0);
      this.exitWhy(v, why | WHY_FAULT);
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
        // qualification 0: ECX holds the MSR. An x2APIC write that does not arm the timer costs the
        // short in-kernel exit (KVM kvm_lapic_reg_write: EOI apic_set_eoi, ICR kvm_apic_send_ipi;
        // the initial count and IA32_TSC_DEADLINE go to start_apic_timer, a host timer).
        if (apicMsr && msr !== X2apicMsr.TimerInitialCount) this.apicMsrExit(v, how);
        else this.exit(v, how, 0);
        // The x2APIC ICR's cause says the IPI, as the xAPIC ICR low's does (recorder.ts x2apicIcrWhy).
        this.exitWhy(v, msr === X2apicMsr.Icr ? x2apicIcrWhy(valueLow, valueHigh) : why);
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
    if (isHypervMsr(msr)) {
      // Its exit is hypervMsrRead's first act (emulation.ts): the cause goes with it.
      if (this.keepsWhy) this.whyNext = this.hvMsrWhy(v, msr, 0);
      return this.hypervMsrRead(v, msr);
    }
    const apicMsr = isX2apicMsr(msr);
    const msrExit = this.intel ? Slot.MSR_READ : Slot.VMEXIT_MSR;
    const why = ExitWhy.MSR | (msrWhyCode(msr) << WHY_OPERAND_SHIFT);
    if (apicMsr && x2apicAccessFaults((f & Flag.X2APIC) !== 0, msr, false)) {
      this.exit(v, msrExit, 0); // intercepted, then #GP injected
      this.exitWhy(v, why | WHY_FAULT);
      this.stepFault = Fault.GP;
      this.enter(v);
      return 0;
    }
    const passedThrough = this.intel && apicMsr && x2apicReadPassedThrough(this.traits.hypervisor, msr);
    const how = this.intel && apicMsr ? vmxX2apicRead(s, b, msr, passedThrough) : msrExit;
    if (how === InGuest.READ) return this.registerValue(v, x2apicMsrToOffset(msr));
    this.exit(v, how, 0);
    this.exitWhy(v, why);
    const value = apicMsr ? this.registerValue(v, x2apicMsrToOffset(msr)) : 0;
    this.enter(v);
    return value;
  }

  /** The ExitWhy word of a synthetic-MSR access (`write`: WHY_WRITE or 0), WHY_FAULT when the guest lacks its feature (hyperv.ts hvMsrAccess). */
  private hvMsrWhy(v: number, msr: number, write: number): number {
    const gp = hvMsrAccess(this.s[v * F.STRIDE + F.HV] & 0xff, msr) === HvAccess.GP ? WHY_FAULT : 0;
    return ExitWhy.MSR | write | gp | (msrWhyCode(msr) << WHY_OPERAND_SHIFT);
  }
}
