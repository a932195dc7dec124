/**
 * The ceiling loop: the least work any simulated event can cost (one xoshiro128** draw and one
 * counter increment per "event", over a typed array). bench/run.ts divides the engine's events per
 * second by its rate measured in the same run; bench/service.ts runs it on one thread and then on two
 * at once to measure what the machine's two cores give together (bench/coreProbe.ts).
 */
import { RandomStreams } from '../src/core/engine/prng.js';

/** Runs `events` iterations of the ceiling loop; throws if the counts do not add up (the loop was not optimised away). */
export function ceilingLoop(events: number): void {
  const rng = new RandomStreams(1);
  rng.seed(0, 12345);
  const counts = new Uint32Array(16);
  for (let i = 0; i < events; i++) counts[rng.nextU32(0) & 15]++;
  if (counts.reduce((a, b) => a + b, 0) !== events) throw new Error('ceiling loop miscounted');
}
