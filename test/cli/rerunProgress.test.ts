/**
 * `replay` and `run --timeline` re-run one host for as long as the simulated time they need (a late
 * --at takes minutes), and printed nothing while they did. They now report where they are on
 * stderr as `run` does (src/cli/progress.ts): not on a terminal, a plain line every 5 s from 5 s on;
 * the fraction is the simulated time reached over where the re-run stops, and for an until-complete
 * scenario the line carries the host's work done (src/run/workShare.ts). The clock is the CliIo's,
 * moved by the test: no test here depends on how fast the machine is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-rerun-progress-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const idle = file(
  'idle.yaml',
  `name: idle-ten
host: { cpu: i7-6700K, cores: 2 }
guests:
  - { os: ubuntu-18.04, vcpus: 1, phases: [{ phase: idle, duration: 12s }] }
duration: 12s
matrix:
  policy: [bhyve-12.1, kvm]
`,
);

const build = file(
  'build.yaml',
  `name: build-until-complete
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 1, phases: [{ phase: boot, duration: 1s }, { phase: build, work: 6s }] }
duration: until-complete
maxDuration: 1h
`,
);

/** A CliIo not on a terminal whose clock moves `stepMs` at every reading. */
function clocked(stepMs: number): ReturnType<typeof capture> {
  let t = 0;
  return { ...capture(), now: () => (t += stepMs) };
}

/** The percentages of the progress lines that name `label`, in order. */
function percents(stderr: readonly string[], label: RegExp): number[] {
  return stderr.filter((l) => label.test(l)).map((l) => Number(/^\s*(\d+)%/.exec(l)?.[1]));
}

const increasing = (xs: readonly number[]): boolean =>
  xs.every((x, i) => i === 0 || x >= xs[i - 1]) && xs[0] < xs[xs.length - 1];

test('a long replay reports the simulated time it reached on stderr, increasing; stdout is the same with -q', async () => {
  const args = ['replay', idle, '--variant', 'kvm', '--guest', '0', '--at', '10', '--window', '0.5'];
  const io = clocked(6000);
  assert.equal(await main(args, io), 0, io.stderr.join('\n'));
  const p = percents(io.stderr, /replay idle-ten guest 0 \[1\/1\] kvm: sim \d+/);
  assert.ok(p.length >= 5, io.stderr.join('\n'));
  assert.ok(increasing(p), p.join(' '));
  assert.ok(p[p.length - 1] >= 90, p.join(' '));
  assert.match(io.stderr.join('\n'), /replay idle-ten guest 0 \[1\/1\] kvm: sim 9s, elapsed \d+\.\ds, ETA \d+s/);

  const quiet = clocked(6000);
  assert.equal(await main([...args, '-q'], quiet), 0);
  assert.deepEqual(quiet.stderr, []);
  assert.deepEqual(quiet.stdout, io.stdout);
  // A replay shorter than 5 s prints no progress line (the clock does not move here).
  const short = clocked(0);
  assert.equal(await main(args, short), 0);
  assert.deepEqual(short.stderr, []);
});

test("a replay of an until-complete scenario reports the host's work done", async () => {
  const io = clocked(6000);
  assert.equal(await main(['replay', build, '--guest', '0', '--at', '30', '--window', '0.01'], io), 0);
  const work = io.stderr
    .map((l) => /\(until complete, work (\d+)%\)/.exec(l)?.[1])
    .filter((x) => x !== undefined)
    .map(Number);
  assert.ok(work.length >= 3, io.stderr.join('\n'));
  assert.ok(increasing(work), work.join(' '));
  // The build ends before --at: the fraction follows the work, not the 30 s.
  assert.ok(Math.max(...percents(io.stderr, /replay build-until-complete/)) >= 50, io.stderr.join('\n'));
});

test('run --timeline reports its re-run of each variant after the run, increasing', async () => {
  const io = clocked(6000);
  const trace = join(dir, 'trace.json');
  assert.equal(
    await main(['run', '--timeline', trace, '--timeline-window', '8..9', '--workers', '1', idle], io),
    0,
    io.stderr.join('\n'),
  );
  const first = percents(io.stderr, /idle-ten --timeline guest 0 \[1\/2\] bhyve-12\.1: sim/);
  const second = percents(io.stderr, /idle-ten --timeline guest 0 \[2\/2\] kvm: sim/);
  assert.ok(first.length >= 3 && second.length >= 3, io.stderr.join('\n'));
  assert.ok(increasing([...first, ...second]), [...first, ...second].join(' '));
  // --quiet: none.
  const quiet = clocked(6000);
  assert.equal(await main(['run', '-q', '--timeline', trace, '--timeline-window', '8..9', idle], quiet), 0);
  assert.deepEqual(
    quiet.stderr.filter((l) => /--timeline guest/.test(l)),
    [],
  );
});
