/**
 * The measured cost of a simulated guest (docs/SCALE.md, "Measurements"), which the resource
 * requests and limits of deploy/k8s are derived from. The tests check the manifests against these
 * figures; when the engine gets faster or slower, re-measure and change them and the doc together.
 */

/** Resident memory of `vmexit-lab run --workers 1` before any guest: Node, the CLI, one worker thread (docs/SCALE.md: 122-129 MiB peak for 100-400-guest shards, whose guest state is under 2 MiB; 116 MiB for one guest). */
export const BASELINE_RSS_MIB = 130;
/** Each further worker thread (`--workers N`). */
export const PER_WORKER_RSS_MIB = 40;
/** Simulation state per guest of the measured mix (1,818 bytes per vCPU x 1.75 vCPUs), rounded up. */
export const PER_GUEST_KIB = 4;
/** CPU per guest per simulated second, default mix (boot then idle), both policies, rounded up. */
export const CPU_MS_PER_GUEST_SECOND = 3;
/** Headroom of a memory limit over the estimate. */
export const MEMORY_HEADROOM = 1.5;

/** Memory (MiB) a shard pod of `guests` guests with `workers` worker threads needs, without headroom. */
export function shardMemoryMiB(guests: number, workers: number): number {
  return BASELINE_RSS_MIB + PER_WORKER_RSS_MIB * (workers - 1) + (guests * PER_GUEST_KIB) / 1024;
}

/** CPU seconds one shard needs: guests x simulated seconds x variants x cost. */
export function shardCpuSeconds(guests: number, simulatedSeconds: number, variants: number): number {
  return (guests * simulatedSeconds * variants * CPU_MS_PER_GUEST_SECOND) / 1000;
}

/** Kubernetes quantity -> MiB (memory) or cores (cpu). */
export function mebibytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`memory quantity "${q}" not understood`);
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  const bytes = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[unit]!;
  return (n * bytes) / 1024 ** 2;
}

export function cores(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(q);
  if (!m) throw new Error(`cpu quantity "${q}" not understood`);
  return m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
}
