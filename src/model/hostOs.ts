/**
 * The host operating system under the hypervisor (scenario key host.os): it sets the host's clock tick
 * (data/cost-model.yaml hostTickHz, hostTickOnEveryCpu; model/data.ts hostTickRate), which the
 * scenario key host.tickHz may restate for a kernel built or booted with another rate.
 */
/** Host operating systems the model knows (scenario key host.os). */
export const HOST_OS_NAMES = ['freebsd', 'linux', 'illumos'] as const;
export type HostOs = (typeof HOST_OS_NAMES)[number];

/** The host OS a hypervisor runs on when the scenario states none: bhyve on FreeBSD, KVM on Linux. */
export const DEFAULT_HOST_OS: Readonly<Record<'bhyve' | 'kvm', HostOs>> = Object.freeze({
  bhyve: 'freebsd',
  kvm: 'linux',
});

/** The host OSes each hypervisor runs on: bhyve on FreeBSD and illumos (illumos bhyve), KVM on Linux. */
export const HOST_OS_OF: Readonly<Record<'bhyve' | 'kvm', readonly HostOs[]>> = Object.freeze({
  bhyve: ['freebsd', 'illumos'],
  kvm: ['linux'],
});

/**
 * The tick rates each host kernel can be given (scenario key host.tickHz). Linux builds one of the
 * Kconfig choices (kernel/Kconfig.hz: HZ_100, HZ_250, HZ_300, HZ_1000); illumos ticks at HZ_DEFAULT 100
 * or, with `set hires_tick = 1` in /etc/system, at 1000 (usr/src/uts/common/conf/param.c hires_hz).
 * FreeBSD takes any rate as the kern.hz loader tunable (sys/kern/subr_param.c); `undefined` means any
 * whole rate in [MIN_HOST_TICK_HZ, MAX_HOST_TICK_HZ].
 */
export const HOST_TICK_HZ_CHOICES: Readonly<Record<HostOs, readonly number[] | undefined>> = Object.freeze({
  freebsd: undefined,
  linux: Object.freeze([100, 250, 300, 1000]),
  illumos: Object.freeze([100, 1000]),
});

/**
 * Why `tickHz` is not a tick the `os` kernel under `policy` offers, or undefined: the one message for
 * the scenario key host.tickHz and for import / what-if's --host-tick-hz (`what` names which).
 */
export function hostTickProblem(what: string, tickHz: number, os: HostOs, policy: string): string | undefined {
  const choices = HOST_TICK_HZ_CHOICES[os];
  if (choices === undefined || choices.includes(tickHz)) return undefined;
  return `${what} ${tickHz} is not a tick rate the ${os} kernel offers (policy ${policy}); one of ${choices.join(', ')} Hz`;
}

/** Bounds of host.tickHz: 10 Hz (below any kernel's default) to 10 kHz (FreeBSD's kern.hz can go that high; more is not a tick). */
export const MIN_HOST_TICK_HZ = 10;
export const MAX_HOST_TICK_HZ = 10_000;
