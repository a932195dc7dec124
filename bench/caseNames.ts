/**
 * The engine bench's case ids and labels (bench/cases.ts holds their scenarios): no engine module is
 * imported here, so bench/run.ts reads its options before it picks the engine (bench/engineChoice.ts).
 */

/** The cases by id (--case), each with its label. */
export const CASES = {
  'install-12.1': 'Windows 10 install, bhyve-12.1',
  'install-v1': 'Windows 10 install, bhyve-tpr-v1',
  'idle-fleet': 'idle mixed fleet, 6 hosts x 7 vCPUs, 60 s, 2 policies',
  'busy-fleet': 'busy mixed fleet, 2 hosts x 7 vCPUs, 30 s, 2 policies',
  'big-host': 'one big host, 4 idle guests x 64 vCPUs, 60 s, kvm',
  'overcommit-host': "matrix.yaml's overcommitted host, 21 vCPUs on 4 cores, 60 s, bhyve-tpr-v1",
  'workload-host': 'imported sysbench profile, 4 guests x 2 vCPUs on 16 cores, kvm and bhyve-12.1',
} as const;
export type CaseId = keyof typeof CASES;

/** A case's label with `seconds` as its simulated duration (run --seconds): its own "N s" replaced, or added (the install's). */
export function labelWithSeconds(label: string, seconds: number): string {
  return /\b\d+ s\b/.test(label) ? label.replace(/\b\d+ s\b/, `${seconds} s`) : `${label}, ${seconds} s`;
}
