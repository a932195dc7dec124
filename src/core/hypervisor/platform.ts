/**
 * The VM's platform: the chipset I/O ports and MMIO bases of devices the model's guests touch, each
 * written once. guests/clock.ts (Windows clock reads, the RTC's acknowledgement) and
 * guests/linuxClock.ts (a Linux clocksource's reads) use them; hypervisor/exitHandling.ts says who
 * emulates each (DEVICES). The model's KVM VMs are QEMU Q35 machines.
 */

/**
 * ACPI PM timer port, PM base + 8 (ACPI "Power Management Timer", PM_TMR_BLK): QEMU Q35 / ICH9 PM base
 * 0x600 (MicrosoftDocs/Virtualization-Documentation #1885 "0x608 addresses (acpi-tmr)").
 */
export const PM_TIMER_PORT_Q35 = 0x608;
/** ACPI PM timer port on QEMU i440fx: PIIX4 PM base 0xB000 + 8. */
export const PM_TIMER_PORT_I440FX = 0xb008;
/** ACPI PM timer port under bhyve: PM base 0x400 + 8 (freebsd-src usr.sbin/bhyve/pm.c). */
export const PM_TIMER_PORT_BHYVE = 0x408;
/** The PM timer port of a hypervisor's VMs: bhyve's, or Q35's under KVM. */
export const PM_TIMER_PORT: Readonly<Record<'bhyve' | 'kvm', number>> = {
  bhyve: PM_TIMER_PORT_BHYVE,
  kvm: PM_TIMER_PORT_Q35,
};

/** MC146818 CMOS RTC index port (selects the register the data port reads). */
export const RTC_INDEX_PORT = 0x70;
/** MC146818 CMOS RTC data port. */
export const RTC_DATA_PORT = 0x71;

/** HPET register block (IA-PC HPET specification; QEMU hw/timer/hpet.c, bhyve vhpet.c). */
export const HPET_BASE = 0xfed00000;
