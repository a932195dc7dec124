/**
 * The scenario's `host:` mapping: CPU profile, cores, number of identical hosts and the host OS
 * (which sets the host's clock tick; src/model/hostOs.ts). Values a matrix axis also sets are
 * refused here (one of the two would be silently ignored); which host OS may run which hypervisor
 * is checked per variant, once the policy is known (load.ts `variants`).
 */
import type { YAMLMap } from 'yaml';
import type { CpuProfile } from '../core/cpu/profile.js';
import { HOST_OS_NAMES, MAX_HOST_TICK_HZ, MIN_HOST_TICK_HZ, type HostOs } from '../model/hostOs.js';
import { optional, type Field, type Fields, type Reader } from '../input/reader.js';
import { MAX_HOST_COUNT } from './limits.js';
import { MAX_HOST_CORES, lookupCpu, setTwice, type MatrixAxis } from './matrix.js';

/** Keys of `host:` (the schema test compares them with scenarios/scenario.schema.json). */
export const HOST_KEYS = ['cpu', 'cores', 'count', 'os', 'tickHz'] as const;

/** What `host:` sets; a value left to the matrix (or absent) is undefined. */
export interface HostDraft {
  readonly baseCpu: CpuProfile | undefined;
  readonly baseCores: number | undefined;
  readonly hostCount: number;
  readonly hostOs: HostOs | undefined;
  readonly hostOsField: Field | undefined;
  /** The host kernel's tick rate as stated (Hz); undefined: the host OS's default. Checked against the OS per variant. */
  readonly hostTickHz: number | undefined;
  readonly hostTickHzField: Field | undefined;
}

/**
 * Reads `host:` from the scenario's fields `f` (root mapping `root`). `axes` is undefined when the
 * matrix itself was invalid: then no "missing cpu" error is added on top.
 */
export function parseHost(
  r: Reader,
  f: Fields,
  root: YAMLMap,
  axes: readonly MatrixAxis[] | undefined,
  catalog: () => readonly CpuProfile[],
): HostDraft {
  const inMatrix = (key: string): boolean => axes?.some((a) => a.key === key) ?? false;
  const hostField = f.get('host');
  const hostMap = hostField === undefined ? undefined : r.map(hostField, 'host');
  const hf = hostMap === undefined ? undefined : r.fields(hostMap, 'host', HOST_KEYS);
  let baseCpu: CpuProfile | undefined;
  const cpuField = hf?.get('cpu');
  if (cpuField !== undefined) {
    if (inMatrix('cpu')) setTwice(r, cpuField, 'host.cpu', 'matrix.cpu');
    else baseCpu = lookupCpu(r, cpuField, 'host.cpu', catalog());
  } else if (axes !== undefined && !inMatrix('cpu') && hostMap !== undefined && !hf!.mentions('cpu')) {
    r.error(
      hostMap,
      'missing required key "cpu" in host',
      'a CPU profile id such as "i7-2620M" (vmexit-lab list cpus), or matrix.cpu: [A, B] to compare CPUs',
    );
  } else if (axes !== undefined && !inMatrix('cpu') && !f.mentions('host')) {
    r.error(
      root,
      'missing required key "host" in the scenario',
      'host: { cpu: <profile id> }, or matrix.cpu: [A, B] to compare CPUs',
    );
  }
  const coresField = hf?.get('cores');
  let baseCores: number | undefined;
  if (coresField !== undefined) {
    if (inMatrix('cores')) setTwice(r, coresField, 'host.cores', 'matrix.cores');
    else baseCores = r.int(coresField, 'host.cores', 1, MAX_HOST_CORES);
  }
  const hostCount = optional(hf, 'count', (v) => r.int(v, 'host.count', 1, MAX_HOST_COUNT)) ?? 1;
  const hostOsField = hf?.get('os');
  const hostOs = hostOsField === undefined ? undefined : r.oneOf(hostOsField, 'host.os', HOST_OS_NAMES, 'host OS');
  const hostTickHzField = hf?.get('tickHz');
  const hostTickHz =
    hostTickHzField === undefined
      ? undefined
      : r.int(hostTickHzField, 'host.tickHz', MIN_HOST_TICK_HZ, MAX_HOST_TICK_HZ);
  return { baseCpu, baseCores, hostCount, hostOs, hostOsField, hostTickHz, hostTickHzField };
}
