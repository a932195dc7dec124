/**
 * Number options take plain decimals only, as the service's API does (docs/SERVICE.md: no `0x10`,
 * `1e3`): Number() read `serve --port 0x50` as port 80, `run --seed 0b11` as seed 3 and
 * `--workers 1e1` as 10 workers. `serve --workers` is bounded as `run --workers` is: the service
 * starts every worker at once (about 20 MiB each), and `serve --workers 1000` grew towards 20 GB
 * before it printed a line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { durationOption, numberOption, plainDecimal, secondsOption, MAX_WORKERS } from '../../src/cli/io.js';
import { serviceOptions } from '../../src/cli/commands/serve.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

test('plainDecimal: decimal digits only; hex, binary, octal, exponents, blanks and inexact integers are not numbers', () => {
  for (const [text, integer, want] of [
    ['80', true, 80],
    ['0', true, 0],
    ['-1', true, -1],
    ['4294967295', true, 4294967295],
    ['2.5', false, 2.5],
    ['.5', false, 0.5],
    ['0x50', true, undefined],
    ['0b11', true, undefined],
    ['0o7', true, undefined],
    ['1e1', true, undefined],
    ['1e1', false, undefined],
    ['80.0', true, undefined],
    [' 7', true, undefined],
    ['7 ', true, undefined],
    ['+7', true, undefined],
    ['', true, undefined],
    ['Infinity', false, undefined],
    ['9007199254740993', true, undefined],
    ['1'.repeat(400), false, undefined],
  ] as const) {
    assert.equal(plainDecimal(text, integer), want, `${JSON.stringify(text)} (integer: ${integer})`);
  }
});

test('numberOption says "in decimal digits" for what Number() reads but the option does not', () => {
  assert.throws(() => numberOption('0x50', '--port', 0, 65535, true), {
    message: '--port: expected an integer 0..65535 in decimal digits, found "0x50"',
  });
  assert.throws(() => numberOption('1.5', '--max-connections', 1, 65536, true), {
    message: '--max-connections: expected an integer 1..65536, found "1.5"',
  });
  assert.equal(numberOption('0.25', '--sim-seconds', 0.1, 3600), 0.25);
});

test('serve --workers is bounded like run --workers; serve options refuse hex and exponents', () => {
  assert.equal(serviceOptions({ workers: String(MAX_WORKERS) }, {}).workers, MAX_WORKERS);
  assert.throws(() => serviceOptions({ workers: String(MAX_WORKERS + 1) }, {}), {
    message: `--workers: expected an integer 1..${MAX_WORKERS}, found "${MAX_WORKERS + 1}"`,
  });
  assert.throws(() => serviceOptions({ port: '0x50' }, {}), /--port: expected an integer 0\.\.65535 in decimal digits/);
  assert.throws(
    () => serviceOptions({ 'max-guests': '1e2' }, {}),
    /--max-guests: expected an integer >= 1 in decimal digits/,
  );
});

test('the commands refuse such numbers with exit 2 and one line, before anything runs', async () => {
  const one = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');
  const cases: [string[], string][] = [
    [
      ['run', '--seed', '0b11', one],
      'vmexit-lab run: --seed: expected an integer 0..4294967295 in decimal digits, found "0b11"',
    ],
    [
      ['run', '--workers', '1e1', one],
      'vmexit-lab run: --workers: expected an integer 1..256 in decimal digits, found "1e1"',
    ],
    [['serve', '--workers', '1000'], 'vmexit-lab serve: --workers: expected an integer 1..256, found "1000"'],
    [
      ['start', '--port', '0x50'],
      'vmexit-lab start: --port: expected an integer 0..65535 in decimal digits, found "0x50"',
    ],
    [
      ['compare', '--max-regression', '0x10', 'a.json', 'b.json'],
      'vmexit-lab compare: --max-regression: expected a percentage >= 0 (5 or 5%) in decimal digits, found "0x10"',
    ],
  ];
  for (const [args, line] of cases) {
    const io = capture();
    assert.equal(await main(args, io), 2, args.join(' '));
    assert.equal(io.stdout.join(''), '', `${args.join(' ')}: nothing ran`);
    assert.ok(io.stderr.join('').startsWith(line), `${args.join(' ')}: ${io.stderr.join('')}`);
  }
});

test('secondsOption: decimal seconds past 2^53 ns name the bound, not the form (replay --at 999999999 said "up to 9 decimals")', () => {
  assert.equal(secondsOption('9007199.254740991', '--at'), Number.MAX_SAFE_INTEGER);
  assert.throws(() => secondsOption('999999999', '--at'), {
    message: '--at: expected decimal seconds, at most 9007199.254740991 (2^53 ns), found "999999999"',
  });
  assert.throws(() => secondsOption('1s', '--at'), {
    message:
      '--at: expected decimal seconds (up to 9 decimals), found "1s" (--at is in seconds, without a unit: 1s is 1)',
  });
});

test('an option value quoted in a usage error shows its invisible characters as the service does (a right-to-left override was printed as it was)', () => {
  const bidi = '8\u202e0';
  for (const fail of [
    () => numberOption(bidi, '--port', 0, 65535),
    () => secondsOption(bidi, '--at'),
    () => durationOption(`1\u0007s\u202e`, '--time-limit'),
  ]) {
    assert.throws(fail, (e: Error) => {
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      assert.doesNotMatch(e.message, /[\u0000-\u001f\u202e]/u, e.message);
      // The quoted value is a JSON string that reads back as the value.
      const q = /found (".*")$/.exec(e.message)?.[1];
      assert.ok(q !== undefined, e.message);
      assert.match(q, /\\u202e/);
      assert.ok([bidi, `1\u0007s\u202e`].includes(JSON.parse(q) as string), q);
      return true;
    });
  }
});
