/**
 * What the machine's two cores give together, measured beside the pool's rounds (bench/service.ts).
 *
 * On a VM the two cores need not be equal: on this project's machine the second ran the ceiling loop
 * 29 % slower than the first in one run and as fast in the next (the host's other thread on its
 * physical core busy or not: a C loop of eight independent xorshift chains ran 22 % slower on it, a
 * single dependent chain 1-2 % slower; docs/PERF.md, "1 vs 2 workers"). A 2-worker pool cannot beat
 * what its cores give, so the bench measures it in the same rounds: the ceiling loop on one thread,
 * then on two threads at once (each then has a core of its own), and the bound is the two threads'
 * rates added, over the one thread's. The pool's plan hands out tasks as workers free up
 * (src/pool/tasks.ts), so a faster core takes more of them: the sum, not twice the slower, is the bound.
 */
import { Worker } from 'node:worker_threads';

/** One probe: the ceiling loop's rate per CPU second on one thread alone, and on each of two at once. */
export interface CoreSample {
  readonly single: number;
  readonly pair: readonly [number, number];
}

interface Answer {
  cpu: number;
  wall: number;
}

export class CoreProbe {
  private readonly threads: Worker[];
  private turn = 0;

  private constructor(threads: Worker[]) {
    this.threads = threads;
  }

  /** Two probe threads, their loop warmed (TurboFan compiles it in the first runs). */
  static async start(): Promise<CoreProbe> {
    const url = new URL('./coreProbeWorker.js', import.meta.url);
    const probe = new CoreProbe([new Worker(url), new Worker(url)]);
    for (let i = 0; i < 3; i++) await Promise.all(probe.threads.map((t) => run(t, 20_000_000)));
    return probe;
  }

  /** `events` iterations on one thread (the two take turns), then on both at once: rates per CPU second. */
  async sample(events: number): Promise<CoreSample> {
    const alone = await run(this.threads[this.turn++ % 2], events);
    const [a, b] = await Promise.all(this.threads.map((t) => run(t, events)));
    return { single: events / alone.cpu, pair: [events / a.cpu, events / b.cpu] };
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

function run(thread: Worker, events: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    thread.once('error', onError);
    thread.once('message', (m: Answer) => {
      thread.off('error', onError);
      resolve(m);
    });
    thread.postMessage({ events });
  });
}

/** The speed-up two threads get over one on the sample's cores: their rates added, over the one thread's. */
export function pairBound(s: CoreSample): number {
  return (s.pair[0] + s.pair[1]) / s.single;
}

/** How much slower the slower of the two threads ran than the faster, as a fraction (0 when equal). */
export function pairSkew(s: CoreSample): number {
  return 1 - Math.min(s.pair[0], s.pair[1]) / Math.max(s.pair[0], s.pair[1]);
}
