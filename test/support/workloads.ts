/**
 * A workload-profile guest's spec with every rate zero (src/core/guests/workload.ts): for tests that
 * need a host with a workload guest in it (its arrays, its events) but not its traffic.
 */
import { WorkloadOp, type WorkloadSpec } from '../../src/core/guests/workload.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';

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
