/**
 * Pool worker (piscina loads the compiled dist/src/pool/worker.js). Runs one task: hosts
 * [hostStart, hostEnd) of one variant through runHosts, and while it runs posts the task's
 * latest absolute totals on the task's port (never deltas, so the main thread can keep only the
 * latest and never count anything twice). Cancellation is cooperative: the run's control word is
 * polled before each host's simulated second (runHosts' stopRequested: a stop lands within one
 * host's second, however many hosts the task has) and at the end of each second, and realtime pacing
 * sleeps on it with Atomics.wait so a cancel wakes the sleeper at once.
 */
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { loadModelData, type ModelData } from '../model/data.js';
import { runHosts, type Progress } from '../run/simulate.js';
import { runScriptedGuest } from '../run/scriptedGuest.js';
import { TotalsAccumulator } from '../run/totals.js';
import { durationLimitNs } from '../scenario/types.js';
import { osThreadId } from './threadClock.js';
import {
  claimEnd,
  Control,
  type HistoryPoint,
  type RunTask,
  type TaskUpdate,
  type TaskWork,
  type WorkerAnswer,
  type WorkerData,
  type WorkerRequest,
} from './protocol.js';

let data: ModelData | undefined;
const faultsAllowed = (workerData as WorkerData | undefined)?.allowFaults === true;

function modelData(): ModelData {
  data ??= loadModelData();
  return data;
}

function injectFault(kind: RunTask['fault']): void {
  if (!faultsAllowed || kind === undefined) return;
  if (kind === 'throw') throw new Error('injected fault: the task threw');
  if (kind === 'exit') process.exit(7); // in a worker thread this ends the thread only
  if (kind === 'hang') {
    const until = Date.now() + 30_000; // bounded: the pool's abort terminates the thread long before
    while (Date.now() < until) {
      /* ignore the stop flag on purpose */
    }
  }
}

const wallMs = (): number => performance.timeOrigin + performance.now();

/** The task's TaskWork: its wall span on this thread. */
function workSince(startMs: number): TaskWork {
  const tid = osThreadId();
  return { startMs, endMs: wallMs(), ...(tid === undefined ? {} : { osThreadId: tid }) };
}

export default function answer(msg: WorkerRequest): WorkerAnswer {
  if (msg.kind === 'ping') {
    modelData();
    return { kind: 'pong', threadId };
  }
  const startMs = wallMs();
  const { scenario, task, port } = msg;
  const control = new Int32Array(msg.control);
  const post = (u: TaskUpdate): void => port.postMessage(u);
  try {
    const variant = scenario.variants[task.variantIndex];
    const acc = new TotalsAccumulator(msg.perGuest);
    // Stopped before it started (cancelled while queued): nothing to simulate.
    if (Atomics.load(control, Control.STOP) !== 0)
      return {
        kind: 'done',
        totals: acc.toJSON(),
        stopped: true,
        progress: { simNs: 0, hostsDone: 0, hostsTotal: task.hostEnd - task.hostStart },
        threadId,
        work: workSince(startMs),
      };
    post({ kind: 'started', threadId });
    injectFault(msg.fault);
    let seq = 0;
    // At pace max the first live snapshot comes postIntervalMs after the task starts, not at its first
    // simulated second: a task that ends sooner sends its final totals only. Each snapshot costs the
    // worker ~1.4 ms (clone, running hosts added, toJSON, structured clone), and a max-pace run of
    // short tasks (4 per worker per variant) paid one per task (docs/PERF.md, "1 vs 2 workers").
    let lastPost = msg.pace === 'realtime' ? -Infinity : Date.now();
    let last: Progress = { simNs: 0, hostsDone: 0, hostsTotal: task.hostEnd - task.hostStart };
    let lagSeconds = 0;
    const step = msg.historyStepNs;
    const history: HistoryPoint[] | undefined = step === undefined ? undefined : [];
    const limit = durationLimitNs(scenario);
    const ok = runHosts(scenario, variant, modelData(), task.hostStart, task.hostEnd, acc, {
      // Once per host and simulated second, not per event: an Atomics.load of the shared word.
      stopRequested: () => Atomics.load(control, Control.STOP) !== 0,
      onEpoch: (progress, snapshot) => {
        last = progress;
        // Before the stop check, as runWithTimeline keeps the second at which a run is stopped.
        if (history !== undefined && step !== undefined && (progress.simNs % step === 0 || progress.simNs === limit)) {
          const s = snapshot();
          s.series = undefined; // the history needs the counters, not the per-bucket exits
          s.perGuest = undefined;
          history.push({
            simNs: progress.simNs,
            hostsRunning: progress.hostsTotal - progress.hostsDone,
            totals: s.toJSON(),
          });
        }
        if (Atomics.load(control, Control.STOP) !== 0) return true;
        if (msg.pace === 'realtime') {
          // The pace's lag: how far the simulation is behind the wall clock on reaching this second.
          lagSeconds = Math.max(0, (Date.now() - msg.runStartMs) / 1000 - progress.simNs / 1e9);
          // Sleep until wall time catches up with simulated time; a stop wakes us (Atomics.notify).
          for (let i = 0; i < 10_000; i++) {
            const wait = msg.runStartMs + progress.simNs / 1e6 - Date.now();
            if (wait <= 0) break;
            if (Atomics.wait(control, Control.STOP, 0, wait) === 'not-equal') return true;
          }
          if (Atomics.load(control, Control.STOP) !== 0) return true;
        }
        const now = Date.now();
        if (msg.pace === 'realtime' || now - lastPost >= msg.postIntervalMs) {
          lastPost = now;
          const s = snapshot();
          // Live snapshots feed the metrics: per-guest lists only when asked for, no time series.
          if (!msg.livePerGuest) s.perGuest = undefined;
          s.series = undefined;
          post({ kind: 'snapshot', seq: ++seq, progress, totals: s.toJSON(), lagSeconds });
        }
        return false;
      },
    });
    if (task.scripted) for (const g of variant.guests) if (g.kind === 'scripted') runScriptedGuest(variant, g, acc);
    // Run to the end: claimed unless a stop was accepted since the last read of the stop word (then
    // the run ends stopped, as its stop's answer said: protocol.ts acceptStop). Whole totals either way.
    const ended = ok && claimEnd(control);
    const totals = acc.toJSON();
    return {
      kind: 'done',
      totals,
      stopped: !ended,
      progress: ok ? { ...last, hostsDone: last.hostsTotal } : last,
      threadId,
      work: workSince(startMs),
      ...(history !== undefined ? { history } : {}),
    };
  } finally {
    port.close();
  }
}
