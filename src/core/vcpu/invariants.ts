import { checkIsrvecStack, isrvecStackViolation, StackCheck } from '../apic/isrvecStack.js';
import { archPpr, guestTpr } from '../apic/priority.js';
import { priorityClass, vecClear, vecHighest, vecSet, vecTest } from '../apic/vectors.js';
import { F, Flag } from './layout.js';
import type { Broken } from './violations.js';

/**
 * The model's own consistency checks (beside bhyve's isrvec_stk checks, apic/isrvecStack.ts), run
 * after every operation in debug mode and at the end of every run (Machine.checkInvariants), and
 * at every delivery. Each returns the broken check, or undefined; nothing allocates unless broken.
 */

export type { Broken } from './violations.js';

/**
 * The checks Machine.checkInvariants runs on a vCPU: bhyve's isrvec_stk checks on the software
 * path (`isrvecStack`), SVI/RVI with VID, PPR against TPR; the first one broken.
 */
export function brokenInvariant(s: Int32Array, b: number, isrvecStack: boolean, intel: boolean): Broken | undefined {
  const f = s[b + F.FLAGS];
  if ((f & (Flag.VID | Flag.AVIC)) === 0 && isrvecStack) {
    const check = checkIsrvecStack(s, b);
    if (check !== StackCheck.OK) return isrvecStackViolation(check, s, b);
  }
  return ((f & Flag.VID) !== 0 ? virtualApicInvariant(s, b) : undefined) ?? pprInvariant(s, b, intel);
}

/** SDM-29 (VID on): SVI is the highest in-service virtual interrupt; RVI the highest requested one. */
function virtualApicInvariant(s: Int32Array, b: number): Broken | undefined {
  const hiIsr = Math.max(vecHighest(s, b + F.ISR), 0);
  if (s[b + F.SVI] !== hiIsr) {
    return {
      check: 'svi_not_highest_isr',
      message: `SVI 0x${s[b + F.SVI].toString(16)} but highest VISR 0x${hiIsr.toString(16)}`,
    };
  }
  const hiIrr = Math.max(vecHighest(s, b + F.IRR), 0);
  if (s[b + F.RVI] < hiIrr) {
    return {
      check: 'rvi_below_highest_irr',
      message: `RVI 0x${s[b + F.RVI].toString(16)} below highest VIRR 0x${hiIrr.toString(16)}`,
    };
  }
  return undefined;
}

/** SDM-11 "Task and Processor Priorities": PPR[7:4] >= TPR[7:4]. */
function pprInvariant(s: Int32Array, b: number, intel: boolean): Broken | undefined {
  if (priorityClass(archPpr(s, b, intel)) >= priorityClass(guestTpr(s, b, intel))) return undefined;
  return { check: 'ppr_below_tpr', message: 'PPR[7:4] below TPR[7:4]' };
}

/**
 * An interrupt is delivered only when its class beats the architectural PPR as it stood before
 * delivery (SDM-11 "Interrupt Acceptance"). `vector` is already in ISR here, so PPR is computed
 * from TPR and the ISR without it.
 */
export function deliveryInvariant(s: Int32Array, b: number, vector: number, intel: boolean): Broken | undefined {
  const inService = vecTest(s, b + F.ISR, vector); // not with AutoEOI (apic/vlapic.ts vlapicAutoEoiAccepted)
  vecClear(s, b + F.ISR, vector);
  const ppr = archPpr(s, b, intel);
  if (inService) vecSet(s, b + F.ISR, vector);
  if (priorityClass(vector) > priorityClass(ppr)) return undefined;
  return {
    check: 'delivered_at_or_below_ppr',
    message: `vector 0x${vector.toString(16)} delivered with PPR 0x${ppr.toString(16)}`,
  };
}
