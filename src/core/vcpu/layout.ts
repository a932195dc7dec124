/**
 * Per-vCPU state as a fixed stride inside one Int32Array, so a host of thousands of vCPUs is one
 * allocation and no guest operation allocates. Field offsets are word indices within a vCPU's stride.
 * F, Flag and SvmIntercept are const enums, so the rules' offsets and bits compile to literals (an
 * imported object costs a module load and a property load per use on the hot paths).
 *
 * The "APIC page" fields (IRR/ISR/TMR/TPR/PPR) play two roles, as in bhyve: they are the software
 * vlapic's register page and, when "use TPR shadow" is on, the VMCS virtual-APIC page the CPU reads
 * and writes (VTPR = TPR at offset 0x80, VPPR = PPR at 0xA0, VISR/VIRR at 0x100/0x200;
 * SDM vol. 3C "Virtual-APIC Page").
 */
export const enum F {
  IRR = 0, // 8 words
  ISR = 8, // 8 words
  TMR = 16, // 8 words
  PIR = 24, // 8 words: posted-interrupt requests (SDM "Posted-Interrupt Processing")
  EOI_EXIT = 32, // 8 words: EOI-exit bitmap (SDM "EOI-Exit Bitmaps"; apic/eoi.ts requestEoiExit)
  TPR = 40,
  PPR = 41,
  SVI = 42, // guest interrupt status, high byte (SDM "Guest Interrupt Status")
  RVI = 43, // guest interrupt status, low byte
  TPR_THRESHOLD = 44,
  PIN = 45,
  PROC = 46,
  PROC2 = 47,
  EXIT_CTLS = 48,
  FLAGS = 49,
  STK_TOP = 50,
  STK = 51, // 17 entries: isrvec_stk[0] is the permanent 0 placeholder, as in bhyve's vlapic
  ESR = 68,
  ICR_LOW = 69,
  ICR_HIGH = 70,
  SVR = 71,
  LDR = 72,
  LVT_TIMER = 73,
  TIMER_INITIAL = 74,
  TIMER_DIVIDE = 75,
  PIR_ON = 76, // posted-interrupt descriptor "outstanding notification" bit
  // AMD SVM VMCB interrupt control (APM vol. 2 "VMCB Layout, Control Area", offset 0x60)
  V_TPR = 77,
  V_IRQ = 78,
  V_INTR_PRIO = 79,
  V_IGN_TPR = 80,
  V_INTR_MASKING = 81,
  SVM_INTERCEPTS = 82,
  V_INTR_VECTOR = 83,
  VCPU_ID = 84,
  GUEST_INDEX = 85,
  APIC_ID = 86,
  INTR_SHADOW = 87, // blocking by STI for one instruction (SDM "Interruptibility State")
  PENDING_INJECT = 88, // event the hypervisor will inject at the next entry, or -1
  HV = 89, // Hyper-V enlightenments and the AutoEOI SINT vector, set up once (hypervisor/hyperv.ts hypervWord)
  /**
   * Words per vCPU: exactly the words the fields above use (test/core/layout.test.ts keeps every
   * field inside it). It used to be rounded up to 96; the 7 unused words per vCPU now pay for each
   * machine's own step logs within the bench's memory budget (bytes per vCPU). A new field raises it.
   */
  STRIDE = 90,
}

export const ISRVEC_STK_SIZE = 16; // bhyve: ISRVEC_STK_SIZE (16 + 1 for the placeholder)

/** FLAGS bits. */
export const enum Flag {
  IF = 1 << 0, // RFLAGS.IF
  HALTED = 1 << 1, // guest executed HLT and the vCPU sleeps in the host
  X2APIC = 1 << 2, // guest's LAPIC in x2APIC mode (IA32_APIC_BASE.EXTD)
  STOPPED = 1 << 3, // stopped by an invariant violation or a failed VM entry
  ENTRY_FAILED = 1 << 4,
  VID = 1 << 5, // virtual-interrupt delivery active for this vCPU
  POSTED = 1 << 6, // posted-interrupt processing active
  SOFT_TPR_SHADOW = 1 << 7, // hypervisor's software TPR-shadow path active (bhyve tpr_shadowing)
  AVIC = 1 << 8,
}

/** The guest can take an interrupt now: RFLAGS.IF = 1 and no STI blocking (SDM "Interruptibility State"). */
export function guestInterruptible(s: Int32Array, b: number): boolean {
  return (s[b + F.FLAGS] & Flag.IF) !== 0 && s[b + F.INTR_SHADOW] === 0;
}

/** SVM_INTERCEPTS bits (the CR8/INTR/VINTR/HLT/MSR intercepts this model uses). */
export const enum SvmIntercept {
  CR8_READ = 1 << 0,
  CR8_WRITE = 1 << 1,
  INTR = 1 << 2,
  VINTR = 1 << 3,
  HLT = 1 << 4,
  MSR = 1 << 5,
}
