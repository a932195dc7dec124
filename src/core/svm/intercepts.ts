import { vlapicPendingIntr } from '../apic/vlapic.js';
import { priorityClass, vecHighest } from '../apic/vectors.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import { tprFromCr8 } from '../apic/priority.js';
import { F, Flag, guestInterruptible, SvmIntercept } from '../vcpu/layout.js';
import { Next } from '../vcpu/outcomes.js';

/**
 * SVM interrupt control (AMD APM vol. 2 chapter 15 "Secure Virtual Machine", section "Interrupt and
 * LAPIC Support", 15.21): V_TPR, V_IRQ / V_IGN_TPR / V_INTR_PRIO, the CR8 and VINTR intercepts, and
 * what the hypervisor programs in the VMCB before VMRUN (bhyve sys/amd64/vmm/amd/svm.c
 * svm_inj_interrupts; KVM arch/x86/kvm/svm/svm.c). Both hypervisors set V_INTR_MASKING.
 */

/**
 * MOV to / from CR8 is VMEXIT_CR8_WRITE / VMEXIT_CR8_READ when intercepted; otherwise, with
 * V_INTR_MASKING = 1, it uses V_TPR with no intercept (APM "Virtualizing APIC.TPR").
 */
export function cr8Intercepted(s: Int32Array, b: number, write: boolean): boolean {
  return (s[b + F.SVM_INTERCEPTS] & (write ? SvmIntercept.CR8_WRITE : SvmIntercept.CR8_READ)) !== 0;
}

/**
 * A MOV to CR8 that V_INTR_MASKING keeps in the guest writes V_TPR only; with AVIC the backing
 * page's TPR follows (AVIC keeps the backing page TPR and V_TPR in step) and the CPU evaluates
 * pending interrupts. The caller then checks the VINTR intercept (vintrExits).
 */
export function vTprWrite(s: Int32Array, b: number, cr8: number): Next {
  s[b + F.V_TPR] = cr8;
  if ((s[b + F.FLAGS] & Flag.AVIC) === 0) return Next.NOTHING;
  s[b + F.TPR] = tprFromCr8(cr8);
  return Next.EVALUATE_PENDING;
}

/**
 * EVENTINJ (APM "Event Injection") or an interrupt window, before VMRUN: with no event pending, the
 * highest vector the vlapic may deliver is injected if the guest can take it — returned, for the
 * vlapic to accept; else a dummy V_IRQ with V_IGN_TPR and the VINTR intercept open a window (bhyve
 * svm.c enable_intr_window_exiting, KVM svm_enable_irq_window), or, with nothing to deliver, V_IRQ
 * and VINTR are cleared - unless the hypervisor keeps the window until its VINTR exit (illumos bhyve:
 * PolicyTraits.svmIntrWindow 'until-exit'). Returns -1 when nothing is injected.
 */
export function svmInjectOrRequestWindow(s: Int32Array, b: number, keepWindow = false): number {
  if (s[b + F.PENDING_INJECT] >= 0) return -1;
  const vector = vlapicPendingIntr(s, b);
  if (vector >= 0 && guestInterruptible(s, b)) {
    s[b + F.PENDING_INJECT] = vector;
    return vector;
  }
  if (vector >= 0) armVintr(s, b);
  else if (!keepWindow) disarmVintr(s, b);
  return -1;
}

/**
 * The rest of the VMCB programming before VMRUN, after an injection (`injected`) if there was one:
 * - bhyve svm_inj_interrupts() sets need_intr_window = 1 after every injection ("Force a VM-exit as
 *   soon as the vcpu is ready to accept another interrupt"): V_IRQ + V_IGN_TPR + VINTR stay armed,
 *   so the guest's next STI/IRET exits unless another exit disarms it first (FreeBSD; illumos keeps
 *   it until that exit: svmInjectOrRequestWindow); KVM disarms them;
 * - KVM svm_update_cr8_intercept(): intercept CR8 writes while the TPR masks the highest IRR;
 * - sync_lapic_to_cr8: V_TPR = TPR[7:4].
 */
export function programVmcbBeforeRun(s: Int32Array, b: number, t: PolicyTraits, injected: boolean): void {
  if (injected) {
    if (t.hypervisor === 'bhyve') armVintr(s, b);
    else disarmVintr(s, b);
  }
  if (t.svmCr8WriteInterceptToggle) {
    s[b + F.SVM_INTERCEPTS] &= ~SvmIntercept.CR8_WRITE;
    const irr = vecHighest(s, b + F.IRR);
    if (irr >= 0 && priorityClass(s[b + F.TPR]) >= priorityClass(irr))
      s[b + F.SVM_INTERCEPTS] |= SvmIntercept.CR8_WRITE;
  }
  s[b + F.V_TPR] = priorityClass(s[b + F.TPR]); // sync_lapic_to_cr8
}

/** APM "Virtual Interrupt Intercept": VINTR exits once the guest can take the virtual interrupt. */
export function vintrExits(s: Int32Array, b: number): boolean {
  if ((s[b + F.SVM_INTERCEPTS] & SvmIntercept.VINTR) === 0 || s[b + F.V_IRQ] === 0) return false;
  if (!guestInterruptible(s, b)) return false;
  return s[b + F.V_IGN_TPR] !== 0 || (s[b + F.V_INTR_PRIO] & 0xf) > (s[b + F.V_TPR] & 0xf);
}

/** A window: V_IRQ with V_IGN_TPR, VINTR intercepted. */
function armVintr(s: Int32Array, b: number): void {
  s[b + F.V_IRQ] = 1;
  s[b + F.V_IGN_TPR] = 1;
  s[b + F.SVM_INTERCEPTS] |= SvmIntercept.VINTR;
}

/** No window: V_IRQ and the VINTR intercept cleared (also the hypervisor's VINTR exit handler). */
export function disarmVintr(s: Int32Array, b: number): void {
  s[b + F.V_IRQ] = 0;
  s[b + F.SVM_INTERCEPTS] &= ~SvmIntercept.VINTR;
}
