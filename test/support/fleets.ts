/**
 * Small fleets the run, pool, metrics and service tests share, as scenario YAML (src/scenario): each
 * host alike, written once here with what differs between tests as parameters.
 */

/** An idle FreeBSD fleet: `hosts` i7-6700K hosts, each one idle 1-vCPU FreeBSD 12.1 guest. */
export interface IdleFreebsdFleet {
  readonly name: string;
  /** Left out (the scenario's default seed) when not given. */
  readonly seed?: number;
  readonly cores: number;
  readonly hosts: number;
  /** One policy (`hypervisor.policy`), or several: a matrix of one variant each. */
  readonly policies: readonly string[];
  readonly seconds: number;
  /** `pace: realtime` (one simulated second per wall second) when true. */
  readonly realtime?: boolean;
}

/** The YAML of an idle FreeBSD fleet: cheap hosts for tests of stopping, queueing and live figures. */
export function idleFreebsdFleet(f: IdleFreebsdFleet): string {
  return `name: ${f.name}
${f.seed === undefined ? '' : `seed: ${f.seed}\n`}host: { cpu: i7-6700K, cores: ${f.cores}, count: ${f.hosts} }
guests:
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: ${f.seconds}s
${policiesYaml(f.policies)}${f.realtime === true ? 'pace: realtime\n' : ''}`;
}

/**
 * A desktop fleet: `hosts` i7-6700K hosts, each a 2-vCPU Windows 10 1909 guest that boots for
 * `windowsBoot` then idles (its %cr8 traffic exits under bhyve 12.1), a 2-vCPU x2APIC Ubuntu 18.04
 * guest (booting for `ubuntuBoot` first when given) and, with `freebsd`, an idle FreeBSD 12.1 guest.
 */
export interface DesktopFleet {
  readonly name: string;
  readonly seed: number;
  readonly cores: number;
  readonly hosts: number;
  /** Duration of the Windows guest's boot phase, e.g. `1s`. */
  readonly windowsBoot: string;
  /** Duration of the Ubuntu guest's boot phase; idle from the start when not given. */
  readonly ubuntuBoot?: string;
  readonly freebsd: boolean;
  /** The scenario's duration, e.g. `3s`. */
  readonly duration: string;
  /** A matrix of one variant each. */
  readonly policies: readonly string[];
}

/** The YAML of a desktop fleet (guests in the order above: a host's guest indices follow it). */
export function desktopFleet(f: DesktopFleet): string {
  const boot = (d: string | undefined): string => (d === undefined ? '' : `{ phase: boot, duration: ${d} }, `);
  return `name: ${f.name}
seed: ${f.seed}
host: { cpu: i7-6700K, cores: ${f.cores}, count: ${f.hosts} }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [${boot(f.windowsBoot)}{ phase: idle }]
  - os: ubuntu-18.04
    vcpus: 2
    x2apic: true
    phases: [${boot(f.ubuntuBoot)}{ phase: idle }]
${f.freebsd ? '  - os: freebsd-12.1\n    phases: [{ phase: idle }]\n' : ''}duration: ${f.duration}
${policiesYaml(f.policies)}`;
}

function policiesYaml(policies: readonly string[]): string {
  return policies.length === 1
    ? `hypervisor: { policy: ${policies[0]} }\n`
    : `matrix:\n  policy: [${policies.join(', ')}]\n`;
}
