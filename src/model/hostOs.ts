/**
 * The host operating system under the hypervisor (scenario key host.os): it sets the host's clock tick
 * (data/cost-model.yaml hostTickHz, hostTickOnEveryCpu; model/data.ts hostTickRate).
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
