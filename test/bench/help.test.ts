import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usageText } from '../../bench/args.js';
import { runBench, type BenchRun } from '../support/bench.js';

/** Run a compiled bench script with `args`; its status and output. */
const bench = (script: string, args: string[]): BenchRun => runBench(script, args, { timeoutMs: 30_000 });

// Each script's --help: exit 0 before any work, every option it takes named (parseArgs threw
// ERR_PARSE_ARGS_UNKNOWN_OPTION on --help before bench/args.ts).
const SCRIPTS: { script: string; options: string[] }[] = [
  {
    script: 'run',
    options: ['--runs N', '--case NAME', '--no-memory', '--memory-only', '--seconds S', '--engine NAME'],
  },
  { script: 'ab', options: ['--case NAME', '--rounds N', '--seconds S'] },
  { script: 'alloc', options: ['--case NAME', '--warmup S', '--seconds S'] },
  { script: 'allocSites', options: ['--case NAME', '--variant I', '--warmup S', '--seconds S', '--top N'] },
  { script: 'allocSpread', options: ['--processes N', '--parallel N'] },
  { script: 'instructions', options: ['--case NAME', '--seconds S', '--one DIR'] },
  { script: 'eventMix', options: ['--case NAME', '--seconds S'] },
  {
    script: 'realtime',
    options: [
      '--guests',
      '--minutes M',
      '--workers N',
      '--policy NAME',
      '--warmup-seconds S',
      '--scrape-seconds S',
      '--boot',
    ],
  },
  { script: 'service', options: ['--pool-only', '--rounds N', '--hosts N', '--warmup N'] },
  { script: 'metricsCeiling', options: ['--max-series N', '--renders N'] },
  { script: 'profileSummary', options: ['--top N'] },
  { script: 'callgrindSplit', options: ['--events N', '--top N'] },
  { script: 'hostile', options: [] },
];

for (const { script, options } of SCRIPTS) {
  test(`bench/${script}.js --help prints its options and exits 0; an unknown option exits 2`, () => {
    const help = bench(script, ['--help']);
    assert.equal(help.status, 0, help.stderr);
    for (const o of [...options, '--help, -h']) assert.ok(help.stdout.includes(o), `${script} --help lacks ${o}`);
    const bad = bench(script, ['--no-such-option']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--no-such-option'/);
    assert.ok(bad.stderr.includes('options:'), 'a usage error shows the usage');
  });
}

test('bench/run.js --help lists its cases, and an unknown case is a usage error', () => {
  const help = bench('run', ['-h']).stdout;
  for (const c of ['install-12.1', 'install-v1', 'idle-fleet', 'busy-fleet', 'big-host'])
    assert.match(help, new RegExp(`^  ${c} `, 'm'));
  const bad = bench('run', ['--case', 'no-such-case']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no case no-such-case; cases: install-12\.1, install-v1, idle-fleet, busy-fleet, big-host/);
});

test('usageText: string options show their value name and default, boolean options neither', () => {
  const text = usageText('synopsis', {
    n: { type: 'string', default: '3', value: 'N', help: 'how many' },
    flag: { type: 'boolean', default: false, help: 'a switch' },
  });
  assert.match(text, /^ {2}--n N +how many \(default 3\)$/m);
  assert.match(text, /^ {2}--flag +a switch$/m);
});

test('bench/realtime.js: a fleet over the scenario host cap or not a number is a usage error before any work', () => {
  for (const g of ['60000', 'abc', '2000,1e9']) {
    const bad = bench('realtime', ['--guests', g]);
    assert.equal(bad.status, 2, g);
    assert.match(bad.stderr, /each fleet a whole number of guests up to 40000 \(10000 hosts of 4/);
  }
});
