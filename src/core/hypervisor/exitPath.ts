import { tprFromCr8 } from '../apic/priority.js';
import { F, Flag, SvmIntercept } from '../vcpu/layout.js';
import type { PolicyTraits } from './policy.js';

/**
 * The hypervisor's common work on every VM exit, before the exit's own handler. Returns true when
 * the vlapic's PPR must be recomputed now (the caller runs vlapic_update_ppr with bhyve's
 * isrvec_stk checks, apic/vlapic.ts):
 * - bhyve review v1/v2 (pprSync `every-exit`): sync PPR after every exit while TPR shadowing; v2
 *   also with virtual-interrupt delivery on (pprSyncWithVid) — the flaw behind the seed's panic;
 * - SVM (KVM sync_cr8_to_lapic, bhyve alike): the vlapic TPR follows V_TPR unless CR8 writes are
 *   intercepted; PPR is recomputed when the TPR changed.
 */
export function syncAtExit(s: Int32Array, b: number, t: PolicyTraits, intel: boolean): boolean {
  if (intel) {
    if (t.pprSync !== 'every-exit') return false;
    const f = s[b + F.FLAGS];
    return (f & Flag.SOFT_TPR_SHADOW) !== 0 || ((f & Flag.VID) !== 0 && t.pprSyncWithVid);
  }
  if ((s[b + F.SVM_INTERCEPTS] & SvmIntercept.CR8_WRITE) !== 0) return false;
  const tpr = tprFromCr8(s[b + F.V_TPR]);
  if (tpr === s[b + F.TPR]) return false;
  s[b + F.TPR] = tpr;
  return true;
}
