/**
 * How much of a host's fixed work is done, for the until-complete progress line (src/cli/progress.ts):
 * read from the engine's own counters of the work-bound phases (src/core/guests/phases.ts), never
 * written, so no result changes. Guest CPU, which the line used before, counts every phase's CPU (a
 * boot phase's, the install's other threads') as work: README's scenario showed "work 99%" at 98 s
 * of a variant that ended at 196 s.
 */
import { Gf, Gi, V8, Vf } from '../core/engine/state.js';
import type { HostSimulation } from '../core/engine/host.js';

/**
 * The share (0..1) of `sim`'s work-bound phases done: per guest, its work phases done plus the share of
 * the one it runs, over its work phases; the mean over the guests that have any. The share of a phase:
 * install and disk-benchmark steps done over all (each step a CPU chunk and an I/O the worker waits
 * for), build CPU done over its work. A stopped guest is done (HostSimulation.workDone skips it).
 */
export function hostWorkShare(sim: HostSimulation): number {
  let sum = 0;
  let guests = 0;
  for (let gi = 0; gi < sim.guests.length; gi++) {
    const guest = sim.guests[gi];
    const phases = guest.phases;
    let total = 0;
    for (const p of phases) if (p.work !== undefined) total++;
    if (total === 0) continue;
    guests++;
    if (sim.stoppedAtNs[gi] >= 0) {
      sum += 1;
      continue;
    }
    const idx = sim.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
    let done = 0;
    for (let p = 0; p < Math.min(idx, phases.length); p++) if (phases[p].work !== undefined) done++;
    const plan = idx < phases.length ? phases[idx] : undefined;
    if (plan?.work !== undefined && plan.work > 0) done += phaseShare(sim, gi, plan.phase, plan.work);
    sum += done / total;
  }
  return guests === 0 ? 1 : sum / guests;
}

/** The share done of guest `gi`'s current work-bound phase (0..1). */
function phaseShare(sim: HostSimulation, gi: number, phase: string, work: number): number {
  const g = gi * Gf.STRIDE;
  const guest = sim.guests[gi];
  let share = 0;
  if (phase === 'install' || phase === 'disk-benchmark') {
    const steps =
      phase === 'install' ? guest.model.install.steps : Math.ceil(work / guest.model.diskBenchmark.requestBytes);
    share = steps > 0 ? (steps - sim.gf[g + Gf.STEPS_LEFT]) / steps : 0;
  } else if (phase === 'build') {
    const first = sim.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    const each = Math.round(work / guest.vcpus);
    let left = 0;
    for (let l = 0; l < guest.vcpus; l++) {
      const v = first + l;
      if (sim.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] === 1) left += Math.max(0, sim.vf[v * Vf.STRIDE + Vf.WORK_LEFT]);
    }
    share = each > 0 ? 1 - left / (each * guest.vcpus) : 0;
  }
  return Math.min(1, Math.max(0, share));
}
