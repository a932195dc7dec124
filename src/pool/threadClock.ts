import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Threads' own clocks, where the OS gives them (Linux: /proc/self/task/<id>/schedstat): the CPU
 * time a thread ran and the time it was runnable but waited for a core (another thread or process
 * had it). `bench/service.ts` reads every thread of the process before and after a pooled run, so
 * that on a machine shared with others each worker's wall time tells apart into CPU, waiting for a
 * core, and asleep (no task to run), and the main thread's and V8's helper threads' CPU show on
 * their own. Node 20 has no per-thread CPU clock (process.cpuUsage is the whole process's;
 * process.threadCpuUsage came in Node 23).
 *
 * The kernel brings a running thread's figures up to date only at a scheduler tick (~4 ms) or when
 * it leaves its core: a thread asleep (a pool worker between tasks) reads exact, and so does the
 * calling thread with `fresh` (it sleeps 1 us first, ~0.1 ms of wall time); a thread running on
 * another core may read up to a tick old.
 */
export interface ThreadClock {
  /** CPU time the thread has run, ns (since the thread started). */
  readonly cpuNs: number;
  /** Time the thread was runnable but waited on a run queue, ns (since the thread started). */
  readonly waitNs: number;
}

const nap = new Int32Array(new SharedArrayBuffer(4));

function readSchedstat(path: string): ThreadClock | undefined {
  try {
    const [cpu, wait] = readFileSync(path, 'latin1').split(' ');
    const cpuNs = Number(cpu);
    const waitNs = Number(wait);
    return Number.isFinite(cpuNs) && Number.isFinite(waitNs) ? { cpuNs, waitNs } : undefined;
  } catch {
    return undefined; // no procfs, no schedstat (CONFIG_SCHED_INFO off), or the thread has ended
  }
}

/**
 * The calling thread's clocks, or undefined where the OS does not give them. `fresh`: leave the
 * core for 1 us first, so that the figures are exact, not up to a tick old.
 */
export function threadClock(fresh = false): ThreadClock | undefined {
  if (process.platform !== 'linux') return undefined;
  if (fresh) Atomics.wait(nap, 0, 0, 0.001);
  return readSchedstat('/proc/thread-self/schedstat');
}

/** Every thread of the process by its OS thread id, with its clocks (empty where the OS does not give them). */
export function processThreadClocks(): Map<number, ThreadClock> {
  const out = new Map<number, ThreadClock>();
  if (process.platform !== 'linux') return out;
  let ids: string[];
  try {
    ids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const id of ids) {
    const c = readSchedstat(`/proc/self/task/${id}/schedstat`);
    if (c !== undefined) out.set(Number(id), c);
  }
  return out;
}

let tid: number | undefined | null = null;

/** The calling thread's OS thread id (Linux: its id under /proc/self/task), or undefined. */
export function osThreadId(): number | undefined {
  if (tid !== null) return tid;
  tid = undefined;
  if (process.platform === 'linux')
    try {
      const n = Number(readlinkSync('/proc/thread-self').split('/').pop());
      if (Number.isInteger(n) && n > 0) tid = n;
    } catch {
      /* no procfs */
    }
  return tid;
}
