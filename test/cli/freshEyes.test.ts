import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnListeningRun } from '../support/net.js';

/** The fresh-eyes pass of 2026-12-05 (docs/CLI.md, "Bad input"): each test failed before its fix. */

test("cpus import of a file that is not there: the reason in words, and README's FreeBSD line on Linux points at /proc/cpuinfo (it said 'ENOENT' alone)", async () => {
  const cases: [file: string, says: RegExp][] = [
    [
      '/nonexistent-dir/var/run/dmesg.boot',
      /^\/nonexistent-dir\/var\/run\/dmesg\.boot: error: cannot read the file: no such file \(ENOENT\); dmesg\.boot is FreeBSD's boot log: on Linux give \/proc\/cpuinfo$/,
    ],
    [
      '/nonexistent-dir/cpuinfo.txt',
      /^\/nonexistent-dir\/cpuinfo\.txt: error: cannot read the file: no such file \(ENOENT\)$/,
    ],
    ['/', /^\/: error: cannot read the file: a directory \(EISDIR\); give a file$/],
  ];
  for (const [file, says] of cases) {
    const io = capture();
    assert.equal(await main(['cpus', 'import', file], io), 2, file);
    assert.equal(io.stdout.join(''), '', file);
    assert.match(io.stderr.join(''), says, file);
  }
});

test('run --metrics-listen serves one request at a time per connection: a pipelined GET /metrics is 429 (each was rendered: the service fix, src/service/connections.ts)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-fresh-listen-'));
  const run = spawnListeningRun(dir);
  try {
    const port = await run.port;
    const stream = await new Promise<string>((ok, fail) => {
      const c = connect(port, '127.0.0.1');
      let all = '';
      c.on('data', (d: Buffer) => (all += d.toString('utf8')));
      c.on('error', fail);
      c.on('close', () => ok(all));
      c.setTimeout(20_000, () => c.destroy());
      c.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(30));
    });
    const statuses = [...stream.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.equal(statuses[0], 200, stream.slice(0, 200));
    assert.deepEqual(statuses.slice(1), [429], `one rendered, then refused and closed: ${statuses.join(' ')}`);
    assert.match(stream, /HTTP pipelining is not served/);
  } finally {
    run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('short options: run, merge and rules take -o for --out as import, what-if and validate-model do, run -q for --quiet; an unknown short option is matched to the long ones of its letter (-o was taken for -h)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-fresh-short-'));
  try {
    const out = join(dir, 'r.json');
    const io = capture();
    assert.equal(
      await main(['run', '-q', '-o', out, 'scenarios/seed/win10-1909-cr8-exits.yaml'], io),
      0,
      io.stderr.join(''),
    );
    assert.equal(io.stderr.join(''), '', 'quiet');
    assert.match(readFileSync(out, 'utf8'), /"scenario": "win10-1909-cr8-exits"/);
    const rules = join(dir, 'rules.yml');
    assert.equal(await main(['rules', '-o', rules, 'scenarios/default.yaml'], capture()), 0);
    assert.match(readFileSync(rules, 'utf8'), /^groups:/m);
    const bad = capture();
    assert.equal(await main(['compare', '-o', 'x', 'a.json', 'b.json'], bad), 2);
    assert.equal(
      bad.stderr.join(''),
      `vmexit-lab compare: unknown option -o (this command has no -o; it has no option starting with "o"); 'vmexit-lab compare --help' lists the options`,
    );
    const near = capture();
    assert.equal(await main(['run', '-p', 'x.yaml'], near), 2);
    assert.match(
      near.stderr.join(''),
      /unknown option -p \(did you mean one of --per-guest, --perf-table, --push, --push-job, --push-label\?\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("replay --help's first example prints exits when pasted (a 1 ms window of an idle guest printed the header alone), and an empty window says so on stderr", async () => {
  const help = capture();
  assert.equal(await main(['replay', '--help'], help), 0);
  const text = help.stdout.join('');
  const example = /^ {2}vmexit-lab replay (scenarios\/default\.yaml .*)$/m.exec(text.slice(text.indexOf('Examples:')));
  assert.ok(example, 'the first example replays the default scenario');
  const io = capture();
  assert.equal(await main(['replay', ...example[1].split(/\s+/)], io), 0, io.stderr.join(''));
  const lines = io.stdout.join('\n').trim().split('\n');
  assert.ok(lines.length > 1, `more than the header: ${lines.length} line(s)`);
  assert.equal(io.stderr.join(''), '');

  const empty = capture();
  const args = ['replay', 'scenarios/default.yaml', '--variant', 'bhyve-12.1', '--guest', '3', '--at', '12.5'];
  assert.equal(await main(args, empty), 0);
  assert.equal(empty.stdout.join('\n').trim().split('\n').length, 1, 'the header only');
  assert.equal(
    empty.stderr.join(''),
    'vmexit-lab replay: note: guest 3 had no exit, delivery or violation in the window 12.499..12.5 (0.001 simulated seconds, --window): nothing to print; a longer --window (e.g. --window 0.1) shows what it did before --at',
  );
});
