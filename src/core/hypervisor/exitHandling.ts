import { EXIT_KINDS } from '../vcpu/exits.js';
import {
  HPET_BASE,
  PM_TIMER_PORT_BHYVE,
  PM_TIMER_PORT_I440FX,
  PM_TIMER_PORT_Q35,
  RTC_DATA_PORT,
  RTC_INDEX_PORT,
} from './platform.js';

/**
 * Where the hypervisor handles an exit: in the kernel (KVM, bhyve's vmm.ko), or in its user-space
 * process (QEMU, bhyve(8)) - a return from the run ioctl, the device model, and the next ioctl into
 * the kernel, which is what the field part of an exit's cost is made of (docs/research
 * validation-notes.md section 1; the cost model reads this table). Not a hot path: read once per
 * run. docs/MODEL.md section 2 has the table.
 */

export type Handler = 'kernel' | 'user' | 'device';

/**
 * By exit kind (name of vcpu/exits.ts) and hypervisor: 'device' when it depends on the device
 * behind the port or address (DEVICES below). Kinds not listed are handled in the kernel.
 * Sources: KVM arch/x86/kvm/vmx/vmx.c kvm_vmx_exit_handlers, svm.c svm_exit_handlers (every
 * handler in the kernel; KVM_EXIT_IO / KVM_EXIT_MMIO to QEMU only for devices it does not emulate
 * itself: x86.c kernel_pio, vcpu_mmio_write / kvm_io_bus); bhyve sys/amd64/vmm/intel/vmx.c
 * vmx_exit_process and sys/amd64/vmm/vmm.c vm_run (VM_EXITCODE_INOUT and VM_EXITCODE_INST_EMUL
 * return to bhyve(8) unless vm_handle_inout / vm_handle_inst_emul find an in-kernel device;
 * MSRs vmm handles itself in vmx_rdmsr/vmx_wrmsr, others go to bhyve(8) emulate_rdmsr/wrmsr).
 */
export const EXIT_HANDLER: Readonly<Record<'bhyve' | 'kvm', Readonly<Record<string, Handler>>>> = {
  kvm: {
    IO_INSTRUCTION: 'device',
    EPT_MISCONFIG: 'device',
    EPT_VIOLATION: 'kernel', // page faults on guest memory (and the first access to an MMIO SPTE)
    VMEXIT_IOIO: 'device',
    VMEXIT_NPF: 'device',
  },
  bhyve: {
    IO_INSTRUCTION: 'device',
    EPT_VIOLATION: 'device',
    VMEXIT_IOIO: 'device',
    VMEXIT_NPF: 'device',
    // vmx_rdmsr / vmx_wrmsr handle the MSRs vmm knows (APIC, TSC deadline, PAT, ...); unknown ones
    // (e.g. Hyper-V's synthetic MSRs) exit to bhyve(8) - modelled per MSR by the Machine, not here.
    MSR_READ: 'kernel',
    MSR_WRITE: 'kernel',
  },
};

/** A device whose port or MMIO exits the model's guests cause, and who emulates it. */
export interface DeviceHandling {
  readonly device: string;
  readonly what: string;
  /** I/O ports (IO_INSTRUCTION), or a guest-physical base for MMIO. */
  readonly ports?: readonly number[];
  readonly mmioBase?: number;
  readonly kvm: Handler;
  readonly bhyve: Handler;
  readonly source: string;
}

/**
 * Devices behind the 'device' exits (KVM with QEMU's default in-kernel irqchip, kernel-irqchip=on;
 * bhyve's in-kernel devices in sys/amd64/vmm/io/).
 */
export const DEVICES: readonly DeviceHandling[] = [
  {
    device: 'acpi-pm-timer',
    what: 'ACPI PM timer read: port 0x608 (Q35/ICH9, PM base 0x600), 0xB008 (i440fx/PIIX4, PM base 0xB000), 0x408 (bhyve)',
    ports: [PM_TIMER_PORT_Q35, PM_TIMER_PORT_I440FX, PM_TIMER_PORT_BHYVE],
    kvm: 'user',
    bhyve: 'kernel',
    source:
      'QEMU hw/acpi/core.c acpi_pm_tmr_read (user space; kvm-unit-tests inl_from_pmtimer 6457 cycles, docs/SOURCES.md 1.2); bhyve sys/amd64/vmm/io/vpmtmr.c vpmtmr_handler',
  },
  {
    device: 'hpet',
    what: 'HPET main counter read, MMIO at 0xFED00000',
    mmioBase: HPET_BASE,
    kvm: 'user',
    bhyve: 'kernel',
    source:
      'QEMU hw/timer/hpet.c hpet_ram_read (KVM has no in-kernel HPET); bhyve sys/amd64/vmm/io/vhpet.c vhpet_mmio_read',
  },
  {
    device: 'i8254-pit',
    what: 'PIT ports 0x40-0x43',
    ports: [0x40, 0x41, 0x42, 0x43],
    kvm: 'kernel',
    bhyve: 'kernel',
    source: 'KVM arch/x86/kvm/i8254.c (KVM_CREATE_PIT2, QEMU kernel-irqchip=on); bhyve sys/amd64/vmm/io/vatpit.c',
  },
  {
    device: 'i8259-pic',
    what: 'PIC ports 0x20/0x21, 0xA0/0xA1',
    ports: [0x20, 0x21, 0xa0, 0xa1],
    kvm: 'kernel',
    bhyve: 'kernel',
    source: 'KVM arch/x86/kvm/i8259.c; bhyve sys/amd64/vmm/io/vatpic.c',
  },
  {
    device: 'rtc',
    what: 'CMOS RTC ports 0x70/0x71',
    ports: [RTC_INDEX_PORT, RTC_DATA_PORT],
    kvm: 'user',
    bhyve: 'kernel',
    source: 'QEMU hw/rtc/mc146818rtc.c; bhyve sys/amd64/vmm/io/vrtc.c',
  },
  {
    device: 'ioapic',
    what: 'I/O APIC MMIO at 0xFEC00000',
    mmioBase: 0xfec00000,
    kvm: 'kernel',
    bhyve: 'kernel',
    source: 'KVM arch/x86/kvm/ioapic.c (kernel-irqchip=on); bhyve sys/amd64/vmm/io/vioapic.c',
  },
  {
    device: 'lapic',
    what: 'xAPIC page at 0xFEE00000 when not virtualized (APIC-access page off)',
    mmioBase: 0xfee00000,
    kvm: 'kernel',
    bhyve: 'kernel',
    source: 'KVM arch/x86/kvm/lapic.c apic_mmio_write; bhyve sys/amd64/vmm/io/vlapic.c via vm_handle_inst_emul',
  },
  {
    device: 'emulated-device',
    what: 'other device registers: AHCI/virtio doorbells, serial port, VGA (virtio notifications with ioeventfd are signalled in the kernel, but the device model runs in QEMU)',
    kvm: 'user',
    bhyve: 'user',
    source:
      'QEMU hw/ (KVM_EXIT_IO / KVM_EXIT_MMIO); bhyve usr.sbin/bhyve/pci_*.c (VM_EXITCODE_INOUT / VM_EXITCODE_INST_EMUL)',
  },
];

/** Where `hypervisor` handles an exit of kind `exitName`; for 'device' exits, with `device` (DEVICES) when known. */
export function exitHandledIn(hypervisor: 'bhyve' | 'kvm', exitName: string, device?: string): Handler {
  const h = EXIT_HANDLER[hypervisor][exitName] ?? 'kernel';
  if (h !== 'device' || device === undefined) return h;
  const d = DEVICES.find((x) => x.device === device);
  if (d === undefined) throw new Error(`unknown device ${device}`);
  return d[hypervisor];
}

/** The device an I/O port belongs to in DEVICES ('emulated-device' when none is listed). */
export function deviceOfPort(port: number): string {
  return DEVICES.find((d) => d.ports?.includes(port))?.device ?? 'emulated-device';
}

/** Every exit kind's handler per hypervisor, for the cost model and docs (slot order). */
export function exitHandlerTable(): readonly { name: string; bhyve: Handler; kvm: Handler }[] {
  return EXIT_KINDS.map((k) => ({
    name: k.name,
    bhyve: exitHandledIn('bhyve', k.name),
    kvm: exitHandledIn('kvm', k.name),
  }));
}
