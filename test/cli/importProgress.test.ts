/**
 * `import`'s fit says where it is on stderr once it has run FIT_PROGRESS_MS (src/cli/importText.ts
 * fitProgress): a fit of a high-rate report runs minutes. The clock is the CliIo's, so the test sets
 * how fast time passes; what the fit computes must not depend on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { FIT_PROGRESS_MS, fitProgress } from '../../src/cli/importText.js';
import { capture, SYSBENCH_REPORT } from '../support/cli.js';

const ARGS = ['import', 'perf-kvm-stat', SYSBENCH_REPORT, '--cpu', 'xeon-e5-2667v4', '--duration', '30s'];
const LINE = /^vmexit-lab import: fitting, (\d+) of at most 40 simulations done in (\d+) s; the latest /;

async function importWithClock(stepMs: number): Promise<{ status: number; stdout: string; progress: string[] }> {
  let t = 0;
  const io = { ...capture(), now: (): number => (t += stepMs) };
  const status = await main([...ARGS], io);
  return { status, stdout: io.stdout.join('\n'), progress: io.stderr.filter((l) => LINE.test(l)) };
}

test('import: a fit that runs past FIT_PROGRESS_MS prints a progress line per iteration, numbered, and the same profile', async () => {
  const quick = await importWithClock(0);
  const slow = await importWithClock(FIT_PROGRESS_MS + 1000);
  assert.ok(quick.status <= 1 && slow.status === quick.status, `${quick.status} ${slow.status}`);
  assert.deepEqual(quick.progress, [], 'a fit done at once is silent');
  assert.ok(slow.progress.length >= 2, `progress lines: ${slow.progress.length}`);
  const iterations = slow.progress.map((l) => Number(LINE.exec(l)![1]));
  assert.deepEqual(
    iterations,
    iterations.map((_, i) => i + 1),
    'one line per simulation, in order',
  );
  assert.equal(slow.stdout, quick.stdout, 'the profile does not depend on the clock');
});

test('fitProgress: nothing within FIT_PROGRESS_MS of the start or of the last line; then one line, with the worst miss', () => {
  const lines: string[] = [];
  let t = 1000;
  const onIteration = fitProgress(
    (s) => lines.push(s),
    () => t,
    40,
  );
  t += FIT_PROGRESS_MS - 1;
  onIteration(1, 50);
  assert.deepEqual(lines, []);
  t += 1;
  onIteration(2, 12.345);
  assert.deepEqual(lines, [
    'vmexit-lab import: fitting, 2 of at most 40 simulations done in 5 s; the latest misses its worst reason by 12.3 %',
  ]);
  t += FIT_PROGRESS_MS - 1;
  onIteration(3, Infinity);
  assert.equal(lines.length, 1);
  t += 1;
  onIteration(4, Infinity);
  assert.match(lines[1], /4 of at most 40 .* the latest does not produce every reason yet$/);
});
