/**
 * The Machine's guest operations as the table of interned states sees them (interned.ts): the hottest
 * ones go through the table (`interned`) unless an operation is nested or something records; every
 * other way a vCPU's words change forgets its interned-state hint, or keeps it when the words are
 * found unchanged (an IPI's send: `kept`, `rehint`).
 */
import { IA32_TSC_DEADLINE } from '../apic/registers.js';
import type { Broken } from './invariants.js';
import { ExitWhy } from './recorder.js';
import { TxOp } from './transitions.js';
import { InternedInstructions, STIMER0_COUNT } from './interned.js';

/**
 * The hottest guest operations through the table of interned states (transitions.ts, interned.ts):
 * the exit recorder and the step's exit log, which keep what the rules did exit by exit, take the
 * rules' path (so do traces and replays).
 */
export class TabulatedInstructions extends InternedInstructions {
  // ------------------------------------------------ tabulated operations

  override writeCr8(v: number, value: number): void {
    if (this.tabulates()) this.interned(TxOp.WRITE_CR8, v, value | 0);
    else this.rules(TxOp.WRITE_CR8, v, value);
  }

  override readCr8(v: number): number {
    return this.tabulates() ? this.interned(TxOp.READ_CR8, v, 0) : this.rules(TxOp.READ_CR8, v, 0);
  }

  override raiseCr8(v: number, value: number): number {
    // Outside the table: the two accesses one after the other, each through the table or the rules.
    if ((value | 0) === value && this.tabulates()) return this.interned(TxOp.RAISE_CR8, v, value);
    return super.raiseCr8(v, value);
  }

  override eoi(v: number): void {
    // In x2APIC mode KVM's EOI exit has its own cost (apicMsrWriteCostNs): the record marks it (APIC_COST).
    if (this.tabulates()) this.interned(TxOp.EOI, v, 0);
    else this.rules(TxOp.EOI, v, 0);
  }

  override eoiCr8(v: number, value: number): void {
    if ((value | 0) === value && this.tabulates()) this.interned(TxOp.EOI_CR8, v, value);
    else super.eoiCr8(v, value); // the two, each through the table or the rules
  }

  override eoiCr8Iret(v: number, value: number): void {
    if ((value | 0) === value && this.tabulates()) this.interned(TxOp.EOI_CR8_IRET, v, value);
    else super.eoiCr8Iret(v, value); // eoiCr8 then iret, each through the table or the rules
  }

  override eoiCr8IretHlt(v: number, value: number): number {
    if ((value | 0) === value && this.tabulates()) return this.interned(TxOp.EOI_CR8_IRET_HLT, v, value);
    return super.eoiCr8IretHlt(v, value); // eoiCr8Iret then hlt, each through the table or the rules
  }

  override iret(v: number): void {
    if (this.tabulates()) this.interned(TxOp.IRET, v, 0);
    else this.rules(TxOp.IRET, v, 0);
  }

  override hlt(v: number): void {
    if (this.tabulates()) this.interned(TxOp.HLT, v, 0);
    else this.rules(TxOp.HLT, v, 0);
  }

  override hostInterrupt(v: number): void {
    if (this.tabulates()) this.interned(TxOp.HOST_INTERRUPT, v, 0);
    else this.rules(TxOp.HOST_INTERRUPT, v, 0);
  }

  override raiseInterrupt(v: number, vector: number, level: boolean, eoiExit: boolean = level): boolean {
    if (vector >= 0 && vector <= 255) {
      const a = vector | (level ? 256 : 0) | (eoiExit ? 512 : 0);
      return (this.tabulates() ? this.interned(TxOp.RAISE, v, a) : this.rules(TxOp.RAISE, v, a)) !== 0;
    }
    this.forget(v);
    this.depth++;
    const r = super.raiseInterrupt(v, vector, level, eoiExit);
    this.depth--;
    return r;
  }

  override guestTimerExpires(v: number, vector: number): boolean {
    if (vector >= 0 && vector <= 255) {
      const a = vector;
      return (this.tabulates() ? this.interned(TxOp.TIMER_EXPIRES, v, a) : this.rules(TxOp.TIMER_EXPIRES, v, a)) !== 0;
    }
    this.forget(v);
    this.depth++;
    const r = super.guestTimerExpires(v, vector);
    this.depth--;
    return r;
  }

  override timerInitialCount(v: number, value: number): void {
    if ((value | 0) !== value) {
      this.forget(v);
      this.depth++;
      super.timerInitialCount(v, value);
      this.depth--;
    } else if (this.tabulates()) this.interned(TxOp.TIMER_INITIAL, v, value);
    else this.rules(TxOp.TIMER_INITIAL, v, value);
  }

  // ------------------------------------------------ every other way the words change: the hint is forgotten

  override sti(v: number): void {
    this.forget(v);
    this.depth++;
    super.sti(v);
    this.depth--;
  }

  override cli(v: number): void {
    this.forget(v);
    this.depth++;
    super.cli(v);
    this.depth--;
  }

  override ioInstruction(v: number, port: number): void {
    this.forget(v);
    this.depth++;
    super.ioInstruction(v, port);
    this.depth--;
  }

  override mmio(v: number): void {
    // An opaque exit and the entry, as a host interrupt's: through the table (E14; it was compared
    // word for word after the rules ran, rehint).
    if (this.tabulates()) this.interned(TxOp.MMIO, v, 0);
    else this.rules(TxOp.MMIO, v, 0);
  }

  override stimerExpires(v: number, vector: number): boolean {
    if (vector >= 0 && vector <= 255) {
      const a = vector;
      return (
        (this.tabulates() ? this.interned(TxOp.STIMER_EXPIRES, v, a) : this.rules(TxOp.STIMER_EXPIRES, v, a)) !== 0
      );
    }
    this.forget(v);
    this.depth++;
    const r = super.stimerExpires(v, vector);
    this.depth--;
    return r;
  }

  override hvEoi(v: number): void {
    this.forget(v);
    this.depth++;
    super.hvEoi(v);
    this.depth--;
  }

  override hvSendIpi(v: number, target: number, vector: number): void {
    this.forget(v);
    this.depth++;
    super.hvSendIpi(v, target, vector);
    this.depth--;
  }

  override cpuid(v: number): void {
    this.forget(v);
    this.depth++;
    super.cpuid(v);
    this.depth--;
  }

  override opaqueExit(v: number, slot: number, qualification = 0, why: ExitWhy = ExitWhy.NONE): void {
    this.forget(v);
    this.depth++;
    super.opaqueExit(v, slot, qualification, why);
    this.depth--;
  }

  override sendIpi(v: number, target: number, vector: number): void {
    const kept = this.kept(v);
    this.forget(v);
    this.depth++;
    super.sendIpi(v, target, vector);
    this.depth--;
    this.rehint(v, kept);
  }

  override writeApic(v: number, offset: number, value: number): void {
    this.forget(v);
    this.depth++;
    super.writeApic(v, offset, value);
    this.depth--;
  }

  override readApic(v: number, offset: number): number {
    this.forget(v);
    this.depth++;
    const r = super.readApic(v, offset);
    this.depth--;
    return r;
  }

  override wrmsr(v: number, msr: number, valueLow: number, valueHigh: number): void {
    // A TSC-deadline or stimer arm (the guests' timer writes under KVM) goes through the table.
    if ((msr === IA32_TSC_DEADLINE || msr === STIMER0_COUNT) && valueHigh === 0 && (valueLow | 0) === valueLow) {
      const op = msr === IA32_TSC_DEADLINE ? TxOp.TSC_DEADLINE : TxOp.STIMER_COUNT;
      if (this.tabulates()) this.interned(op, v, valueLow);
      else this.rules(op, v, valueLow);
      return;
    }
    this.forget(v);
    this.depth++;
    super.wrmsr(v, msr, valueLow, valueHigh);
    this.depth--;
  }

  override rdmsr(v: number, msr: number): number {
    this.forget(v);
    this.depth++;
    const r = super.rdmsr(v, msr);
    this.depth--;
    return r;
  }

  /** A vCPU stops on a broken check (its FLAGS written wherever the check ran). */
  protected override violate(v: number, broken: Broken): void {
    this.forget(v);
    super.violate(v, broken);
  }
}
