/**
 * A command line the tool cannot take is answered in one line, with a did-you-mean where there is
 * a near name (src/cli/io.ts commandArgs; main.ts for commands); `--out TYPE=PATH` is k6's form for
 * run's files and refused, never a file named "json=x", where a command writes one file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-usage-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function commands(): Promise<string[]> {
  const io = capture();
  await main(['--help'], io);
  const usage = io.stdout.join('');
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
}

/** What a command printed on stderr, as lines (the last newline dropped). */
function errLines(io: ReturnType<typeof capture>): string[] {
  return io.stderr.join('').replace(/\n$/, '').split('\n');
}

/** Run `args` (in `cwd`): exit status 2 and exactly one line on stderr, returned with what was captured. */
async function usageError(args: string[], cwd?: string): Promise<{ line: string; io: ReturnType<typeof capture> }> {
  const io = capture();
  assert.equal(await main(args, cwd === undefined ? io : { ...io, cwd }), 2, args.join(' '));
  const lines = errLines(io);
  assert.equal(lines.length, 1, `${args.join(' ')}: ${io.stderr.join('')}`);
  return { line: lines[0], io };
}

test('an unknown option of any command: exit 2, one line naming it and where the options are, no usage dump', async () => {
  const list = await commands();
  assert.ok(list.length >= 13);
  for (const c of list) {
    const { line, io } = await usageError([c, '--no-such-option']);
    assert.equal(line, `vmexit-lab ${c}: unknown option --no-such-option; 'vmexit-lab ${c} --help' lists the options`);
    assert.deepEqual(io.stdout, [], `${c}: nothing on stdout`);
  }
});

test('help COMMAND is COMMAND --help, for every command; help of an unknown command is refused', async () => {
  const list = await commands();
  for (const c of list) {
    const [viaHelp, viaOption] = [capture(), capture()];
    assert.equal(await main(['help', c], viaHelp), 0, c);
    assert.equal(await main([c, '--help'], viaOption), 0, c);
    assert.deepEqual(viaHelp.stdout, viaOption.stdout, `help ${c}`);
    assert.match(viaHelp.stdout.join(''), new RegExp(`vmexit-lab ${c}`), `help ${c}: the command's own help`);
  }
  const { line } = await usageError(['help', 'rn']);
  assert.equal(line, `vmexit-lab: unknown command "rn" (did you mean "run"?); 'vmexit-lab --help' lists the commands`);
  const bare = capture();
  assert.equal(await main(['help'], bare), 0);
  assert.match(bare.stdout.join(''), /^vmexit-lab \d/);
});

test('no command: the usage on stderr and exit 2 (it went to stdout); --help, -h and help print it on stdout, exit 0', async () => {
  const none = capture();
  assert.equal(await main([], none), 2);
  assert.deepEqual(none.stdout, []);
  assert.match(none.stderr.join(''), /^vmexit-lab \d[^\n]*\n\nUsage: vmexit-lab COMMAND/);
  for (const args of [['--help'], ['-h'], ['help']]) {
    const io = capture();
    assert.equal(await main(args, io), 0, args[0]);
    assert.deepEqual(io.stderr, [], args[0]);
    assert.equal(io.stdout.join(''), none.stderr.join(''), `${args[0]}: the same usage`);
  }
});

test('did-you-mean for near option names, commands and subcommands', async () => {
  const cases: [string[], string][] = [
    [['run', '--ot', 'x.json', 'a.yaml'], 'vmexit-lab run: unknown option --ot (did you mean "--out"?)'],
    [['run', '--perf-tabel', 'a.yaml'], 'vmexit-lab run: unknown option --perf-tabel (did you mean "--perf-table"?)'],
    [['compare', '--jsn', 'a', 'b'], 'vmexit-lab compare: unknown option --jsn (did you mean "--json"?)'],
    [['what-if', '--wdie', 'p.yaml'], 'vmexit-lab what-if: unknown option --wdie (did you mean "--wide"?)'],
    [['validate', '--cpu', 'd', 'a.yaml'], 'vmexit-lab validate: unknown option --cpu (did you mean "--cpus"?)'],
    [['cpus', '--dri', 'd'], 'vmexit-lab cpus: unknown option --dri (did you mean "--dir"?)'],
    [['rn', 'a.yaml'], 'vmexit-lab: unknown command "rn" (did you mean "run"?)'],
    [['what_if'], 'vmexit-lab: unknown command "what_if" (did you mean "what-if"?)'],
    [['--verison'], 'vmexit-lab: unknown option --verison (did you mean "--version"?)'],
    [['cpus', 'imprt', 'x'], 'vmexit-lab cpus: unknown subcommand "imprt" (did you mean "import"?)'],
    [['list', 'cpu'], 'vmexit-lab list: unknown kind "cpu" (did you mean "cpus"?)'],
    [['run', '--out'], 'vmexit-lab run: --out needs a value'],
    [
      ['run', '--out', '-x', 'a.yaml'],
      `vmexit-lab run: --out needs a value; one starting with "-" reads as an option, write --out=-VALUE`,
    ],
    // A negative number is the option's value, and its own check says what it takes: the hint to
    // write --seed=-VALUE led to that same refusal one step later.
    [['run', '--seed', '-1', 'a.yaml'], 'vmexit-lab run: --seed: expected an integer 0..4294967295, found "-1"'],
    [['run', '--workers', '-1', 'a.yaml'], 'vmexit-lab run: --workers: expected an integer 1..256, found "-1"'],
    [
      ['compare', '--max-regression', '-5', 'a.json', 'b.json'],
      'vmexit-lab compare: --max-regression: expected a percentage >= 0 (5 or 5%), found "-5"',
    ],
    [['run', '--quiet=yes', 'a.yaml'], 'vmexit-lab run: --quiet takes no value'],
    [['serve', 'extra'], 'vmexit-lab serve: unexpected argument "extra"'],
  ];
  for (const [args, start] of cases) {
    const { line } = await usageError(args);
    assert.ok(line.startsWith(start), `${args.join(' ')}: ${line}`);
  }
});

const SCENARIO = `name: outs
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
duration: 1s
thresholds:
  exits_per_second{reason="CR_ACCESS"}: ["> 0"]
`;

test("run --out TYPE=PATH (k6's form): each kind to its file; a plain --out PATH is results.json", async () => {
  const file = join(dir, 'outs.yaml');
  writeFileSync(file, SCENARIO);
  const p = (name: string): string => join(dir, name);
  const io = capture();
  const args = ['run', '--quiet', '--workers', '1', '--out', `json=${p('r.json')}`, '--out', `junit=${p('j.xml')}`];
  args.push('--out', `summary=${p('s.md')}`, '--out', `html=${p('r.html')}`, file);
  assert.equal(await main(args, io), 0, io.stderr.join(''));
  assert.equal(JSON.parse(readFileSync(p('r.json'), 'utf8')).scenario, 'outs');
  assert.match(readFileSync(p('j.xml'), 'utf8'), /^<\?xml/);
  assert.match(readFileSync(p('s.md'), 'utf8'), /^### vmexit-lab: outs/);
  assert.match(readFileSync(p('r.html'), 'utf8'), /^<!DOCTYPE html>/);
  assert.equal(await main(['run', '--quiet', '--workers', '1', '--out', p('plain.json'), file], capture()), 0);
  assert.equal(JSON.parse(readFileSync(p('plain.json'), 'utf8')).version, 1);
  assert.ok(!readdirSync(dir).some((f) => f.includes('=')), 'no file named TYPE=...');
});

test('--out TYPE=PATH refused in one line: unknown TYPE, no PATH, a kind twice, a command that writes one file', async () => {
  const file = join(dir, 'outs.yaml');
  writeFileSync(file, SCENARIO);
  const cases: [string[], RegExp][] = [
    [
      ['run', '--out', 'csv=x.csv', file],
      /--out csv=x\.csv: unknown output type "csv"; expected json=FILE, junit=FILE/,
    ],
    [['run', '--out', 'jsno=x', file], /unknown output type "jsno" \(did you mean "json"\?\)/],
    [['run', '--out', 'json=', file], /--out json=: no file name after "json="/],
    [['run', '--out', 'junit=a.xml', '--junit', 'b.xml', file], /--junit b\.xml: JUnit XML already goes to a\.xml/],
    [
      ['run', '--out', 'a.json', '--out', 'json=b.json', file],
      /results\.json \(docs\/RESULTS\.md\) already goes to a\.json/,
    ],
    [
      ['merge', '--out', 'html=r.html', 'shard.json'],
      /unknown output type "html"; expected json=FILE, junit=FILE, summary=FILE/,
    ],
    [['rules', '--out', 'json=x', file], /--out json=x: this command writes one file and takes no TYPE=/],
    [['what-if', '--out', 'json=x', 'p.yaml'], /--out json=x: this command writes one file/],
    [['import', 'perf-kvm-stat', 'r.txt', '--out', 'yaml=x'], /--out yaml=x: this command writes one file/],
    [['validate-model', '--out', 'md=x'], /--out md=x: this command writes one file/],
  ];
  for (const [args, re] of cases) {
    const { line } = await usageError(args, dir);
    assert.match(line, re, args.join(' '));
  }
  for (const name of ['x.csv', 'json=', 'json=x', 'html=r.html', 'yaml=x', 'md=x', 'a.xml', 'b.xml'])
    assert.ok(!existsSync(name) && !existsSync(join(dir, name)), `${name} not written`);
});

test('an output file that cannot be written is refused before anything runs: exit 2, one line naming the option', async () => {
  const file = join(dir, 'outs.yaml');
  writeFileSync(file, SCENARIO);
  const missing = join(dir, 'no-such-dir', 'r.json');
  const underFile = join(file, 'r.json');
  const cases: [string[], RegExp][] = [
    [
      ['run', '--out', missing, file],
      /^vmexit-lab run: --out .*r\.json: cannot write there: the directory .*no-such-dir does not exist/,
    ],
    [
      ['run', '--out', `json=${missing}`, file],
      /--out json=.*: cannot write there: the directory .*no-such-dir does not exist/,
    ],
    [['run', '--junit', dir, file], /--junit .*: cannot write there: .* is a directory \(expected a file name/],
    [['run', '--html', underFile, file], /--html .*: cannot write there: .*outs\.yaml is a file, not a directory/],
    [['run', '--summary', missing, file], /--summary .*: cannot write there/],
    [['run', '--openmetrics', missing, file], /--openmetrics .*: cannot write there/],
    [['run', '--timeline', missing, file], /--timeline .*: cannot write there/],
    [['merge', '--out', missing, 'shard.json'], /^vmexit-lab merge: --out .*: cannot write there/],
    [['rules', '--out', missing, file], /^vmexit-lab rules: --out .*: cannot write there/],
    [['what-if', '--out', missing, 'p.yaml'], /^vmexit-lab what-if: --out .*: cannot write there/],
    [
      ['import', 'perf-kvm-stat', 'r.txt', '--cpu', 'i7-2620M', '-o', missing],
      /^vmexit-lab import: --out .*: cannot write/,
    ],
    [['validate-model', '--out', missing], /^vmexit-lab validate-model: --out .*: cannot write there/],
  ];
  for (const [args, re] of cases) {
    const { line, io } = await usageError(args);
    assert.match(line, re, args.join(' '));
    assert.deepEqual(io.stdout, [], `${args.join(' ')}: nothing ran`);
  }
});

test(
  'an output file in a read-only directory is refused before the run',
  { skip: process.getuid?.() === 0 ? 'root writes anywhere' : false },
  async () => {
    const file = join(dir, 'outs.yaml');
    writeFileSync(file, SCENARIO);
    const ro = join(dir, 'read-only');
    mkdirSync(ro, { recursive: true });
    chmodSync(ro, 0o555);
    try {
      const io = capture();
      assert.equal(await main(['run', '--out', join(ro, 'r.json'), file], io), 2);
      assert.match(io.stderr.join(''), /cannot write there: the directory .*read-only is not writable/);
      assert.deepEqual(io.stdout, []);
    } finally {
      chmodSync(ro, 0o755);
    }
  },
);

test('compare and merge: a results file that cannot be read names the file (line:col for JSON) and what was expected', async () => {
  const f = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const syntax = f('syntax.json', '{\n  "version": 1,\n  "variants": [1 2]\n}\n');
  // V8 gives no position for an unexpected token; it is found (src/input/jsonError.ts).
  const word = f('word.json', '{\n  "version": 1,\n  "variants": [oops]\n}\n');
  const empty = f('empty.json', '');
  const array = f('array.json', '[{"version": 1, "variants": []}, {"version": 1, "variants": []}]');
  const other = f('other.json', '{"name": "not results"}');
  const cases: [string[], RegExp][] = [
    [
      ['compare', syntax, other],
      /^vmexit-lab compare: .*syntax\.json:3:18: not valid JSON: .*\(expected the results\.json 'vmexit-lab run --out' writes\)$/,
    ],
    [
      ['compare', word, other],
      /^vmexit-lab compare: .*word\.json:3:16: not valid JSON: Unexpected token 'o' \(expected/,
    ],
    [
      ['compare', join(dir, 'missing.json'), other],
      /^vmexit-lab compare: .*missing\.json: cannot read: no such file \(expected the results\.json 'vmexit-lab run --out FILE SCENARIO' writes\)$/,
    ],
    [['compare', dir, other], /: cannot read: is a directory \(expected a results\.json file\)$/],
    [['compare', empty, other], /empty\.json: empty file \(expected the results\.json/],
    [
      ['compare', array, other],
      /array\.json: holds 2 results \(run --out with several scenario files writes an array\)/,
    ],
    [['compare', other, other], /other\.json: not a vmexit-lab results\.json, no "variants"/],
    [['merge', syntax], /^vmexit-lab merge: .*syntax\.json:3:18: not valid JSON/],
    [['merge', other], /^vmexit-lab merge: .*other\.json: not a vmexit-lab results\.json/],
    [['merge', f('plain.json', '{"version": 1, "scenario": "s", "variants": []}')], /plain\.json: not a shard result/],
  ];
  for (const [args, re] of cases) {
    const { line } = await usageError(args);
    assert.match(line, re, args.join(' '));
  }
});

test('every error line of cpus about its command line names the tool and the command, as the other commands do; one about a file names the file first, as validate and run do (polish32)', async () => {
  const cases: string[][] = [
    ['cpus', 'show', 'no-such-cpu'],
    ['cpus', 'show'],
    ['cpus', 'import'],
  ];
  for (const args of cases) {
    const io = capture();
    assert.equal(await main(args, io), 2, args.join(' '));
    assert.match(io.stderr.join(''), /^vmexit-lab cpus( show| import)?: /, args.join(' '));
  }
  writeFileSync(join(dir, 'outs.yaml'), SCENARIO);
  for (const file of [join(dir, 'no-such-file'), join(dir, 'outs.yaml')]) {
    const io = capture();
    assert.equal(await main(['cpus', 'import', file], io), 2, file);
    assert.ok(io.stderr.join('').startsWith(`${file}`), io.stderr.join(''));
    assert.match(io.stderr.join(''), /^[^:]+(:\d+:\d+)?: error: /, file);
  }
});

test('a command line that parses but cannot run: exit 2, one line saying what and where the options are, no usage dump', async () => {
  const two = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-install-tpr-shadowing.yaml');
  const one = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');
  // [arguments, the command as the line names it, what the line says was wrong]
  const cases: [string[], string, string][] = [
    [['replay', '--guest', 'x', '--at', '1', one], 'replay', '--guest: expected an integer >= 0, found "x"'],
    [['replay', one], 'replay', '--guest G is required: a global guest index (an integer >= 0)'],
    [['replay', '--guest', '0', one], 'replay', '--at SECONDS is required'],
    [
      ['replay', '--guest', '0', '--at', '1s', one],
      'replay',
      '--at: expected decimal seconds (up to 9 decimals), found "1s" (--at is in seconds, without a unit: 1s is 1)',
    ],
    [['replay', '--guest', '0', '--at', '1'], 'replay', 'expected exactly one scenario file'],
    [
      ['replay', '--guest', '0', '--at', '1', '--only-guests', 'a', one],
      'replay',
      '--only-guests: expected comma-separated guest indices, found "a"',
    ],
    [
      ['replay', '--guest', '0', '--at', '1', '--variant', 'nope', two],
      'replay',
      'unknown variant "nope"; variants: bhyve-12.1, bhyve-tpr-v1',
    ],
    [
      ['replay', '--guest', '0', '--at', '1', two],
      'replay',
      `${two} has several variants: choose one with --variant (bhyve-12.1, bhyve-tpr-v1)`,
    ],
    [['trace'], 'trace', 'expected exactly one scenario file'],
    [['trace', one, one], 'trace', 'expected exactly one scenario file'],
    [['rules'], 'rules', 'no scenario file given'],
    [['compare', 'old.json'], 'compare', 'expected OLD.json NEW.json'],
    [['run'], 'run', 'no scenario file given'],
    [['validate'], 'validate', 'no scenario file given'],
    [['cpus', 'show'], 'cpus show', 'expected exactly one profile id'],
    [['cpus', 'import'], 'cpus import', 'expected exactly one FILE'],
    [['import', 'perf-kvm-stat'], 'import', 'give a format and a report file'],
    [['what-if'], 'what-if', 'give one workload profile file'],
    [['serve', '--port', 'x'], 'serve', '--port: expected an integer 0..65535, found "x"'],
    [['start', '--port', '99999'], 'start', '--port: expected an integer 0..65535, found "99999"'],
    [['serve', '--max-connections', '0'], 'serve', '--max-connections: expected an integer 1..65536, found "0"'],
    [
      ['serve', '--max-connections', '65537'],
      'serve',
      '--max-connections: expected an integer 1..65536, found "65537"',
    ],
    [['start', '--max-connections', '1.5'], 'start', '--max-connections: expected an integer 1..65536, found "1.5"'],
  ];
  for (const [args, command, what] of cases) {
    const io = capture();
    assert.equal(await main(args, io), 2, args.join(' '));
    assert.deepEqual(
      errLines(io),
      [`vmexit-lab ${command}: ${what}; 'vmexit-lab ${command} --help' lists the options`],
      args.join(' '),
    );
    assert.deepEqual(io.stdout, [], `${args.join(' ')}: nothing on stdout`);
  }
});

test('run --help and docs/CLI.md say that Ctrl-C writes the --openmetrics history up to the stop', async () => {
  const io = capture();
  assert.equal(await main(['run', '--help'], io), 0);
  const help = io.stdout.join('').replace(/\s+/g, ' ');
  assert.match(
    help,
    /--openmetrics FILE .* on the worker pool like any run; after Ctrl-C it holds the history up to where the run stopped/,
  );
  assert.match(help, /130 .* printed and written \(--openmetrics too\)/);
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'CLI.md'), 'utf8');
  assert.match(
    doc,
    /^\| Ctrl-C during `run --openmetrics` \| exit 130 with the partial results and the history up to/m,
  );
});

test('an option given twice is refused naming it and both values (the last was taken silently: run --seed 2 --seed 3 ran seed 3), unless its help says repeatable', async () => {
  const twice = async (args: string[], expected: string): Promise<void> => {
    const { line, io } = await usageError(args);
    assert.equal(line, expected, args.join(' '));
    assert.deepEqual(io.stdout, [], `${args.join(' ')}: nothing on stdout`);
  };
  await twice(
    ['run', '--seed', '2', '--seed', '3', 'x.yaml'],
    "vmexit-lab run: --seed given twice (--seed 2, then --seed 3); give it once; 'vmexit-lab run --help' lists the options",
  );
  await twice(
    ['run', '-q', 'x.yaml', '--quiet'],
    "vmexit-lab run: --quiet given twice (-q, then --quiet); give it once; 'vmexit-lab run --help' lists the options",
  );
  await twice(
    ['replay', '--at=1s', '--guest', 'g', '--at', '2s', 'x.yaml'],
    "vmexit-lab replay: --at given twice (--at=1s, then --at 2s); give it once; 'vmexit-lab replay --help' lists the options",
  );
  await twice(
    ['serve', '--port', '8080', '--workers', '1', '--port', '0', '--port', '1'],
    "vmexit-lab serve: --port given 3 times (--port 8080, then --port 0, --port 1); give it once; 'vmexit-lab serve --help' lists the options",
  );
  // Options their help calls repeatable are taken as often as given; --help still wins.
  const io = capture();
  await main(['import', 'perf-kvm-stat', join(dir, 'none.txt'), '--tunable', 'a=1', '--tunable', 'b=2'], io);
  assert.doesNotMatch(io.stderr.join(''), /given twice/);
  const help = capture();
  assert.equal(await main(['run', '--seed', '1', '--seed', '2', '--help'], help), 0);
  assert.match(help.stdout.join(''), /^Usage: vmexit-lab run/);
});
