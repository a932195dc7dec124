/**
 * A core probe's thread (bench/coreProbe.ts): on each message `{ events }` it runs the ceiling loop
 * and answers with the loop's own CPU seconds (its thread's clock; the wall clock where the OS has no
 * thread clocks) and wall seconds.
 */
import { parentPort } from 'node:worker_threads';
import { threadClock } from '../src/pool/threadClock.js';
import { ceilingLoop } from './ceiling.js';

parentPort?.on('message', ({ events }: { events: number }) => {
  const c0 = threadClock(true);
  const t0 = performance.now();
  ceilingLoop(events);
  const wall = (performance.now() - t0) / 1000;
  const c1 = threadClock(true);
  parentPort?.postMessage({ cpu: c0 && c1 ? (c1.cpuNs - c0.cpuNs) / 1e9 : wall, wall });
});
