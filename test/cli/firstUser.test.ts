/**
 * What a first outside user of the CLI met (the new-user pass of 2026-12-05; docs/CLI.md, "Bad input:
 * what is checked", the rows that name this file): each test failed before the fix it names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-first-user-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `name: first-user
hypervisor: { policy: kvm }
host: { cpu: i7-6700K, cores: 2 }
guests:
  - os: windows-10-1909
    phases: [{ phase: idle }]
duration: 1s
`;

test('a UTF-8 byte order mark does not count as a column: line 1 is placed as an editor shows it (it said 1:2 for column 1)', async () => {
  const BOM = '\uFEFF';
  const rows: [what: string, text: string, says: RegExp][] = [
    ['a typo in the first key', `${BOM}nme${GOOD.slice('name'.length)}`, /:1:1: error: unknown key "nme"/],
    ['a bad value on line 1', `${BOM}${GOOD.replace('first-user', 'First!')}`, /:1:7: error: invalid name/],
    ['CRLF line ends too', `${BOM}${GOOD.replace('first-user', 'First!').replace(/\n/g, '\r\n')}`, /:1:7: error:/],
    ['line 2 was right before', `${BOM}${GOOD.replace('kvm', 'kvn')}`, /:2:23: error: unknown policy "kvn"/],
  ];
  for (const [i, [what, text, says]] of rows.entries()) {
    const file = join(dir, `bom-${i}.yaml`);
    writeFileSync(file, text);
    const r = await cli(['validate', file]);
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, says, what);
  }
  // And a good file with a BOM loads.
  const file = join(dir, 'bom-good.yaml');
  writeFileSync(file, `${BOM}${GOOD}`);
  assert.equal((await cli(['validate', file])).status, 0);
});

test(
  'an output that cannot be written after the run (a full disk) is named with its option and reason, and the others are still written (it said "cannot write output: ENOSPC ..., write" and wrote none after it)',
  { skip: !existsSync('/dev/full') && 'no /dev/full' },
  async () => {
    const scenario = join(dir, 'out.yaml');
    writeFileSync(scenario, GOOD);
    const results = join(dir, 'results.json');
    const summary = join(dir, 'summary.md');
    const r = await cli(['run', '--quiet', '--junit', '/dev/full', '--out', results, '--summary', summary, scenario]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(
      r.stderr,
      /^vmexit-lab run: --junit \/dev\/full: cannot write JUnit XML there: no space left on device \(ENOSPC\); the file may be missing or cut short$/m,
    );
    assert.equal(JSON.parse(readFileSync(results, 'utf8')).scenario, 'first-user');
    assert.match(readFileSync(summary, 'utf8'), /first-user/);
    // merge writes its outputs the same way.
    const shard = join(dir, 'shard-1.json');
    assert.equal((await cli(['run', '--quiet', '--shard', '1/1', '--out', shard, scenario])).status, 0);
    const merged = join(dir, 'merged.json');
    const m = await cli(['merge', '--summary', '/dev/full', '--out', merged, shard]);
    assert.equal(m.status, 3, m.stderr);
    assert.match(
      m.stderr,
      /^vmexit-lab merge: --summary \/dev\/full: cannot write a Markdown summary there: no space left on device \(ENOSPC\)/m,
    );
    assert.ok(existsSync(merged), 'the merged results.json is written');
  },
);

test('run: an option that took the scenario as its value names itself (it said "no scenario file given")', async () => {
  const scenario = join(dir, 'opt.yaml');
  writeFileSync(scenario, GOOD);
  const rows: [args: string[], says: RegExp][] = [
    [
      ['--workers', scenario],
      /^vmexit-lab run: --workers: expected an integer 1\.\.256, found ".*opt\.yaml"; 'vmexit-lab run --help' lists the options$/,
    ],
    [
      ['--seed', scenario],
      /^vmexit-lab run: --seed: expected an integer 0\.\.4294967295, found ".*opt\.yaml"; 'vmexit-lab run --help' lists the options$/,
    ],
    [
      ['--shard', scenario],
      /^vmexit-lab run: --shard: expected I\/N .*found ".*opt\.yaml"; 'vmexit-lab run --help' lists the options$/,
    ],
    [
      ['--out', scenario],
      /^vmexit-lab run: --out .*opt\.yaml: .*opt\.yaml is a YAML file that is there \(a scenario\?\)/,
    ],
    // No file at all is still said so.
    [['--quiet'], /^vmexit-lab run: no scenario file given/],
  ];
  for (const [args, says] of rows) {
    const r = await cli(['run', ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, says, args.join(' '));
  }
  assert.equal(readFileSync(scenario, 'utf8'), GOOD, 'the scenario is untouched');
});

test('vmexit-lab --help names the exit statuses, the ones README.md lists (it named none), and an example that runs on Linux', async () => {
  const r = await cli(['--help']);
  assert.equal(r.status, 0);
  const line = /^Exit status: ([^]*?)\n\n/m.exec(r.stdout)?.[1];
  assert.ok(line !== undefined, r.stdout);
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const paragraph = /^Exit status: ([^]*?)\n\n/m.exec(readme)?.[1] ?? '';
  const statuses = [...paragraph.matchAll(/`(\d+)`/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['0', '1', '2', '3', '130', '143'], 'README.md');
  for (const s of statuses) assert.match(line, new RegExp(`(^|, )${s} `), `status ${s}`);
  assert.match(r.stdout, /cpus import .*\/proc\/cpuinfo/);
});

test('run --push to a Pushgateway that is not there: exit 3 after the files are written, as run --help now says (its status 3 did not name it)', async () => {
  const scenario = join(dir, 'push.yaml');
  writeFileSync(scenario, GOOD);
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => ok(p));
    });
  });
  const results = join(dir, 'push.json');
  const r = await cli(['run', '--quiet', '--out', results, '--push', `http://127.0.0.1:${port}`, scenario]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot push metrics to http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  assert.ok(existsSync(results), 'the results are written first');
  const help = (await cli(['run', '--help'])).stdout;
  const three = /^ {2}3 {4}([^]*?)\n {2}130/m.exec(help)?.[1] ?? '';
  assert.match(three.replace(/\s+/g, ' '), /a --push that failed \(the files are written first\)/);
});

test('compare and merge of a file that is not JSON (a scenario): one line (the excerpt of its first bytes, newlines and all, was kept)', async () => {
  const scenario = join(dir, 'not-results.yaml');
  // Node quotes the first 10 characters: a short first line puts its newline in them.
  writeFileSync(scenario, GOOD.replace('first-user', 'x'));
  for (const args of [
    ['compare', scenario, scenario],
    ['merge', scenario],
  ]) {
    const r = await cli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 1, r.stderr);
    // Since the stranger pass (test/cli/stranger.test.ts) it names what the file is.
    assert.match(
      r.stderr,
      /not-results\.yaml:1:1: this is a scenario, not results\.json: .* \(expected the results\.json/,
    );
    assert.doesNotMatch(r.stderr, /"name: x/, 'no excerpt');
  }
});

test('replay --at past the host’s end: a note on stderr says where it ended (an empty replay said nothing)', async () => {
  const scenario = join(dir, 'replay.yaml');
  writeFileSync(scenario, GOOD);
  const late = await cli(['replay', scenario, '--guest', '0', '--at', '99']);
  assert.equal(late.status, 0, late.stderr);
  assert.equal(late.stdout.trim().split('\n').length, 1, 'the header only');
  assert.match(
    late.stderr,
    /^vmexit-lab replay: note: guest 0's host ended at 1 simulated seconds, before the window 98\.999\.\.99: nothing to print; give --at 1 or less$/,
  );
  const inside = await cli(['replay', scenario, '--guest', '0', '--at', '0.5', '--window', '0.5']);
  assert.equal(inside.status, 0);
  assert.equal(inside.stderr, '', 'no note for a window the run covers');
  assert.ok(inside.stdout.trim().split('\n').length > 1, 'exits printed');
});

test('list hosts: the host OSes alone, as host.os names them (an unknown kind; they were only under policies and in the whole list)', async () => {
  const text = await cli(['list', 'hosts']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^Host OS \(host\.os; host\.tickHz another tick rate\):$/m);
  for (const os of ['freebsd', 'linux', 'illumos']) assert.match(text.stdout, new RegExp(`^ {2}${os} +`, 'm'), os);
  assert.doesNotMatch(text.stdout, /^(Policies|Scenarios|CPU profiles|Guest models):/m);
  const json = await cli(['list', 'hosts', '--json']);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout)), ['hostOs']);
  // With the policies, as before.
  assert.deepEqual(Object.keys(JSON.parse((await cli(['list', 'policies', '--json'])).stdout)).sort(), [
    'hostOs',
    'policies',
  ]);
  const typo = await cli(['list', 'host']);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown kind "host" \(did you mean "hosts"\?\)/);
});
