import { Slot } from '../core/vcpu/exits.js';
import {
  apicWhyData,
  apicWhyOffset,
  EOI_DATA_LEVEL,
  ExitWhy,
  ICR_DATA_SELF,
  msrWhyCode,
  WHY_FAULT,
  WHY_KIND_MASK,
  WHY_OPERAND_SHIFT,
  WHY_WRITE,
} from '../core/vcpu/recorder.js';
import { HvMsr, hvMsrName, hvStimerOf } from '../core/hypervisor/hyperv.js';
import {
  ApicOffset,
  apicRegisterName,
  IA32_TSC_DEADLINE,
  offsetToX2apicMsr,
  X2apicMsr,
  x2apicMsrName,
} from '../core/apic/registers.js';
import {
  PM_TIMER_PORT_BHYVE,
  PM_TIMER_PORT_I440FX,
  PM_TIMER_PORT_Q35,
  RTC_DATA_PORT,
  RTC_INDEX_PORT,
} from '../core/hypervisor/platform.js';
import { WORKLOAD_IO_PORT } from '../core/guests/workload.js';

/**
 * An exit record's `cause` in words: from its reason and qualification where the manual defines one
 * (SDM vol. 3C Tables 28-1 to 28-6 "Exit Qualification ..."; APM vol. 2 15.7-15.9), else from the
 * cause word the engine kept at the exit (src/core/vcpu/recorder.ts ExitWhy): the MSR, the host
 * interrupt, the timer, the access. Read by replay, trace and the timeline (docs/REPLAY.md).
 */

/** Exits counted in bulk: %cr8 raise/lower pairs, host timer ticks, or any other repeated operation at its fixed point. */
export type Bulk = 'cr8_pairs' | 'host_interrupts' | 'repeated';

const MEASURED = "a workload profile's measured exit (its report does not say which access)";

/** What a write to an x2APIC register, IA32_TSC_DEADLINE or a hv-vapic MSR does. */
const WRITE_ACTIONS: ReadonlyMap<number, string> = new Map([
  [IA32_TSC_DEADLINE, 'LAPIC timer armed (TSC-deadline mode)'],
  [X2apicMsr.TimerInitialCount, 'LAPIC timer armed (initial count)'],
  [X2apicMsr.Icr, 'IPI'],
  [X2apicMsr.Eoi, 'EOI'],
  [X2apicMsr.Tpr, 'TPR write'],
  [X2apicMsr.SelfIpi, 'self-IPI'],
  [HvMsr.EOI, 'EOI'],
  [HvMsr.ICR, 'IPI'],
  [HvMsr.TPR, 'TPR write'],
  [HvMsr.EOM, 'end of message (the SynIC delivers the next one)'],
]);

/**
 * An MSR exit's cause: `WRMSR NAME (ADDRESS): what the guest did`, or `#GP injected`. `said`: what
 * the write did when its cause word says more than the MSR (an x2APIC write's apicWhy word).
 */
function msrCause(why: number, said = ''): string {
  const code = why >>> WHY_OPERAND_SHIFT;
  const msr = code >= 0x10000 ? 0x40000000 + (code & 0xffff) : code;
  const write = (why & WHY_WRITE) !== 0;
  let named: string;
  let action = said;
  if (msr >= 0x40000000) {
    // The TLFS names live with HvMsr (src/core/hypervisor/hyperv.ts).
    named = `${hvMsrName(msr) || 'a synthetic MSR'} (0x${msr.toString(16)})`;
    const timer = hvStimerOf(msr);
    if (msr === HvMsr.TIME_REF_COUNT && !write) action = 'clock read (the partition reference counter)';
    else if (timer >= 0 && write) action = `synthetic timer ${timer} ${(msr & 1) === 0 ? 'configured' : 'armed'}`;
  } else {
    const name = msr === IA32_TSC_DEADLINE ? 'IA32_TSC_DEADLINE' : x2apicMsrName(msr) || 'MSR';
    named = `${name} (${msr.toString(16).toUpperCase()}H)`;
  }
  if (write && action === '') action = WRITE_ACTIONS.get(msr) ?? '';
  if (!write && msr === X2apicMsr.Tpr) action = 'TPR read';
  if ((why & WHY_FAULT) !== 0) action = '#GP injected (not accessible to this guest)';
  return `${write ? 'WRMSR' : 'RDMSR'} ${named}${action === '' ? '' : `: ${action}`}`;
}

/** The device behind a port the model's guests use (src/core/hypervisor/platform.ts), '' for another. */
function portDevice(port: number): string {
  switch (port) {
    case PM_TIMER_PORT_Q35:
      return 'ACPI PM timer (Q35 PM base + 8), clock read';
    case PM_TIMER_PORT_I440FX:
      return 'ACPI PM timer (i440fx PM base + 8), clock read';
    case PM_TIMER_PORT_BHYVE:
      return "ACPI PM timer (bhyve's PM base + 8), clock read";
    case RTC_INDEX_PORT:
      return 'RTC index (selects the CMOS register)';
    case RTC_DATA_PORT:
      return 'RTC data (reads the selected CMOS register)';
    case WORKLOAD_IO_PORT:
      return "PCI CONFIG_ADDRESS: a workload profile's port I/O";
    default:
      return '';
  }
}

/** Which host interrupt an external-interrupt exit (SVM: INTR) or a VMX-preemption-timer exit was. */
function hostInterruptCause(slot: Slot, why: number): string {
  const vector = why >>> WHY_OPERAND_SHIFT;
  switch ((why & WHY_KIND_MASK) as ExitWhy) {
    case ExitWhy.HOST_TICK:
      return 'host timer tick while the guest ran';
    case ExitWhy.KICK:
      return `kick: a host IPI to the running vCPU so that vector ${vector} can be delivered (bhyve vcpu_notify_event, KVM kvm_vcpu_kick)`;
    case ExitWhy.GUEST_TIMER:
      return slot === Slot.VMX_PREEMPTION_TIMER
        ? `the guest's LAPIC timer (vector ${vector}) expired: KVM's VMX-preemption timer counted its deadline down`
        : `the guest's LAPIC timer (vector ${vector}) expired: the host timer emulating it fired on the vCPU's CPU`;
    case ExitWhy.STIMER:
      return `a Hyper-V synthetic timer (SINT vector ${vector}) expired: KVM's host hrtimer fired on the vCPU's CPU`;
    default:
      return slot === Slot.VMX_PREEMPTION_TIMER ? '' : 'host interrupt while the guest ran';
  }
}

/** The timer modes of the LVT timer register's bits 18:17 (SDM "APIC Timer", "LVT Timer Register"). */
const TIMER_MODES = ['one-shot', 'periodic', 'TSC-deadline', 'reserved mode 3'];

/**
 * The IPI an ICR write sent, from its data (recorder.ts apicWriteData: the vector, the destination
 * APIC ID, the shorthand self): the one wording of the xAPIC ICR low's write and the x2APIC ICR's,
 * `IPI of vector 240 to APIC ID 1`. The xAPIC ICR's destination is ICR high's bits 31:24, the
 * x2APIC ICR's - one 64-bit MSR - bits 63:32 (SDM vol. 3A "Interrupt Command Register (ICR)",
 * "x2APIC Interrupt Command Register (ICR) Operation"). The model sends every other shorthand and
 * delivery mode as a fixed IPI to the destination (emulation.ts sendIpiFromIcr).
 */
function icrIpi(data: number): string {
  return (data & ICR_DATA_SELF) !== 0
    ? `self-IPI of vector ${data & 0xff}`
    : `IPI of vector ${data & 0xff} to APIC ID ${(data >>> 8) & 0xff}`;
}

/**
 * An xAPIC register by its SDM name (registers.ts apicRegisterName) and, for a write whose cause
 * word (recorder.ts apicWhy) says it, what the write did: `ICR low: IPI of vector 240 to APIC ID 1`.
 */
function apicRegister(offset: number, why: number): string {
  const name = apicRegisterName(offset);
  const action = apicWriteAction(offset, why);
  return action === '' ? name : `${name}: ${action}`;
}

/** What the write of an apicWhy word (APIC_PAGE, APIC_REGISTER) to the register at `offset` did, '' where it does not say. */
function apicWriteAction(offset: number, why: number): string {
  const kind = (why & WHY_KIND_MASK) as ExitWhy;
  if ((kind !== ExitWhy.APIC_PAGE && kind !== ExitWhy.APIC_REGISTER) || (why & WHY_WRITE) === 0) return '';
  const data = apicWhyData(why);
  let action = '';
  switch (offset) {
    case ApicOffset.IcrLow:
      action = icrIpi(data);
      break;
    case ApicOffset.IcrHigh:
      action = `destination APIC ID ${data & 0xff}`;
      break;
    case ApicOffset.LvtTimer:
      action = `vector ${data & 0xff}, ${TIMER_MODES[(data >>> 8) & 3]}${(data & (1 << 10)) !== 0 ? ', masked' : ''}`;
      break;
    case ApicOffset.TimerInitialCount:
      action = data !== 0 ? 'LAPIC timer armed' : 'LAPIC timer stopped';
      break;
    case ApicOffset.Tpr:
      action = `0x${(data & 0xff).toString(16)} written`;
      break;
    case ApicOffset.Eoi:
      if ((data & EOI_DATA_LEVEL) !== 0)
        action = `vector ${data & 0xff} is level-triggered, the hypervisor forwards the EOI to its I/O APIC`;
      break;
  }
  return action;
}

/**
 * A WRMSR of an x2APIC register whose cause word is an apicWhy word of the register's xAPIC offset
 * (SDM "x2APIC Register Address Space": MSR 800H + offset >> 4) - the x2APIC ICR's, with what it
 * sent - in msrCause's words: `WRMSR IA32_X2APIC_ICR (830H): IPI of vector 240 to APIC ID 1`.
 */
function x2apicWriteCause(why: number): string {
  const offset = apicWhyOffset(why);
  const msr = offsetToX2apicMsr(offset);
  return msrCause(ExitWhy.MSR | WHY_WRITE | (msrWhyCode(msr) << WHY_OPERAND_SHIFT), apicWriteAction(offset, why));
}

/**
 * VMEXIT_AVIC_INCOMPLETE_IPI (APM vol. 2 15.29 AVIC, "AVIC IPI Delivery Not Completed": EXITINFO1
 * the ICR, EXITINFO2 the failure cause in bits 63:32 - 0 invalid interrupt type, 1 target not
 * running, 2 invalid target, 3 invalid backing page, 4 invalid IPI vector (KVM svm.h
 * avic_ipi_failure_cause) - and the target's physical APIC ID table index). The model takes ID 1
 * only (recorder.ts ExitWhy.AVIC_TARGET_NOT_RUNNING); a vCPU's APIC ID is its index in the guest
 * (engine/state.ts).
 */
function avicIncompleteIpiCause(why: number): string {
  if (((why & WHY_KIND_MASK) as ExitWhy) !== ExitWhy.AVIC_TARGET_NOT_RUNNING)
    return 'IPI to a vCPU that is not running: the AVIC doorbell cannot deliver it, the hypervisor wakes the target';
  const operand = why >>> WHY_OPERAND_SHIFT;
  const id = operand >>> 8;
  return (
    `AVIC IPI delivery not completed, target not running (EXITINFO2 ID 1): vector ${operand & 0xff} to APIC ID ${id} ` +
    `(the guest's vCPU ${id}), whose IsRunning bit is clear: the CPU set the vector in its backing page's IRR, ` +
    'the hypervisor wakes it (KVM avic_kick_target_vcpus)'
  );
}

/**
 * The cause of an EPT violation, EPT misconfiguration or nested page fault, whose qualification the
 * model leaves 0 (recorder.ts ExitWhy; an APIC-page access carries its offset and direction).
 */
function memoryExitCause(slot: Slot, why: number): string {
  switch ((why & WHY_KIND_MASK) as ExitWhy) {
    case ExitWhy.DEVICE_MMIO:
      return slot === Slot.EPT_MISCONFIG
        ? "device MMIO access: KVM's MMIO page-table entries are misconfigured on purpose, it emulates the device"
        : 'device MMIO access: the hypervisor emulates the device';
    case ExitWhy.APIC_PAGE: {
      const offset = apicWhyOffset(why);
      const at = `APIC page ${(why & WHY_WRITE) !== 0 ? 'write' : 'read'} at offset 0x${offset.toString(16)} (${apicRegister(offset, why)})`;
      return slot === Slot.VMEXIT_NPF
        ? `${at}, no AVIC: the hypervisor emulates the xAPIC`
        : `${at}, "virtualize APIC accesses" off: the hypervisor emulates the xAPIC`;
    }
    case ExitWhy.MEASURED:
      return MEASURED;
    default:
      return '';
  }
}

/** What an exit record was, in words, from its reason, qualification and cause word (SDM Tables 28-1 to 28-6; APM-15). */
export function exitCause(slot: Slot, qualification: number, bulk?: Bulk, why = 0): string {
  if (bulk === 'cr8_pairs') return 'IRQL raise/lower %cr8 pairs, fast-forwarded (exact)';
  if (bulk === 'host_interrupts') return 'host timer ticks, fast-forwarded (exact)';
  if (bulk === 'repeated') {
    const one = exitCause(slot, qualification, undefined, why);
    return `${one === '' ? '' : `${one}; `}identical exits of a repeated operation, fast-forwarded (exact)`;
  }
  const kind = (why & WHY_KIND_MASK) as ExitWhy;
  if (kind === ExitWhy.MEASURED)
    return slot === Slot.EPT_VIOLATION || slot === Slot.EPT_MISCONFIG || slot === Slot.VMEXIT_NPF
      ? MEASURED
      : "a workload profile's measured exit (its report does not say why)";
  if (kind === ExitWhy.MSR) return msrCause(why);
  if (kind === ExitWhy.APIC_REGISTER && (slot === Slot.MSR_WRITE || slot === Slot.VMEXIT_MSR))
    return x2apicWriteCause(why);
  if (kind === ExitWhy.PAUSE_LOOP)
    return slot === Slot.PAUSE
      ? 'PAUSE-loop exiting: a spin loop outlasted PLE_Window (SDM "Controls for PAUSE-Loop Exiting")'
      : 'PAUSE-loop exiting: a spin loop ran out the pause filter count (APM "Pause Intercept Filtering")';
  switch (slot) {
    case Slot.EPT_VIOLATION:
    case Slot.EPT_MISCONFIG:
    case Slot.VMEXIT_NPF:
      return memoryExitCause(slot, why);
    case Slot.CR_ACCESS:
      return ((qualification >>> 4) & 3) === 1
        ? `mov from cr${qualification & 0xf}`
        : `mov to cr${qualification & 0xf}`;
    case Slot.VMEXIT_CR8_READ:
      return 'mov from cr8';
    case Slot.VMEXIT_CR8_WRITE:
      return 'mov to cr8';
    case Slot.APIC_ACCESS: {
      const offset = qualification & 0xfff;
      return `APIC page ${((qualification >>> 12) & 0xf) === 1 ? 'write' : 'read'} at offset 0x${offset.toString(16)} (${apicRegister(offset, why)})`;
    }
    case Slot.APIC_WRITE: {
      const offset = qualification & 0xfff;
      return `APIC register write at offset 0x${offset.toString(16)} (${apicRegister(offset, why)})`;
    }
    case Slot.VMEXIT_AVIC_NOACCEL: {
      // The model's qualification is the offset; whether it was a write (EXITINFO1 bit 32) is in the cause word.
      const offset = qualification & 0xfff;
      const access =
        ((why & WHY_KIND_MASK) as ExitWhy) !== ExitWhy.APIC_REGISTER
          ? 'access'
          : (why & WHY_WRITE) !== 0
            ? 'write'
            : 'read';
      return `AVIC unaccelerated ${access} at offset 0x${offset.toString(16)} (${apicRegister(offset, why)})`;
    }
    case Slot.VMEXIT_AVIC_INCOMPLETE_IPI:
      return avicIncompleteIpiCause(why);
    case Slot.VIRTUALIZED_EOI:
      return `EOI of vector ${qualification}`;
    case Slot.IO_INSTRUCTION:
    case Slot.VMEXIT_IOIO: {
      const port = (qualification >>> 16) & 0xffff;
      const device = portDevice(port);
      return `port I/O 0x${port.toString(16)}${device === '' ? '' : `: ${device}`}`;
    }
    case Slot.CPUID:
    case Slot.VMEXIT_CPUID:
      return 'CPUID: exits unconditionally, the hypervisor emulates it';
    case Slot.TPR_BELOW_THRESHOLD:
      return 'TPR lowered below the TPR threshold';
    case Slot.INTERRUPT_WINDOW:
    case Slot.VMEXIT_VINTR:
      return 'interrupt window: a pending interrupt can be injected';
    case Slot.EXTERNAL_INTERRUPT:
    case Slot.VMEXIT_INTR:
    case Slot.VMX_PREEMPTION_TIMER:
      return hostInterruptCause(slot, why);
    case Slot.HLT:
    case Slot.VMEXIT_HLT:
      return 'guest HLT (idle)';
    default:
      return '';
  }
}
