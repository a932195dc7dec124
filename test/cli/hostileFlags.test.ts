/**
 * Every command's numeric flags as a hostile user types them (polish41: -1, 0, 1e99, 0x10, NaN, '',
 * twice, without a value, misspelt; the whole sweep is in docs/CLI.md). What still misled is kept
 * here: a negative duration was "expected a non-negative duration" where 0 is refused too;
 * `compare --max-regression 1e99` did not say that only decimal digits are taken, as every other
 * number option does; `cpus import --cores` without its value said `--cores N, import` (the
 * subcommand's label taken for what the value is).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYSBENCH_REPORT, refused } from '../support/cli.js';

test('a negative duration option asks for a positive duration, as 0 does', async () => {
  for (const [args, name] of [
    [['import', 'perf-kvm-stat', SYSBENCH_REPORT, '--cpu', 'xeon-e5-2667v4', '--duration', '-1'], '--duration'],
    [['import', 'perf-kvm-stat', SYSBENCH_REPORT, '--cpu', 'xeon-e5-2667v4', '--duration', '-30s'], '--duration'],
    [['import', 'perf-kvm-stat', SYSBENCH_REPORT, '--cpu', 'xeon-e5-2667v4', '--duration', '0'], '--duration'],
  ] as const) {
    const err = await refused(args);
    assert.match(
      err,
      new RegExp(`^vmexit-lab import: ${name}: expected a positive duration, found "${args[args.length - 1]}";`),
    );
  }
});

test('compare --max-regression in another notation says decimal digits, as the other number options do', async () => {
  for (const v of ['1e99', '0x10', '1e1%']) {
    const err = await refused(['compare', 'a.json', 'b.json', '--max-regression', v]);
    assert.equal(
      err,
      `vmexit-lab compare: --max-regression: expected a percentage >= 0 (5 or 5%) in decimal digits, found "${v}"; 'vmexit-lab compare --help' lists the options`,
    );
  }
  assert.match(await refused(['compare', 'a.json', 'b.json', '--max-regression', 'x']), /\(5 or 5%\), found "x"/);
});

test("cpus import's --cores and --threads without a value say what the value is", async () => {
  assert.match(
    await refused(['cpus', 'import', 'x.txt', '--cores']),
    /: --cores needs a value: --cores N, physical cores;/,
  );
  assert.match(
    await refused(['cpus', 'import', 'x.txt', '--threads']),
    /: --threads needs a value: --threads N, hardware threads;/,
  );
});
