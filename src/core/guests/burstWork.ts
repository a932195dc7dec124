/**
 * A busy burst as an amount of guest work (docs/MODEL.md section 3): its start. When it is due is the
 * event table's (src/core/engine/events.ts, Ev.BURST_END: the work at the vCPU's present rate,
 * HostState.progressRate). Apart from bursts.ts so that the timers (a dynticks wake-up starts a burst)
 * and the install chain can start one without importing the burst boundary's own imports.
 */
import { V8, Vf, type HostState } from '../engine/state.js';

/**
 * A busy burst of exponentially distributed guest work (mean `meanNs`) starts on vCPU `v`. It is an
 * amount of work, not of wall time: it progresses only while the vCPU runs guest code outside an ISR
 * or raised section (consumeWork), so the exits it takes stretch it in wall time, as they stretch a
 * chunk of installer work. Vf.BURST_END keeps the start time (a finite value: a burst is in progress).
 */
export function startBusyBurst(h: HostState, v: number, meanNs: number): void {
  h.v8[v * V8.STRIDE + V8.BUSY] = 1;
  h.vf[v * Vf.STRIDE + Vf.BURST_WORK] = Math.max(1, h.rng.exponentialNs(v, meanNs));
  h.vf[v * Vf.STRIDE + Vf.BURST_END] = h.now;
}
