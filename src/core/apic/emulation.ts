import { F, Flag } from '../vcpu/layout.js';
import { archPpr, guestTpr } from './priority.js';
import { ApicOffset } from './registers.js';

/**
 * LAPIC register emulation as the hypervisor does it after an exit (bhyve vlapic_read /
 * vlapic_write, KVM kvm_lapic_reg_read / kvm_lapic_reg_write), and what AVIC or APIC-register
 * virtualization serve from the page; registers by their xAPIC offset (x2APIC MSRs are mapped by
 * x2apicMsrToOffset, apic/registers.ts). State: the APIC page words of the vCPU at word `b`.
 */

/** What an emulated register write leaves to the caller once the value is stored. */
export const enum RegisterWrite {
  DONE = 0,
  /** The vlapic's set_tpr (apic/vlapic.ts), with bhyve's isrvec_stk checks. */
  TPR = 1,
  /** An EOI, by the hypervisor (apic/eoi.ts). */
  EOI = 2,
  /** ICR low written: send the IPI it describes (ICR high holds the destination). */
  SEND_IPI = 3,
}

/**
 * The state word of a register the vlapic keeps as the guest wrote it, or -1: the one home of where
 * a write stores it and a read finds it (bhyve vlapic_write / vlapic_read: LDR, SVR, ICR low and
 * high, LVT timer, initial count, divide configuration; KVM kvm_lapic_reg_write / kvm_lapic_reg_read).
 */
function storedWord(offset: number): number {
  switch (offset) {
    case ApicOffset.Ldr:
      return F.LDR;
    case ApicOffset.Svr:
      return F.SVR;
    case ApicOffset.IcrLow:
      return F.ICR_LOW;
    case ApicOffset.IcrHigh:
      return F.ICR_HIGH;
    case ApicOffset.LvtTimer:
      return F.LVT_TIMER;
    case ApicOffset.TimerInitialCount:
      return F.TIMER_INITIAL;
    case ApicOffset.TimerDivideConfig:
      return F.TIMER_DIVIDE;
    default:
      return -1;
  }
}

/** Store an emulated write to the register at `offset`; returns what else it does (RegisterWrite). */
export function emulateRegisterWrite(s: Int32Array, b: number, offset: number, value: number): RegisterWrite {
  switch (offset) {
    case ApicOffset.Tpr:
      return RegisterWrite.TPR;
    case ApicOffset.Eoi:
      return RegisterWrite.EOI;
    case ApicOffset.Esr:
      s[b + F.ESR] = 0; // a write clears the logged errors (SDM "Error Handling")
      return RegisterWrite.DONE;
  }
  const word = storedWord(offset);
  if (word >= 0) s[b + word] = value;
  return offset === ApicOffset.IcrLow ? RegisterWrite.SEND_IPI : RegisterWrite.DONE;
}

/** The 32-bit value a read of the register at `offset` returns. */
export function apicRegisterValue(s: Int32Array, b: number, offset: number, intel: boolean): number {
  if (offset >= ApicOffset.Isr0 && offset < ApicOffset.Isr0 + 0x80)
    return s[b + F.ISR + ((offset - ApicOffset.Isr0) >> 4)] >>> 0;
  if (offset >= ApicOffset.Tmr0 && offset < ApicOffset.Tmr0 + 0x80)
    return s[b + F.TMR + ((offset - ApicOffset.Tmr0) >> 4)] >>> 0;
  if (offset >= ApicOffset.Irr0 && offset < ApicOffset.Irr0 + 0x80)
    return s[b + F.IRR + ((offset - ApicOffset.Irr0) >> 4)] >>> 0;
  switch (offset) {
    case ApicOffset.Id:
      return (s[b + F.FLAGS] & Flag.X2APIC) !== 0 ? s[b + F.APIC_ID] : (s[b + F.APIC_ID] << 24) >>> 0;
    case ApicOffset.Version:
      return 0x50014; // version 0x14, max LVT entry 5 (bhyve vlapic)
    case ApicOffset.Tpr:
      return guestTpr(s, b, intel);
    case ApicOffset.Ppr:
      return intel && (s[b + F.FLAGS] & Flag.VID) !== 0 ? s[b + F.PPR] : archPpr(s, b, intel);
    case ApicOffset.Esr:
      return s[b + F.ESR];
  }
  const word = storedWord(offset);
  return word < 0 ? 0 : s[b + word] >>> 0;
}

/**
 * The target of a fixed-mode, physical-destination IPI (delivery mode 000, no shorthand) from the
 * vCPU `v` of `n`: the vCPU of the same guest whose APIC ID is `dest`, or -1 — then no APIC took
 * it, and the sender's ESR records a "Send Accept Error" (SDM "Error Handling").
 */
export function fixedIpiTarget(s: Int32Array, n: number, v: number, dest: number): number {
  for (let t = 0; t < n; t++) {
    if (s[t * F.STRIDE + F.APIC_ID] === dest && s[t * F.STRIDE + F.GUEST_INDEX] === s[v * F.STRIDE + F.GUEST_INDEX])
      return t;
  }
  s[v * F.STRIDE + F.ESR] |= 1 << 2;
  return -1;
}
