/**
 * `serve/start --keep-runs 0` and `--keep-days 0` were taken: the retention then deleted every
 * finished run, its results.json too, at the first prune after it ended, so a client polling for
 * its results got 404 (a lost result). `--keep-days 200000000` reached back before any date and
 * the service did not start ("cannot start the service: Invalid time value"). Each is now exit 2
 * before the service starts, saying the least value (or the range) and the default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { serviceOptions } from '../../src/cli/commands/serve.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-retention-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('--keep-runs and --keep-days: 0, negatives and fractions are refused with the least value and the default', () => {
  const cases: [string, string, string][] = [
    ['keep-runs', '0', '--keep-runs: expected an integer >= 1, found "0" (at least 1: 0 would delete'],
    ['keep-runs', '-3', '--keep-runs: expected an integer >= 1, found "-3" (at least 1:'],
    ['keep-runs', '2.5', '--keep-runs: expected an integer >= 1, found "2.5"'],
    ['keep-days', '0', '--keep-days: expected an integer 1..36500, found "0" (at least 1: 0 would delete'],
    ['keep-days', '0.5', '--keep-days: expected an integer 1..36500, found "0.5" (at least 1:'],
    ['keep-days', '200000000', '--keep-days: expected an integer 1..36500, found "200000000" (the default is 30)'],
  ];
  for (const [k, v, says] of cases) {
    assert.throws(
      () => serviceOptions({ [k]: v }, {}),
      (e: Error) =>
        e.message.startsWith(says) && e.message.includes(`the default is ${k === 'keep-runs' ? 1000 : 30})`),
      `--${k} ${v}`,
    );
  }
  assert.deepEqual(serviceOptions({ 'keep-runs': '1', 'keep-days': '1' }, {}).retention, { keepRuns: 1, keepDays: 1 });
  assert.deepEqual(serviceOptions({ 'keep-days': '36500' }, {}).retention, { keepDays: 36500 });
});

test('serve and start --keep-runs 0 / --keep-days 0: exit 2, one line, no service, no history opened', async () => {
  for (const args of [
    ['serve', '--keep-runs', '0'],
    ['serve', '--keep-days', '0'],
    ['start', '--keep-runs', '0'],
    ['start', '--keep-days=-1'],
  ]) {
    const dataDir = join(dir, args.join('_'));
    const io = capture();
    assert.equal(await main([...args, '--port', '0', '--workers', '1', '--data-dir', dataDir], io), 2, args.join(' '));
    assert.equal(io.stdout.join(''), '', `${args.join(' ')}: no service`);
    assert.match(io.stderr.join(''), new RegExp(`^vmexit-lab ${args[0]}: --keep-(runs|days): expected an integer`));
    assert.match(io.stderr.join(''), /the default is (1000|30)\)/);
    assert.equal(existsSync(dataDir), false, `${args.join(' ')}: no history was opened`);
  }
});

test('--help gives the range of --keep-runs and --keep-days', async () => {
  for (const cmd of ['serve', 'start']) {
    const io = capture();
    assert.equal(await main([cmd, '--help'], io), 0);
    const help = io.stdout.join('');
    assert.match(help, /--keep-runs N +finished runs kept in the history, newest first, N >= 1 \(default 1000\)/);
    assert.match(help, /--keep-days D +finished runs older than D days are deleted, D 1\.\.36500 \(default 30\)/);
  }
});
