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

/** Store an emulated write to the register at `offset`; returns what else it does (RegisterWrite). */
export function emulateRegisterWrite(s: Int32Array, b: number, offset: number, value: number): RegisterWrite {
  switch (offset) {
    case ApicOffset.Tpr:
      return RegisterWrite.TPR;
    case ApicOffset.Eoi:
      return RegisterWrite.EOI;
    case ApicOffset.IcrHigh:
      s[b + F.ICR_HIGH] = value;
      return RegisterWrite.DONE;
    case ApicOffset.IcrLow:
      s[b + F.ICR_LOW] = value;
      return RegisterWrite.SEND_IPI;
    case ApicOffset.Svr:
      s[b + F.SVR] = value;
      return RegisterWrite.DONE;
    case ApicOffset.Ldr:
      s[b + F.LDR] = value;
      return RegisterWrite.DONE;
    case ApicOffset.LvtTimer:
      s[b + F.LVT_TIMER] = value;
      return RegisterWrite.DONE;
    case ApicOffset.TimerInitialCount:
      s[b + F.TIMER_INITIAL] = value;
      return RegisterWrite.DONE;
    case ApicOffset.TimerDivideConfig:
      s[b + F.TIMER_DIVIDE] = value;
      return RegisterWrite.DONE;
    case ApicOffset.Esr:
      s[b + F.ESR] = 0;
      return RegisterWrite.DONE;
    default:
      return RegisterWrite.DONE;
  }
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
    case ApicOffset.Ldr:
      return s[b + F.LDR] >>> 0;
    case ApicOffset.Svr:
      return s[b + F.SVR];
    case ApicOffset.Esr:
      return s[b + F.ESR];
    case ApicOffset.IcrLow:
      return s[b + F.ICR_LOW] >>> 0;
    case ApicOffset.IcrHigh:
      return s[b + F.ICR_HIGH] >>> 0;
    case ApicOffset.LvtTimer:
      return s[b + F.LVT_TIMER] >>> 0;
    case ApicOffset.TimerInitialCount:
      return s[b + F.TIMER_INITIAL] >>> 0;
    case ApicOffset.TimerDivideConfig:
      return s[b + F.TIMER_DIVIDE] >>> 0;
    default:
      return 0;
  }
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
