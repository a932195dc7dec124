import { vlapicPendingIntr } from '../apic/vlapic.js';
import { priorityClass, vecHighest } from '../apic/vectors.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import { F, Flag, guestInterruptible } from '../vcpu/layout.js';
import type { VmxCapabilities } from '../cpu/profile.js';
import { vtprBelowThreshold } from './apicVirtualization.js';
import { ProcBased, ProcBased2 } from './controls.js';
import { checkTprThreshold, checkVmControls } from './entryChecks.js';

/**
 * VM entry on VT-x: what the hypervisor programs before VMRESUME on its software path (bhyve
 * sys/amd64/vmm/intel/vmx.c vmx_run / vmx_inject_interrupts; KVM vcpu_enter_guest,
 * inject_pending_event, vmx_update_cr8_intercept) and what the CPU does right after a successful
 * entry (Intel SDM vol. 3C chapter "VM Entries"). The checks on the controls: vmx/entryChecks.ts.
 * The Machine runs these steps in order (Machine.enter); the vlapic accepts an injected vector
 * between them, so a failed isrvec_stk check stops the vCPU where it stopped before.
 */

/**
 * Whether the hypervisor recomputes the vlapic PPR before injecting, on the software TPR-shadow
 * path: review v3's vlapic_sync_tpr (pprSync `interrupt-processing`) and KVM's
 * kvm_lapic_sync_from_vapic.
 */
export function syncsPprAtEntry(t: PolicyTraits): boolean {
  return t.pprSync === 'interrupt-processing' || t.hypervisor === 'kvm';
}

/**
 * Event injection or an interrupt window (bhyve vmx_inject_interrupts, KVM inject_pending_event):
 * with no event pending, the highest vector the vlapic may deliver is injected if the guest can
 * take it — returned, for the vlapic to accept — or else interrupt-window exiting is requested (the
 * guest exits as soon as it can take it). Returns -1 when nothing is injected.
 */
export function vmxInjectOrRequestWindow(s: Int32Array, b: number): number {
  if (s[b + F.PENDING_INJECT] >= 0) return -1;
  const vector = vlapicPendingIntr(s, b);
  if (vector >= 0 && guestInterruptible(s, b)) {
    s[b + F.PENDING_INJECT] = vector;
    s[b + F.PROC] &= ~ProcBased.InterruptWindowExiting;
    return vector;
  }
  if (vector >= 0)
    s[b + F.PROC] |= ProcBased.InterruptWindowExiting; // exit as soon as the guest can take it
  else s[b + F.PROC] &= ~ProcBased.InterruptWindowExiting;
  return -1;
}

/** After an injection another interrupt may still wait: ask for a window (bhyve vmx_inject_interrupts). */
export function requestWindowAfterInjection(s: Int32Array, b: number): void {
  if (vlapicPendingIntr(s, b) >= 0) s[b + F.PROC] |= ProcBased.InterruptWindowExiting;
}

/**
 * The TPR threshold on the software path (VID off, TPR shadow on), for policies that program one:
 * - bhyve review v2/v3 (sys/amd64/vmm/intel/vmx.c vmx_run): threshold = the guest's current TPR
 *   class (vlapic_get_cr8), so any lowering below the entry-time TPR exits once (trap-like exit
 *   43) and the hypervisor re-evaluates pending interrupts. A masked vector gets no window exit.
 * - KVM vmx_update_cr8_intercept(): threshold = max_irr class when tpr class >= it, else 0, so
 *   the guest exits exactly when it lowers TPR enough to take the pending interrupt.
 */
export function programTprThreshold(s: Int32Array, b: number, t: PolicyTraits): void {
  const tprClass = priorityClass(s[b + F.TPR]);
  if (t.tprThreshold === 'bhyve') {
    s[b + F.TPR_THRESHOLD] = tprClass;
    return;
  }
  const irr = vecHighest(s, b + F.IRR);
  s[b + F.TPR_THRESHOLD] = irr >= 0 && priorityClass(irr) <= tprClass ? priorityClass(irr) : 0;
}

const SHARED_CHECKS = new WeakMap<VmxCapabilities, VmEntryChecks>();

/**
 * The VM-entry checks of a machine's vCPUs, evaluated when the controls change rather than at every
 * entry: the result of checkVmControls is kept with the four control words it was computed from
 * (one entry: a host's vCPUs share their controls but for the window bits) and reused while an
 * entry finds the same words; the TPR-threshold checks, which read VTPR, run at every entry. The
 * same bits as checkVmEntry (vmx/entryChecks.ts) on the vCPU's words, always.
 */
export class VmEntryChecks {
  /**
   * The checks of the machines of `caps` on this thread: one object for all of them (80 bytes a host
   * otherwise, docs/perf/memory.md). What it keeps is a cache of a pure function of `caps` and the
   * words, so sharing it changes no result; a host whose controls differ only recomputes.
   */
  static of(caps: VmxCapabilities): VmEntryChecks {
    let checks = SHARED_CHECKS.get(caps);
    if (checks === undefined) SHARED_CHECKS.set(caps, (checks = new VmEntryChecks(caps)));
    return checks;
  }

  private valid = false;
  private pin = 0;
  private proc = 0;
  private proc2 = 0;
  private exitCtls = 0;
  private controls = 0;

  constructor(private readonly caps: VmxCapabilities) {}

  /** The failed EntryCheck bits of the vCPU at word `b` (0: it enters). */
  failed(s: Int32Array, b: number): number {
    const pin = s[b + F.PIN];
    const proc = s[b + F.PROC];
    const proc2 = s[b + F.PROC2];
    const exitCtls = s[b + F.EXIT_CTLS];
    if (!this.valid || pin !== this.pin || proc !== this.proc || proc2 !== this.proc2 || exitCtls !== this.exitCtls) {
      this.controls = checkVmControls(this.caps, pin, proc, proc2, exitCtls);
      this.pin = pin;
      this.proc = proc;
      this.proc2 = proc2;
      this.exitCtls = exitCtls;
      this.valid = true;
    }
    return this.controls | checkTprThreshold(proc, proc2, s[b + F.TPR_THRESHOLD], s[b + F.TPR]);
  }
}

/**
 * SDM "VM Exits Induced by the TPR Threshold" (26.7.7 in the 2023 editions): with use TPR shadow
 * and virtualize APIC accesses on and VID off, a threshold above VTPR[7:4] exits right after entry;
 * such exits "follow event injection" (D5): the injected interrupt is delivered first.
 */
export function tprThresholdExitsAfterEntry(s: Int32Array, b: number): boolean {
  return (
    (s[b + F.PROC] & ProcBased.UseTprShadow) !== 0 &&
    (s[b + F.FLAGS] & Flag.VID) === 0 &&
    (s[b + F.PROC2] & ProcBased2.VirtualizeApicAccesses) !== 0 &&
    vtprBelowThreshold(s[b + F.TPR], s[b + F.TPR_THRESHOLD])
  );
}

/**
 * SDM 26.7.5 "Interrupt-Window Exiting and Virtual-Interrupt Delivery" (D4): with the control set, a
 * VM exit occurs before any guest instruction once RFLAGS.IF = 1 and nothing blocks interrupts -
 * right after VM entry when the guest enters interruptible. It follows event injection (an
 * injected interrupt's gate clears RFLAGS.IF, so the window waits for its IRET) and a
 * TPR-threshold exit (a trap of the entry), and while the control is 1 no virtual interrupt is
 * delivered (vmx/virtualInterrupts.ts pendingVirtualInterrupt).
 */
export function interruptWindowExitsAfterEntry(s: Int32Array, b: number): boolean {
  return (s[b + F.PROC] & ProcBased.InterruptWindowExiting) !== 0 && guestInterruptible(s, b);
}

/** SDM "Interrupt-Window Exiting": with the control set, RFLAGS.IF becoming 1 exits (reason 7). */
export function interruptWindowExits(s: Int32Array, b: number): boolean {
  return (s[b + F.PROC] & ProcBased.InterruptWindowExiting) !== 0;
}

/** The hypervisor's interrupt-window exit handler clears the control; the next entry decides anew. */
export function clearInterruptWindow(s: Int32Array, b: number): void {
  s[b + F.PROC] &= ~ProcBased.InterruptWindowExiting;
}
