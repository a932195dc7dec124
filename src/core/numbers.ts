/**
 * Numbers as the engine's hot paths need them: one neutral home for what the engine (src/core/engine)
 * and the vCPU machine (src/core/vcpu) both use, so neither imports the other for it.
 */

/**
 * The initial value of a number field that will hold doubles (absolute ns, sums past 2^31): 0 as V8
 * stores a double. A field first set to a small integer has V8's small-integer representation; its
 * first double (an absolute time after 2.1 simulated s, a sum past 2^31) changes the object's map,
 * and every optimized function that reads the object deoptimizes and runs unoptimized again for a
 * while, boxing every double it touches (the install under bhyve-tpr-v1: ~29 of its ~32 bytes per
 * engine event, its latency sum passing 2^31 ns in the measured seconds; the tenth session,
 * docs/perf/history.md#tenth-session-the-events-time-as-state-no-allocation-per-event-a-guard-test-16).
 * -0 is a double: it equals 0 in every comparison, and any sum with it is that of 0
 * (-0 + x === x for x !== 0, and -0 + 0 === 0).
 */
export const DOUBLE_ZERO = -0;
