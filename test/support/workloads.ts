/**
 * Workload-profile fixtures: a quiet guest's spec and a Windows-like profile's text.
 */
import { WorkloadOp, type WorkloadSpec } from '../../src/core/guests/workload.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';

/**
 * A workload-profile guest's spec with every rate zero (src/core/guests/workload.ts): for tests that
 * need a host with a workload guest in it (its arrays, its events) but not its traffic.
 */
export function quietWorkload(): WorkloadSpec {
  return {
    opsPerGuestSecond: new Float64Array(WorkloadOp.COUNT),
    interruptsPerSecond: 0,
    hltsPerGuestSecond: 0,
    ipisPerGuestSecond: 0,
    hostInterruptsPerSecond: 0,
    opaquePerGuestSecond: new Float64Array(EXIT_SLOT_COUNT),
  };
}

/**
 * The text of a Windows-like workload profile (src/scenario/workload.ts): a Windows 10 guest's %cr8
 * traffic (raise/lower pairs), some MMIO, port I/O, HLTs and IPIs, measured on an i7-2620M under
 * `policy` - bhyve-12.1, where every %cr8 write exits, or one that shadows the TPR (kvm). The one
 * profile the what-if tests (test/cli/whatIf*.test.ts, test/import/whatIf.test.ts) ask about.
 */
export function windowsLikeProfile(policy = 'bhyve-12.1'): string {
  return `workloadProfile: 1
name: win-like
os: windows-10-1909
vcpus: 2
perGuestSecond: { cr8Writes: 60000, mmio: 300, io: 100, hlts: 200, ipis: 30 }
interruptsPerSecond: 400
source: { cpu: i7-2620M, policy: ${policy} }
`;
}
