import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBench, type BenchRun } from '../support/bench.js';

/** Run the compiled bench/allocSites.ts with `args`; its status and output. */
const allocSites = (args: string[]): BenchRun => runBench('allocSites', args);

test("allocSites: the warm-up defaults to the case's (big-host 120 s: 10 s sampled the warm-up's own allocations), and --help says so", () => {
  const help = allocSites(['--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(
    help.stdout,
    /--warmup S +simulated seconds run before sampling \(default: the case's, .*idle-fleet 10, .*big-host 120, overcommit-host 10, workload-host 10\)/,
  );
  // One sampled millisecond after the default warm-up (~1 CPU-s: 256 idle vCPUs for 120 s).
  const big = allocSites(['--case', 'big-host', '--seconds', '0.001', '--top', '1']);
  assert.equal(big.status, 0, big.stderr);
  assert.match(big.stdout, /^big-host base: .*, 0\.001 s after 120 s of warm-up \(the case's\)$/m);
});

test('allocSites: a number option out of range is a usage error before any work (a bad --variant was a stack trace, --warmup abc no warm-up at all)', () => {
  const rows: [args: string[], message: RegExp][] = [
    [['--case', 'big-host', '--variant', '1'], /--variant "1": expected a variant index of big-host, 0\.\.0 \(base\)/],
    [['--variant=-1'], /--variant "-1": expected a variant index of idle-fleet, 0\.\.1 \(bhyve-12\.1, bhyve-tpr-v3\)/],
    [['--variant', '0.5'], /--variant "0\.5": expected a variant index/],
    [['--warmup', 'abc'], /--warmup "abc": expected simulated seconds, 0 or more/],
    [['--warmup=-5'], /--warmup "-5": expected simulated seconds, 0 or more/],
    [['--warmup='], /--warmup "": expected simulated seconds/],
    [['--seconds', '0'], /--seconds "0": expected simulated seconds, over 0/],
    [['--top', '0'], /--top "0": expected a whole number of stacks, 1 or more/],
  ];
  for (const [args, message] of rows) {
    const r = allocSites(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n {4}at /, `${args.join(' ')}: no stack trace`);
    assert.equal(r.stdout, '', 'nothing sampled');
  }
});
