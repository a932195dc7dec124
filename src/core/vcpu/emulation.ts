import { apicRegisterValue, emulateRegisterWrite, fixedIpiTarget, RegisterWrite } from '../apic/emulation.js';
import { EoiBy } from '../apic/eoi.js';
import { X2apicMsr, x2apicMsrToOffset } from '../apic/registers.js';
import { vlapicSetLocalIntr } from '../apic/vlapic.js';
import { Counter } from './counters.js';
import { MachineCore, STEP_LOG } from './core.js';
import { Slot } from './exits.js';
import { F, Flag } from './layout.js';

/**
 * What the hypervisor does after an exit that emulates a LAPIC access (bhyve vlapic_write /
 * vlapic_icrlo_write_handler, KVM kvm_lapic_reg_write): register writes, x2APIC MSR writes,
 * register reads, and the IPIs an ICR write sends. Between the machinery of core.ts and the guest's
 * instructions (instructions.ts), which call these after their exit.
 */
export class HypervisorEmulation extends MachineCore {
  /** The hypervisor emulates a register write after an exit (apic/emulation.ts). */
  protected emulateApicWrite(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    switch (emulateRegisterWrite(s, b, offset, value)) {
      case RegisterWrite.TPR:
        this.setTpr(v, value & 0xff);
        return;
      case RegisterWrite.EOI:
        this.endOfInterrupt(v, EoiBy.HYPERVISOR);
        return;
      case RegisterWrite.SEND_IPI:
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, false);
        return;
      case RegisterWrite.DONE:
        return;
    }
  }

  /** The hypervisor emulates an x2APIC WRMSR after an exit: ICR (one 64-bit write), SELF IPI, or a register. */
  protected emulateX2apicWrite(v: number, msr: number, low: number, high: number): void {
    if (msr === X2apicMsr.Icr) {
      this.s[v * F.STRIDE + F.ICR_LOW] = low;
      this.sendIpiFromIcr(v, low, high, false);
      return;
    }
    if (msr === X2apicMsr.SelfIpi) {
      this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
      this.counters[v * Counter.COUNT + Counter.RAISED]++;
      vlapicSetLocalIntr(this.s, v * F.STRIDE, low & 0xff);
      return;
    }
    this.emulateApicWrite(v, x2apicMsrToOffset(msr), low);
  }

  /** A register read the hypervisor emulates or the CPU serves from the page (apic/emulation.ts). */
  protected registerValue(v: number, offset: number): number {
    return apicRegisterValue(this.s, v * F.STRIDE, offset, this.intel);
  }

  /** Fixed-mode, physical-destination IPI (delivery mode 000, no shorthand; apic/emulation.ts fixedIpiTarget). */
  protected sendIpiFromIcr(v: number, icrLow: number, dest: number, avicDoorbell: boolean): void {
    this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
    const vector = icrLow & 0xff;
    // Destination shorthand 01B (self): the sender's own LAPIC (SDM 11.6.1 "Interrupt Command
    // Register"); the hypervisor sets it ready with no kick - the vCPU is in the hypervisor.
    if (((icrLow >>> 18) & 3) === 1) {
      this.counters[v * Counter.COUNT + Counter.RAISED]++;
      vlapicSetLocalIntr(this.s, v * F.STRIDE, vector);
      return;
    }
    const target = fixedIpiTarget(this.s, this.n, v, dest);
    if (target < 0) return;
    // AVIC: a doorbell to a target that is not running is an incomplete IPI (APM-15 "AVIC_INCOMPLETE_IPI").
    const incomplete = avicDoorbell && (this.s[target * F.STRIDE + F.FLAGS] & Flag.HALTED) !== 0;
    if (this.deferIpis) {
      const i = this.ipiOutCount;
      if (i < STEP_LOG) {
        this.ipiOutTarget[i] = target;
        this.ipiOutVector[i] = vector;
        this.ipiOutCount = i + 1;
      }
      if (incomplete) {
        this.exit(v, Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 0);
        this.enter(v);
      }
      return;
    }
    if (incomplete) {
      this.exit(v, Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 0);
      this.raiseInterrupt(target, vector, false);
      this.enter(v);
      return;
    }
    this.raiseInterrupt(target, vector, false);
  }
}
