/**
 * The progress line (src/cli/progress.ts): cut to the terminal's width, percentage and ETA from
 * work done for until-complete scenarios (not from maxDuration), the real simulated end of every
 * variant at the end, and a closing verdict line; plain lines when not interactive.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { startPooledRun, type PooledRun } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';
import { simSeconds, ProgressReporter, verdictLine, type ProgressStream } from '../../src/cli/progress.js';
import { variantFraction, viewOfPooledRun } from '../../src/cli/progressView.js';
import { displayWidth, fitToWidth } from '../../src/cli/terminalWidth.js';
import type { CliIo } from '../../src/cli/io.js';
import type { RunResults } from '../../src/results/types.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { formatFigure } from '../../src/results/figures.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { GuestCounter } from '../../src/core/engine/host.js';

function io(interactive: boolean): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    out: () => undefined,
    err: (s) => lines.push(s),
    interactive,
    env: interactive ? {} : { CI: 'true' },
    cwd: REPO_ROOT,
  };
}

const ERASE_TO_END = new RegExp(`${String.fromCharCode(27)}\\[K$`);

function tty(columns: number): ProgressStream & { writes: string[] } {
  const writes: string[] = [];
  return { columns, writes, write: (s: string) => writes.push(s) };
}

/** A build of 4 s of CPU on 2 hosts, capped at 2 h: completes after a few simulated seconds. */
const UNTIL = parseScenario(
  `name: progress-until-complete-with-a-rather-long-name-that-does-not-fit-in-forty-columns
seed: 2
host: { cpu: i7-6700K, cores: 4, count: 2 }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: boot, duration: 1s }, { phase: build, work: 4s }] }
duration: until-complete
maxDuration: 2h
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
thresholds:
  phase_seconds{phase="build"}: ["< 100"]
  exits_total: ["< 1"]
`,
  'until.yaml',
);

const pool = new SimPool({ workers: 1, idleTimeoutMs: 5_000 });
after(() => pool.close());

test('the interactive line is cut to the terminal width, wide characters counted twice', () => {
  assert.equal(displayWidth('ab漢字'), 6);
  assert.equal(fitToWidth('abcdef', 6), 'abcdef');
  assert.equal(fitToWidth('abcdefg', 6), 'abcde…');
  assert.equal(displayWidth(fitToWidth('漢字漢字漢字', 6)), 5);
  for (const columns of [20, 40, 80]) {
    const stream = tty(columns);
    const r = new ProgressReporter(io(true), UNTIL, { stream });
    const limit = 7200e9;
    for (let s = 0; s <= 10; s++)
      r.update({
        variant: 'bhyve-12.1 漢字 variant',
        variantIndex: 0,
        variants: 2,
        simNs: s * 1e9,
        limitNs: limit,
        hostsDone: 0,
        hostsTotal: 2,
      });
    r.done();
    assert.ok(stream.writes.length >= 11);
    for (const w of stream.writes) {
      assert.ok(w.startsWith('\r') && !w.includes('\n'), JSON.stringify(w));
      const visible = w.replace(/^\r/, '').replace(ERASE_TO_END, '');
      assert.ok(displayWidth(visible) <= columns - 1, `${columns} columns: ${displayWidth(visible)}: ${visible}`);
    }
    assert.equal(stream.writes[stream.writes.length - 1], '\r\x1b[K', 'the bar is cleared at the end');
  }
});

test('a long scenario name gives way first: the variant and its progress stay on the line', () => {
  for (const columns of [100, 120]) {
    const stream = tty(columns);
    const r = new ProgressReporter(io(true), UNTIL, { stream });
    for (let s = 0; s <= 3; s++)
      r.update({
        variant: 'bhyve-12.1',
        variantIndex: 0,
        variants: 2,
        simNs: s * 1e9,
        limitNs: 7200e9,
        hostsDone: 0,
        hostsTotal: 2,
      });
    const drawn = stream.writes.filter((w) => w !== '\r\x1b[K');
    assert.ok(drawn.length >= 4);
    for (const w of drawn) {
      const visible = w.replace(/^\r/, '').replace(ERASE_TO_END, '');
      assert.ok(displayWidth(visible) <= columns - 1, visible);
      assert.match(visible, /^\[\.+\] +\d+% progres\S* \[1\/2\] bhyve-12\.1: sim \ds/, visible);
    }
  }
});

function totalsOf(guestCpuNs: number, simNs: number): TotalsAccumulator {
  const t = new TotalsAccumulator();
  t.addGuestCounter(GuestCounter.GUEST_CPU_NS, guestCpuNs);
  t.maxSimNs = simNs;
  return t;
}

test('until-complete: percentage and ETA from the work done, not from maxDuration', () => {
  let clock = 0;
  const r = new ProgressReporter(io(false), UNTIL, { now: () => clock, intervalMs: 0 });
  // Half of each variant's build CPU done at 5 s of a 2 h cap: 50 %, not 0.07 %.
  const fake = (guestCpuNs: number, simNs: number): PooledRun =>
    ({
      scenario: UNTIL,
      tasks: UNTIL.variants.map((_, vi) => ({
        task: { index: vi, variantIndex: vi, hostStart: 0, hostEnd: 2, scripted: false },
        status: 'running',
        progress: { simNs, hostsDone: 0, hostsTotal: 2 },
        totals: totalsOf(guestCpuNs, simNs),
      })),
    }) as unknown as PooledRun;
  const work = 4e9 * 2; // one guest per host, 2 hosts
  const view = viewOfPooledRun(fake(work / 2, 5e9));
  assert.equal(variantFraction(UNTIL, 0, view.variants[0]), 0.5);
  clock = 10_000;
  r.updatePooled(fake(work / 2, 5e9));
  const line = (r as unknown as { io: { lines: string[] } }).io.lines.at(-1)!;
  assert.match(line, /^ 50% /, line);
  assert.match(line, /sim 5s \(until complete, work 50%\)/, line);
  assert.match(line, /ETA 10s$/, line);
  // More CPU than the work (other activity) stays below 100 % until the variant is done.
  assert.equal(variantFraction(UNTIL, 0, viewOfPooledRun(fake(work * 3, 9e9)).variants[0]), 0.99);
  // A fixed duration is simulated time over the duration.
  const fixed = { ...UNTIL, duration: { kind: 'fixed' as const, ns: 20e9 } };
  assert.equal(variantFraction(fixed, 0, viewOfPooledRun(fake(0, 5e9)).variants[0]), 0.25);
});

test('a real until-complete run: percentages grow from work done to 100 %, ETAs stay near the run', async () => {
  let clock = 0;
  const plain = io(false);
  const reporter = new ProgressReporter(plain, UNTIL, { now: () => clock, intervalMs: 0 });
  const seen: { fraction: number; sim: number; eta?: number }[] = [];
  const t0 = performance.now();
  const run = startPooledRun(UNTIL, {
    pool,
    pace: 'max',
    postIntervalMs: 0,
    onUpdate: (r) => {
      clock = performance.now() - t0;
      const view = viewOfPooledRun(r);
      seen.push({ fraction: reporter.fraction(view), sim: Math.max(...view.variants.map((v) => v.simNs)) });
      reporter.updatePooled(r);
    },
  });
  const out = await run.done;
  const results = out.results;
  const end = Math.max(...results.variants.map((v) => v.totals.simulatedSeconds)) * 1e9;
  assert.ok(end < 60e9, `the run ends long before its 2 h cap (${end / 1e9} s)`);
  assert.ok(seen.length > 3, `${seen.length} updates`);
  for (let i = 1; i < seen.length; i++)
    assert.ok(seen[i].fraction >= seen[i - 1].fraction - 1e-9, `progress does not go back: ${JSON.stringify(seen)}`);
  assert.equal(seen[seen.length - 1].fraction, 1);
  // Past half of the simulated run, the line shows far more than maxDuration's 0.1 %.
  const mid = seen.find((s) => s.sim >= end / 2 && s.fraction < 1);
  if (mid) assert.ok(mid.fraction >= 0.2, `at ${mid.sim / 1e9} s of ${end / 1e9} s: ${mid.fraction}`);
  const etas = plain.lines.map((l) => /ETA (\d+)s/.exec(l)).filter((m) => m !== null);
  const wall = (performance.now() - t0) / 1000;
  for (const m of etas) assert.ok(Number(m[1]) <= 20 * wall + 5, `ETA ${m[1]} s for a ${wall.toFixed(1)} s run`);

  reporter.done(results);
  const [closing, verdict] = plain.lines.slice(-2);
  // The real simulated end of every variant (not the 7200 s cap).
  for (const v of results.variants) assert.ok(closing.includes(`${v.name} ${v.totals.simulatedSeconds}s`), closing);
  assert.doesNotMatch(closing, /7200/);
  assert.equal(verdict, `${UNTIL.name}: 2 of 4 thresholds failed`);
  // Plain mode: no carriage returns or escape sequences.
  for (const l of plain.lines) assert.ok(!l.includes('\r') && !l.includes('\u001b'), JSON.stringify(l));
});

test('the sequential path (runScenario) ends each variant at its own simulated end', () => {
  const plain = io(false);
  const reporter = new ProgressReporter(plain, UNTIL, { intervalMs: 0 });
  const results = runScenario(UNTIL, { onProgress: (p) => reporter.update(p) }).results;
  const lastOfFirst = plain.lines.filter((l) => l.includes('[1/2]')).at(-1)!;
  assert.match(lastOfFirst, new RegExp(`sim ${results.variants[0].totals.simulatedSeconds}s`), lastOfFirst);
  assert.match(plain.lines.at(-1)!, new RegExp(`sim ${results.variants[1].totals.simulatedSeconds}s`));
  assert.doesNotMatch(plain.lines.join('\n'), /sim 7200s/);
});

test('verdict lines', () => {
  const r = (passed: boolean[], cross: boolean[] = [], violations: boolean[] = []): RunResults =>
    ({
      scenario: 's',
      variants: [
        {
          thresholds: passed.map((p) => ({ passed: p })),
          totals: { violations: violations.map((expected) => ({ expected })), entryFailures: [] },
        },
      ],
      crossVariantThresholds: cross.map((p) => ({ passed: p })),
    }) as unknown as RunResults;
  assert.equal(verdictLine(r([true, true, true, true], [true])), 's: all 5 thresholds passed');
  assert.equal(verdictLine(r([false, true], [false])), 's: 2 of 3 thresholds failed');
  assert.equal(verdictLine(r([true])), 's: the threshold passed');
  assert.equal(verdictLine(r([])), 's: no thresholds');
  assert.equal(
    verdictLine(r([true, true], [], [false, true, true])),
    's: all 2 thresholds passed; 1 unexpected invariant violation; 2 expected violations',
  );
  // A run cut short (Ctrl-C, a stop) has no verdict: its thresholds hold for the part that ran.
  assert.equal(
    verdictLine({ ...r([false, true], [false]), partial: true }),
    's: partial results, no verdict (2 of 3 thresholds failed on the part that ran)',
  );
});

test('a run stopped early (Ctrl-C, a time limit): its stopped hosts are not counted done, the line and the closing line say stopped', async () => {
  const long = parseScenario(
    `name: progress-stopped
seed: 3
host: { cpu: i7-6700K, cores: 4, count: 3 }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, duration: 600s }] }
duration: 600s
matrix:
  policy: [bhyve-12.1, kvm]
`,
    'stopped.yaml',
  );
  const plain = io(false);
  const reporter = new ProgressReporter(plain, long, { intervalMs: 0 });
  const run = startPooledRun(long, {
    pool,
    pace: 'max',
    postIntervalMs: 0,
    onUpdate: (r) => {
      reporter.updatePooled(r);
      if (r.tasks.some((t) => t.progress.simNs >= 2e9)) r.stop('cancelled', 'interrupted (Ctrl-C, SIGINT)');
    },
  });
  const out = await run.done;
  assert.equal(out.results.partial, true);
  const view = viewOfPooledRun(run);
  for (const v of view.variants) {
    assert.equal(v.done, false, v.name);
    assert.equal(v.stopped, true, v.name);
    assert.ok(v.hostsDone < v.hostsTotal, `${v.name}: ${v.hostsDone}/${v.hostsTotal} hosts done after the stop`);
    assert.ok(v.simNs < 600e9, `${v.name}: stopped at ${v.simNs / 1e9} s`);
  }
  assert.ok(reporter.fraction(view) < 1, `${reporter.fraction(view)}`);
  const line = reporter.line(view);
  assert.match(line, /, stopped, 1 other variant stopped,/, line);
  assert.doesNotMatch(line, /3\/3 hosts done/, line);
  reporter.done(out.results);
  // The run's wall time as the summary prints it (src/report/summary.ts), not the reporter's own clock.
  assert.ok(
    plain.lines
      .at(-2)!
      .startsWith(`progress-stopped: stopped after ${formatFigure(out.results.wallSeconds)} s; simulated: `),
    plain.lines.at(-2),
  );
});

test('simulated time below 10 s shows tenths, so a short run does not read "sim 0s" while it runs', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [0.05e9, '0s'],
    [0.3e9, '0.3s'],
    [0.99e9, '0.9s'],
    [1e9, '1s'],
    [2.5e9, '2.5s'],
    [9.96e9, '9.9s'],
    [10e9, '10s'],
    [123.4e9, '123s'],
  ];
  for (const [ns, shown] of table) assert.equal(simSeconds(ns), shown, `${ns} ns`);
});
