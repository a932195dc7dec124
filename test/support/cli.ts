import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';

/** A CliIo that keeps what a command prints, for calling `main()` in-process (CI mode, repo root as cwd). */
export function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (s) => stdout.push(s),
    err: (s) => stderr.push(s),
    interactive: false,
    env: { CI: 'true' },
    cwd: REPO_ROOT,
  };
}

/**
 * A CliIo that keeps stdout and stderr interleaved in one list, as a terminal shows them (`text()`
 * joins them with newlines); no environment (not CI mode) unless `env` is given.
 */
export function interleaved(env: Record<string, string> = {}): CliIo & { text: () => string } {
  const lines: string[] = [];
  return {
    out: (s) => lines.push(s),
    err: (s) => lines.push(s),
    interactive: false,
    env,
    cwd: REPO_ROOT,
    text: () => lines.join('\n'),
  };
}

/** `main(args)` in-process (capture()): its exit status and what it printed, each stream's lines joined with newlines. */
export async function cli(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const io = capture();
  const status = await main([...args], io);
  return { status, stdout: io.stdout.join('\n'), stderr: io.stderr.join('\n') };
}

/** The sysbench `perf kvm stat report` shipped as a fixture (taken on a Xeon E5-2667 v4, 30 s). */
export const SYSBENCH_REPORT = join(REPO_ROOT, 'test', 'fixtures', 'reports', 'perf-intel-sysbench-2020.txt');

/**
 * The workload profile `import perf-kvm-stat` fits to SYSBENCH_REPORT, written to `file` (for tests
 * of what-if and of options that take a profile); asserts the import wrote it (exit 0, or 1 for a
 * fit that misses a reason).
 */
export async function importedProfile(file: string): Promise<string> {
  const made = await cli([
    'import',
    'perf-kvm-stat',
    SYSBENCH_REPORT,
    '--cpu',
    'xeon-e5-2667v4',
    '--duration',
    '30s',
    '-o',
    file,
  ]);
  assert.ok(made.status <= 1, made.stderr);
  return file;
}

/** scenarios/seed/win10-1909-cr8-exits.yaml: a shipped scenario for options to be tried on. */
export const CR8_SCENARIO = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');

/** One idle Windows 10 guest under KVM for a simulated second, named first-user: a scenario as a user writes one. */
export const IDLE_WINDOWS_SCENARIO = `name: first-user
hypervisor: { policy: kvm }
host: { cpu: i7-6700K, cores: 2 }
guests:
  - os: windows-10-1909
    phases: [{ phase: idle }]
duration: 1s
`;

/** `main(args)` in-process that must refuse its command line: exit 2, nothing on stdout; what it said on stderr. */
export async function refused(args: readonly string[]): Promise<string> {
  const io = capture();
  const status = await main([...args], io);
  const text = io.stderr.join('\n');
  assert.equal(status, 2, `${args.join(' ')}: ${text}`);
  assert.deepEqual(io.stdout, [], args.join(' '));
  return text;
}
