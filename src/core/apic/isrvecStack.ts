import { F, ISRVEC_STK_SIZE } from '../vcpu/layout.js';
import { priorityClass } from './vectors.js';
import type { Broken } from '../vcpu/violations.js';

/**
 * bhyve's in-service stack (sys/amd64/vmm/io/vlapic.c, `isrvec_stk`): the vectors in service, the
 * lowest priority at the bottom, kept beside the ISR. vlapic_intr_accepted() pushes, vlapic_process_eoi()
 * pops, and vlapic_update_ppr() takes ISRV from the top after checking the stack against the ISR —
 * a failed check is bhyve's panic ("ISR and isrvec_stk out of sync" in the seed). Entry 0 is the
 * permanent 0 placeholder, as in bhyve. KVM keeps no such stack (apic_update_ppr reads the ISR).
 */

/** Result of a stack operation: OK, or the check that failed (the vCPU stops; the caller reports it). */
export const enum StackCheck {
  OK = 0,
  CORRUPTED = 1,
  ORDER = 2,
  OUT_OF_SYNC = 3,
  OVERFLOW = 4,
  UNDERFLOW = 5,
}

/** The vector on top of the stack (0, the placeholder, when empty). */
export function isrvecTop(s: Int32Array, b: number): number {
  return s[b + F.STK + s[b + F.STK_TOP]];
}

/** The checks inside bhyve's vlapic_update_ppr(). */
export function checkIsrvecStack(s: Int32Array, b: number): StackCheck {
  const top = s[b + F.STK_TOP];
  if (top === 0 && s[b + F.STK] !== 0) return StackCheck.CORRUPTED;
  let lastPrio = -1;
  for (let i = 1; i <= top; i++) {
    const cur = priorityClass(s[b + F.STK + i]);
    if (cur <= lastPrio) return StackCheck.ORDER;
    lastPrio = cur;
  }
  // Every ISR bit, lowest vector first, must match the stack from the bottom up.
  let i = 1;
  for (let w = 0; w < 8; w++) {
    let word = s[b + F.ISR + w] >>> 0;
    while (word !== 0) {
      const bit = 31 - Math.clz32(word & -word);
      const vector = (w << 5) + bit;
      if (i > top || s[b + F.STK + i] !== vector) return StackCheck.OUT_OF_SYNC;
      i++;
      word &= word - 1;
    }
  }
  return StackCheck.OK;
}

/** vlapic_intr_accepted(): push the accepted vector. */
export function isrvecPush(s: Int32Array, b: number, vector: number): StackCheck {
  const top = s[b + F.STK_TOP] + 1;
  if (top > ISRVEC_STK_SIZE) return StackCheck.OVERFLOW;
  s[b + F.STK_TOP] = top;
  s[b + F.STK + top] = vector;
  return StackCheck.OK;
}

/** vlapic_process_eoi(): pop the vector whose EOI this is. */
export function isrvecPop(s: Int32Array, b: number): StackCheck {
  const top = s[b + F.STK_TOP];
  if (top === 0) return StackCheck.UNDERFLOW;
  s[b + F.STK_TOP] = top - 1;
  return StackCheck.OK;
}

/** The check name and bhyve's panic message for a failed StackCheck, read from the state as it failed. */
export function isrvecStackViolation(code: StackCheck, s: Int32Array, b: number): Broken {
  switch (code) {
    case StackCheck.CORRUPTED:
      return { check: 'isrvec_stk_corrupted', message: `isrvec_stk is corrupted: ${s[b + F.STK]}` };
    case StackCheck.ORDER:
      return { check: 'isrvec_stk_order', message: 'isrvec_stk does not satisfy invariant' };
    case StackCheck.OUT_OF_SYNC:
      return { check: 'isr_isrvec_stk_out_of_sync', message: 'ISR and isrvec_stk out of sync' };
    case StackCheck.OVERFLOW:
      return { check: 'isrvec_stk_overflow', message: `isrvec_stk_top overflow ${s[b + F.STK_TOP] + 1}` };
    default:
      return { check: 'isrvec_stk_underflow', message: 'invalid vlapic isrvec_stk_top 0' };
  }
}
