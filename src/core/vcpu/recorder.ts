import { ApicOffset } from '../apic/registers.js';

/**
 * The exit recorder (Machine.startRecorder; src/run/replay.ts reads it): every exit of the vCPUs
 * [first, end) goes into a preallocated ring of `capacity` records, a struct of typed arrays;
 * `written` counts records ever written, so a reader that drained up to n lost records when
 * written - n > capacity. Allocated only when started: a machine that never records pays nothing.
 */

/** Kinds of exit-recorder records. */
export const enum RecKind {
  /** One exit: code = exit slot, qual = exit qualification, value = 1. */
  EXIT = 0,
  /** Exits counted in bulk by the exact fast-forward of %cr8 raise/lower pairs: value = count. */
  BULK_CR8_PAIRS = 1,
  /** Exits counted in bulk by the fast-forward of host timer interrupts: value = count. */
  BULK_HOST_INTERRUPTS = 2,
  /** An interrupt delivery (written by the engine): code = vector, qual = DeliveryVia, value = latency ns or -1. */
  DELIVERY = 3,
  /** Exits counted in bulk by the repeat loop's fixed point of another operation (an MMIO read, an opaque exit): value = count. */
  BULK_REPEATED = 4,
}

/**
 * How a delivered interrupt reached the guest: the path of MachineCore (core.ts) that delivered it.
 * The engine makes exactly these distinctions; the words are src/run/replay.ts deliveryViaName's.
 */
export const enum DeliveryVia {
  /** VT-x VM-entry event injection of the vector the hypervisor's vlapic picked (SDM vol. 3C "Event Injection"). */
  EVENT_INJECTION = 0,
  /** SVM event injection at VMRUN through the VMCB's EVENTINJ field (AMD APM vol. 2 "Event Injection"). */
  EVENTINJ = 1,
  /**
   * VT-x virtual-interrupt delivery after an evaluation of pending virtual interrupts (SDM vol. 3C
   * "Evaluation of Pending Virtual Interrupts", "Virtual-Interrupt Delivery"): at VM entry, or in the
   * running guest after a virtualized EOI, TPR write or self-IPI.
   */
  VIRTUAL_INTERRUPT_DELIVERY = 2,
  /**
   * Posted-interrupt processing in the running guest (SDM vol. 3C "Posted-Interrupt Processing"): the
   * notification moves the PIR into VIRR and virtual-interrupt delivery takes it, with no VM exit.
   */
  POSTED_INTERRUPT = 3,
  /** AVIC: the hardware delivers from the vAPIC backing page's IRR, no #VMEXIT (AMD APM vol. 2 "AVIC"). */
  AVIC = 4,
  /**
   * Virtual-interrupt delivery of a posted interrupt that the hypervisor, not the CPU, moved from the
   * PIR to the VIRR: its vCPU was not in guest mode (halted), so no notification was processed, and
   * the hypervisor synced the PIR before the VM entry (KVM vmx_sync_pir_to_irr, from vcpu_enter_guest
   * and from kvm_vcpu_has_events for a blocked vCPU; bhyve vmx_inject_pir from vmx_run).
   */
  PIR_MOVED_BY_HYPERVISOR = 5,
}

/**
 * What caused an exit, where its reason and qualification do not say it (an EXIT record's `why`;
 * NONE: nothing to add). The model writes EPT violations, EPT misconfigurations and nested page
 * faults with qualification 0 for every access; the recorder keeps which access it was. A word:
 * the kind in bits 5:0, WHY_FAULT and WHY_WRITE, the operand (an offset, MSR code or vector) from
 * bit 8 (WHY_OPERAND_SHIFT). Small integers in the recorder's cause column; src/run/replay.ts
 * exitCause names them at output.
 */
export const enum ExitWhy {
  NONE = 0,
  /** A guest access to an emulated device's MMIO register (Machine.mmio). */
  DEVICE_MMIO = 1,
  /**
   * An xAPIC access to the APIC page that the CPU does not virtualize (no "virtualize APIC accesses";
   * SVM without AVIC): an apicWhy word (the register, APIC_PAGE_WRITE, what a write did).
   */
  APIC_PAGE = 2,
  /** An exit of a workload profile's measured rates (RepeatOp.OPAQUE_EXIT): the report it came from does not say why. */
  MEASURED = 3,
  /** RDMSR or WRMSR (WHY_WRITE) of an intercepted MSR, msrWhyCode(msr) as the operand; WHY_FAULT: #GP injected. */
  MSR = 4,
  /** The host's own timer tick on the host CPU running the vCPU (Machine.hostInterrupt). */
  HOST_TICK = 5,
  /**
   * The host IPI that kicks a running vCPU so that an interrupt made ready for it can be delivered
   * (bhyve vcpu_notify_event, KVM kvm_vcpu_kick; MachineCore.raiseInterrupt): the vector as the operand.
   */
  KICK = 6,
  /** The guest's LAPIC timer expired on a running vCPU (Machine.guestTimerExpires): the timer's vector as the operand. */
  GUEST_TIMER = 7,
  /** A Hyper-V synthetic timer's host hrtimer fired on a running vCPU (Machine.stimerExpires): the SINT's vector. */
  STIMER = 8,
  /** A PAUSE exit of a vCPU with PAUSE-loop exiting (SVM: the pause filter): a spin loop outlasted the window. */
  PAUSE_LOOP = 9,
  /**
   * An xAPIC register access the CPU virtualizes up to an exit (APIC_ACCESS, APIC_WRITE,
   * VMEXIT_AVIC_NOACCEL): an apicWhy word, as APIC_PAGE's; its qualification says the offset too.
   * On MSR_WRITE / VMEXIT_MSR: a WRMSR of the x2APIC ICR, the word of ICR low's offset (x2apicIcrWhy).
   */
  APIC_REGISTER = 10,
  /**
   * VMEXIT_AVIC_INCOMPLETE_IPI with the failure cause "target not running" (APM vol. 2 "AVIC IPI
   * Delivery Not Completed", EXITINFO2 ID 1), the one the model takes (emulation.ts sendIpiFromIcr):
   * the operand is the vector in bits 7:0 and the target's APIC ID in bits 23:8.
   */
  AVIC_TARGET_NOT_RUNNING = 11,
}

/** An ExitWhy.APIC_PAGE word's bit for a write (else a read). */
export const APIC_PAGE_WRITE = 0x80;
/** An ExitWhy word's bit for a write (the same bit as APIC_PAGE_WRITE). */
export const WHY_WRITE = 0x80;
/** An ExitWhy word's bit for an access the hypervisor answers with #GP. */
export const WHY_FAULT = 0x40;
/** Where an ExitWhy word's operand starts. */
export const WHY_OPERAND_SHIFT = 8;
/** An ExitWhy word's kind. */
export const WHY_KIND_MASK = 0x3f;

/**
 * An APIC_PAGE or APIC_REGISTER word: the register's offset >> 4 in the operand's bits 5:0 (every
 * register lies below 400H: registers.ts ApicOffset), WHY_WRITE for a write, and in bits 23:6 what
 * the write did (apicWriteData; 0 for a read).
 */
export function apicWhy(kind: ExitWhy, write: boolean, offset: number, data: number): number {
  return kind | (write ? WHY_WRITE : 0) | ((((offset >>> 4) & 0x3f) | (data << 6)) << WHY_OPERAND_SHIFT);
}

/** The register offset of an apicWhy word. */
export function apicWhyOffset(why: number): number {
  return ((why >>> WHY_OPERAND_SHIFT) & 0x3f) << 4;
}

/** What the write of an apicWhy word did (apicWriteData). */
export function apicWhyData(why: number): number {
  return why >>> (WHY_OPERAND_SHIFT + 6);
}

/** apicWriteData's bit of an ICR-low write with the destination shorthand 01B, self (SDM "Interrupt Command Register"). */
export const ICR_DATA_SELF = 1 << 16;
/** apicWriteData's bit of an EOI the hypervisor forwards to its I/O APIC (a level-triggered vector's). */
export const EOI_DATA_LEVEL = 1 << 8;

/**
 * What a write of `value` to the xAPIC register at `offset` does, in 18 bits (SDM vol. 3A "Local
 * APIC Register Address Map" and the registers' layouts): ICR low the vector (7:0), the destination
 * APIC ID of ICR high (`icrHigh` 31:24, into 15:8) and ICR_DATA_SELF; ICR high the destination; LVT
 * timer the vector, the timer mode (18:17, into 9:8) and the mask (16, into 10); the initial count 1
 * if it arms the timer (0 stops it: SDM "APIC Timer"); TPR the value. Other registers: 0.
 */
export function apicWriteData(offset: number, value: number, icrHigh: number): number {
  switch (offset) {
    case ApicOffset.IcrLow:
      return icrWriteData(value, icrHigh >>> 24);
    case ApicOffset.IcrHigh:
      return value >>> 24;
    case ApicOffset.LvtTimer:
      return (value & 0xff) | (((value >>> 17) & 3) << 8) | (((value >>> 16) & 1) << 10);
    case ApicOffset.TimerInitialCount:
      return value !== 0 ? 1 : 0;
    case ApicOffset.Tpr:
      return value & 0xff;
    default:
      return 0;
  }
}

/**
 * What an ICR write sends, as apicWriteData's ICR-low data: the vector (ICR bits 7:0), the destination
 * APIC ID (into 15:8: the model's IDs, vCPU indexes, lie below 256) and ICR_DATA_SELF for the
 * destination shorthand 01B (bits 19:18). The xAPIC ICR's destination is ICR high's bits 31:24, the
 * x2APIC ICR's - one 64-bit MSR - bits 63:32 (SDM vol. 3A "Interrupt Command Register (ICR)", "x2APIC
 * Interrupt Command Register (ICR) Operation").
 */
export function icrWriteData(icrLow: number, destination: number): number {
  return (icrLow & 0xff) | ((destination & 0xff) << 8) | (((icrLow >>> 18) & 3) === 1 ? ICR_DATA_SELF : 0);
}

/** The cause word of a WRMSR of the x2APIC ICR (830H) with `low` and `high` (bits 63:32: the destination). */
export function x2apicIcrWhy(low: number, high: number): number {
  return apicWhy(ExitWhy.APIC_REGISTER, true, ApicOffset.IcrLow, icrWriteData(low, high));
}

/** The MSR of an ExitWhy.MSR word, in 17 bits: the MSR's low 16 bits, bit 16 for Hyper-V's synthetic range 40000000H. */
export function msrWhyCode(msr: number): number {
  return msr >>> 16 === 0x4000 ? (msr & 0xffff) | 0x10000 : msr & 0xffff;
}

export class ExitRecorder {
  written = 0;
  readonly timeNs: Float64Array;
  readonly value: Float64Array;
  readonly vcpu: Int32Array;
  readonly kind: Int32Array;
  readonly code: Int32Array;
  readonly qual: Int32Array;
  /** ExitWhy of an EXIT or bulk record (set by why() right after the record), else 0. */
  readonly cause: Int32Array;

  constructor(
    readonly capacity: number,
    readonly first: number,
    readonly end: number,
  ) {
    this.timeNs = new Float64Array(capacity);
    this.value = new Float64Array(capacity);
    this.vcpu = new Int32Array(capacity);
    this.kind = new Int32Array(capacity);
    this.code = new Int32Array(capacity);
    this.qual = new Int32Array(capacity);
    this.cause = new Int32Array(capacity);
  }

  /** One record, if vCPU `v` is recorded. */
  record(timeNs: number, v: number, kind: number, code: number, qual: number, value: number): void {
    if (v < this.first || v >= this.end) return;
    const i = this.written % this.capacity;
    this.timeNs[i] = timeNs;
    this.vcpu[i] = v;
    this.kind[i] = kind;
    this.code[i] = code;
    this.qual[i] = qual;
    this.value[i] = value;
    this.cause[i] = 0;
    this.written++;
  }

  /** The cause of the record just written for vCPU `v` (nothing if `v` is not recorded). */
  why(v: number, why: number): void {
    if (v < this.first || v >= this.end || this.written === 0) return;
    this.cause[(this.written - 1) % this.capacity] = why;
  }

  /** The cause of the record written `back` records ago for vCPU `v` (1: the last), 0 if not recorded. */
  whyBack(v: number, back: number): number {
    if (v < this.first || v >= this.end || back > this.written || back > this.capacity) return 0;
    return this.cause[(this.written - back) % this.capacity];
  }
}

/** The recorder of a machine that never started one. */
export const NO_RECORDER = new ExitRecorder(0, 0, 0);
